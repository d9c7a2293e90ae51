// Package bcc is the bundled "BCC-like" identity provider: a real OpenID Provider (built on
// zitadel/oidc's op package) with an e-mail + password login page, accounts, users and roles
// from a JSON file (or demo data), single sign-on across authorize requests, and end_session.
//
// It serves, relative to the issuer URL:
//
//	GET  /.well-known/openid-configuration   discovery
//	GET  /keys                               JWKS (RS256, key generated at start)
//	GET  /authorize                          authorization code flow (+ PKCE S256)
//	GET  /authorize/callback                 back from the login page to the relying party
//	GET  /login, POST /login                 the sign-in page
//	POST /oauth/token                        token (client_secret_basic or client_secret_post)
//	GET  /userinfo                           userinfo
//	GET  /end_session                        RP-initiated logout, clears the bcc_session cookie
//	GET  /logged-out                         shown after logout without a post_logout_redirect_uri
//
// An authorization request belongs to the browser that started it (the bcc_browser cookie):
// only that browser sees its form, completes it and gets its code, once. end_session ends the
// sign-on session for an id_token_hint of the user signed in there, and otherwise asks.
//
// ID tokens and userinfo carry sub, email, email_verified, name, account_id, account_name,
// roles and, with the groups scope, groups. Everything is kept in memory: a restart signs
// everyone out and rotates the signing key.
package bcc

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"tokenservice/ratelimit"
)

// Config is what the provider needs to start.
type Config struct {
	// Issuer is the public base URL, e.g. "http://127.0.0.1:8081". Plain http is allowed, for
	// local development.
	Issuer string
	// UsersFile is a JSON file of accounts and users; "" uses the demo data.
	//
	//	{"accounts": [{"id": "acme", "name": "Acme"}],
	//	 "users": [{"email": "admin@acme.example", "name": "Acme Admin", "account": "acme",
	//	            "roles": ["admin"], "password_hash": "$2a$..."}]}
	//
	// A user may give "password" in plaintext instead of "password_hash" (a convenience for
	// development; it is bcrypt-hashed on load). Optional per-user fields: "id" (the stable sub,
	// otherwise derived from the e-mail) and "groups" (otherwise "account:<id>" plus one group per
	// role, e.g. "admins"). Unknown fields are an error, so typos do not go unnoticed.
	UsersFile string
	// Clients are the relying parties allowed to sign users in.
	Clients []Client
}

// Client is a relying party. Without a Secret it is a public client and must use PKCE (S256).
type Client struct {
	ID, Secret string
	// Name is what the login page says the user is signing in to, e.g.
	// "Token Service · United States (US)"; default: the ID.
	Name                   string
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
}

// Cookie names start with "bcc_" so that they never collide with the portal's cookies, which
// live on the same host (another port). Over https they carry the __Host- prefix, so that no
// sibling domain can plant them.
const (
	sessionCookie = "bcc_session"
	browserCookie = "bcc_browser" // random per browser: binds auth requests and the login form's CSRF token
)

// Provider is the identity provider's HTTP handler.
type Provider struct {
	handler  http.Handler
	op       *op.Provider
	storage  *storage
	users    *directory
	sessions *sessionStore
	pages    *pages
	logger   *slog.Logger
	csrfKey  []byte
	issuer   string // the issuer URL, without a trailing slash
	prefix   string // the issuer's path, "" when it has none
	secure   bool   // the issuer is https, so cookies are Secure

	sessionCookie, browserCookie string // the cookies' names, see cookieName

	// Failed sign-ins are limited per source address and per e-mail from
	// that address; see signIn.
	failuresPerAddress *ratelimit.Limiter
	failuresPerEmail   *ratelimit.Limiter
}

// New builds the provider for cfg: it loads the users, generates the signing key and wires the
// OpenID endpoints and the login page.
func New(cfg Config, logger *slog.Logger) (*Provider, error) {
	if logger == nil {
		logger = slog.Default()
	}
	issuer, err := validate(cfg)
	if err != nil {
		return nil, err
	}
	users, err := loadDirectory(cfg.UsersFile)
	if err != nil {
		return nil, err
	}
	pg, err := newPages()
	if err != nil {
		return nil, err
	}
	p := &Provider{
		users:    users,
		sessions: newSessionStore(),
		pages:    pg,
		logger:   logger,
		csrfKey:  make([]byte, 32),
		prefix:   strings.TrimSuffix(issuer.Path, "/"),
		secure:   issuer.Scheme == "https",

		failuresPerAddress: ratelimit.New(loginAddressBurst, loginAddressEvery, loginLimiterSize),
		failuresPerEmail:   ratelimit.New(loginEmailBurst, loginEmailEvery, loginLimiterSize),
	}
	rand.Read(p.csrfKey)
	p.sessionCookie, p.browserCookie = p.cookieName(sessionCookie), p.cookieName(browserCookie)

	p.storage, err = newStorage(cfg.Clients, users, p.prefix+"/login")
	if err != nil {
		return nil, err
	}
	var cryptoKey [32]byte
	rand.Read(cryptoKey[:])
	opConfig := &op.Config{
		CryptoKey:                cryptoKey,
		CryptoKeyId:              randomID(4),
		DefaultLogoutRedirectURI: p.prefix + "/logged-out",
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		SupportedUILocales:       []language.Tag{language.English},
		SupportedScopes:          []string{oidc.ScopeOpenID, oidc.ScopeEmail, oidc.ScopeProfile, scopeGroups},
		SupportedClaims: append(append([]string{}, op.DefaultSupportedClaims...),
			claimAccountID, claimAccountName, claimRoles, claimGroups),
	}
	issuerURL := strings.TrimSuffix(cfg.Issuer, "/")
	p.issuer = issuerURL
	p.op, err = op.NewProvider(opConfig, p.storage, op.StaticIssuer(issuerURL), op.WithAllowInsecure())
	if err != nil {
		return nil, fmt.Errorf("bcc: create OpenID provider: %w", err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", p.showLogin)
	mux.HandleFunc("POST /login", p.signIn)
	mux.HandleFunc("GET /logged-out", p.showLoggedOut)
	mux.Handle("/authorize", p.bindToBrowser(p.op))
	mux.Handle("GET /authorize/callback", p.guardCallback(p.op))
	mux.Handle("/authorize/callback", http.HandlerFunc(onlyGET))
	mux.Handle("/end_session", p.endSession(p.op))
	mux.Handle("/", p.op)

	var h http.Handler = mux
	if p.prefix != "" {
		h = http.StripPrefix(p.prefix, h)
	}
	p.handler = securityHeaders(h)
	return p, nil
}

func validate(cfg Config) (*url.URL, error) {
	issuer, err := url.Parse(cfg.Issuer)
	if err != nil || (issuer.Scheme != "http" && issuer.Scheme != "https") || issuer.Host == "" {
		return nil, fmt.Errorf("bcc: issuer %q must be an absolute http(s) URL", cfg.Issuer)
	}
	if issuer.RawQuery != "" || issuer.Fragment != "" {
		return nil, fmt.Errorf("bcc: issuer %q must not have a query or fragment", cfg.Issuer)
	}
	if len(cfg.Clients) == 0 {
		return nil, errors.New("bcc: at least one client is required")
	}
	seen := make(map[string]bool, len(cfg.Clients))
	for _, c := range cfg.Clients {
		if c.ID == "" {
			return nil, errors.New("bcc: a client has no ID")
		}
		if seen[c.ID] {
			return nil, fmt.Errorf("bcc: client %q is configured twice", c.ID)
		}
		seen[c.ID] = true
		if len(c.RedirectURIs) == 0 {
			return nil, fmt.Errorf("bcc: client %q has no redirect URI", c.ID)
		}
		for _, raw := range append(append([]string{}, c.RedirectURIs...), c.PostLogoutRedirectURIs...) {
			u, err := url.Parse(raw)
			if err != nil || u.Scheme == "" || u.Host == "" {
				return nil, fmt.Errorf("bcc: client %q: redirect URI %q must be an absolute URL", c.ID, raw)
			}
		}
	}
	return issuer, nil
}

// ServeHTTP serves the provider's endpoints and pages.
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.handler.ServeHTTP(w, r)
}

// Users returns the configured users so that callers can say which (demo) users exist. It never
// includes password hashes.
func (p *Provider) Users() []UserInfo {
	return p.users.list()
}

// Demo reports whether the provider runs on the built-in demo users (no users file), whose
// password is "demo".
func (p *Provider) Demo() bool {
	return p.users.demo
}

// securityHeaders keeps every response out of frames and away from MIME sniffing.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "frame-ancestors 'none'")
		next.ServeHTTP(w, r)
	})
}
