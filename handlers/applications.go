package handlers

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"tokenservice"
	"tokenservice/scope"
	"tokenservice/secret"
	"tokenservice/session"
	"tokenservice/views"
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
}

func newApplications(cfg Config) *Applications {
	return &Applications{store: cfg.Store, ops: cfg.Applications, catalogue: cfg.Catalogue, window: cfg.RevealWindow,
		issuer: strings.TrimRight(cfg.PublicURL, "/"), now: cfg.Now, logger: cfg.Logger}
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

// listApplications shows the account's applications, filtered and paginated
// by keyset; the live filter gets only the table.
func (h *Applications) listApplications(c echo.Context) error {
	user := userOf(c)
	filter := strings.TrimSpace(c.QueryParam("q"))
	if len([]rune(filter)) > 200 {
		filter = string([]rune(filter)[:200])
	}
	after := c.QueryParam("after")
	page, err := h.store.ListApplications(c.Request().Context(), user.AccountID, tokenservice.ListOptions{Filter: filter, After: after, Limit: 50})
	if tokenservice.ErrorCode(err) == tokenservice.EINVALID {
		return c.Redirect(http.StatusSeeOther, "/applications")
	} else if err != nil {
		return err
	}
	p := views.ApplicationsPage{
		AccountName:  user.AccountName,
		Filter:       filter,
		Total:        min(page.Total, tokenservice.MaxListTotal),
		TotalCapped:  page.Total > tokenservice.MaxListTotal,
		AccountEmpty: filter == "" && after == "" && len(page.Applications) == 0,
	}
	for _, a := range page.Applications {
		p.Rows = append(p.Rows, views.ApplicationRow{Name: a.Name, ClientID: a.ClientID, Scopes: h.summaries(a.Scopes), CreatedAt: a.CreatedAt})
	}
	q := url.Values{}
	if filter != "" {
		q.Set("q", filter)
	}
	if after != "" {
		p.FirstURL = "/applications?" + q.Encode()
	}
	if page.Next != "" {
		q.Set("after", page.Next)
		p.NextURL = "/applications?" + q.Encode()
	}
	if isHTMX(c) && c.Request().Header.Get("HX-Target") == "app-table" {
		return render(c, http.StatusOK, views.ApplicationsTable(p))
	}
	p.Flash = popFlash(c)
	return render(c, http.StatusOK, views.Applications(p))
}

// summaries names each grant compactly for the list and conflict notices.
func (h *Applications) summaries(grants []tokenservice.ScopeGrant) []views.ScopeSummary {
	var out []views.ScopeSummary
	for _, g := range grants {
		if e, ok := h.catalogue.Lookup(g.Key); ok {
			out = append(out, views.ScopeSummary{Label: e.Product + " · " + g.Access.Label()})
		} else {
			out = append(out, views.ScopeSummary{Label: g.Key + " · " + g.Access.Label(), Retired: true})
		}
	}
	return out
}

// showDetails is the Application Details page.
func (h *Applications) showDetails(c echo.Context) error {
	id, err := clientIDParam(c)
	if err != nil {
		return err
	}
	app, err := h.store.GetApplication(c.Request().Context(), userOf(c).AccountID, id)
	if err != nil {
		return err
	}
	d := h.details(c, app)
	if isHTMX(c) && c.Request().Header.Get("HX-Target") == "secret-panel" {
		return render(c, http.StatusOK, views.SecretPanelView(d.Secret))
	}
	if err := h.addUsage(c, &d); err != nil {
		return err
	}
	d.Flash = popFlash(c)
	return render(c, http.StatusOK, views.Details(d))
}

func (h *Applications) details(c echo.Context, app *tokenservice.Application) views.ApplicationDetails {
	now := h.now()
	d := views.ApplicationDetails{
		Name: app.Name, ClientID: app.ClientID,
		CreatedAt: app.CreatedAt, CreatedBy: app.CreatedBy, UpdatedAt: app.UpdatedAt, UpdatedBy: app.UpdatedBy,
		Issuer: h.issuer, TokenURL: h.issuer + "/oauth2/token", JWKSURL: h.issuer + "/.well-known/jwks.json",
		Secret: h.secretPanel(c, app, now),
	}
	for _, g := range app.Scopes {
		sd := views.ScopeDetail{Access: g.Access.Label(), OAuthScopes: g.OAuthScopes()}
		if e, ok := h.catalogue.Lookup(g.Key); ok {
			sd.Product, sd.Resource = e.Product, e.Resource
		} else {
			sd.Product, sd.Resource, sd.Retired = g.Key, "", true
		}
		d.Scopes = append(d.Scopes, sd)
		if d.ScopeExample == "" && len(sd.OAuthScopes) > 0 {
			d.ScopeExample = sd.OAuthScopes[0]
		}
	}
	return d
}

// addUsage adds when the application last obtained a token and how many it
// got in the last 24 hours (counted by the token endpoint, written in
// batches, so up to a sweep interval behind).
func (h *Applications) addUsage(c echo.Context, d *views.ApplicationDetails) error {
	n, last, err := h.store.TokenUsage(c.Request().Context(), userOf(c).AccountID, d.ClientID, h.now())
	if err != nil {
		return err
	}
	d.TokensLastDay, d.LastTokenAt = n, last
	return nil
}

func (h *Applications) secretPanel(c echo.Context, app *tokenservice.Application, now time.Time) views.SecretPanel {
	p := views.SecretPanel{ClientID: app.ClientID, CanView: userOf(c).Admin}
	if app.SecretRevealable(now) {
		p.Revealable = true
		p.SecondsLeft = int(app.SecretRevealUntil.Sub(now).Round(time.Second).Seconds())
	}
	return p
}

// revealSecret shows the Client Secret during its reveal window.
func (h *Applications) revealSecret(c echo.Context) error {
	app, err := h.appOf(c)
	if err != nil {
		return err
	}
	id := app.ClientID
	pt, err := h.ops.RevealSecret(c.Request().Context(), principalOf(c), id)
	if err != nil && tokenservice.ErrorCode(err) != tokenservice.EGONE {
		return err
	}
	if pt != "" {
		h.logger.Info("client secret revealed", append(logAttrs(c), "client_id", id, "by", userOf(c).Email)...)
	}
	d := h.details(c, app)
	if err != nil { // the window ended between the page and the click
		d.Secret.Revealable = false
	}
	d.Secret.Plaintext = pt
	if isHTMX(c) {
		return render(c, http.StatusOK, views.SecretPanelView(d.Secret))
	}
	if err := h.addUsage(c, &d); err != nil {
		return err
	}
	return render(c, http.StatusOK, views.Details(d))
}

// copySecret answers the copy button with the plaintext (never cached), or
// 410 Gone once the window has ended.
func (h *Applications) copySecret(c echo.Context) error {
	id, err := clientIDParam(c)
	if err != nil {
		return err
	}
	pt, err := h.ops.CopySecret(c.Request().Context(), principalOf(c), id)
	if err != nil {
		return err // the copy button asks for text/plain: see errorHandler
	}
	h.logger.Info("client secret copied", append(logAttrs(c), "client_id", id, "by", userOf(c).Email)...)
	return c.String(http.StatusOK, pt)
}
