package main

import (
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/html"

	"tokenservice/secret"
	"tokenservice/static"
)

// --- security headers ---

// checkSecurityHeaders checks the headers every response must carry: a CSP
// that allows no inline or eval'd script and no framing, nosniff, a
// Referrer-Policy that keeps URLs on the site, and HSTS exactly when the
// public URL is https.
func checkSecurityHeaders(t *testing.T, h http.Header, https bool) {
	t.Helper()
	csp := map[string][]string{}
	for _, d := range strings.Split(h.Get("Content-Security-Policy"), ";") {
		if f := strings.Fields(d); len(f) > 0 {
			csp[strings.ToLower(f[0])] = f[1:]
		}
	}
	script, ok := csp["script-src"]
	if !ok {
		script, ok = csp["default-src"]
	}
	if !ok {
		t.Errorf("Content-Security-Policy %q restricts no script (no script-src or default-src)", h.Get("Content-Security-Policy"))
	}
	for _, src := range script {
		switch strings.ToLower(src) {
		case "'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:":
			t.Errorf("Content-Security-Policy allows script from %s: %q", src, h.Get("Content-Security-Policy"))
		}
	}
	if got := strings.Join(csp["frame-ancestors"], " "); got != "'none'" {
		t.Errorf("Content-Security-Policy frame-ancestors = %q, want 'none' (%q)", got, h.Get("Content-Security-Policy"))
	}
	if got, want := h.Get("X-Content-Type-Options"), "nosniff"; got != want {
		t.Errorf("X-Content-Type-Options = %q, want %q", got, want)
	}
	switch rp := h.Get("Referrer-Policy"); rp {
	case "no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin":
	default:
		t.Errorf("Referrer-Policy = %q, want one that sends no path to other sites", rp)
	}
	hsts := h.Get("Strict-Transport-Security")
	if !https {
		if hsts != "" {
			t.Errorf("Strict-Transport-Security = %q over plain http, want none", hsts)
		}
		return
	}
	maxAge := -1
	for _, d := range strings.Split(hsts, ";") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(strings.ToLower(d)), "max-age="); ok {
			maxAge, _ = strconv.Atoi(v)
		}
	}
	if maxAge < 180*24*3600 {
		t.Errorf("Strict-Transport-Security = %q behind https, want a max-age of at least 180 days", hsts)
	}
}

// headerCase is one kind of response whose headers are checked.
type headerCase struct {
	name   string
	status int
	send   func(t *testing.T) (int, http.Header)
}

func runHeaderCases(t *testing.T, https bool, cases []headerCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			status, h := tt.send(t)
			if status != tt.status {
				t.Fatalf("status = %d, want %d", status, tt.status)
			}
			checkSecurityHeaders(t, h, https)
		})
	}
}

func fromPage(p *page) (int, http.Header)     { return p.status, p.header }
func fromAnswer(a *answer) (int, http.Header) { return a.status, a.header }

// TestSecurityHeaders checks every kind of response the portal gives, pages
// and errors, including those Echo answers before any route runs, for the
// security headers; HSTS only where the public URL is https.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	big := url.Values{"name": {strings.Repeat("x", 100<<10)}}
	bigToken := grantForm(strings.Repeat("forensics:account:read ", 5000))
	css := static.Path("css/app.css")

	t.Run("PlainHTTP", func(t *testing.T) {
		t.Parallel()
		m := newMain(t)
		admin := signIn(t, m, "admin@acme.example")
		viewer := signIn(t, m, "viewer@acme.example")
		anon := newClient(t, m)
		hc := clientFrom(t, "127.0.0.1")
		runHeaderCases(t, false, []headerCase{
			{"Page", http.StatusOK, func(t *testing.T) (int, http.Header) { return fromPage(admin.getRaw("/applications", nil)) }},
			{"Fragment", http.StatusOK, func(t *testing.T) (int, http.Header) {
				return fromPage(admin.getRaw("/applications", http.Header{"Hx-Request": {"true"}}))
			}},
			{"NotFoundApplication", http.StatusNotFound, func(t *testing.T) (int, http.Header) {
				return fromPage(admin.getRaw("/applications/"+secret.NewClientID(), nil))
			}},
			{"UnknownRoute", http.StatusNotFound, func(t *testing.T) (int, http.Header) { return fromPage(admin.getRaw("/no/such/page", nil)) }},
			{"ReadOnlyWrite", http.StatusForbidden, func(t *testing.T) (int, http.Header) {
				return fromPage(viewer.post("/applications", url.Values{"name": {"Not allowed"}}))
			}},
			{"NoCSRFToken", http.StatusForbidden, func(t *testing.T) (int, http.Header) {
				return fromPage(admin.request(http.MethodPost, "/applications", url.Values{"name": {"Forged"}}, nil, false))
			}},
			{"SignInFailed", http.StatusUnauthorized, func(t *testing.T) (int, http.Header) {
				return fromPage(anon.getRaw("/auth/callback?state=forged&code=forged", nil))
			}},
			{"FormTooLarge", http.StatusRequestEntityTooLarge, func(t *testing.T) (int, http.Header) { return fromPage(admin.post("/applications", big)) }},
			{"SignInRedirect", http.StatusSeeOther, func(t *testing.T) (int, http.Header) { return fromPage(anon.getRaw("/applications", nil)) }},
			{"ToProvider", http.StatusFound, func(t *testing.T) (int, http.Header) { return fromPage(anon.getRaw("/auth/login", nil)) }},
			{"SignedOut", http.StatusOK, func(t *testing.T) (int, http.Header) { return fromPage(anon.getRaw("/auth/signed-out", nil)) }},
			{"Static", http.StatusOK, func(t *testing.T) (int, http.Header) { return fromPage(anon.getRaw(css, nil)) }},
			{"StaticMissing", http.StatusNotFound, func(t *testing.T) (int, http.Header) {
				return fromPage(anon.getRaw("/static/0000/css/none.css", nil))
			}},
			{"Healthz", http.StatusOK, func(t *testing.T) (int, http.Header) { return fromPage(anon.getRaw("/healthz", nil)) }},
			{"Readyz", http.StatusOK, func(t *testing.T) (int, http.Header) { return fromPage(anon.getRaw("/readyz", nil)) }},
			{"JWKS", http.StatusOK, func(t *testing.T) (int, http.Header) {
				return fromAnswer(get(t, hc, m.URL+"/.well-known/jwks.json", nil))
			}},
			{"Metadata", http.StatusOK, func(t *testing.T) (int, http.Header) {
				return fromAnswer(get(t, hc, m.URL+"/.well-known/oauth-authorization-server", nil))
			}},
			{"OAuthError", http.StatusUnauthorized, func(t *testing.T) (int, http.Header) {
				return fromAnswer(postForm(t, hc, m, "/oauth2/token", basic(secret.NewClientID(), secret.New()), grantForm("")))
			}},
			{"OAuthWrongMethod", http.StatusMethodNotAllowed, func(t *testing.T) (int, http.Header) {
				return fromAnswer(get(t, hc, m.URL+"/oauth2/token", nil))
			}},
			{"OAuthTooLarge", http.StatusRequestEntityTooLarge, func(t *testing.T) (int, http.Header) {
				return fromAnswer(postForm(t, hc, m, "/oauth2/token", basic(secret.NewClientID(), secret.New()), bigToken))
			}},
		})

		// Last, as it breaks this server: a database that fails makes the
		// 500 page.
		t.Run("ServerError", func(t *testing.T) {
			breakSessions(t, m)
			status, h := fromPage(admin.getRaw("/applications", nil))
			if got, want := status, http.StatusInternalServerError; got != want {
				t.Fatalf("status = %d, want %d", got, want)
			}
			checkSecurityHeaders(t, h, false)
		})
	})

	// Behind a proxy that ends TLS: the public URL is https, the service
	// itself is reached over plain http.
	t.Run("BehindTLSProxy", func(t *testing.T) {
		t.Parallel()
		addr := freeAddr(t)
		newMain(t, func(m *Main) {
			m.Config.Addr = addr
			m.Config.PublicURL = "https://tokens.example.test"
		})
		base := "http://" + addr
		hc := clientFrom(t, "127.0.0.1")
		getPath := func(path string) func(t *testing.T) (int, http.Header) {
			return func(t *testing.T) (int, http.Header) { return fromAnswer(get(t, hc, base+path, nil)) }
		}
		runHeaderCases(t, true, []headerCase{
			{"SignInRedirect", http.StatusSeeOther, getPath("/applications")},
			{"ToProvider", http.StatusFound, getPath("/auth/login")},
			{"SignedOut", http.StatusOK, getPath("/auth/signed-out")},
			{"Static", http.StatusOK, getPath(css)},
			{"StaticMissing", http.StatusNotFound, getPath("/static/0000/css/none.css")},
			{"Healthz", http.StatusOK, getPath("/healthz")},
			{"JWKS", http.StatusOK, getPath("/.well-known/jwks.json")},
			{"OAuthWrongMethod", http.StatusMethodNotAllowed, getPath("/oauth2/token")},
			{"OAuthError", http.StatusUnauthorized, func(t *testing.T) (int, http.Header) {
				return fromAnswer(postTo(t, hc, base+"/oauth2/token", basic(secret.NewClientID(), secret.New()), grantForm("")))
			}},
			{"OAuthTooLarge", http.StatusRequestEntityTooLarge, func(t *testing.T) (int, http.Header) {
				return fromAnswer(postTo(t, hc, base+"/oauth2/token", basic(secret.NewClientID(), secret.New()), bigToken))
			}},
			{"SignInFailed", http.StatusUnauthorized, getPath("/auth/callback?state=forged&code=forged")},
		})
	})
}

// breakSessions drops the sessions table behind the server's back, so that
// every signed-in request fails inside the server.
func breakSessions(t *testing.T, m *Main) {
	t.Helper()
	db, err := sql.Open("sqlite", m.Config.DatabaseURL+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("DROP TABLE sessions"); err != nil {
		t.Fatalf("drop the sessions table: %v", err)
	}
}

// --- secrets never in logs, URLs or the database ---

// recorder sees every request a client makes and every answer it gets: the
// URLs asked for and redirected to, the authorization codes the provider
// sent back, and every cookie set.
type recorder struct {
	next    http.RoundTripper
	mu      sync.Mutex
	urls    []string
	codes   []string
	cookies map[string][]string // by name
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.urls = append(r.urls, req.URL.String())
	if req.URL.Path == "/auth/callback" {
		if code := req.URL.Query().Get("code"); code != "" {
			r.codes = append(r.codes, code)
		}
	}
	if err != nil {
		return nil, err
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		r.urls = append(r.urls, loc)
	}
	for _, c := range resp.Cookies() {
		if c.Value != "" {
			r.cookies[c.Name] = append(r.cookies[c.Name], c.Value)
		}
	}
	return resp, nil
}

// recordedClient is a browser whose traffic goes through rec.
func recordedClient(t *testing.T, m *Main, rec *recorder) *client {
	t.Helper()
	c := newClient(t, m)
	c.follow.Transport, c.noFollow.Transport = rec, rec
	return c
}

// signInWith signs c in on the provider's login form, trying each password
// in turn on the same form, and returns the page it ends on.
func signInWith(t *testing.T, c *client, email string, passwords ...string) *page {
	t.Helper()
	p := c.get("/applications")
	for _, pw := range passwords {
		if !strings.HasPrefix(p.url.String(), c.m.ProviderURL) {
			t.Fatalf("at %s (%d), want the provider's login page", p.url, p.status)
		}
		f := findForm(t, p.body, func(n *html.Node) bool { return attr(n, "data-testid") == "login-form" })
		f.values.Set("email", email)
		f.values.Set("password", pw)
		action, err := p.url.Parse(f.action)
		if err != nil {
			t.Fatal(err)
		}
		p = c.request(http.MethodPost, action.String(), f.values, nil, true)
	}
	return p
}

// fragments are the pieces of a secret that must not show anywhere: the
// whole, its first and last 16 characters and, for a JWT, its payload and
// signature (its header is the same for every token and gives nothing away).
func fragments(s string) []string {
	if parts := strings.Split(s, "."); len(parts) == 3 {
		sig := parts[2]
		return []string{s, parts[1], sig, sig[:min(16, len(sig))], sig[max(0, len(sig)-16):]}
	}
	return []string{s, s[:min(16, len(s))], s[max(0, len(s)-16):]}
}

// TestSecretsNeverLogged runs the golden path with debug logging, the
// bundled provider's log and the OpenID library's included, and looks for
// every client secret, access token, cookie, session id, CSRF token,
// authorization code and ID token the browser and the API clients saw: in
// the log, in the URLs asked for and redirected to, and in the database
// files. (That the encrypted secret is gone from the database files after
// the reveal window is db's TestErasedSecretLeavesNoCopyInFiles.)
//
// Not parallel: the OpenID library logs through slog's default logger,
// which the test replaces while it runs.
func TestSecretsNeverLogged(t *testing.T) {
	var logs syncBuffer
	debug := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	// slog.SetDefault also sends the log package's output to the handler;
	// put both back as they were.
	defer func(l *slog.Logger, w io.Writer, flags int) {
		slog.SetDefault(l)
		log.SetOutput(w)
		log.SetFlags(flags)
	}(slog.Default(), log.Writer(), log.Flags())
	slog.SetDefault(debug)
	m := newMain(t, func(m *Main) { m.Logger = debug })

	rec := &recorder{next: http.DefaultTransport, cookies: map[string][]string{}}
	admin := recordedClient(t, m, rec)
	api := &http.Client{Transport: rec, Timeout: 15 * time.Second}
	secrets := map[string][]string{} // what, by kind
	keep := func(kind, s string) {
		t.Helper()
		if s == "" {
			t.Fatalf("empty %s", kind)
		}
		secrets[kind] = append(secrets[kind], s)
	}
	const wrongPassword = "wrong-password-Xq7vR2mK9pL4"

	if p := signInWith(t, admin, "admin@acme.example", wrongPassword, "demo"); p.url.String() != m.URL+"/applications" {
		t.Fatalf("sign-in ended at %s (%d)", p.url, p.status)
	}
	keep("CSRF token", admin.csrf)
	id := admin.createApp("Golden path", defaultScopes)
	first := admin.reveal(id)
	keep("client secret", first)
	if p := admin.copySecret(id); p.body != first {
		t.Fatalf("copy = %d %q", p.status, p.body)
	}
	app := appJSON{ClientID: id, ClientSecret: first, AccountID: "acme"}
	byBasic := grant(t, api, m, app, "forensics:account:read")
	keep("access token", byBasic.AccessToken)
	byPost := checkGrant(t, postForm(t, api, m, "/oauth2/token", "", postCredentials(app, grantForm(""))))
	keep("access token", byPost.AccessToken)
	keep("Basic credentials", strings.TrimPrefix(basic(id, first), "Basic "))
	guess := secret.New()
	keep("guessed secret", guess)
	keep("Basic credentials", strings.TrimPrefix(basic(id, guess), "Basic "))
	checkOAuthError(t, postForm(t, api, m, "/oauth2/token", basic(id, guess), grantForm("")), http.StatusUnauthorized, "invalid_client")
	if r := introspect(t, api, m, app, byPost.AccessToken); !r.Active {
		t.Fatal("introspection: the token is not active")
	}
	if r := revoke(t, api, m, app, byBasic.AccessToken); r.status != http.StatusOK {
		t.Fatalf("revoke = %d %s", r.status, r.body)
	}

	edit := appForm(t, admin.get("/applications/"+id+"/edit").body)
	edit.values.Set("name", "Golden path v2")
	if p := admin.post(edit.action, edit.values); p.status != http.StatusSeeOther {
		t.Fatalf("save = %d\n%s", p.status, p.body)
	}
	reset := findForm(t, admin.get("/applications/"+id+"/reset").body, func(n *html.Node) bool { return attr(n, "action") == "/applications/"+id+"/reset" })
	if p := admin.post(reset.action, reset.values); p.status != http.StatusSeeOther {
		t.Fatalf("reset = %d\n%s", p.status, p.body)
	}
	second := admin.reveal(id)
	keep("client secret", second)
	admin.copySecret(id)
	app.ClientSecret = second
	keep("Basic credentials", strings.TrimPrefix(basic(id, second), "Basic "))
	keep("access token", grant(t, api, m, app, "").AccessToken)
	del := findForm(t, admin.get("/applications/"+id+"/delete").body, func(n *html.Node) bool { return attr(n, "action") == "/applications/"+id+"/delete" })
	if p := admin.post(del.action, del.values); p.status != http.StatusSeeOther {
		t.Fatalf("delete = %d\n%s", p.status, p.body)
	}
	if p := admin.getRaw("/applications/"+id, nil); p.status != http.StatusNotFound {
		t.Fatalf("details after delete = %d", p.status)
	}
	out := admin.post("/auth/logout", nil)
	if out.status != http.StatusSeeOther {
		t.Fatalf("logout = %d", out.status)
	}
	if p := admin.get(out.header.Get("Location")); p.url.String() != m.URL+"/auth/signed-out" {
		t.Fatalf("after logout ended at %s (%d)", p.url, p.status)
	}

	// What the browser was sent: cookies (and the session ids inside the
	// portal's), the authorization code, the ID token (the logout's hint).
	rec.mu.Lock()
	for name, values := range rec.cookies {
		for _, v := range values {
			keep("cookie "+name, v)
		}
	}
	for _, code := range rec.codes {
		keep("authorization code", code)
	}
	var idTokens []string
	for _, u := range rec.urls {
		if pu, err := url.Parse(u); err == nil && pu.Query().Get("id_token_hint") != "" {
			idTokens = append(idTokens, pu.Query().Get("id_token_hint"))
		}
	}
	urls := append([]string(nil), rec.urls...)
	rec.mu.Unlock()
	for _, tok := range idTokens {
		keep("ID token", tok)
	}
	serverKey, err := os.ReadFile(serverKeyPath(m.Config))
	if err != nil {
		t.Fatal(err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(serverKey)))
	if err != nil {
		t.Fatal(err)
	}
	codec := sessionCodec(t, key)
	for _, v := range secrets["cookie tokenservice_session"] {
		var sid string
		if err := codec.Decode("tokenservice_session", v, &sid); err != nil {
			t.Fatalf("the session cookie does not decode: %v", err)
		}
		keep("session id", sid)
	}
	for _, kind := range []string{"cookie tokenservice_session", "cookie tokenservice_login", "cookie bcc_session", "authorization code", "ID token", "session id"} {
		if len(secrets[kind]) == 0 {
			t.Fatalf("the test saw no %s", kind)
		}
	}

	logged := logs.String()
	for _, want := range []string{"level=DEBUG", "bcc: signed in", "bcc: sign-in failed", "application created", "client secret reset", "signed out"} {
		if !strings.Contains(logged, want) {
			t.Fatalf("the log lacks %q: logging went elsewhere\n%s", want, logged)
		}
	}
	for kind, values := range secrets {
		for _, s := range values {
			for _, f := range fragments(s) {
				if strings.Contains(logged, f) {
					t.Errorf("the log contains a secret, %s: %.8s…", kind, f)
				}
			}
		}
	}
	if strings.Contains(logged, wrongPassword) {
		t.Error("the log contains a password someone typed")
	}
	if strings.Contains(logged, secret.Prefix) {
		t.Errorf("the log contains %q, the start of every client secret", secret.Prefix)
	}

	// The authorization code and the ID token travel in URLs by protocol
	// (the callback, the logout's id_token_hint); nothing else may.
	for kind, values := range secrets {
		if kind == "authorization code" || kind == "ID token" {
			continue
		}
		for _, s := range values {
			for _, u := range urls {
				if strings.Contains(u, s) || strings.Contains(u, url.QueryEscape(s)) {
					t.Errorf("a URL contains a secret, %s: %.40s…", kind, u)
				}
			}
		}
	}

	// Nor are secrets, tokens or session ids in the database in plaintext:
	// secrets are kept hashed (and encrypted for the window), sessions by
	// the hash of their id. (The session's data, its CSRF token among them,
	// is the server's own.)
	files, _ := filepath.Glob(m.Config.DatabaseURL + "*")
	if len(files) == 0 {
		t.Fatalf("no database files at %s", m.Config.DatabaseURL)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, kind := range []string{"client secret", "guessed secret", "access token", "session id", "cookie tokenservice_session"} {
			for _, s := range secrets[kind] {
				if strings.Contains(string(b), s) {
					t.Errorf("%s contains a %s in plaintext", filepath.Base(file), kind)
				}
			}
		}
	}
}

// --- brute force ---

// TestRateLimitUnderFlood floods the token endpoint with bad credentials
// from one address, from several goroutines at once, while a good client on
// another address keeps asking for tokens: the flood gets 429 with
// Retry-After once its failures are spent, the good client never sees an
// error. (TestRateLimit checks the limits one request at a time.)
func TestRateLimitUnderFlood(t *testing.T) {
	t.Parallel()
	m := newMain(t)
	app := createAppProcess(t, m, "acme", "Good client", "forensics:account=read")
	attacker := clientFrom(t, "127.0.0.2")
	good := clientFrom(t, "127.0.0.3")
	const workers, each = 8, 300
	attacker.Transport.(*http.Transport).MaxIdleConnsPerHost = workers

	start := time.Now()
	var limited, refused atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				// Guesses at unknown clients and at the good client's secret.
				auth := basic(secret.NewClientID(), secret.New())
				if (w+i)%2 == 1 {
					auth = basic(app.ClientID, secret.New())
				}
				status, retryAfter, err := tokenRequest(attacker, m.URL, auth)
				switch {
				case err != nil:
					t.Errorf("flood: %v", err)
					return
				case status == http.StatusTooManyRequests:
					if s, err := strconv.Atoi(retryAfter); err != nil || s <= 0 {
						t.Errorf("flood: 429 with Retry-After %q, want a positive number of seconds", retryAfter)
						return
					}
					limited.Add(1)
				case status == http.StatusUnauthorized:
					refused.Add(1)
				default:
					t.Errorf("flood: status %d, want 401 or 429", status)
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	granted := 0
	for flooding := true; flooding; {
		select {
		case <-done:
			flooding = false
		default:
		}
		status, _, err := tokenRequest(good, m.URL, basic(app.ClientID, app.ClientSecret))
		if err != nil || status != http.StatusOK {
			t.Fatalf("the good client during the flood: status %d, err %v; want 200", status, err)
		}
		granted++
	}
	elapsed := time.Since(start)
	total := limited.Load() + refused.Load()
	t.Logf("%d bad requests in %s: %d refused with 401, %d limited with 429; the good client got %d tokens meanwhile",
		total, elapsed.Round(time.Millisecond), refused.Load(), limited.Load(), granted)
	if total != workers*each {
		t.Fatalf("%d of %d flood requests answered as expected", total, workers*each)
	}
	// The address may fail 30 times at once, then once every 2 seconds;
	// requests in flight when the limit is reached may still be checked.
	if max := int64(30 + workers + int(elapsed/(2*time.Second)) + 2); refused.Load() > max {
		t.Errorf("%d bad credentials were checked, want at most %d: the flood was not limited", refused.Load(), max)
	}
	if granted < 5 {
		t.Errorf("the good client got only %d tokens during the flood", granted)
	}
}

// tokenRequest asks for a token with the Authorization header auth and
// returns the status and Retry-After; safe to call from any goroutine.
func tokenRequest(hc *http.Client, base, auth string) (int, string, error) {
	req, err := http.NewRequest(http.MethodPost, base+"/oauth2/token", strings.NewReader(grantForm("").Encode()))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", auth)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, "", err
	}
	return resp.StatusCode, resp.Header.Get("Retry-After"), nil
}

// TestLoginFlood floods the bundled provider's login form with wrong
// passwords for one user from one address: it answers 429 with Retry-After
// and a message, refusing even the right password there, while the same
// user signs in from another address as usual.
func TestLoginFlood(t *testing.T) {
	t.Parallel()
	m := newMain(t)
	attacker := newClient(t, m)
	attackerHTTP := clientFrom(t, "127.0.0.2")
	attacker.follow.Transport, attacker.noFollow.Transport = attackerHTTP.Transport, attackerHTTP.Transport

	login := attacker.get("/applications")
	if !strings.HasPrefix(login.url.String(), m.ProviderURL) {
		t.Fatalf("at %s, want the provider's login page", login.url)
	}
	f := findForm(t, login.body, func(n *html.Node) bool { return attr(n, "data-testid") == "login-form" })
	action, err := login.url.Parse(f.action)
	if err != nil {
		t.Fatal(err)
	}
	try := func(password string) *page {
		t.Helper()
		f.values.Set("email", "admin@acme.example")
		f.values.Set("password", password)
		return attacker.request(http.MethodPost, action.String(), f.values, nil, false)
	}
	var limited *page
	for i := 1; i <= 200; i++ {
		p := try(fmt.Sprintf("guess-%d", i))
		switch p.status {
		case http.StatusUnauthorized:
			if limited != nil {
				t.Fatalf("attempt %d: 401 after being limited", i)
			}
		case http.StatusTooManyRequests:
			if limited == nil {
				limited = p
			}
		default:
			t.Fatalf("attempt %d: status %d", i, p.status)
		}
	}
	if limited == nil {
		t.Fatal("200 wrong passwords from one address, and no 429")
	}
	right := try("demo")
	for _, p := range []*page{limited, right} {
		if got, want := p.status, http.StatusTooManyRequests; got != want {
			t.Fatalf("status = %d, want %d", got, want)
		}
		if s, err := strconv.Atoi(p.header.Get("Retry-After")); err != nil || s <= 0 {
			t.Errorf("Retry-After = %q, want a positive number of seconds", p.header.Get("Retry-After"))
		}
		if msg := testIDText(t, p.body, "login-error"); !strings.Contains(msg, "Too many failed sign-in attempts") {
			t.Errorf("message = %q, want it to say there were too many failed attempts", msg)
		}
	}

	user := newClient(t, m)
	userHTTP := clientFrom(t, "127.0.0.3")
	user.follow.Transport, user.noFollow.Transport = userHTTP.Transport, userHTTP.Transport
	if p := signInWith(t, user, "admin@acme.example", "demo"); p.url.String() != m.URL+"/applications" || p.status != http.StatusOK {
		t.Fatalf("sign-in from another address ended at %s (%d), want the application list", p.url, p.status)
	}
}
