package main

import (
	"io"
	"slices"
	"testing"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name          string
		args          []string
		env           map[string]string
		wantAddr      string
		wantRedirects []string
		wantClientID  string
	}{
		{"Defaults", nil, nil, "127.0.0.1:8081", []string{"http://127.0.0.1:8080/auth/callback"}, "tokenservice"},
		{"FromEnv", nil, map[string]string{"BCC_ADDR": "127.0.0.1:9000", "BCC_REDIRECT_URI": "http://a/cb, http://b/cb", "BCC_CLIENT_ID": "x"},
			"127.0.0.1:9000", []string{"http://a/cb", "http://b/cb"}, "x"},
		{"FlagBeatsEnv", []string{"--addr", "127.0.0.1:9001", "--redirect-uri", "http://c/cb", "--redirect-uri", "http://d/cb"},
			map[string]string{"BCC_ADDR": "127.0.0.1:9000", "BCC_REDIRECT_URI": "http://a/cb"},
			"127.0.0.1:9001", []string{"http://c/cb", "http://d/cb"}, "tokenservice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := cfg.Addr, tt.wantAddr; got != want {
				t.Errorf("Addr = %q, want %q", got, want)
			}
			if got, want := cfg.RedirectURIs, tt.wantRedirects; !slices.Equal(got, want) {
				t.Errorf("RedirectURIs = %q, want %q", got, want)
			}
			if got, want := cfg.ClientID, tt.wantClientID; got != want {
				t.Errorf("ClientID = %q, want %q", got, want)
			}
		})
	}
}

func TestExtraClients(t *testing.T) {
	cfg, err := parseConfig([]string{"--client-name", "Token Service · US",
		"--extra-client", "id=tokenservice-uk;secret=s;name=Token Service · UK;redirect=http://uk/cb;redirect=http://uk2/cb;post-logout=http://uk/out"}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ClientName != "Token Service · US" || len(cfg.ExtraClients) != 1 {
		t.Fatalf("config = %+v", cfg)
	}
	c := cfg.ExtraClients[0]
	if c.ID != "tokenservice-uk" || c.Secret != "s" || c.Name != "Token Service · UK" ||
		!slices.Equal(c.RedirectURIs, []string{"http://uk/cb", "http://uk2/cb"}) || !slices.Equal(c.PostLogoutRedirectURIs, []string{"http://uk/out"}) {
		t.Errorf("extra client = %+v", c)
	}
	for _, bad := range []string{"secret=s;redirect=http://x/cb", "id=x", "id=x;redirect=http://x/cb;colour=blue", "id=x;redirect"} {
		if _, err := parseConfig([]string{"--extra-client", bad}, func(string) string { return "" }, io.Discard); err == nil {
			t.Errorf("--extra-client %q: no error", bad)
		}
	}
}
