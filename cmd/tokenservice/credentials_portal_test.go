package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// TestRotateForm drives the Rotate secret form as a browser does: the
// grace period and expiry it refuses, each with a message on the form and
// nothing changed, and two admins rotating one application at once, of
// whom exactly one wins.
func TestRotateForm(t *testing.T) {
	t.Parallel()
	m := newMain(t)
	admin := signIn(t, m, "admin@acme.example")
	other := signIn(t, m, "admin@acme.example")
	id := admin.createApp("Rotated", nil)
	rotateForm := func(c *client) form {
		t.Helper()
		p := c.get("/applications/" + id + "/rotate")
		if p.status != http.StatusOK {
			t.Fatalf("rotate form = %d", p.status)
		}
		return findForm(t, p.body, func(n *html.Node) bool { return attr(n, "data-testid") == "rotate-form" })
	}
	credentials := func() int {
		t.Helper()
		app, _, err := m.Store.ApplicationByClientID(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return len(app.Credentials)
	}

	day := func(d time.Duration) string { return m.Now().Add(d).UTC().Format(time.DateOnly) }
	for _, tt := range []struct {
		name, grace, date, expires, field, message string
	}{
		{"GraceInThePast", "date", day(-48 * time.Hour), "", "grace-error", "cannot stop working in the past"},
		{"GraceOver30Days", "date", day(40 * 24 * time.Hour), "", "grace-error", "at most 30 days"},
		{"GraceNotChosen", "", "", "", "grace-error", "Choose how long"},
		{"GraceDateMalformed", "date", "next week", "", "grace-error", "YYYY-MM-DD"},
		{"ExpiryInThePast", "24h", "", day(-24 * time.Hour), "expires-error", "must be in the future"},
		{"ExpiryMalformed", "24h", "", "31/12/2030", "expires-error", "YYYY-MM-DD"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := rotateForm(admin)
			f.values.Set("grace", tt.grace)
			f.values.Set("grace_date", tt.date)
			f.values.Set("expires", tt.expires)
			p := admin.post(f.action, f.values)
			if p.status != http.StatusUnprocessableEntity {
				t.Fatalf("rotate = %d, want %d", p.status, http.StatusUnprocessableEntity)
			}
			if got := elementByID(t, p.body, tt.field); !strings.Contains(got, tt.message) {
				t.Errorf("%s = %q, want it to say %q", tt.field, got, tt.message)
			}
			if got := credentials(); got != 1 {
				t.Errorf("credentials after a refused rotation = %d, want 1", got)
			}
		})
	}

	t.Run("ConcurrentRotations", func(t *testing.T) {
		first, second := rotateForm(admin), rotateForm(other)
		if p := admin.post(first.action, first.values); p.status != http.StatusSeeOther {
			t.Fatalf("first rotation = %d, want %d", p.status, http.StatusSeeOther)
		}
		p := other.request(http.MethodPost, second.action, second.values, nil, true)
		if !strings.Contains(testIDText(t, p.body, "flash"), "nothing was changed") {
			t.Errorf("the second rotation's page does not say it changed nothing: %q", testIDText(t, p.body, "flash"))
		}
		if got := credentials(); got != 2 {
			t.Errorf("credentials after two rotations at once = %d, want 2 (one rotation)", got)
		}
	})
}

// elementByID is the text of the element with the id, "" if there is none.
func elementByID(t *testing.T, body, id string) string {
	t.Helper()
	for _, n := range findAll(parseHTML(t, body), func(n *html.Node) bool { return attr(n, "id") == id }) {
		return textOf(n)
	}
	return ""
}

// TestOlderRevokedCredentials: Details lists the working credentials and the
// last two revoked ones; older revoked ones wait behind a disclosure.
func TestOlderRevokedCredentials(t *testing.T) {
	t.Parallel()
	m := newMain(t)
	admin := signIn(t, m, "admin@acme.example")
	id := admin.createApp("Rotated often", nil)
	for range 3 {
		p := admin.get("/applications/" + id + "/rotate")
		f := findForm(t, p.body, func(n *html.Node) bool { return attr(n, "data-testid") == "rotate-form" })
		f.values.Set("grace", "0")
		if r := admin.post(f.action, f.values); r.status != http.StatusSeeOther {
			t.Fatalf("rotate = %d", r.status)
		}
	}
	body := admin.get("/applications/" + id).body
	if got, want := len(byTestID(t, body, "credential")), 3; got != want {
		t.Errorf("credentials listed = %d, want %d (the working one and two revoked)", got, want)
	}
	if got, want := len(byTestID(t, body, "older-credential")), 1; got != want {
		t.Errorf("older revoked credentials = %d, want %d", got, want)
	}
	if got := testIDText(t, body, "older-credentials"); !strings.Contains(got, "Show 1 older revoked credential") {
		t.Errorf("the disclosure says %q", got)
	}
}
