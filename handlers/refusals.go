package handlers

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"tokenservice"
)

// Limits of the refused-attempt events, so that refusals never become a
// write per request: one per person, reason and path a minute, and at most
// refusalsPerPerson of a person's a minute whatever the paths.
const (
	refusalWindow     = time.Minute
	refusalsPerPerson = 60
)

// refusals records in a person's own account the requests the portal
// refused them: a read-only member asking for a change, anyone asking for
// an application their account does not have. The other account's trail
// never hears of it, and the event says nothing about whether it exists.
type refusals struct {
	store interface {
		RecordEvent(ctx context.Context, e *tokenservice.Event) error
	}
	now    func() time.Time
	logger *slog.Logger

	mu        sync.Mutex
	last      map[refusalKey]time.Time
	people    map[personKey]*personCount
	lastSweep time.Time
}

type personKey struct{ account, subject string }

type refusalKey struct {
	person personKey
	reason tokenservice.Refusal
	path   string
}

type personCount struct {
	since time.Time
	n     int
}

func newRefusals(cfg Config) *refusals {
	return &refusals{store: cfg.Store, now: cfg.Now, logger: cfg.Logger,
		last: map[refusalKey]time.Time{}, people: map[personKey]*personCount{}}
}

// refusalOf is why err refused the signed-in user, or "" when it is not a
// refusal the trail records (an expired form, a missing page).
func refusalOf(err error) tokenservice.Refusal {
	switch {
	case errors.Is(err, tokenservice.ErrReadOnly), errors.Is(err, errActivityAdminsOnly):
		return tokenservice.RefusedReadOnly
	case tokenservice.ErrorCode(err) == tokenservice.ENOTFOUND:
		return tokenservice.RefusedNotFound
	}
	return ""
}

// record adds the refusal of c's request by err to the person's trail,
// unless the limits say it was recorded a moment ago.
func (r *refusals) record(c echo.Context, err error) {
	u := userOf(c)
	reason := refusalOf(err)
	req := c.Request()
	if u == nil || u.AccountID == "" || reason == "" || machineEndpoint(req.URL.Path) || strings.HasPrefix(req.URL.Path, "/static/") {
		return
	}
	now := r.now()
	if !r.allow(refusalKey{personKey{u.AccountID, u.Subject}, reason, req.URL.Path}, now) {
		return
	}
	e := &tokenservice.Event{AccountID: u.AccountID, At: now, Action: tokenservice.ActionAccessRefused, Actor: actorOf(c),
		Method: req.Method, Path: req.URL.Path, Route: c.Path(), Refused: reason}
	// The refusal is answered whether or not the trail takes it, also when
	// the person has gone: no cancel, a deadline of its own.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(req.Context()), 5*time.Second)
	defer cancel()
	if err := r.store.RecordEvent(ctx, e); err != nil {
		r.logger.Error("record refused request", append(logAttrs(c), "err", err)...)
	}
}

// allow reports whether a refusal of key at now is recorded, and counts it.
func (r *refusals) allow(key refusalKey, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now.Sub(r.lastSweep) >= refusalWindow {
		for k, t := range r.last {
			if now.Sub(t) >= refusalWindow {
				delete(r.last, k)
			}
		}
		for k, p := range r.people {
			if now.Sub(p.since) >= refusalWindow {
				delete(r.people, k)
			}
		}
		r.lastSweep = now
	}
	if t, ok := r.last[key]; ok && now.Sub(t) < refusalWindow {
		return false
	}
	p := r.people[key.person]
	if p == nil || now.Sub(p.since) >= refusalWindow {
		p = &personCount{since: now}
		r.people[key.person] = p
	}
	if p.n >= refusalsPerPerson {
		return false
	}
	p.n++
	r.last[key] = now
	return true
}

// refusedWhat says in words what a refused request tried to do, from its
// method and route.
func refusedWhat(method, route string) string {
	switch route {
	case "/applications":
		return "add an application"
	case "/applications/new":
		return "open the Add Application form"
	case "/applications/:client_id":
		if method == http.MethodPost {
			return "change an application"
		}
		return "open an application"
	case "/applications/:client_id/edit":
		return "edit an application"
	case "/applications/:client_id/secret/reveal":
		return "show a client secret"
	case "/applications/:client_id/secret/copy":
		return "copy a client secret"
	case "/applications/:client_id/reset":
		return "reset a client secret"
	case "/applications/:client_id/delete":
		return "delete an application"
	case "/applications/:client_id/rotate":
		return "rotate a client secret"
	case "/applications/:client_id/credentials/:credential_id/revoke":
		return "revoke a credential"
	case "/applications/:client_id/test-token":
		return "get a test token"
	case "/settings":
		if method == http.MethodPost {
			return "change the account's settings"
		}
		return "open the account's settings"
	case "/activity", "/applications/:client_id/activity", "/activity/applications":
		return "see the activity"
	case "/activity/export":
		return "export the activity"
	}
	return "open a page"
}
