package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"tokenservice"
	"tokenservice/static"
)

// routes lists every route of the portal, method and path, in one place.
func (s *Server) routes(e *echo.Echo) {
	e.GET("/healthz", s.health.live)
	e.GET("/readyz", s.health.ready)
	e.GET(static.Prefix+"*", echo.WrapHandler(static.Handler()))

	// The authorization server. Its endpoints take any method so that a
	// wrong one gets a 405 (an OAuth error for the POST endpoints), not the
	// portal's sign-in redirect.
	e.Any("/oauth2/token", s.oauth.issueToken)
	e.Any("/oauth2/introspect", s.oauth.introspect)
	e.Any("/oauth2/revoke", s.oauth.revoke)
	e.Any("/oauth2/secrets/leaked", s.oauth.reportLeaked)
	e.Any("/.well-known/jwks.json", s.oauth.jwks)
	e.Any("/.well-known/oauth-authorization-server", s.oauth.metadata)

	e.GET("/auth/login", s.auth.login)
	e.GET("/auth/callback", s.auth.callback)
	e.POST("/auth/logout", s.auth.logout)
	e.GET("/auth/signed-out", s.auth.signedOut)
	e.GET("/auth/session", s.auth.sessionState)

	// Everything below needs a signed-in member of an account, and every
	// unsafe request a CSRF token bound to the session.
	g := e.Group("", s.auth.requireUser, s.auth.checkCSRF, s.auth.requireAccount)
	g.GET("/", func(c echo.Context) error { return c.Redirect(http.StatusSeeOther, "/applications") })
	g.GET("/applications", s.apps.listApplications)
	g.GET("/applications/:client_id", s.apps.showDetails)

	// Changes and secrets: the account's admins only. The operations check
	// the role again, for every caller.
	admin := routeGroup{g, adminOnly(tokenservice.ErrReadOnly)}
	admin.GET("/applications/new", s.apps.newApplication)
	admin.POST("/applications", s.apps.createApplication)
	admin.GET("/applications/:client_id/edit", s.apps.editApplication)
	admin.POST("/applications/:client_id", s.apps.updateApplication)
	admin.POST("/applications/:client_id/secret/reveal", s.apps.revealSecret)
	admin.POST("/applications/:client_id/secret/copy", s.apps.copySecret)
	admin.GET("/applications/:client_id/reset", s.apps.confirmReset)
	admin.POST("/applications/:client_id/reset", s.apps.resetSecret)
	admin.GET("/applications/:client_id/delete", s.apps.confirmDelete)
	admin.POST("/applications/:client_id/delete", s.apps.deleteApplication)
	admin.GET("/applications/:client_id/rotate", s.apps.rotateForm)
	admin.POST("/applications/:client_id/rotate", s.apps.rotateSecret)
	admin.GET("/applications/:client_id/credentials/:credential_id/revoke", s.apps.confirmRevoke)
	admin.POST("/applications/:client_id/credentials/:credential_id/revoke", s.apps.revokeCredential)
	admin.POST("/applications/:client_id/test-token", s.apps.testToken)
	admin.GET("/settings", s.apps.showSettings)
	admin.POST("/settings", s.apps.saveSettings)

	// The audit trail holds who did what from which address, which
	// read-only members do not need: admins only.
	audit := routeGroup{g, adminOnly(errActivityAdminsOnly)}
	audit.GET("/applications/:client_id/activity", s.activity.applicationActivity)
	audit.GET("/activity", s.activity.activity)
	audit.GET("/activity/export", s.activity.exportActivity)
	audit.GET("/activity/applications", s.activity.suggestApplications)
}

// Routes lists every route of the portal, for the tests that must cover
// each one (another account's application, read-only members).
func (s *Server) Routes() []*echo.Route { return s.echo.Routes() }

// routeGroup adds routes to g behind one more middleware. Unlike a nested
// echo.Group it adds no catch-all route, which would answer unknown paths
// with the middleware's refusal instead of a 404.
type routeGroup struct {
	g *echo.Group
	m echo.MiddlewareFunc
}

func (r routeGroup) GET(path string, h echo.HandlerFunc)  { r.g.GET(path, h, r.m) }
func (r routeGroup) POST(path string, h echo.HandlerFunc) { r.g.POST(path, h, r.m) }

// adminOnly refuses read-only members with refusal, whatever the page showed.
func adminOnly(refusal error) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if u := userOf(c); u == nil || !u.Admin {
				return refusal
			}
			return next(c)
		}
	}
}
