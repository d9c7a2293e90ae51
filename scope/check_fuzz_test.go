package scope

import (
	"strings"
	"testing"

	"tokenservice"
)

// FuzzCheck checks anything an admin (or a forged form) may choose, as
// "key=access" pairs joined by '&', against the default catalogue for an
// application whose current grants the levels pick: what Check accepts is
// what the catalogue offers or the application already had, each key once,
// sorted; what it refuses has a message for exactly the offending fields.
func FuzzCheck(f *testing.F) {
	for _, s := range []struct{ chosen, levels string }{
		{"forensics:account=read-write&ess:account=read", ""},
		{"forensics:account=none&ess:account=none", "\x01\x02"},
		{"nope:nope=read", ""},
		{"forensics:account=admin", ""},
		{"=read&ess:account=", ""},
		{"retired:scope=read", "\x00\x00\x00\x00\x00\x00\x00\x00\x01"},
		{"retired:scope=read-write", "\x00\x00\x00\x00\x00\x00\x00\x00\x01"},
		{"retired:scope=none", "\x00\x00\x00\x00\x00\x00\x00\x00\x02"},
		{"ess:account=read-write", "\x02\x02"},
		{"<script>=read&ess:account=READ", ""},
	} {
		f.Add(s.chosen, []byte(s.levels))
	}
	c := Default()
	levels := []tokenservice.Access{tokenservice.AccessNone, tokenservice.AccessRead, tokenservice.AccessReadWrite}
	f.Fuzz(func(t *testing.T, chosen string, had []byte) {
		// The current grants: one level per catalogue entry, then a
		// retired key, whatever the entry offers (it may have been
		// narrowed since).
		var keys []string
		for _, e := range c.Entries {
			keys = append(keys, e.Key)
		}
		keys = append(keys, "retired:scope")
		var current []tokenservice.ScopeGrant
		for i, key := range keys {
			if i < len(had) && levels[had[i]%3] != tokenservice.AccessNone {
				current = append(current, tokenservice.ScopeGrant{Key: key, Access: levels[had[i]%3]})
			}
		}
		choice := map[string]tokenservice.Access{}
		for _, pair := range strings.Split(chosen, "&") {
			key, access, _ := strings.Cut(pair, "=")
			choice[key] = tokenservice.Access(access)
		}

		grants, err := c.Check(choice, current)
		if err != nil {
			e, ok := err.(*tokenservice.Error)
			if !ok || e.Code != tokenservice.EINVALID || len(e.Fields) == 0 || grants != nil {
				t.Fatalf("Check = %v, %v: want only an invalid error with fields", grants, err)
			}
			for field, msg := range e.Fields {
				key, ok := strings.CutPrefix(field, "scope.")
				if _, chose := choice[key]; !ok || !chose || msg == "" {
					t.Fatalf("message %q for %q, which was not chosen", msg, field)
				}
			}
			return
		}
		previous := map[string]tokenservice.Access{}
		for _, g := range current {
			previous[g.Key] = g.Access
		}
		for i, g := range grants {
			if i > 0 && grants[i-1].Key >= g.Key {
				t.Fatalf("grants %v are not sorted by key, once each", grants)
			}
			if choice[g.Key] != g.Access || g.Access == tokenservice.AccessNone || !g.Access.Valid() {
				t.Fatalf("grant %v: chosen %q", g, choice[g.Key])
			}
			if e, ok := c.Lookup(g.Key); !(ok && e.Offers(g.Access)) && previous[g.Key] != g.Access {
				t.Fatalf("grant %v is neither offered by the catalogue nor the application's own", g)
			}
		}
		for key, a := range choice {
			if a != tokenservice.AccessNone && !containsGrant(grants, key) {
				t.Fatalf("chose %s=%s, accepted without it: %v", key, a, grants)
			}
		}
	})
}

func containsGrant(grants []tokenservice.ScopeGrant, key string) bool {
	for _, g := range grants {
		if g.Key == key {
			return true
		}
	}
	return false
}
