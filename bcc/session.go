package bcc

import (
	"crypto/rand"
	"encoding/base64"
	"sync"
	"time"
)

// sessionLifetime bounds a single sign-on session; after it the user types the password again.
const sessionLifetime = 12 * time.Hour

// session is a browser's single sign-on session, referenced by the bcc_session cookie.
type session struct {
	subject   string
	authTime  time.Time
	expiresAt time.Time
	browser   string // browserHash of the bcc_browser value set with the session
}

// sessionStore keeps sign-on sessions in memory, keyed by a random 256-bit id.
type sessionStore struct {
	mu       sync.Mutex
	sessions map[string]session
}

func newSessionStore() *sessionStore {
	return &sessionStore{sessions: make(map[string]session)}
}

// create starts a session for subject in the browser and returns its id.
func (s *sessionStore) create(subject string, authTime time.Time, browser string) string {
	b := make([]byte, 32)
	rand.Read(b)
	id := base64.RawURLEncoding.EncodeToString(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	for k, v := range s.sessions {
		if now.After(v.expiresAt) {
			delete(s.sessions, k)
		}
	}
	s.sessions[id] = session{subject: subject, authTime: authTime, expiresAt: authTime.Add(sessionLifetime), browser: browser}
	return id
}

// get returns the live session with the id.
func (s *sessionStore) get(id string) (session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[id]
	if !ok || time.Now().After(sess.expiresAt) {
		return session{}, false
	}
	return sess, true
}

// delete ends the session with the id and reports whether there was one.
func (s *sessionStore) delete(id string) (session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[id]
	delete(s.sessions, id)
	return sess, ok
}
