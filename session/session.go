// Package session owns the portal's sign-in sessions: a gorilla/sessions
// Store whose data lives in the database, so that logout and expiry are final
// and every replica sees the same sessions. The cookie carries only the
// session id, signed and encrypted with securecookie; the database keeps only
// the SHA-256 of that id, so a copy of the database cannot be replayed as
// cookies.
package session

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"net/http"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"tokenservice"
)

// Backend is the storage the Store needs, keyed by the hex SHA-256 of the id.
// LoadSession returns a tokenservice ENOTFOUND error for a missing or expired row.
type Backend interface {
	LoadSession(ctx context.Context, idHash string, now time.Time) ([]byte, error)
	SaveSession(ctx context.Context, idHash string, data []byte, expiresAt, now time.Time) error
	UpdateSession(ctx context.Context, idHash string, data []byte, expiresAt, now time.Time) error
	DeleteSession(ctx context.Context, idHash string) error
}

const (
	createdKey = "_created" // unix seconds of the sign-in, for the absolute timeout
	touchedKey = "_touched" // unix seconds of the last save, for Touch
)

// Store is a sessions.Store over a Backend.
type Store struct {
	backend Backend
	codecs  []securecookie.Codec
	// Options are the cookie's attributes. MaxAge 0 makes a browser-session
	// cookie; the server enforces the timeouts itself.
	Options *sessions.Options
	// IdleTimeout ends a session not used for this long.
	IdleTimeout time.Duration
	// AbsoluteTimeout ends a session this long after it was created, used or not.
	AbsoluteTimeout time.Duration
	// TouchInterval is how stale a session may get before Touch saves it
	// again: the idle timeout is kept to within this, at one write per
	// interval instead of one per request.
	TouchInterval time.Duration
	// Now returns the current time; tests replace it.
	Now func() time.Time
}

// NewStore returns a Store that signs cookies with hashKey (32 or 64 bytes)
// and encrypts them with blockKey (32 bytes, AES-256).
func NewStore(b Backend, hashKey, blockKey []byte) *Store {
	codec := securecookie.New(hashKey, blockKey)
	codec.MaxAge(0) // expiry is the database's business
	codec.SetSerializer(securecookie.JSONEncoder{})
	return &Store{
		backend:         b,
		codecs:          []securecookie.Codec{codec},
		Options:         &sessions.Options{Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode},
		IdleTimeout:     2 * time.Hour,
		AbsoluteTimeout: 12 * time.Hour,
		TouchInterval:   time.Minute,
		Now:             time.Now,
	}
}

// Get returns the session of the request, cached for the request's lifetime.
func (s *Store) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(s, name)
}

// New returns the session named by the request's cookie, or a new empty one
// when there is no valid cookie or the session has ended. An invalid or
// unknown cookie is not an error: the caller just sees a new session.
func (s *Store) New(r *http.Request, name string) (*sessions.Session, error) {
	sess := sessions.NewSession(s, name)
	opts := *s.Options
	sess.Options = &opts
	sess.IsNew = true
	c, err := r.Cookie(name)
	if err != nil {
		return sess, nil
	}
	var id string
	if err := securecookie.DecodeMulti(name, c.Value, &id, s.codecs...); err != nil {
		return sess, nil
	}
	data, err := s.backend.LoadSession(r.Context(), hashID(id), s.Now())
	if tokenservice.ErrorCode(err) == tokenservice.ENOTFOUND {
		return sess, nil
	} else if err != nil {
		return sess, err
	}
	values := map[any]any{}
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&values); err != nil {
		return sess, nil
	}
	created, _ := values[createdKey].(int64)
	if s.Now().After(time.Unix(created, 0).Add(s.AbsoluteTimeout)) {
		_ = s.backend.DeleteSession(r.Context(), hashID(id))
		return sess, nil
	}
	sess.ID = id
	sess.Values = values
	sess.IsNew = false
	return sess, nil
}

// Save writes the session to the database and its id to the cookie. A
// session whose Options.MaxAge is negative is deleted for good, and the
// cookie cleared.
func (s *Store) Save(r *http.Request, w http.ResponseWriter, sess *sessions.Session) error {
	if sess.Options.MaxAge < 0 {
		if sess.ID != "" {
			if err := s.backend.DeleteSession(r.Context(), hashID(sess.ID)); err != nil {
				return err
			}
		}
		http.SetCookie(w, sessions.NewCookie(sess.Name(), "", sess.Options))
		return nil
	}
	now := s.Now()
	existing := sess.ID != "" && !sess.IsNew
	if sess.ID == "" {
		sess.ID = newID()
	}
	if _, ok := sess.Values[createdKey].(int64); !ok {
		sess.Values[createdKey] = now.Unix()
	}
	sess.Values[touchedKey] = now.Unix()
	created := time.Unix(sess.Values[createdKey].(int64), 0)
	expires := now.Add(s.IdleTimeout)
	if limit := created.Add(s.AbsoluteTimeout); limit.Before(expires) {
		expires = limit
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(sess.Values); err != nil {
		return errors.Join(errors.New("session: encode values"), err)
	}
	if existing {
		err := s.backend.UpdateSession(r.Context(), hashID(sess.ID), buf.Bytes(), expires, now)
		if tokenservice.ErrorCode(err) == tokenservice.ENOTFOUND {
			// Deleted (logout) or expired while this request ran: it stays
			// ended, and the browser loses its cookie.
			opts := *sess.Options
			opts.MaxAge = -1
			http.SetCookie(w, sessions.NewCookie(sess.Name(), "", &opts))
			return ErrEnded
		} else if err != nil {
			return err
		}
	} else if err := s.backend.SaveSession(r.Context(), hashID(sess.ID), buf.Bytes(), expires, now); err != nil {
		return err
	}
	encoded, err := securecookie.EncodeMulti(sess.Name(), sess.ID, s.codecs...)
	if err != nil {
		return err
	}
	http.SetCookie(w, sessions.NewCookie(sess.Name(), encoded, sess.Options))
	return nil
}

// Touch saves the session if it was last saved more than TouchInterval ago,
// so that the idle timeout counts from the last request.
func (s *Store) Touch(r *http.Request, w http.ResponseWriter, sess *sessions.Session) error {
	touched, _ := sess.Values[touchedKey].(int64)
	if !sess.IsNew && s.Now().Sub(time.Unix(touched, 0)) < s.TouchInterval {
		return nil
	}
	return s.Save(r, w, sess)
}

// Ends is when sess ends at the latest (its absolute timeout) and how long
// without a request ends it sooner (the idle timeout).
func (s *Store) Ends(sess *sessions.Session) (latest time.Time, idle time.Duration) {
	created, ok := sess.Values[createdKey].(int64)
	if !ok {
		return time.Time{}, s.IdleTimeout
	}
	return time.Unix(created, 0).Add(s.AbsoluteTimeout), s.IdleTimeout
}

// ErrEnded is returned by Save for a session that ended (logout, expiry)
// while the request that loaded it was running.
var ErrEnded = errors.New("session: the session has ended")

// Renew gives the session a new id and a new start, deleting the old row, so
// that an id known before sign-in (session fixation) is worthless after it.
// The values are kept; the caller saves the session.
func (s *Store) Renew(r *http.Request, sess *sessions.Session) error {
	if sess.ID != "" {
		if err := s.backend.DeleteSession(r.Context(), hashID(sess.ID)); err != nil {
			return err
		}
	}
	sess.ID = ""
	sess.IsNew = true
	delete(sess.Values, createdKey)
	return nil
}

func newID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}
