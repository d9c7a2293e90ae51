package handlers

import (
	"testing"

	"tokenservice"
)

// TestHeldScopes: introspection answers with the scopes of a token that its
// application still holds, in the token's order, and with none when it
// holds none of them; a token it holds whole costs no allocation.
func TestHeldScopes(t *testing.T) {
	client := &tokenservice.Client{Scopes: []tokenservice.ScopeGrant{
		{Key: "ess:account", Access: tokenservice.AccessRead},
		{Key: "forensics:account", Access: tokenservice.AccessReadWrite},
	}}
	for _, tt := range []struct{ name, scope, want string }{
		{"AllHeld", "forensics:account:write ess:account:read forensics:account:read", "forensics:account:write ess:account:read forensics:account:read"},
		{"SomeHeld", "forensics:account:read impersonation:account:read forensics:account:write", "forensics:account:read forensics:account:write"},
		{"AccessNarrowed", "ess:account:read ess:account:write", "ess:account:read"},
		{"NoneHeld", "impersonation:account:read ess:account:write", ""},
		{"Empty", "", ""},
		{"ExtraSpaces", " ess:account:read  forensics:account:read ", "ess:account:read forensics:account:read"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := heldScopes(tt.scope, client); got != tt.want {
				t.Errorf("heldScopes(%q) = %q, want %q", tt.scope, got, tt.want)
			}
		})
	}
	if got := heldScopes("forensics:account:read", &tokenservice.Client{}); got != "" {
		t.Errorf("an application without scopes holds %q", got)
	}
	allocs := testing.AllocsPerRun(100, func() {
		heldScopes("ess:account:read forensics:account:read forensics:account:write", client)
	})
	if allocs != 0 {
		t.Errorf("a token whose scopes are all held: %v allocations, want 0", allocs)
	}
}
