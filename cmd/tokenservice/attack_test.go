package main

// The attacks on sign-in and sessions that must fail, each against the real
// server: forged and replayed OIDC answers, open redirects through the
// "return to" URL, fixed, forged, idle, expired and signed-out sessions.
// The CSRF attacks are in TestCSRF.

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/gorilla/securecookie"
	"golang.org/x/net/html"
	"golang.org/x/oauth2"

	"tokenservice/bcc"
	"tokenservice/secret"
	"tokenservice/session"
)

// --- an attacker's OpenID Provider ---

// hostileProvider is an OpenID Provider run by an attacker (or a broken
// one): discovery, a JWKS, an authorize endpoint that answers at once and a
// token endpoint that returns whatever ID token the test forges. Its codes
// never expire and may be used again, so that the portal's own checks are
// the only ones left standing.
type hostileProvider struct {
	*httptest.Server
	key   *rsa.PrivateKey // published in the JWKS as keyID
	rogue *rsa.PrivateKey // published nowhere

	mu     sync.Mutex
	nonces map[string]string // code → nonce of its authorization request
	forge  func(h *hostileProvider, claims map[string]any) string
	issued []string // every ID token the token endpoint returned
}

const (
	hostileKeyID        = "published-key"
	hostileClientID     = "tokenservice"
	hostileClientSecret = "hostile-provider-client-secret-0123456789"
)

func newHostileProvider(t *testing.T) *hostileProvider {
	t.Helper()
	h := &hostileProvider{nonces: map[string]string{}, key: newRSAKey(t), rogue: newRSAKey(t)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		serveJSON(w, map[string]any{
			"issuer": h.URL, "authorization_endpoint": h.URL + "/authorize", "token_endpoint": h.URL + "/token",
			"jwks_uri": h.URL + "/keys", "response_types_supported": []string{"code"},
			"subject_types_supported": []string{"public"}, "id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		serveJSON(w, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &h.key.PublicKey, KeyID: hostileKeyID, Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		code := randomCode()
		h.mu.Lock()
		h.nonces[code] = q.Get("nonce")
		h.mu.Unlock()
		http.Redirect(w, r, q.Get("redirect_uri")+"?"+url.Values{"code": {code}, "state": {q.Get("state")}}.Encode(), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		defer h.mu.Unlock()
		nonce, ok := h.nonces[r.PostFormValue("code")]
		if !ok {
			w.WriteHeader(http.StatusBadRequest)
			serveJSON(w, map[string]string{"error": "invalid_grant"})
			return
		}
		forge := h.forge
		if forge == nil {
			forge = honestIDToken
		}
		idToken := forge(h, h.claims(nonce))
		h.issued = append(h.issued, idToken)
		serveJSON(w, map[string]any{"access_token": "hostile-access-token", "token_type": "Bearer", "expires_in": 300, "id_token": idToken})
	})
	h.Server = httptest.NewServer(mux)
	t.Cleanup(h.Close)
	return h
}

// configure points a Main at the provider.
func (h *hostileProvider) configure(m *Main) {
	m.Config.OIDCIssuer, m.Config.OIDCClientID, m.Config.OIDCClientSecret = h.URL, hostileClientID, hostileClientSecret
}

// setForge makes the token endpoint answer with forge's ID tokens.
func (h *hostileProvider) setForge(forge func(h *hostileProvider, claims map[string]any) string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.forge = forge
}

// lastIDToken is the last ID token the token endpoint returned, or "".
func (h *hostileProvider) lastIDToken() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.issued) == 0 {
		return ""
	}
	return h.issued[len(h.issued)-1]
}

// claims are the claims an honest provider would put in the ID token: an
// admin of acme, for the portal's client, with the request's nonce.
func (h *hostileProvider) claims(nonce string) map[string]any {
	now := time.Now()
	return map[string]any{
		"iss": h.URL, "sub": "hostile-subject", "aud": hostileClientID, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"nonce": nonce, "email": "admin@acme.example", "email_verified": true, "name": "Mallory",
		"account_id": "acme", "account_name": "Acme", "roles": []string{"admin"},
	}
}

// honestIDToken signs the claims with the published key.
func honestIDToken(h *hostileProvider, claims map[string]any) string {
	return signJWT(jose.RS256, jose.JSONWebKey{Key: h.key, KeyID: hostileKeyID}, claims)
}

// forgedClaims returns a forgery that changes the honest claims and signs them with the published key.
func forgedClaims(change func(claims map[string]any)) func(*hostileProvider, map[string]any) string {
	return func(h *hostileProvider, claims map[string]any) string {
		change(claims)
		return honestIDToken(h, claims)
	}
}

func signJWT(alg jose.SignatureAlgorithm, key any, claims map[string]any) string {
	payload, err := json.Marshal(claims)
	if err != nil {
		panic(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		panic(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		panic(err)
	}
	compact, err := jws.CompactSerialize()
	if err != nil {
		panic(err)
	}
	return compact
}

func newRSAKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func randomCode() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func serveJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// --- browsing helpers ---

// browseTo walks a browser from start through redirects and, when the
// bundled provider asks, its login form (signing in as email), up to the
// first redirect to a URL starting with stop, which it returns unvisited.
func browseTo(t *testing.T, c *client, email, start, stop string) *url.URL {
	t.Helper()
	p := c.getRaw(start, nil)
	for range 12 {
		switch {
		case p.status >= 300 && p.status < 400:
			next, err := p.url.Parse(p.header.Get("Location"))
			if err != nil {
				t.Fatalf("%s redirected to %q: %v", p.url, p.header.Get("Location"), err)
			}
			if strings.HasPrefix(next.String(), stop) {
				return next
			}
			p = c.getRaw(next.String(), nil)
		case p.status == http.StatusOK && hasTestID(t, p.body, "login-form"):
			f := findForm(t, p.body, func(n *html.Node) bool { return attr(n, "data-testid") == "login-form" })
			f.values.Set("email", email)
			f.values.Set("password", "demo")
			action, err := p.url.Parse(f.action)
			if err != nil {
				t.Fatalf("login form action %q: %v", f.action, err)
			}
			p = c.request(http.MethodPost, action.String(), f.values, nil, false)
		default:
			t.Fatalf("on the way from %s to %s: %s answered %d\n%s", start, stop, p.url, p.status, p.body)
		}
	}
	t.Fatalf("no redirect to %s after 12 steps from %s", stop, start)
	return nil
}

// toCallback starts a sign-in at start and returns the callback URL the
// provider sends the browser back to, not yet visited.
func toCallback(t *testing.T, c *client, email, start string) *url.URL {
	t.Helper()
	return browseTo(t, c, email, start, c.m.URL+"/auth/callback")
}

// withCookie returns a new browser holding only the portal session cookie value.
func withCookie(t *testing.T, m *Main, value string) *client {
	t.Helper()
	c := newClient(t, m)
	u, _ := url.Parse(m.URL)
	c.jar.SetCookies(u, []*http.Cookie{{Name: "tokenservice_session", Value: value, Path: "/"}})
	return c
}

// assertSignedOut checks that the browser's cookies open no page: the
// application list sends it to login, and htmx gets 401 with HX-Redirect.
func assertSignedOut(t *testing.T, c *client) {
	t.Helper()
	p := c.getRaw("/applications", nil)
	if loc := p.header.Get("Location"); p.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/auth/login?") {
		t.Errorf("GET /applications = %d to %q, want %d to /auth/login: something is signed in", p.status, loc, http.StatusSeeOther)
	}
	if hx := c.getRaw("/applications", http.Header{"Hx-Request": {"true"}}); hx.status != http.StatusUnauthorized || !strings.HasPrefix(hx.header.Get("HX-Redirect"), "/auth/login?") {
		t.Errorf("htmx GET /applications = %d (HX-Redirect %q), want 401 and a redirect to login", hx.status, hx.header.Get("HX-Redirect"))
	}
}

// assertRefusal checks that p is a clear refusal: the status, the fixed
// message on the error page, no internal detail or secret in it, and no
// session cookie set.
func assertRefusal(t *testing.T, p *page, status int, message string, secrets ...string) {
	t.Helper()
	if p.status != status {
		t.Errorf("status = %d, want %d\n%s", p.status, status, p.body)
	}
	if got := testIDText(t, p.body, "error-page"); !strings.Contains(got, message) {
		t.Errorf("error page says %q, want %q", got, message)
	}
	details := []string{"goroutine", ".go:", "panic", "oauth2:", "oidc:", "go-jose", "invalid_grant", "failed to verify",
		"expected audience", "different provider", "token is expired", "mismatch", "hostile-subject"}
	for _, leak := range append(details, secrets...) {
		if leak != "" && strings.Contains(p.body, leak) {
			t.Errorf("the error page contains %.40q", leak)
		}
	}
	for _, sc := range p.header.Values("Set-Cookie") {
		if strings.HasPrefix(sc, "tokenservice_session=") && !strings.HasPrefix(sc, "tokenservice_session=;") {
			t.Errorf("the refusal sets a session cookie: %.60s…", sc)
		}
	}
}

// assertLocal checks that a redirect's Location stays on the portal, as a
// browser reads it (which takes a backslash for a slash).
func assertLocal(t *testing.T, m *Main, loc string) {
	t.Helper()
	base, _ := url.Parse(m.URL + "/auth/callback")
	u, err := url.Parse(loc)
	if err != nil || !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, `/\`) ||
		strings.ContainsAny(loc, "\\\t\r\n\x00") || u.IsAbs() || u.Host != "" || base.ResolveReference(u).Host != base.Host {
		t.Errorf("redirected to %q, want a path on the portal", loc)
	}
}

// sessionCodec encodes and decodes session cookies as a portal with
// serverKey does.
func sessionCodec(t *testing.T, serverKey []byte) *securecookie.SecureCookie {
	t.Helper()
	hashKey, err := secret.Derive(serverKey, "tokenservice session cookie hmac v1")
	if err != nil {
		t.Fatal(err)
	}
	blockKey, err := secret.Derive(serverKey, "tokenservice session cookie aes v1")
	if err != nil {
		t.Fatal(err)
	}
	sc := securecookie.New(hashKey, blockKey)
	sc.SetSerializer(securecookie.JSONEncoder{})
	sc.MaxAge(0)
	return sc
}

func newServerKey() []byte {
	k := make([]byte, secret.KeySize)
	rand.Read(k)
	return k
}

func withServerKey(key []byte) func(*Main) {
	return func(m *Main) { m.Config.ServerKey = hex.EncodeToString(key) }
}

// freeAddr is a loopback address nothing listens on, for a server whose
// URL must be known before it starts.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// --- OIDC login ---

// TestAttackForgedIDToken: whatever ID token a provider's token endpoint
// returns, only one from the configured issuer, for the portal's client,
// signed with a key of the issuer's JWKS, unexpired and carrying the nonce
// of this browser's sign-in, signs anyone in.
func TestAttackForgedIDToken(t *testing.T) {
	t.Parallel()
	h := newHostileProvider(t)
	m := newMain(t, h.configure)

	// The control: the same provider's honest answer signs in, so every
	// refusal below is for the one thing each forgery changes.
	c := newClient(t, m)
	if p := c.getRaw(toCallback(t, c, "", "/auth/login?return_to=/applications").String(), nil); p.status != http.StatusSeeOther || p.header.Get("Location") != "/applications" {
		t.Fatalf("honest sign-in = %d to %q, want 303 to /applications\n%s", p.status, p.header.Get("Location"), p.body)
	}
	if p := c.getRaw("/applications", nil); p.status != http.StatusOK || testIDText(t, p.body, "user-email") != "admin@acme.example" {
		t.Fatalf("after the honest sign-in: /applications = %d, want 200 as admin@acme.example", p.status)
	}

	const unverified = "The identity provider's answer could not be verified."
	tests := []struct {
		name  string
		forge func(h *hostileProvider, claims map[string]any) string
	}{
		{"WrongNonce", forgedClaims(func(c map[string]any) { c["nonce"] = "nonce-of-the-attackers-own-sign-in" })},
		{"NoNonce", forgedClaims(func(c map[string]any) { delete(c, "nonce") })},
		{"OtherIssuer", forgedClaims(func(c map[string]any) { c["iss"] = "https://evil.example" })},
		{"OtherClient", forgedClaims(func(c map[string]any) { c["aud"] = "another-application" })},
		{"Expired", forgedClaims(func(c map[string]any) {
			c["iat"], c["exp"] = time.Now().Add(-time.Hour).Unix(), time.Now().Add(-30*time.Minute).Unix()
		})},
		{"UnpublishedKey", func(h *hostileProvider, c map[string]any) string {
			return signJWT(jose.RS256, jose.JSONWebKey{Key: h.rogue, KeyID: hostileKeyID}, c)
		}},
		{"UnpublishedKeyNoKid", func(h *hostileProvider, c map[string]any) string {
			return signJWT(jose.RS256, h.rogue, c)
		}},
		{"TamperedClaims", func(h *hostileProvider, c map[string]any) string {
			parts := strings.Split(honestIDToken(h, c), ".")
			c["account_id"], c["email"] = "globex", "admin@globex.example"
			payload, _ := json.Marshal(c)
			return parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + parts[2]
		}},
		{"AlgNone", func(h *hostileProvider, c map[string]any) string {
			payload, _ := json.Marshal(c)
			return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." +
				base64.RawURLEncoding.EncodeToString(payload) + "."
		}},
		{"HMACWithThePublicKey", func(h *hostileProvider, c map[string]any) string {
			der, _ := x509.MarshalPKIXPublicKey(&h.key.PublicKey)
			return signJWT(jose.HS256, jose.JSONWebKey{Key: der, KeyID: hostileKeyID}, c)
		}},
		{"NotAJWT", func(*hostileProvider, map[string]any) string { return "not-a-jwt" }},
		{"None", func(*hostileProvider, map[string]any) string { return "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.setForge(tt.forge)
			defer h.setForge(nil)
			c := newClient(t, m)
			cb := toCallback(t, c, "", "/auth/login?return_to=/applications")
			p := c.getRaw(cb.String(), nil)
			idToken := h.lastIDToken()
			if i := strings.LastIndex(idToken, "."); i >= 0 {
				idToken = idToken[i+1:] // its signature, if any
			}
			assertRefusal(t, p, http.StatusUnauthorized, unverified, hostileClientSecret, cb.Query().Get("code"), idToken)
			assertSignedOut(t, c)
		})
	}
}

// TestAttackState: a callback counts only in the browser that started the
// sign-in, with that sign-in's state, once. The hostile provider accepts its
// codes any number of times, so the state is all that stands in the way.
func TestAttackState(t *testing.T) {
	t.Parallel()
	h := newHostileProvider(t)
	m := newMain(t, h.configure)
	const expired = "This sign-in link has expired or was already used."

	t.Run("Wrong", func(t *testing.T) {
		for name, state := range map[string]string{"Other": "a-state-of-the-attackers-choosing", "Empty": "", "Truncated": "cut"} {
			t.Run(name, func(t *testing.T) {
				c := newClient(t, m)
				cb := toCallback(t, c, "", "/auth/login?return_to=/applications")
				q := cb.Query()
				if name == "Truncated" {
					state = q.Get("state")[:len(q.Get("state"))-1]
				}
				q.Set("state", state)
				cb.RawQuery = q.Encode()
				assertRefusal(t, c.getRaw(cb.String(), nil), http.StatusUnauthorized, expired, q.Get("code"))
				assertSignedOut(t, c)
			})
		}
		t.Run("Missing", func(t *testing.T) {
			c := newClient(t, m)
			cb := toCallback(t, c, "", "/auth/login?return_to=/applications")
			q := cb.Query()
			q.Del("state")
			cb.RawQuery = q.Encode()
			assertRefusal(t, c.getRaw(cb.String(), nil), http.StatusUnauthorized, expired, q.Get("code"))
			assertSignedOut(t, c)
		})
	})

	// Login CSRF: the attacker's own callback, opened in the victim's
	// browser, must not sign the victim in as the attacker.
	t.Run("AnotherBrowsersCallback", func(t *testing.T) {
		attacker := newClient(t, m)
		cb := toCallback(t, attacker, "", "/auth/login?return_to=/applications")
		for name, victim := range map[string]*client{"NoSignInStarted": newClient(t, m), "OwnSignInStarted": newClient(t, m)} {
			t.Run(name, func(t *testing.T) {
				if name == "OwnSignInStarted" {
					toCallback(t, victim, "", "/auth/login?return_to=/applications")
				}
				assertRefusal(t, victim.getRaw(cb.String(), nil), http.StatusUnauthorized, expired, cb.Query().Get("code"))
				assertSignedOut(t, victim)
			})
		}
	})

	t.Run("Replayed", func(t *testing.T) {
		c := newClient(t, m)
		cb := toCallback(t, c, "", "/auth/login?return_to=/applications")
		if p := c.getRaw(cb.String(), nil); p.status != http.StatusSeeOther {
			t.Fatalf("first use of the callback = %d, want 303\n%s", p.status, p.body)
		}
		signedIn := c.sessionCookie().Value
		// The same browser, the same URL again (back button, a reload, a replay).
		assertRefusal(t, c.getRaw(cb.String(), nil), http.StatusUnauthorized, expired, cb.Query().Get("code"))
		if got := c.sessionCookie().Value; got != signedIn {
			t.Error("the replayed callback changed the session")
		}
		// A leaked callback URL (history, logs) in another browser.
		thief := newClient(t, m)
		assertRefusal(t, thief.getRaw(cb.String(), nil), http.StatusUnauthorized, expired, cb.Query().Get("code"))
		assertSignedOut(t, thief)
	})

	t.Run("ProviderError", func(t *testing.T) {
		c := newClient(t, m)
		cb := toCallback(t, c, "", "/auth/login?return_to=/applications")
		q := cb.Query()
		q.Set("error", "access_denied")
		q.Set("error_description", "<script>alert(1)</script> at handlers/auth.go:42")
		cb.RawQuery = q.Encode()
		p := c.getRaw(cb.String(), nil)
		assertRefusal(t, p, http.StatusUnauthorized, "The identity provider did not sign you in.", "<script>alert(1)</script>", "access_denied")
		assertSignedOut(t, c)
	})
}

// TestAttackCodeOfAnotherClient: a code the real provider issued to another
// application (the attacker's own, at the same provider) does not sign
// anyone in to the portal, even delivered with the browser's own state. The
// provider refuses the exchange (the code is bound to the other client and
// its PKCE challenge); should a provider not, the portal still refuses an ID
// token for another audience (TestAttackForgedIDToken/OtherClient).
func TestAttackCodeOfAnotherClient(t *testing.T) {
	t.Parallel()
	portalAddr := freeAddr(t)
	portalURL := "http://" + portalAddr
	const (
		portalSecret  = "portal-client-secret-0123456789abcdef"
		otherID       = "attackers-application"
		otherSecret   = "attackers-application-secret-0123456789"
		otherCallback = "http://127.0.0.1:9/attackers-application/callback" // never visited
	)
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	provider, err := bcc.New(bcc.Config{Issuer: issuer, Clients: []bcc.Client{
		{ID: "tokenservice", Secret: portalSecret, RedirectURIs: []string{portalURL + "/auth/callback"}},
		{ID: otherID, Secret: otherSecret, RedirectURIs: []string{otherCallback}},
	}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = provider
	srv.Start()
	t.Cleanup(srv.Close)
	m := newMain(t, func(m *Main) {
		m.Config.Addr = portalAddr
		m.Config.OIDCIssuer, m.Config.OIDCClientID, m.Config.OIDCClientSecret = issuer, "tokenservice", portalSecret
	})
	// The control: the portal's own sign-in works at this provider.
	signIn(t, m, "viewer@acme.example")

	attacker := newClient(t, m)
	conf := oauth2.Config{ClientID: otherID, ClientSecret: otherSecret, RedirectURL: otherCallback,
		Endpoint: oauth2.Endpoint{AuthURL: issuer + "/authorize"}, Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}
	authURL := conf.AuthCodeURL("attackers-state", oidc.Nonce("attackers-nonce"), oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	code := browseTo(t, attacker, "admin@acme.example", authURL, otherCallback).Query().Get("code")
	if code == "" {
		t.Fatal("the provider gave the other application no code")
	}

	// The victim's browser starts a sign-in; the attacker's code comes back
	// with its state.
	victim := newClient(t, m)
	login := victim.getRaw("/auth/login?return_to=/applications", nil)
	authorize, err := url.Parse(login.header.Get("Location"))
	if err != nil || !strings.HasPrefix(authorize.String(), issuer) {
		t.Fatalf("login redirected to %q, want the provider", login.header.Get("Location"))
	}
	cb := m.URL + "/auth/callback?" + url.Values{"code": {code}, "state": {authorize.Query().Get("state")}}.Encode()
	assertRefusal(t, victim.getRaw(cb, nil), http.StatusUnauthorized, "The identity provider did not confirm your sign-in.", code, portalSecret, otherSecret)
	assertSignedOut(t, victim)
}

// TestAttackOpenRedirect: whatever "return to" URL a sign-in starts with,
// the portal sends the browser only to its own pages, after signing in and
// when already signed in.
func TestAttackOpenRedirect(t *testing.T) {
	t.Parallel()
	m := newMain(t)
	tests := []struct{ name, target string }{
		{"Absolute", "https://evil.example/applications"},
		{"AbsoluteHTTP", "http://evil.example/"},
		{"SchemeRelative", "//evil.example/applications"},
		{"ThreeSlashes", "///evil.example/"},
		{"SlashBackslash", `/\evil.example/`},
		{"Backslashes", `\\evil.example/`},
		{"SchemeNoSlashes", "https:evil.example"},
		{"SchemeOneSlash", "http:/evil.example/applications"},
		{"Tab", "/\t/evil.example/"},
		{"Newline", "/\r\n/evil.example/"},
		{"NUL", "/\x00/evil.example/"},
		{"LeadingSpace", " //evil.example/"},
		{"Userinfo", "//" + strings.TrimPrefix(m.URL, "http://") + "@evil.example/"},
		{"JavaScript", "javascript:alert(document.domain)"},
		{"Data", "data:text/html,<script>alert(1)</script>"},
		{"DotSegment", "/.//evil.example/"},
		{"EncodedSlashes", "/%2F%2Fevil.example/"},
		{"NestedLogin", "/auth/login?return_to=" + url.QueryEscape("https://evil.example/")},
	}
	signedIn := signIn(t, m, "admin@acme.example")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := "/auth/login?return_to=" + url.QueryEscape(tt.target)
			c := newClient(t, m)
			p := c.getRaw(toCallback(t, c, "viewer@acme.example", start).String(), nil)
			if p.status != http.StatusSeeOther {
				t.Fatalf("callback = %d, want 303\n%s", p.status, p.body)
			}
			assertLocal(t, m, p.header.Get("Location"))

			again := signedIn.getRaw(start, nil)
			if again.status != http.StatusSeeOther {
				t.Fatalf("login when signed in = %d, want 303", again.status)
			}
			assertLocal(t, m, again.header.Get("Location"))
		})
	}
	// A page asked for under a crafted path, or by htmx from a crafted page.
	c := newClient(t, m)
	for _, p := range []*page{
		c.getRaw(m.URL+"//evil.example/applications", nil),
		c.getRaw("/applications", http.Header{"Hx-Request": {"true"}, "Hx-Current-Url": {"https://evil.example//evil.example/x"}}),
	} {
		loc := p.header.Get("Location") + p.header.Get("HX-Redirect")
		if loc == "" {
			continue // no redirect at all
		}
		u, err := url.Parse(loc)
		if err != nil || !strings.HasPrefix(loc, "/auth/login?") {
			t.Errorf("no session: redirected to %q, want /auth/login", loc)
			continue
		}
		if rt := u.Query().Get("return_to"); rt != "" {
			assertLocal(t, m, rt)
		}
	}
}

// --- sessions ---

// TestAttackSessionFixation: a session cookie planted in a browser before
// sign-in is not the one after it, and opens nothing afterwards.
func TestAttackSessionFixation(t *testing.T) {
	t.Parallel()
	key := newServerKey()
	m := newMain(t, withServerKey(key))
	codec := sessionCodec(t, key)
	portal, _ := url.Parse(m.URL)

	// The attacker's own live session, and a well-signed id of their choosing.
	attackers := signIn(t, m, "admin@globex.example").sessionCookie().Value
	chosen, err := securecookie.EncodeMulti("tokenservice_session", "an-id-of-the-attackers-choosing", codec)
	if err != nil {
		t.Fatal(err)
	}
	for name, planted := range map[string]string{"AttackersSession": attackers, "ChosenID": chosen} {
		t.Run(name, func(t *testing.T) {
			victim := withCookie(t, m, planted)
			// prompt=login: a browser signed in as someone else signs in anew.
			cb := toCallback(t, victim, "admin@acme.example", "/auth/login?prompt=login&return_to=/applications")
			if p := victim.getRaw(cb.String(), nil); p.status != http.StatusSeeOther {
				t.Fatalf("sign-in = %d, want 303\n%s", p.status, p.body)
			}
			var after *http.Cookie
			for _, ck := range victim.jar.Cookies(portal) {
				if ck.Name == "tokenservice_session" {
					after = ck
				}
			}
			if after == nil || after.Value == planted {
				t.Fatal("the session cookie did not change at sign-in")
			}
			var plantedID, afterID string
			_ = securecookie.DecodeMulti("tokenservice_session", planted, &plantedID, codec)
			if err := securecookie.DecodeMulti("tokenservice_session", after.Value, &afterID, codec); err != nil || afterID == plantedID {
				t.Errorf("the session id did not change at sign-in (err %v)", err)
			}
			if p := victim.getRaw("/applications", nil); p.status != http.StatusOK || testIDText(t, p.body, "user-email") != "admin@acme.example" {
				t.Fatalf("the victim is not signed in: %d", p.status)
			}
			// The attacker, still holding the planted cookie, has nothing.
			assertSignedOut(t, withCookie(t, m, planted))
		})
	}
}

// TestAttackSessionCookie: a session cookie that is not exactly one the
// server issued, under its key, opens nothing: the browser goes to login.
func TestAttackSessionCookie(t *testing.T) {
	t.Parallel()
	key := newServerKey()
	m := newMain(t, withServerKey(key))
	admin := signIn(t, m, "admin@acme.example")
	appID := admin.createApp("Guarded", defaultScopes)
	before := stateOf(t, m, appID)
	value := admin.sessionCookie().Value

	var id string
	codec := sessionCodec(t, key)
	if err := securecookie.DecodeMulti("tokenservice_session", value, &id, codec); err != nil {
		t.Fatalf("the session cookie does not decode with the server's key: %v", err)
	}
	encode := func(codec securecookie.Codec, v string) string {
		s, err := securecookie.EncodeMulti("tokenservice_session", v, codec)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// The control: the live id, re-encoded under the server's key, opens the portal.
	if p := withCookie(t, m, encode(codec, id)).getRaw("/applications", nil); p.status != http.StatusOK {
		t.Fatalf("the live session id under the server's key: %d, want 200", p.status)
	}

	// Another deployment's (or a replaced key's) cookie for a live session there.
	elsewhere := signIn(t, newMain(t, withServerKey(newServerKey())), "admin@acme.example").sessionCookie().Value

	flip := func(i int) string {
		b := []byte(value)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	tests := map[string]string{
		"FlipFirst":   flip(0),
		"FlipMiddle":  flip(len(value) / 2),
		"FlipLast":    flip(len(value) - 1),
		"Truncated":   value[:len(value)-4],
		"Appended":    value + "AAAA",
		"Empty":       "",
		"RawID":       id,
		"OtherKey":    encode(sessionCodec(t, newServerKey()), id),
		"SignedOnly":  encode(securecookie.New(securecookie.GenerateRandomKey(32), nil).SetSerializer(securecookie.JSONEncoder{}), id),
		"OtherServer": elsewhere,
		"LoginCookie": func() string {
			c := newClient(t, m)
			c.getRaw("/auth/login", nil)
			return cookieValue(c, "tokenservice_login")
		}(),
		"UnknownID":      encode(codec, "an-id-the-server-never-issued"),
		"Base64Garbage":  base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat("x", 120))),
		"OversizedValue": strings.Repeat("A", 3500),
	}
	for name, v := range tests {
		t.Run(name, func(t *testing.T) {
			c := withCookie(t, m, v)
			assertSignedOut(t, c)
			p := c.request(http.MethodPost, "/applications/"+appID+"/delete", url.Values{"_csrf": {admin.csrf}}, nil, false)
			if loc := p.header.Get("Location"); p.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/auth/login?") {
				t.Errorf("POST delete = %d to %q, want 303 to login", p.status, loc)
			}
			assertUnchanged(t, m, appID, before)
		})
	}
	if p := admin.getRaw("/applications", nil); p.status != http.StatusOK {
		t.Errorf("the genuine cookie after the attempts: %d, want 200", p.status)
	}
}

// cookieValue is the value of the cookie the browser holds for the portal's /auth/ paths.
func cookieValue(c *client, name string) string {
	u, _ := url.Parse(c.m.URL + "/auth/callback")
	for _, ck := range c.jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	c.t.Fatalf("no %s cookie", name)
	return ""
}

// TestAttackSessionTimeouts: a session left alone for the idle timeout, or
// used without pause for the absolute timeout, opens nothing more.
func TestAttackSessionTimeouts(t *testing.T) {
	t.Parallel()
	defaults := session.NewStore(nil, make([]byte, 32), make([]byte, 32)) // the timeouts the server runs with
	idle, absolute := defaults.IdleTimeout, defaults.AbsoluteTimeout

	// expired checks that the session of c has ended, for pages, htmx and writes.
	expired := func(t *testing.T, m *Main, c *client, appID string) {
		t.Helper()
		before := stateOf(t, m, appID)
		assertSignedOut(t, c)
		p := c.request(http.MethodPost, "/applications/"+appID, url.Values{"_csrf": {c.csrf}, "version": {"1"}, "name": {"After expiry"}}, nil, false)
		if loc := p.header.Get("Location"); p.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/auth/login?") {
			t.Errorf("POST after expiry = %d to %q, want 303 to login", p.status, loc)
		}
		assertUnchanged(t, m, appID, before)
	}

	t.Run("Idle", func(t *testing.T) {
		t.Parallel()
		var clock testClock
		m := newMain(t, clock.configure())
		admin := signIn(t, m, "admin@acme.example")
		appID := admin.createApp("Idle", defaultScopes)
		// Used within the idle timeout, the session outlives it.
		for i := range 3 {
			clock.advance(idle - time.Minute)
			if p := admin.getRaw("/applications", nil); p.status != http.StatusOK {
				t.Fatalf("request %d, %s after the last: %d, want 200", i+1, idle-time.Minute, p.status)
			}
		}
		clock.advance(idle + time.Second)
		expired(t, m, admin, appID)
	})

	t.Run("Absolute", func(t *testing.T) {
		t.Parallel()
		var clock testClock
		m := newMain(t, clock.configure())
		admin := signIn(t, m, "admin@acme.example")
		appID := admin.createApp("Absolute", defaultScopes)
		step := idle / 2
		elapsed := time.Duration(0)
		for ; elapsed+step < absolute-time.Minute; elapsed += step {
			clock.advance(step)
			if p := admin.getRaw("/applications", nil); p.status != http.StatusOK {
				t.Fatalf("%s after sign-in, in constant use: %d, want 200", elapsed+step, p.status)
			}
		}
		clock.advance(absolute - elapsed + time.Minute)
		expired(t, m, admin, appID)
	})
}

// TestAttackLogoutIsFinal: after logout, the old cookie opens nothing and
// its CSRF token changes nothing, even with a new session of the same user.
func TestAttackLogoutIsFinal(t *testing.T) {
	t.Parallel()
	m := newMain(t)
	admin := signIn(t, m, "admin@acme.example")
	appID := admin.createApp("After logout", defaultScopes)
	before := stateOf(t, m, appID)
	old, oldCSRF := admin.sessionCookie().Value, admin.csrf

	if p := admin.post("/auth/logout", nil); p.status != http.StatusSeeOther {
		t.Fatalf("logout = %d, want 303", p.status)
	}
	assertSignedOut(t, admin)

	check := func(t *testing.T) {
		t.Helper()
		replay := withCookie(t, m, old)
		assertSignedOut(t, replay)
		for _, path := range []string{"/applications", "/applications/" + appID, "/applications/" + appID + "/reset", "/applications/" + appID + "/secret/reveal"} {
			p := replay.request(http.MethodPost, path, url.Values{"_csrf": {oldCSRF}, "version": {"1"}, "name": {"Replayed"}}, nil, false)
			if loc := p.header.Get("Location"); p.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/auth/login?") {
				t.Errorf("POST %s with the old cookie = %d to %q, want 303 to login", path, p.status, loc)
			}
		}
		assertUnchanged(t, m, appID, before)
		if got, want := countApps(t, m, "acme"), 1; got != want {
			t.Errorf("applications = %d, want %d", got, want)
		}
	}
	t.Run("Replayed", check)
	// A new sign-in of the same user does not bring the old session back.
	again := signIn(t, m, "admin@acme.example")
	t.Run("ReplayedAfterNewSignIn", check)
	if p := again.request(http.MethodPost, "/applications", url.Values{"_csrf": {oldCSRF}, "name": {"Old token"}}, nil, false); p.status != http.StatusForbidden {
		t.Errorf("the old session's CSRF token in the new session: %d, want 403", p.status)
	}
}

// --- the bundled provider ---

// TestAttackSignInRequestOfAnotherBrowser: a sign-in the attacker's browser
// started at the bundled provider cannot be completed by the victim's
// browser, however the victim comes to open it, so the attacker's browser
// never ends up signed in as the victim.
func TestAttackSignInRequestOfAnotherBrowser(t *testing.T) {
	t.Parallel()
	m := newMain(t)
	victim := signIn(t, m, "admin@acme.example") // signed in at the provider too

	// The attacker starts a sign-in and reads its request id off the form.
	attacker := newClient(t, m)
	login := attacker.get("/auth/login?return_to=/applications")
	if !hasTestID(t, login.body, "login-form") {
		t.Fatalf("the attacker's sign-in ended at %s (%d), want the provider's form", login.url, login.status)
	}
	id := login.url.Query().Get("authRequestID")
	if id == "" {
		t.Fatalf("no authRequestID in %s", login.url)
	}
	stolen := m.ProviderURL + "/login?" + url.Values{"authRequestID": {id}}.Encode()

	// The victim's browser opens it (a link, an image, a redirect).
	p := victim.getRaw(stolen, nil)
	if p.status >= 300 && p.status < 400 {
		t.Errorf("the victim's browser was sent on to %q: the provider completed another browser's request", p.header.Get("Location"))
	}
	if hasTestID(t, p.body, "login-form") {
		t.Error("the victim's browser was offered the form of another browser's request")
	}
	if !strings.Contains(p.body, "another browser") {
		t.Errorf("the victim's browser got %d without saying why:\n%s", p.status, p.body)
	}

	// The attacker asks for the code of the request, and follows through.
	cb := attacker.get(m.ProviderURL + "/authorize/callback?" + url.Values{"id": {id}}.Encode())
	if strings.HasPrefix(cb.url.String(), m.URL+"/applications") {
		t.Fatalf("the attacker's browser ended at %s: signed in as the victim", cb.url)
	}
	assertSignedOut(t, attacker)

	// The victim's own session at the portal is untouched.
	if p := victim.get("/applications"); testIDText(t, p.body, "user-email") != "admin@acme.example" {
		t.Errorf("the victim is no longer signed in: %d at %s", p.status, p.url)
	}
}
