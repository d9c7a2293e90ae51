package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"tokenservice/session"
)

// TestSessionEndedNotice: a page asked for after the session ended says so
// on the portal's sign-in page, which goes back to where the person was,
// filter and all; asking whether the session holds does not keep it alive;
// the header says until when the session lasts.
func TestSessionEndedNotice(t *testing.T) {
	t.Parallel()
	var clock testClock
	m := newMain(t, clock.configure())
	admin := signIn(t, m, "admin@acme.example")
	defaults := session.NewStore(nil, make([]byte, 32), make([]byte, 32))

	list := admin.get("/applications")
	ends := byTestID(t, list.body, "session-ends")
	if len(ends) == 0 || !strings.HasPrefix(strings.TrimSpace(textOf(ends[0])), "Signed in until ") {
		t.Fatalf("the header does not say until when the session lasts:\n%s", list.body)
	}
	if title := attr(ends[0], "title"); !strings.Contains(title, "2 hours without using the portal") {
		t.Errorf("session limits = %q, want the idle timeout too", title)
	}

	state := func() bool {
		t.Helper()
		p := admin.getRaw("/auth/session", nil)
		var s struct {
			SignedIn bool `json:"signed_in"`
		}
		if err := json.Unmarshal([]byte(p.body), &s); err != nil || p.status != http.StatusOK {
			t.Fatalf("GET /auth/session = %d %q", p.status, p.body)
		}
		return s.SignedIn
	}
	if !state() {
		t.Fatal("/auth/session says signed out while signed in")
	}
	// Asked just before each idle timeout, /auth/session does not extend it.
	clock.advance(defaults.IdleTimeout - time.Minute)
	if !state() {
		t.Fatal("/auth/session says signed out before the idle timeout")
	}
	clock.advance(2 * time.Minute)
	if state() {
		t.Fatal("/auth/session kept an idle session alive")
	}

	const where = "/applications?q=billing+%C3%A9t%C3%A9"
	p := admin.getRaw(where, nil)
	loc := p.header.Get("Location")
	if p.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/auth/login?") {
		t.Fatalf("GET after the session ended = %d to %q, want 303 to login", p.status, loc)
	}
	u, _ := url.Parse(loc)
	if u.Query().Get("ended") != "1" || u.Query().Get("return_to") != where {
		t.Errorf("login URL = %q, want ended=1 and return_to=%q", loc, where)
	}
	notice := admin.get(loc)
	if !hasTestID(t, notice.body, "session-ended") {
		t.Fatalf("the sign-in page does not say the session ended:\n%s", notice.body)
	}
	if got := testIDText(t, notice.body, "return-to"); got != where {
		t.Errorf("the notice says it goes back to %q, want %q", got, where)
	}
	if !hasLink(t, notice.body, "/auth/login?return_to="+url.QueryEscape(where)) {
		t.Error("the notice has no Sign in again link back to the filtered list")
	}
	// Said once: the stale cookie is gone, so the next visit signs in directly.
	if again := admin.getRaw("/applications", nil); strings.Contains(again.header.Get("Location"), "ended=") {
		t.Errorf("the notice came twice: %q", again.header.Get("Location"))
	}
	// A browser that never signed in goes straight to the provider, as before.
	fresh := newClient(t, m)
	if p := fresh.getRaw("/applications", nil); strings.Contains(p.header.Get("Location"), "ended=") {
		t.Errorf("a first visit is told its session ended: %q", p.header.Get("Location"))
	}
}
