package session_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"tokenservice/db"
	"tokenservice/session"
)

func newStore(t *testing.T) (*session.Store, *time.Time) {
	t.Helper()
	store, err := db.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s := session.NewStore(store, bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32))
	s.Now = func() time.Time { return now }
	return s, &now
}

// save stores values in a new session and returns the cookie.
func save(t *testing.T, s *session.Store, values map[any]any) *http.Cookie {
	t.Helper()
	r := httptest.NewRequest("GET", "/", nil)
	sess, err := s.New(r, "sid")
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range values {
		sess.Values[k] = v
	}
	w := httptest.NewRecorder()
	if err := s.Save(r, w, sess); err != nil {
		t.Fatal(err)
	}
	return w.Result().Cookies()[0]
}

func load(t *testing.T, s *session.Store, c *http.Cookie) map[any]any {
	t.Helper()
	r := httptest.NewRequest("GET", "/", nil)
	if c != nil {
		r.AddCookie(c)
	}
	sess, err := s.New(r, "sid")
	if err != nil {
		t.Fatal(err)
	}
	if sess.IsNew {
		return nil
	}
	return sess.Values
}

func TestRoundTrip(t *testing.T) {
	s, _ := newStore(t)
	c := save(t, s, map[any]any{"user": "ada"})
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
		t.Fatalf("cookie attributes: HttpOnly=%v SameSite=%v", c.HttpOnly, c.SameSite)
	}
	if got := load(t, s, c); got["user"] != "ada" {
		t.Fatalf("loaded %v", got)
	}
	if bytes.Contains([]byte(c.Value), []byte("ada")) {
		t.Fatal("cookie carries session data")
	}
}

func TestRejected(t *testing.T) {
	s, now := newStore(t)
	c := save(t, s, map[any]any{"user": "ada"})
	t.Run("Tampered", func(t *testing.T) {
		bad := *c
		bad.Value = c.Value[:len(c.Value)-2] + "xx"
		if load(t, s, &bad) != nil {
			t.Fatal("tampered cookie accepted")
		}
	})
	t.Run("OtherKeys", func(t *testing.T) {
		other := session.NewStore(nil, bytes.Repeat([]byte{3}, 32), bytes.Repeat([]byte{4}, 32))
		if load(t, other, c) != nil {
			t.Fatal("cookie accepted under other keys")
		}
	})
	t.Run("IdleTimeout", func(t *testing.T) {
		*now = now.Add(s.IdleTimeout + time.Minute)
		if load(t, s, c) != nil {
			t.Fatal("idle session accepted")
		}
	})
}

func TestAbsoluteTimeout(t *testing.T) {
	s, now := newStore(t)
	c := save(t, s, map[any]any{"user": "ada"})
	// Keep the session busy: every request within the idle timeout.
	for elapsed := time.Duration(0); elapsed < s.AbsoluteTimeout-time.Hour; elapsed += time.Hour {
		*now = now.Add(time.Hour)
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(c)
		sess, _ := s.New(r, "sid")
		if sess.IsNew {
			t.Fatalf("session ended early after %s", elapsed)
		}
		if err := s.Save(r, httptest.NewRecorder(), sess); err != nil {
			t.Fatal(err)
		}
	}
	*now = now.Add(2 * time.Hour)
	if load(t, s, c) != nil {
		t.Fatal("session outlived the absolute timeout")
	}
}

func TestDeleteAndRenew(t *testing.T) {
	s, _ := newStore(t)
	c := save(t, s, map[any]any{"user": "ada"})

	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(c)
	sess, _ := s.New(r, "sid")
	if err := s.Renew(r, sess); err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	if err := s.Save(r, w, sess); err != nil {
		t.Fatal(err)
	}
	renewed := w.Result().Cookies()[0]
	if load(t, s, c) != nil {
		t.Fatal("the id from before Renew still works (session fixation)")
	}
	if got := load(t, s, renewed); got["user"] != "ada" {
		t.Fatalf("renewed session lost its values: %v", got)
	}

	r = httptest.NewRequest("GET", "/", nil)
	r.AddCookie(renewed)
	sess, _ = s.New(r, "sid")
	sess.Options.MaxAge = -1
	w = httptest.NewRecorder()
	if err := s.Save(r, w, sess); err != nil {
		t.Fatal(err)
	}
	if got := w.Result().Cookies()[0]; got.MaxAge >= 0 {
		t.Fatalf("cookie not cleared: MaxAge=%d", got.MaxAge)
	}
	if load(t, s, renewed) != nil {
		t.Fatal("deleted session still loads from its old cookie")
	}
}

// TestNoResurrection: a request that loaded the session before logout
// cannot bring it back by saving afterwards.
func TestNoResurrection(t *testing.T) {
	s, _ := newStore(t)
	c := save(t, s, map[any]any{"user": "ada"})

	inFlight := httptest.NewRequest("GET", "/", nil)
	inFlight.AddCookie(c)
	late, _ := s.New(inFlight, "sid")

	logout := httptest.NewRequest("GET", "/", nil)
	logout.AddCookie(c)
	sess, _ := s.New(logout, "sid")
	sess.Options.MaxAge = -1
	if err := s.Save(logout, httptest.NewRecorder(), sess); err != nil {
		t.Fatal(err)
	}

	w := httptest.NewRecorder()
	if err := s.Save(inFlight, w, late); !errors.Is(err, session.ErrEnded) {
		t.Fatalf("Save after logout: err = %v, want ErrEnded", err)
	}
	if got := w.Result().Cookies(); len(got) != 1 || got[0].MaxAge >= 0 {
		t.Fatalf("cookie not cleared: %v", got)
	}
	if load(t, s, c) != nil {
		t.Fatal("the session came back after logout")
	}
}

func TestTouch(t *testing.T) {
	s, now := newStore(t)
	c := save(t, s, map[any]any{"user": "ada"})
	touch := func() bool {
		t.Helper()
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(c)
		sess, _ := s.New(r, "sid")
		if sess.IsNew {
			t.Fatal("session ended")
		}
		w := httptest.NewRecorder()
		if err := s.Touch(r, w, sess); err != nil {
			t.Fatal(err)
		}
		return len(w.Result().Cookies()) > 0
	}
	*now = now.Add(s.TouchInterval / 2)
	if touch() {
		t.Fatal("Touch saved a session saved moments ago")
	}
	*now = now.Add(s.TouchInterval)
	if !touch() {
		t.Fatal("Touch did not save a stale session")
	}
	// Kept alive by touches, the session outlives one idle timeout.
	for i := 0; i < 3; i++ {
		*now = now.Add(s.IdleTimeout - time.Minute)
		touch()
	}
}
