package main

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
)

// TestSQLMetacharacters: quotes, comment markers, LIKE wildcards and
// backslashes in names and in the filter are plain data: stored and shown
// exactly, matched literally, and nothing else changes.
func TestSQLMetacharacters(t *testing.T) {
	t.Parallel()
	m := newMain(t)
	admin := signIn(t, m, "admin@acme.example")
	names := []string{
		`Robert'); DROP TABLE applications;--`,
		`100% sync`,
		`under_score`,
		`back\slash "quoted"`,
		`x' OR '1'='1`,
	}
	ids := map[string]string{}
	for _, n := range names {
		ids[n] = admin.createApp(n, url.Values{"scope.forensics:account": {"read"}})
	}
	plain := admin.createApp("Plain app", nil)
	for _, n := range names {
		if got := testIDText(t, admin.get("/applications/"+ids[n]).body, "app-name"); got != n {
			t.Errorf("name stored as %q, want %q", got, n)
		}
	}
	for _, tt := range []struct {
		filter string
		want   []string
	}{
		{"%", []string{ids[`100% sync`]}},
		{"_", []string{ids[`under_score`]}},
		{`\`, []string{ids[`back\slash "quoted"`]}},
		{"'", []string{ids[`Robert'); DROP TABLE applications;--`], ids[`x' OR '1'='1`]}},
		{"' OR '1'='1", []string{ids[`x' OR '1'='1`]}},
		{"--", []string{ids[`Robert'); DROP TABLE applications;--`]}},
	} {
		p := admin.get("/applications?q=" + url.QueryEscape(tt.filter))
		if p.status != http.StatusOK {
			t.Fatalf("filter %q = %d", tt.filter, p.status)
		}
		got := listedClientIDs(t, p.body)
		if !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(tt.want))) {
			t.Errorf("filter %q listed %v, want %v", tt.filter, got, tt.want)
		}
	}
	if n := countApps(t, m, "acme"); n != len(names)+1 {
		t.Errorf("applications = %d, want %d", n, len(names)+1)
	}
	if p := admin.get("/applications/" + plain); p.status != http.StatusOK {
		t.Errorf("an unrelated application = %d", p.status)
	}
}
