package handlers

import (
	"testing"

	"tokenservice"
)

func TestUserFromClaims(t *testing.T) {
	base := OIDCConfig{AccountClaim: "account_id", AccountNameClaim: "account_name", RolesClaim: "roles", AdminRole: "admin", DefaultRole: "viewer"}
	for _, tt := range []struct {
		name   string
		cfg    func(c *OIDCConfig)
		claims map[string]any
		want   tokenservice.User
	}{
		{name: "Bundled", claims: map[string]any{"sub": "s1", "email": "a@acme.example", "name": "Ada", "account_id": "acme", "account_name": "Acme", "roles": []any{"admin"}},
			want: tokenservice.User{Subject: "s1", Email: "a@acme.example", Name: "Ada", AccountID: "acme", AccountName: "Acme", Admin: true}},
		{name: "NoRolesIsViewer", claims: map[string]any{"sub": "s1", "email": "v@acme.example", "account_id": "acme", "roles": []any{}},
			want: tokenservice.User{Subject: "s1", Email: "v@acme.example", Name: "v@acme.example", AccountID: "acme", AccountName: "acme"}},
		{name: "RoleAsString", claims: map[string]any{"sub": "s1", "account_id": "acme", "roles": "admin"},
			want: tokenservice.User{Subject: "s1", AccountID: "acme", AccountName: "acme", Admin: true}},
		{name: "DefaultRoleAdmin", cfg: func(c *OIDCConfig) { c.DefaultRole = "admin" }, claims: map[string]any{"sub": "s1", "account_id": "acme"},
			want: tokenservice.User{Subject: "s1", AccountID: "acme", AccountName: "acme", Admin: true}},
		{name: "NoAccount", claims: map[string]any{"sub": "s1", "roles": []any{"admin"}},
			want: tokenservice.User{Subject: "s1", Admin: true}},
		{name: "GroupsWithPrefix", cfg: func(c *OIDCConfig) {
			c.AccountClaim, c.AccountPrefix, c.RolesClaim, c.AdminRole = "groups", "account:", "groups", "admins"
		},
			claims: map[string]any{"sub": "s1", "groups": []any{"staff", "account:globex", "admins"}},
			want:   tokenservice.User{Subject: "s1", AccountID: "globex", AccountName: "globex", Admin: true}},
		{name: "GroupsWithoutMatchingPrefix", cfg: func(c *OIDCConfig) { c.AccountClaim, c.AccountPrefix = "groups", "account:" },
			claims: map[string]any{"sub": "s1", "groups": []any{"staff"}},
			want:   tokenservice.User{Subject: "s1"}},
		{name: "EmailDomain", cfg: func(c *OIDCConfig) { c.AccountClaim = "email_domain" },
			claims: map[string]any{"sub": "s1", "email": "Ann@Initech.Example", "email_verified": true},
			want:   tokenservice.User{Subject: "s1", Email: "Ann@Initech.Example", Name: "Ann@Initech.Example", AccountID: "initech.example", AccountName: "initech.example"}},
		{name: "EmailDomainUnverified", cfg: func(c *OIDCConfig) { c.AccountClaim = "email_domain" },
			claims: map[string]any{"sub": "s1", "email": "ann@initech.example", "email_verified": false},
			want:   tokenservice.User{Subject: "s1", Email: "ann@initech.example", Name: "ann@initech.example"}},
		{name: "EmailDomainLastAt", cfg: func(c *OIDCConfig) { c.AccountClaim = "email_domain" },
			claims: map[string]any{"sub": "s1", "email": "a@b@evil.example", "email_verified": "true"},
			want:   tokenservice.User{Subject: "s1", Email: "a@b@evil.example", Name: "a@b@evil.example", AccountID: "evil.example", AccountName: "evil.example"}},
		{name: "WrongTypesIgnored", claims: map[string]any{"sub": "s1", "account_id": 42.0, "roles": map[string]any{"admin": true}},
			want: tokenservice.User{Subject: "s1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			got := (&OIDC{cfg: cfg}).userFromClaims(tt.claims)
			if got != tt.want {
				t.Fatalf("userFromClaims = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSafeReturnTo(t *testing.T) {
	for in, want := range map[string]string{
		"":                        "/applications",
		"/applications/abc/edit":  "/applications/abc/edit",
		"/applications?q=a%20b":   "/applications?q=a%20b",
		"https://evil.example/":   "/applications",
		"//evil.example/":         "/applications",
		"/\\evil.example":         "/applications",
		"javascript:alert(1)":     "/applications",
		"/auth/logout":            "/applications",
		"/applications\r\nX: y":   "/applications",
		"applications":            "/applications",
		"/%2F%2Fevil.example":     "/%2F%2Fevil.example",
		"/\tevil":                 "/applications",
		"http:/evil.example/path": "/applications",
	} {
		if got := safeReturnTo(in); got != want {
			t.Errorf("safeReturnTo(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzSafeReturnTo(f *testing.F) {
	for _, s := range []string{"/applications", "//x", "/\\x", "https://x", "/a?b=c#d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := safeReturnTo(in)
		if len(got) < 1 || got[0] != '/' || (len(got) > 1 && (got[1] == '/' || got[1] == '\\')) {
			t.Fatalf("safeReturnTo(%q) = %q: not a local path", in, got)
		}
	})
}
