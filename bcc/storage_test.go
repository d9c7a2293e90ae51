package bcc

import (
	"context"
	"testing"

	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// TestAuthRequestsBounded: a flood of sign-ins started and never finished keeps at most
// maxAuthRequests in memory, dropping the oldest, and a new sign-in still starts.
func TestAuthRequestsBounded(t *testing.T) {
	s, err := newStorage([]Client{{ID: "portal", Secret: "secret", RedirectURIs: []string{"http://rp.example/cb"}}}, nil, "/login")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.WithValue(context.Background(), browserKey{}, browserHash("a-browser-value-0123456789abcdef0123"))
	create := func() string {
		t.Helper()
		a, err := s.CreateAuthRequest(ctx, &oidc.AuthRequest{ClientID: "portal", RedirectURI: "http://rp.example/cb",
			ResponseType: oidc.ResponseTypeCode, Scopes: oidc.SpaceDelimitedArray{oidc.ScopeOpenID}}, "")
		if err != nil {
			t.Fatal(err)
		}
		return a.GetID()
	}
	first := create()
	for range maxAuthRequests + 10 {
		create()
	}
	last := create()
	if got := len(s.authRequests); got != maxAuthRequests {
		t.Errorf("%d auth requests kept, want %d", got, maxAuthRequests)
	}
	if _, err := s.authRequest(first); err == nil {
		t.Error("the oldest auth request was kept past the bound")
	}
	if _, err := s.authRequest(last); err != nil {
		t.Errorf("the newest auth request: %v", err)
	}
}
