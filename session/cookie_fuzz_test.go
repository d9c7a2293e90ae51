package session_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"tokenservice"
	"tokenservice/session"
)

// memoryBackend keeps sessions in memory: the fuzz target is the cookie, not
// the database.
type memoryBackend struct {
	mu   sync.Mutex
	rows map[string][]byte
}

func (b *memoryBackend) LoadSession(_ context.Context, idHash string, _ time.Time) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	data, ok := b.rows[idHash]
	if !ok {
		return nil, tokenservice.Errorf(tokenservice.ENOTFOUND, "no such session")
	}
	return data, nil
}

func (b *memoryBackend) SaveSession(_ context.Context, idHash string, data []byte, _, _ time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rows[idHash] = data
	return nil
}

func (b *memoryBackend) UpdateSession(ctx context.Context, idHash string, data []byte, expiresAt, now time.Time) error {
	return b.SaveSession(ctx, idHash, data, expiresAt, now)
}

func (b *memoryBackend) DeleteSession(_ context.Context, idHash string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.rows, idHash)
	return nil
}

// FuzzSessionCookie sends anything as the session cookie to the Store that
// decodes it: it never fails or panics; spliced into a cookie the Store just
// issued, any change that reaches the Store yields a new, empty session,
// never someone's.
func FuzzSessionCookie(f *testing.F) {
	s := session.NewStore(&memoryBackend{rows: map[string][]byte{}}, bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32))
	issue := func() (value, id string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		sess, err := s.New(r, "sid")
		if err != nil {
			f.Fatal(err)
		}
		sess.Values["user"] = "ada"
		w := httptest.NewRecorder()
		if err := s.Save(r, w, sess); err != nil {
			f.Fatal(err)
		}
		return w.Result().Cookies()[0].Value, sess.ID
	}

	issued, _ := issue()
	for _, v := range []string{issued, "", "x", "a|b|c", "MTIzNDU2Nzg5MA==", `"quoted"`, "%00", strings.Repeat("A", 4096)} {
		f.Add(v, false, uint16(0))
	}
	// Splices into a fresh cookie, among them a space after it, which
	// cookie parsing trims.
	for _, sp := range []struct {
		text string
		at   uint16
	}{{"", 0}, {"A", 10}, {"B", 100}, {"|", 5}, {"||", 30}, {"=", 1000}, {" ", uint16(len(issued))}} {
		f.Add(sp.text, true, sp.at)
	}
	f.Fuzz(func(t *testing.T, value string, splice bool, at uint16) {
		sent := value
		var fresh, id string
		if splice {
			fresh, id = issue()
			// At most half of it: all of another valid cookie would
			// rightly be accepted.
			value = value[:min(len(value), len(fresh)/2)]
			i := int(at) % (len(fresh) + 1)
			sent = fresh[:i] + value + fresh[min(len(fresh), i+len(value)):]
		}
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Cookie", "sid="+sent)
		// The Store gets the value net/http's cookie parser yields, which
		// trims spaces and quotes: compare that, not the header.
		parsed := ""
		if ck, err := r.Cookie("sid"); err == nil {
			parsed = ck.Value
		}
		sess, err := s.New(r, "sid")
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		switch {
		case splice && sameBytes(parsed, fresh) && (sess.IsNew || sess.ID != id):
			t.Fatal("the cookie just issued does not load its session")
		case splice && !sameBytes(parsed, fresh) && !sess.IsNew:
			t.Fatalf("a changed cookie loads a session: %q", sent)
		case sess.IsNew && (sess.ID != "" || len(sess.Values) != 0):
			t.Fatalf("a new session with id %q and values %v", sess.ID, sess.Values)
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
