package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

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
	e.Any("/.well-known/jwks.json", s.oauth.jwks)
	e.Any("/.well-known/oauth-authorization-server", s.oauth.metadata)

	e.GET("/auth/login", s.auth.login)
	e.GET("/auth/callback", s.auth.callback)
	e.POST("/auth/logout", s.auth.logout)
	e.GET("/auth/signed-out", s.auth.signedOut)

	// Everything below needs a signed-in member of an account, and every
	// unsafe request a CSRF token bound to the session.
	g := e.Group("", s.auth.requireUser, s.auth.checkCSRF, s.auth.requireAccount)
	g.GET("/", func(c echo.Context) error { return c.Redirect(http.StatusSeeOther, "/applications") })
	g.GET("/applications", s.apps.listApplications)
	g.GET("/applications/new", s.apps.newApplication)
	g.POST("/applications", s.apps.createApplication)
	g.GET("/applications/:client_id", s.apps.showDetails)
	g.GET("/applications/:client_id/edit", s.apps.editApplication)
	g.POST("/applications/:client_id", s.apps.updateApplication)
	g.POST("/applications/:client_id/secret/reveal", s.apps.revealSecret)
	g.POST("/applications/:client_id/secret/copy", s.apps.copySecret)
	g.GET("/applications/:client_id/reset", s.apps.confirmReset)
	g.POST("/applications/:client_id/reset", s.apps.resetSecret)
	g.GET("/applications/:client_id/delete", s.apps.confirmDelete)
	g.POST("/applications/:client_id/delete", s.apps.deleteApplication)
	g.GET("/applications/:client_id/activity", s.apps.applicationActivity)
	g.GET("/activity", s.apps.activity)
	g.GET("/activity/export", s.apps.exportActivity)
}

// Routes lists every route of the portal, for the tests that must cover
// each one (another account's application, read-only members).
func (s *Server) Routes() []*echo.Route { return s.echo.Routes() }
