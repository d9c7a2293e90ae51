package handlers

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

// FuzzLoginCookie sends anything as the login cookie (the pending sign-ins'
// state, nonce and PKCE verifier) to the code that reads it: it never
// panics; spliced into a cookie the portal just issued, any change that
// reaches the portal makes it worthless; and whatever decodes is no more
// than the portal ever writes.
func FuzzLoginCookie(f *testing.F) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	a := newAuth(Config{ServerKey: bytes.Repeat([]byte{7}, 32), Now: func() time.Time { return now }}, false)
	e := echo.New()
	issue := func(n int) string {
		var pending []pendingLogin
		for range n {
			pending = append(pending, pendingLogin{State: randomToken(), Nonce: randomToken(), Verifier: randomToken(), ReturnTo: "/applications", Started: now})
		}
		rec := httptest.NewRecorder()
		if err := a.setPendingLogins(e.NewContext(httptest.NewRequest(http.MethodGet, "/auth/login", nil), rec), pending); err != nil {
			f.Fatal(err)
		}
		return rec.Result().Cookies()[0].Value
	}

	// Whole values: issued cookies, and junk.
	for _, s := range []string{issue(1), issue(maxPending), "", "x", "a|b|c", "MTIzNDU2Nzg5MA==", `"quoted"`, "%00", strings.Repeat("A", 4096)} {
		f.Add(s, false, uint16(0))
	}
	// Splices into a fresh cookie: none, one character, a separator, a cut,
	// and a space after it, which cookie parsing trims.
	end := uint16(len(issue(1)))
	for _, s := range []struct {
		text string
		at   uint16
	}{{"", 0}, {"A", 10}, {"B", 200}, {"|", 5}, {"||", 30}, {"\x00", 60}, {"=", 1000}, {" ", end}} {
		f.Add(s.text, true, s.at)
	}
	f.Fuzz(func(t *testing.T, value string, splice bool, at uint16) {
		sent := value
		var fresh string
		if splice {
			fresh = issue(1)
			// At most half of it: all of another valid cookie would
			// rightly be accepted.
			value = value[:min(len(value), len(fresh)/2)]
			i := int(at) % (len(fresh) + 1)
			sent = fresh[:i] + value + fresh[min(len(fresh), i+len(value)):]
		}
		req := httptest.NewRequest(http.MethodGet, "/auth/callback", nil)
		req.Header.Set("Cookie", loginCookie+"="+sent)
		// The portal gets the value net/http's cookie parser yields, which
		// trims spaces and quotes: compare that, not the header.
		parsed := ""
		if ck, err := req.Cookie(loginCookie); err == nil {
			parsed = ck.Value
		}
		got := a.pendingLogins(e.NewContext(req, httptest.NewRecorder()))
		switch {
		case splice && sameBytes(parsed, fresh) && len(got) != 1:
			t.Fatalf("the cookie just issued yields %d pending sign-ins, want 1", len(got))
		case splice && !sameBytes(parsed, fresh) && len(got) > 0:
			t.Fatalf("a changed cookie yields %d pending sign-ins: %q", len(got), sent)
		case len(got) > maxPending:
			t.Fatalf("%d pending sign-ins, more than the portal ever writes", len(got))
		}
	})
}

// sameBytes reports whether two cookie values carry the same bytes: the
// same text, or base64 that decodes the same (the last character of base64
// has bits that decoding ignores).
func sameBytes(a, b string) bool {
	if a == b {
		return true
	}
	da, errA := base64.URLEncoding.DecodeString(a)
	db, errB := base64.URLEncoding.DecodeString(b)
	return errA == nil && errB == nil && bytes.Equal(da, db)
}
