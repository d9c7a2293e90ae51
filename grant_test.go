package tokenservice

import (
	"slices"
	"testing"
)

// TestConfers: Confers and HasOAuthScope answer exactly what OAuthScopes
// lists, for every access level and for scopes that only look alike.
func TestConfers(t *testing.T) {
	candidates := []string{
		"forensics:account:read", "forensics:account:write", "forensics:account:admin",
		"forensics:account", "forensics:account:", "forensics:account:read:write", "forensics:account:Read",
		"forensics:accounts:read", "forensics:read", "ess:account:read", ":read", "",
	}
	for _, access := range []Access{AccessNone, AccessRead, AccessReadWrite, "bogus"} {
		t.Run(string(access), func(t *testing.T) {
			g := ScopeGrant{Key: "forensics:account", Access: access}
			c := &Client{Scopes: []ScopeGrant{{Key: "ess:account", Access: AccessRead}, g}}
			for _, s := range candidates {
				if got, want := g.Confers(s), slices.Contains(g.OAuthScopes(), s); got != want {
					t.Errorf("Confers(%q) = %v, want %v", s, got, want)
				}
				if got, want := c.HasOAuthScope(s), slices.Contains(c.OAuthScopes(), s); got != want {
					t.Errorf("HasOAuthScope(%q) = %v, want %v", s, got, want)
				}
			}
		})
	}
}
