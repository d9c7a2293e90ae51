package handlers

import (
	"context"
	"sync"
	"time"

	"tokenservice"
)

// usageCounter counts issued tokens per application and hour in memory, so
// the token endpoint never writes to the database; FlushUsage adds the
// counts to the store in one transaction.
type usageCounter struct {
	mu     sync.Mutex
	counts map[usageKey]*tokenservice.TokenUsage
}

type usageKey struct {
	app  int64
	hour int64
	cred string
}

func newUsageCounter() *usageCounter {
	return &usageCounter{counts: map[usageKey]*tokenservice.TokenUsage{}}
}

// add counts one token for the application, issued under the credential
// with the secret (whose hint the store may not have yet) at now.
func (u *usageCounter) add(appID int64, clientID, credentialID, secret string, now time.Time) {
	k := usageKey{app: appID, hour: now.Unix() / 3600, cred: credentialID}
	u.mu.Lock()
	e := u.counts[k]
	if e == nil {
		e = &tokenservice.TokenUsage{ApplicationID: appID, ClientID: clientID, Hour: time.Unix(k.hour*3600, 0).UTC(),
			CredentialID: credentialID, Hint: tokenservice.SecretHint(secret)}
		u.counts[k] = e
	}
	e.Count++
	if now.After(e.Last) {
		e.Last = now
	}
	u.mu.Unlock()
}

// take returns the counts so far and starts again from zero.
func (u *usageCounter) take() []tokenservice.TokenUsage {
	u.mu.Lock()
	counts := u.counts
	u.counts = make(map[usageKey]*tokenservice.TokenUsage, len(counts))
	u.mu.Unlock()
	out := make([]tokenservice.TokenUsage, 0, len(counts))
	for _, e := range counts {
		out = append(out, *e)
	}
	return out
}

// putBack returns counts that could not be stored, to be tried again.
func (u *usageCounter) putBack(usage []tokenservice.TokenUsage) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, e := range usage {
		k := usageKey{app: e.ApplicationID, hour: e.Hour.Unix() / 3600, cred: e.CredentialID}
		cur := u.counts[k]
		if cur == nil {
			e := e
			u.counts[k] = &e
			continue
		}
		cur.Count += e.Count
		if e.Last.After(cur.Last) {
			cur.Last = e.Last
		}
	}
}

// FlushUsage writes the token counts gathered since the last flush. Counts
// that fail to be written are kept for the next flush.
func (s *Server) FlushUsage(ctx context.Context) error {
	usage := s.oauth.usage.take()
	if err := s.oauth.store.AddTokenUsage(ctx, usage); err != nil {
		s.oauth.usage.putBack(usage)
		return err
	}
	return nil
}
