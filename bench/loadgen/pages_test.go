package main

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

func TestRequestDurations(t *testing.T) {
	log := strings.Join([]string{
		`{"time":"2026-01-01T00:00:00Z","level":"INFO","msg":"request","request_id":"A","route":"/applications","duration_ms":1.25}`,
		`{"time":"2026-01-01T00:00:00Z","level":"INFO","msg":"application created","request_id":"B"}`,
		`not json: the bundled provider's line`,
		`{"msg":"request","request_id":"C","duration_ms":0.042}`,
		``,
	}, "\n")
	got, err := requestDurations(strings.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("durations = %v, want A and C only", got)
	}
	if got, want := got["A"], 1250*time.Microsecond; got != want {
		t.Errorf("A = %v, want %v", got, want)
	}
	if got, want := got["C"], 42*time.Microsecond; got != want {
		t.Errorf("C = %v, want %v", got, want)
	}
}

func TestLoginForm(t *testing.T) {
	page := `<html><body><form method="post" action="/login/username?x=1" data-testid="login-form">
		<input type="hidden" name="authRequestID" value="req-1">
		<input type="hidden" name="csrf_token" value="tok&amp;2">
		<input id="email" name="email" type="email"><input name="password" type="password">
	</form></body></html>`
	action, fields, ok := loginForm(page)
	if !ok {
		t.Fatal("no login form found")
	}
	if got, want := action, "/login/username?x=1"; got != want {
		t.Errorf("action = %q, want %q", got, want)
	}
	if got, want := fields.Encode(), "authRequestID=req-1&csrf_token=tok%262"; got != want {
		t.Errorf("hidden fields = %q, want %q", got, want)
	}
	if _, _, ok := loginForm(`<form data-testid="other"></form>`); ok {
		t.Error("found a login form in a page without one")
	}
}

func TestMetaContent(t *testing.T) {
	page := `<html><head><meta name="csrf-token" content="abc"></head><body></body></html>`
	if got, want := metaContent(page, "csrf-token"), "abc"; got != want {
		t.Errorf("csrf-token = %q, want %q", got, want)
	}
	if got := metaContent(page, "missing"); got != "" {
		t.Errorf("missing meta = %q, want empty", got)
	}
}

// The cursor must be the one the list's Next link carries: base64url
// (unpadded) of {"s": order, "k": text key or "v": number key, "c":
// client_id, "o": offset} (see db.ListApplications).
func TestListKeyCursor(t *testing.T) {
	for _, tt := range []struct {
		key  listKey
		want string
	}{
		{listKey{Text: "siem export – it (prod) 0017", ClientID: "abc", Offset: 50001}, `{"k":"siem export – it (prod) 0017","c":"abc","o":50001}`},
		{listKey{Sort: "-created", Num: 1733000000000, ClientID: "abc", Offset: 7}, `{"s":"-created","v":1733000000000,"c":"abc","o":7}`},
	} {
		b, err := base64.RawURLEncoding.DecodeString(tt.key.cursor())
		if err != nil {
			t.Fatal(err)
		}
		if got := string(b); got != tt.want {
			t.Errorf("cursor holds %s, want %s", got, tt.want)
		}
	}
}

func TestPagesMarkdown(t *testing.T) {
	ms := func(xs ...float64) []time.Duration {
		out := make([]time.Duration, len(xs))
		for i, x := range xs {
			out[i] = time.Duration(x * float64(time.Millisecond))
		}
		return out
	}
	runs := []pagesRun{{store: storeSQLite, seedTime: 3 * time.Second, pages: []*pageTimes{
		{pageCase: pageCase{name: "Applications, first page", target: true}, client: ms(1, 2), server: ms(0.5, 1.5)},
		{pageCase: pageCase{name: "Activity"}, client: ms(9), server: ms(8)},
	}}, {store: storePostgres, pages: []*pageTimes{
		{pageCase: pageCase{name: "Details", target: true}, client: ms(7), server: ms(6), errors: 1, firstErr: "HTTP 500, want 200"},
	}}}
	md := pagesMarkdown(pagesOptions{apps: 100_000, events: 1_000_000, requests: 2, filter: "siem"}, runs)
	for _, want := range []string{
		"## Pages\n",
		"100,000 applications and 1,000,000 audit events",
		"| SQLite | Applications, first page | 0.50 ms | 1.50 ms | 1.00 ms | 2.00 ms | 2 | 0 |",
		"| SQLite: server p99 ≤ 5.00 ms for the list in every order, its deep page, the filter and Details | worst 1.50 ms (Applications, first page) | met |",
		"| PostgreSQL: server p99 ≤ 5.00 ms for the list in every order, its deep page, the filter and Details | worst 6.00 ms (Details) | **missed** |",
		"| PostgreSQL: no page answers other than expected | 1 | **missed** |",
		"First error of Details on PostgreSQL: HTTP 500, want 200",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("pages.md lacks %q:\n%s", want, md)
		}
	}
	if strings.Count(md, "\n## ") != 0 || !strings.HasPrefix(md, "## ") {
		t.Error("a fragment has exactly one ## heading, first")
	}
}
