// Package handlers is the portal's HTTP layer: one struct per area (Auth,
// Applications, Activity, health), every route in routes.go, and errors turned into
// pages in exactly one place.
package handlers

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"tokenservice"
	"tokenservice/scope"
	"tokenservice/secret"
	"tokenservice/session"
	"tokenservice/token"
	"tokenservice/views"
)

// Config is everything the portal's handlers need, built by cmd/tokenservice.
type Config struct {
	PublicURL    string // e.g. "https://us.tokens.example.com"; the token endpoint lives under it
	Region       string
	RegionLabel  string // the region's display name, e.g. "United States (US)"
	Regions      []views.Region
	RevealWindow time.Duration
	// MaxSecretLifetime is the operator's ceiling on secret lifetimes
	// (--max-secret-lifetime), shown on the Settings page; 0 for none.
	MaxSecretLifetime time.Duration
	Catalogue         *scope.Catalogue
	Store             Store
	// Applications makes every change to applications, with its rules.
	Applications tokenservice.ApplicationService
	TokenStore   TokenStore
	TokenTTL     time.Duration // lifetime of access tokens
	Audience     []string      // "aud" of access tokens; default: the public URL

	// ServerKey is the 32-byte root key the two below come from (see
	// secret.NewKeys and token.Keyring); the handlers derive only the login
	// cookie's keys from it themselves.
	ServerKey []byte
	// ClientSecretKeys hash client secrets for verification and encrypt
	// them for the reveal window.
	ClientSecretKeys *secret.Keys
	// SigningKeys sign access tokens; their public halves are the JWKS.
	SigningKeys *token.Keyring

	// TrustedProxies are the proxies whose X-Forwarded-For is believed for
	// the client's address (rate limits, logs); none: the connection's.
	TrustedProxies []*net.IPNet
	Sessions       *session.Store
	OIDC           *OIDC
	Logger         *slog.Logger
	Now            func() time.Time
	// Stats gives the metrics their numbers from the database; nil: none.
	Stats StatsStore
}

// Server is the portal's HTTP server: the Echo instance with every route.
type Server struct {
	echo     *echo.Echo
	logger   *slog.Logger
	auth     *Auth
	apps     *Applications
	activity *Activity
	refusals *refusals
	oauth    *OAuth
	health   *health

	metrics *Metrics
	stats   StatsStore
	now     func() time.Time
}

// NewServer wires the handlers and the middleware.
func NewServer(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	secureCookies := strings.HasPrefix(cfg.PublicURL, "https://")
	cfg.Sessions.Options.Secure = secureCookies
	metrics := newMetrics(cfg.Stats)
	s := &Server{
		echo:     echo.New(),
		logger:   cfg.Logger,
		auth:     newAuth(cfg, secureCookies),
		apps:     newApplications(cfg),
		activity: newActivity(cfg),
		refusals: newRefusals(cfg),
		oauth:    newOAuth(cfg, metrics),
		health:   &health{store: cfg.Store, keys: cfg.SigningKeys},
		metrics:  metrics,
		stats:    cfg.Stats,
		now:      cfg.Now,
	}
	s.apps.tokens = s.oauth
	e := s.echo
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.errorHandler
	e.IPExtractor = clientAddress(cfg.TrustedProxies)
	// Before routing and every other middleware, so that no answer lacks
	// the headers: not Echo's 404 and 405, not a refused body, not a panic.
	e.Pre(securityHeaders(cfg.OIDC.formActionOrigin(), secureCookies))
	e.Pre(requestID(cfg.TrustedProxies))
	e.Use(s.metrics.countRequests)
	e.Use(s.logRequests)
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true, DisableErrorHandler: true, LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
		s.logger.Error("panic", append(logAttrs(c), "err", err, "stack", string(stack))...)
		return err
	}}))
	e.Use(middleware.BodyLimit("64K"))
	s.routes(e)
	s.metrics.knowRoutes(e.Routes())
	return s
}

// ServeHTTP serves the portal.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

// clientAddress is the connection's address or, from a trusted proxy, the
// last X-Forwarded-For entry that is not a trusted proxy; nothing else is
// trusted (Echo would trust private and loopback addresses by default).
func clientAddress(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// securityHeaders sets the headers every response carries. Pages may post
// forms to the provider for its logout; HSTS only over https. The JSON
// endpoints, which no browser renders, get no document-only headers.
func securityHeaders(providerOrigin string, https bool) echo.MiddlewareFunc {
	formAction := "'self'"
	if providerOrigin != "" {
		formAction += " " + providerOrigin
	}
	page := http.Header{
		"Content-Security-Policy": {"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
			"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action " + formAction},
		"X-Content-Type-Options":     {"nosniff"},
		"X-Frame-Options":            {"DENY"},
		"Referrer-Policy":            {"same-origin"},
		"Cross-Origin-Opener-Policy": {"same-origin"},
		"Permissions-Policy":         {"camera=(), microphone=(), geolocation=()"},
	}
	api := http.Header{
		"Content-Security-Policy": {"default-src 'none'; frame-ancestors 'none'"},
		"X-Content-Type-Options":  {"nosniff"},
		"X-Frame-Options":         {"DENY"},
		"Referrer-Policy":         {"same-origin"},
	}
	for _, h := range []http.Header{page, api} {
		if https {
			h["Strict-Transport-Security"] = []string{"max-age=31536000; includeSubDomains"}
		}
	}
	noStore := []string{"no-store"}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Response().Header()
			p := c.Request().URL.Path
			set := page
			if machineEndpoint(p) {
				set = api
			}
			// Shared slices, built once: a handler replaces them, never edits.
			for k, v := range set {
				h[k] = v
			}
			if !strings.HasPrefix(p, "/static/") {
				// Pages show private data: never from a cache, not even the
				// back button's after logout.
				h["Cache-Control"] = noStore
			}
			return next(c)
		}
	}
}

// machineEndpoint reports whether path is one that programs call rather
// than browsers show.
func machineEndpoint(path string) bool {
	return strings.HasPrefix(path, "/oauth2/") || strings.HasPrefix(path, "/.well-known/") ||
		path == "/healthz" || path == "/readyz"
}

// logRequests writes one structured line per request, with its request id
// (the one in the X-Request-Id header and on an error page) and its route
// pattern, which groups the requests to one page whatever the Client ID.
func (s *Server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		r := c.Request()
		s.logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("route", c.Path()),
			slog.Int("status", c.Response().Status),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
			slog.String("remote", c.RealIP()))
		return nil
	}
}

// maxRequestID is the longest request id taken from a trusted proxy.
const maxRequestID = 128

// requestID gives every request, routed or not, the id its error page and
// log lines show. Only a trusted proxy's own id is kept, so one id follows
// the request through both logs and no client can forge or flood ours.
func requestID(trusted []*net.IPNet) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			id := r.Header.Get(echo.HeaderXRequestID)
			if !validRequestID(id) || !fromProxy(r.RemoteAddr, trusted) {
				id = rand.Text()
			}
			c.Response().Header().Set(echo.HeaderXRequestID, id)
			return next(c)
		}
	}
}

// validRequestID reports whether id is a request id to keep: 1 to 128
// letters, digits and - _ . : = + / (UUIDs, hex, base64, AWS trace ids).
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestID {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.:=+/", c) >= 0) {
			return false
		}
	}
	return true
}

// fromProxy reports whether the connection (not a forwarded address) comes
// from one of the trusted proxies.
func fromProxy(remoteAddr string, trusted []*net.IPNet) bool {
	if len(trusted) == 0 {
		return false
	}
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	for _, n := range trusted {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// health answers the liveness and readiness probes.
type health struct {
	store interface{ Ping(context.Context) error }
	keys  interface {
		Published(context.Context) ([]token.KeyInfo, error)
	}
}

func (h *health) live(c echo.Context) error { return c.String(http.StatusOK, "ok\n") }

func (h *health) ready(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := h.store.Ping(ctx); err != nil {
		return c.String(http.StatusServiceUnavailable, "database unavailable\n")
	}
	// Ready to issue tokens: a current signing key that this server can read.
	keys, err := h.keys.Published(ctx)
	if err != nil || !slices.ContainsFunc(keys, token.KeyInfo.Current) {
		return c.String(http.StatusServiceUnavailable, "signing keys unavailable\n")
	}
	return c.String(http.StatusOK, "ready\n")
}

// safeReturnTo returns target if it is a path on this site, else
// "/applications": the "return to" URL must not become an open redirect.
func safeReturnTo(target string) string {
	if target == "" || !strings.HasPrefix(target, "/") || strings.HasPrefix(target, "//") || strings.HasPrefix(target, "/\\") ||
		strings.ContainsAny(target, "\\\r\n\t") || strings.HasPrefix(target, "/auth/") || len(target) > 2048 {
		return "/applications"
	}
	u, err := url.Parse(target)
	if err != nil || u.IsAbs() || u.Host != "" {
		return "/applications"
	}
	return target
}
