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
	right := secret.New()
	known := &tokenservice.Client{ClientID: secret.NewClientID(), AccountID: "acme", SecretHash: keys.Hash(right)}
	if len(unknownClientHash) != len(known.SecretHash) {
		t.Fatalf("the stand-in hash has %d bytes, a real one %d", len(unknownClientHash), len(known.SecretHash))
	}
	store := &clientStore{clients: map[string]*tokenservice.Client{known.ClientID: known}}
	verifier := &countingVerifier{keys: keys}
	o := &OAuth{store: store, keys: verifier}
	for _, tt := range []struct {
		name, clientID, secret string
		wantClient             bool
		wantHash               []byte // the hash checked; nil: none
	}{
		{"KnownRightSecret", known.ClientID, right, true, known.SecretHash},
		{"KnownWrongSecret", known.ClientID, secret.New(), false, known.SecretHash},
		{"Unknown", secret.NewClientID(), right, false, unknownClientHash},
		{"MalformedClientID", "not-a-client-id", right, false, nil},
		{"MalformedSecret", known.ClientID, "tss_typo", false, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			verifier.hashes = nil
			client, err := o.checkCredentials(context.Background(), tt.clientID, tt.secret)
			if err != nil {
				t.Fatal(err)
			}
			if got := client != nil; got != tt.wantClient {
				t.Errorf("authenticated = %v, want %v", got, tt.wantClient)
			}
			switch {
			case tt.wantHash == nil && len(verifier.hashes) != 0:
				t.Errorf("%d hash checks, want none", len(verifier.hashes))
			case tt.wantHash != nil && (len(verifier.hashes) != 1 || !bytes.Equal(verifier.hashes[0], tt.wantHash)):
				t.Errorf("hashes checked %x, want one: %x", verifier.hashes, tt.wantHash)
			}
		})
	}
	t.Run("StoreFails", func(t *testing.T) {
		store.err = errors.New("database is down")
		defer func() { store.err = nil }()
		if _, err := o.checkCredentials(context.Background(), known.ClientID, right); err == nil {
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

// countingVerifier records every hash a secret is checked against.
type countingVerifier struct {
	keys   *secret.Keys
	hashes [][]byte
}

func (v *countingVerifier) Verify(secret string, hash []byte) bool {
	v.hashes = append(v.hashes, hash)
	return v.keys.Verify(secret, hash)
}
