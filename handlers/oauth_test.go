package handlers

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"tokenservice"
	"tokenservice/secret"
)

// TestCheckCredentials: a well-formed client ID that no application has is
// refused after the same hash check as a known one with a wrong secret, so
// that both cost the same; only malformed credentials, which say nothing
// about an application, are refused without one.
func TestCheckCredentials(t *testing.T) {
	keys, err := secret.NewKeys(bytes.Repeat([]byte{7}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	right, older := secret.New(), secret.New()
	one := &tokenservice.Client{ClientID: secret.NewClientID(), AccountID: "acme",
		Secrets: []tokenservice.ClientSecret{{ID: "0000000001", Hash: keys.Hash(right)}}}
	two := &tokenservice.Client{ClientID: secret.NewClientID(), AccountID: "acme",
		Secrets: []tokenservice.ClientSecret{{ID: "0000000003", Hash: keys.Hash(right)}, {ID: "0000000002", Hash: keys.Hash(older)}}}
	if len(unknownClientHash) != len(one.Secrets[0].Hash) {
		t.Fatalf("the stand-in hash has %d bytes, a real one %d", len(unknownClientHash), len(one.Secrets[0].Hash))
	}
	store := &clientStore{clients: map[string]*tokenservice.Client{one.ClientID: one, two.ClientID: two}}
	hasher := &countingHasher{keys: keys}
	o := &OAuth{store: store, keys: hasher}
	for _, tt := range []struct {
		name, clientID, secret string
		wantCredential         string // "": refused
		wantHashes             int
	}{
		{"OneSecretRight", one.ClientID, right, "0000000001", 1},
		{"OneSecretWrong", one.ClientID, secret.New(), "", 1},
		{"TwoSecretsNewer", two.ClientID, right, "0000000003", 1},
		{"TwoSecretsOlder", two.ClientID, older, "0000000002", 1},
		{"TwoSecretsWrong", two.ClientID, secret.New(), "", 1},
		{"Unknown", secret.NewClientID(), right, "", 1},
		{"MalformedClientID", "not-a-client-id", right, "", 0},
		{"MalformedSecret", one.ClientID, "tss_typo", "", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hasher.calls = 0
			client, cred, err := o.checkCredentials(context.Background(), tt.clientID, tt.secret)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if cred != nil {
				got = cred.ID
			}
			if got != tt.wantCredential || (client != nil) != (tt.wantCredential != "") {
				t.Errorf("authenticated with %q (client %v), want %q", got, client != nil, tt.wantCredential)
			}
			if hasher.calls != tt.wantHashes {
				t.Errorf("%d hashes made, want %d", hasher.calls, tt.wantHashes)
			}
		})
	}
	t.Run("StoreFails", func(t *testing.T) {
		store.err = errors.New("database is down")
		defer func() { store.err = nil }()
		if _, _, err := o.checkCredentials(context.Background(), one.ClientID, right); err == nil {
			t.Fatal("a failing store authenticated or refused, want its error")
		}
	})
}

// clientStore is a TokenStore with the applications in a map.
type clientStore struct {
	TokenStore // only Client is called
	clients    map[string]*tokenservice.Client
	err        error
}

func (s *clientStore) Client(_ context.Context, clientID string) (*tokenservice.Client, error) {
	if s.err != nil {
		return nil, s.err
	}
	if c, ok := s.clients[clientID]; ok {
		return c, nil
	}
	return nil, tokenservice.Errorf(tokenservice.ENOTFOUND, "Application not found.")
}

// countingHasher counts the hashes made of presented secrets.
type countingHasher struct {
	keys  *secret.Keys
	calls int
}

func (h *countingHasher) Hash(secret string) []byte {
	h.calls++
	return h.keys.Hash(secret)
}
