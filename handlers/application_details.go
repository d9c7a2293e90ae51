package handlers

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"tokenservice"
	"tokenservice/views"
)

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
	d.FlashWarning = popWarning(c)
	d.Flash = popFlash(c)
	return render(c, http.StatusOK, views.Details(d))
}

func (h *Applications) details(c echo.Context, app *tokenservice.Application) views.ApplicationDetails {
	now := h.now()
	d := views.ApplicationDetails{
		Name: app.Name, ClientID: app.ClientID,
		CreatedAt: app.CreatedAt, CreatedBy: app.CreatedBy, UpdatedAt: app.UpdatedAt, UpdatedBy: app.UpdatedBy,
		Issuer: h.issuer, TokenURL: h.issuer + "/oauth2/token", JWKSURL: h.issuer + "/.well-known/jwks.json",
		IntrospectURL: h.issuer + "/oauth2/introspect", RevokeURL: h.issuer + "/oauth2/revoke",
		Audience: h.issuer, TokenLifetime: h.ttl, Test: views.TestTokenPanel{ClientID: app.ClientID},
		Secret: h.secretPanel(c, app, now),
	}
	if len(h.audience) > 0 {
		d.Audience = strings.Join(h.audience, ", ")
	}
	h.credentialRows(app, &d, now)
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
