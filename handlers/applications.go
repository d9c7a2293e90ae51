package handlers

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"tokenservice"
	"tokenservice/scope"
	"tokenservice/secret"
	"tokenservice/session"
)

// Store is what the portal reads from the database; its changes go through
// the ApplicationService. Every method that takes an account id answers
// ENOTFOUND for another account's application.
type Store interface {
	Ping(ctx context.Context) error
	GetApplication(ctx context.Context, accountID, clientID string) (*tokenservice.Application, error)
	ListApplications(ctx context.Context, accountID string, opt tokenservice.ListOptions) (*tokenservice.ApplicationPage, error)
	TokenUsage(ctx context.Context, accountID, clientID string, now time.Time) (int, time.Time, error)
	RecordEvent(ctx context.Context, e *tokenservice.Event) error
	ListEvents(ctx context.Context, accountID string, f tokenservice.EventFilter) (*tokenservice.EventPage, error)
	EachEvent(ctx context.Context, accountID string, f tokenservice.EventFilter, fn func(*tokenservice.Event) error) error
	EventActors(ctx context.Context, accountID string) ([]tokenservice.EventActor, error)
	ApplicationNameInTrail(ctx context.Context, accountID, clientID string) (string, error)
	CountExpiring(ctx context.Context, accountID string, by time.Time) (int, error)
}

// Applications serves the pages of an account's applications: list, add,
// details, edit, reset secret, delete.
type Applications struct {
	store     Store
	ops       tokenservice.ApplicationService
	catalogue *scope.Catalogue
	window    time.Duration
	issuer    string
	now       func() time.Time
	logger    interface{ Info(string, ...any) }
	ceiling   time.Duration // the operator's maximum secret lifetime; 0 for none
	ttl       time.Duration // of access tokens
	audience  []string      // of access tokens
	tokens    testTokens
}

func newApplications(cfg Config) *Applications {
	return &Applications{store: cfg.Store, ops: cfg.Applications, catalogue: cfg.Catalogue, window: cfg.RevealWindow,
		issuer: strings.TrimRight(cfg.PublicURL, "/"), now: cfg.Now, logger: cfg.Logger, ceiling: cfg.MaxSecretLifetime,
		ttl: cfg.TokenTTL, audience: cfg.Audience}
}

// clientIDParam returns the Client ID of the URL, refusing malformed ones
// without asking the database (they are simply not found).
func clientIDParam(c echo.Context) (string, error) {
	id := c.Param("client_id")
	if !secret.ValidClientID(id) {
		return "", notFound()
	}
	return id, nil
}

// actorOf is who makes the request's change, as the audit trail records it.
func actorOf(c echo.Context) tokenservice.Actor { return actorFor(c, userOf(c)) }

// principalOf is who asks for the request's operation.
func principalOf(c echo.Context) tokenservice.Principal {
	return tokenservice.MemberPrincipal(userOf(c), actorOf(c))
}

// actorFor is user making the request's change.
func actorFor(c echo.Context, u *tokenservice.User) tokenservice.Actor {
	// A browser may send bytes that are not UTF-8 in its User-Agent.
	return tokenservice.Actor{Subject: u.Subject, Email: u.Email, Address: c.RealIP(),
		UserAgent: strings.ToValidUTF8(c.Request().UserAgent(), "\uFFFD")}
}

// formKey is the submission id a form carries (see newFormKey).
func formKey(c echo.Context) string { return c.FormValue("_form") }

// newFormKey is the submission id of a form about to be rendered: posting it
// twice (a double click, a resubmitted page) makes the change once.
func newFormKey() string { return randomToken() }

// flash stores a message for the next page of this session.
func setFlash(c echo.Context, msg string) error {
	sess, _ := c.Get("session").(*sessions.Session)
	if sess == nil {
		return nil
	}
	sess.Values[keyFlash] = msg
	if err := sess.Save(c.Request(), c.Response()); !errors.Is(err, session.ErrEnded) {
		return err
	}
	return nil // signed out meanwhile: the next page goes through login anyway
}

// noteWarning adds a consequence of the change to the flash that
// finishChange saves next; the page after shows both.
func noteWarning(c echo.Context, msg string) {
	if sess, _ := c.Get("session").(*sessions.Session); sess != nil && msg != "" {
		sess.Values[keyFlashWarning] = msg
	}
}

// popWarning takes the warning noteWarning left, for popFlash to save.
func popWarning(c echo.Context) string {
	sess, _ := c.Get("session").(*sessions.Session)
	if sess == nil {
		return ""
	}
	msg, _ := sess.Values[keyFlashWarning].(string)
	delete(sess.Values, keyFlashWarning)
	return msg
}

func popFlash(c echo.Context) string {
	sess, _ := c.Get("session").(*sessions.Session)
	if sess == nil {
		return ""
	}
	msg, _ := sess.Values[keyFlash].(string)
	if msg != "" {
		delete(sess.Values, keyFlash)
		_ = sess.Save(c.Request(), c.Response())
	}
	return msg
}

func windowText(d interface{ Minutes() float64 }) string {
	m := int(d.Minutes())
	if m == 1 {
		return "1 minute"
	}
	if m < 1 {
		return "less than a minute"
	}
	return strconv.Itoa(m) + " minutes"
}

// appOf is the application the URL names, which must be in the user's
// account.
func (h *Applications) appOf(c echo.Context) (*tokenservice.Application, error) {
	id, err := clientIDParam(c)
	if err != nil {
		return nil, err
	}
	return h.store.GetApplication(c.Request().Context(), userOf(c).AccountID, id)
}

// outcome is where each answer to a posted change leads.
type outcome struct {
	duplicate  string // a second post of the form; "" for the application the first post named
	conflict   string // the flash for a stale version; "" leaves it to the error page
	conflictTo string
	done       func() (flash, to string) // on success
}

// finishChange answers a posted change: a second post of the same form
// (the first one made the change), a stale version, another error for the
// error handler, or success, each with its flash and redirect.
func finishChange(c echo.Context, err error, o outcome) error {
	var dup *tokenservice.DuplicateError
	switch {
	case errors.As(err, &dup):
		if o.duplicate == "" {
			return redirect(c, "/applications/"+dup.ClientID)
		}
		return redirect(c, o.duplicate)
	case o.conflict != "" && tokenservice.ErrorCode(err) == tokenservice.ECONFLICT:
		if err := setFlash(c, o.conflict); err != nil {
			return err
		}
		return redirect(c, o.conflictTo)
	case err != nil:
		return err
	}
	flash, to := o.done()
	if err := setFlash(c, flash); err != nil {
		return err
	}
	return redirect(c, to)
}
