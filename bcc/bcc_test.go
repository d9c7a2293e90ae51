package bcc_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/net/html"
	"golang.org/x/oauth2"

	"tokenservice/bcc"
)

const (
	clientID     = "portal"
	clientSecret = "portal-secret"
	publicID     = "cli"
)

// env is a running provider and a relying party it redirects to.
type env struct {
	t        *testing.T
	issuer   string
	rp       *httptest.Server
	provider *bcc.Provider
	oidc     *oidc.Provider
}

// newEnv starts a relying party and the provider (with the users file, or demo users) on
// 127.0.0.1, with one confidential and one public client.
func newEnv(t *testing.T, usersFile string) *env {
	t.Helper()
	rpMux := http.NewServeMux()
	rpMux.HandleFunc("/auth/callback", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "callback") })
	rpMux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "home") })
	rp := httptest.NewServer(rpMux)
	t.Cleanup(rp.Close)

	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	p, err := bcc.New(bcc.Config{
		Issuer:    issuer,
		UsersFile: usersFile,
		Clients: []bcc.Client{
			{ID: clientID, Secret: clientSecret, RedirectURIs: []string{rp.URL + "/auth/callback"}, PostLogoutRedirectURIs: []string{rp.URL + "/"}},
			{ID: publicID, RedirectURIs: []string{rp.URL + "/auth/callback"}, PostLogoutRedirectURIs: []string{rp.URL + "/"}},
		},
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv.Config.Handler = p
	srv.Start()
	t.Cleanup(srv.Close)

	op, err := oidc.NewProvider(context.Background(), issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return &env{t: t, issuer: issuer, rp: rp, provider: p, oidc: op}
}

// oauthConfig is the relying party's configuration for a client and token endpoint auth style.
func (e *env) oauthConfig(id, secret string, style oauth2.AuthStyle, scopes ...string) *oauth2.Config {
	if len(scopes) == 0 {
		scopes = []string{oidc.ScopeOpenID, "email", "profile", "groups"}
	}
	ep := e.oidc.Endpoint()
	ep.AuthStyle = style
	return &oauth2.Config{ClientID: id, ClientSecret: secret, Endpoint: ep, RedirectURL: e.rp.URL + "/auth/callback", Scopes: scopes}
}

func newBrowser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar}
}

// page is a fetched page: where the browser ended up, and what it got.
type page struct {
	status int
	url    *url.URL
	body   string
	header http.Header
}

func fetch(t *testing.T, b *http.Client, req *http.Request) page {
	t.Helper()
	resp, err := b.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return page{status: resp.StatusCode, url: resp.Request.URL, body: string(body), header: resp.Header}
}

func get(t *testing.T, b *http.Client, rawURL string) page {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	return fetch(t, b, req)
}

func (p page) isLoginForm() bool { return strings.Contains(p.body, `data-testid="login-form"`) }

func (p page) isCallback(e *env) bool {
	return strings.HasPrefix(p.url.String(), e.rp.URL+"/auth/callback")
}

// submitLogin fills in the login form on the page, as a browser would, and submits it.
func submitLogin(t *testing.T, b *http.Client, p page, email, password string) page {
	t.Helper()
	action, fields := parseForm(t, p.body)
	fields.Set("email", email)
	fields.Set("password", password)
	target := p.url.ResolveReference(&url.URL{Path: action})
	req, err := http.NewRequest(http.MethodPost, target.String(), strings.NewReader(fields.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return fetch(t, b, req)
}

// parseForm returns the action of the page's form and its input values.
func parseForm(t *testing.T, body string) (string, url.Values) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var action string
	fields := url.Values{}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			attr := func(k string) string {
				for _, a := range n.Attr {
					if a.Key == k {
						return a.Val
					}
				}
				return ""
			}
			switch n.Data {
			case "form":
				action = attr("action")
			case "input":
				fields.Set(attr("name"), attr("value"))
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if action == "" {
		t.Fatalf("no form on page:\n%s", body)
	}
	return action, fields
}

// signIn runs the authorization request in the browser and signs in with the form.
func (e *env) signIn(t *testing.T, b *http.Client, conf *oauth2.Config, email, password, verifier string, opts ...oauth2.AuthCodeOption) page {
	t.Helper()
	opts = append([]oauth2.AuthCodeOption{oidc.Nonce("nonce-1"), oauth2.S256ChallengeOption(verifier)}, opts...)
	login := get(t, b, conf.AuthCodeURL("state-1", opts...))
	if !login.isLoginForm() {
		t.Fatalf("authorize did not show the login form: %s\n%s", login.url, login.body)
	}
	return submitLogin(t, b, login, email, password)
}

// code takes the authorization code from the callback page, checking the state.
func code(t *testing.T, p page, e *env) string {
	t.Helper()
	if !p.isCallback(e) {
		t.Fatalf("ended at %s, not the callback (status %d):\n%s", p.url, p.status, p.body)
	}
	q := p.url.Query()
	if got, want := q.Get("state"), "state-1"; got != want {
		t.Errorf("state = %q, want %q", got, want)
	}
	if q.Get("code") == "" {
		t.Fatalf("no code in callback %s", p.url)
	}
	return q.Get("code")
}

// claims decodes a JWT's payload without verifying it.
func claims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDiscovery(t *testing.T) {
	e := newEnv(t, "")
	var meta struct {
		Issuer              string   `json:"issuer"`
		EndSession          string   `json:"end_session_endpoint"`
		JWKS                string   `json:"jwks_uri"`
		Scopes              []string `json:"scopes_supported"`
		Claims              []string `json:"claims_supported"`
		CodeChallenge       []string `json:"code_challenge_methods_supported"`
		TokenEndpointMethod []string `json:"token_endpoint_auth_methods_supported"`
	}
	if err := e.oidc.Claims(&meta); err != nil {
		t.Fatal(err)
	}
	if got, want := meta.Issuer, e.issuer; got != want {
		t.Errorf("issuer = %q, want %q", got, want)
	}
	if got, want := meta.EndSession, e.issuer+"/end_session"; got != want {
		t.Errorf("end_session_endpoint = %q, want %q", got, want)
	}
	for _, s := range []string{"openid", "email", "profile", "groups"} {
		if !slices.Contains(meta.Scopes, s) {
			t.Errorf("scopes_supported %v lacks %q", meta.Scopes, s)
		}
	}
	for _, c := range []string{"account_id", "account_name", "roles", "groups", "email", "name"} {
		if !slices.Contains(meta.Claims, c) {
			t.Errorf("claims_supported %v lacks %q", meta.Claims, c)
		}
	}
	if !slices.Equal(meta.CodeChallenge, []string{"S256"}) {
		t.Errorf("code_challenge_methods_supported = %v, want [S256]", meta.CodeChallenge)
	}
	for _, m := range []string{"client_secret_basic", "client_secret_post"} {
		if !slices.Contains(meta.TokenEndpointMethod, m) {
			t.Errorf("token_endpoint_auth_methods_supported %v lacks %q", meta.TokenEndpointMethod, m)
		}
	}
	jwks := get(t, http.DefaultClient, meta.JWKS)
	if got, want := jwks.status, http.StatusOK; got != want {
		t.Fatalf("JWKS status = %d, want %d", got, want)
	}
	if !strings.Contains(jwks.body, `"RS256"`) || strings.Contains(jwks.body, `"d":`) {
		t.Errorf("JWKS should publish only the public RS256 key: %s", jwks.body)
	}
}

func TestCodeFlow(t *testing.T) {
	e := newEnv(t, "")
	tests := []struct {
		name   string
		id     string
		secret string
		style  oauth2.AuthStyle
	}{
		{"ClientSecretBasic", clientID, clientSecret, oauth2.AuthStyleInHeader},
		{"ClientSecretPost", clientID, clientSecret, oauth2.AuthStyleInParams},
		{"PublicClient", publicID, "", oauth2.AuthStyleInParams},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			conf := e.oauthConfig(tt.id, tt.secret, tt.style)
			verifier := oauth2.GenerateVerifier()
			cb := e.signIn(t, newBrowser(t), conf, "admin@acme.example", "demo", verifier)

			tok, err := conf.Exchange(ctx, code(t, cb, e), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			rawID, _ := tok.Extra("id_token").(string)
			idToken, err := e.oidc.Verifier(&oidc.Config{ClientID: tt.id}).Verify(ctx, rawID)
			if err != nil {
				t.Fatalf("verify ID token: %v", err)
			}
			if got, want := idToken.Nonce, "nonce-1"; got != want {
				t.Errorf("nonce = %q, want %q", got, want)
			}

			var got struct {
				Sub           string   `json:"sub"`
				Email         string   `json:"email"`
				EmailVerified bool     `json:"email_verified"`
				Name          string   `json:"name"`
				AccountID     string   `json:"account_id"`
				AccountName   string   `json:"account_name"`
				Roles         []string `json:"roles"`
				Groups        []string `json:"groups"`
			}
			if err := idToken.Claims(&got); err != nil {
				t.Fatal(err)
			}
			if got.Sub == "" || got.Sub != idToken.Subject {
				t.Errorf("sub = %q", got.Sub)
			}
			if got.Email != "admin@acme.example" || !got.EmailVerified || got.Name != "Ada Admin" {
				t.Errorf("email/name claims = %q %v %q", got.Email, got.EmailVerified, got.Name)
			}
			if got.AccountID != "acme" || got.AccountName != "Acme" {
				t.Errorf("account claims = %q %q, want acme Acme", got.AccountID, got.AccountName)
			}
			if !slices.Equal(got.Roles, []string{"admin"}) {
				t.Errorf("roles = %v, want [admin]", got.Roles)
			}
			if !slices.Equal(got.Groups, []string{"account:acme", "admins"}) {
				t.Errorf("groups = %v, want [account:acme admins]", got.Groups)
			}

			info, err := e.oidc.UserInfo(ctx, oauth2.StaticTokenSource(tok))
			if err != nil {
				t.Fatalf("userinfo: %v", err)
			}
			var ui map[string]any
			if err := info.Claims(&ui); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"sub", "email", "email_verified", "name", "account_id", "account_name", "roles", "groups"} {
				if _, ok := ui[k]; !ok {
					t.Errorf("userinfo lacks %q: %v", k, ui)
				}
			}

			if _, err := conf.Exchange(ctx, cb.url.Query().Get("code"), oauth2.VerifierOption(verifier)); err == nil {
				t.Error("a code was accepted twice")
			}
		})
	}
}

func TestClaimsPerUser(t *testing.T) {
	e := newEnv(t, "")
	tests := []struct {
		name        string
		email       string
		scopes      []string
		wantRoles   string
		wantAccount string
		wantGroups  string // JSON, "" for no claim
	}{
		{"Viewer", "viewer@acme.example", nil, `[]`, "acme", `["account:acme"]`},
		{"OtherAccount", "admin@globex.example", nil, `["admin"]`, "globex", `["account:globex","admins"]`},
		{"NoGroupsScope", "admin@acme.example", []string{"openid", "email", "profile"}, `["admin"]`, "acme", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conf := e.oauthConfig(clientID, clientSecret, oauth2.AuthStyleInHeader, tt.scopes...)
			verifier := oauth2.GenerateVerifier()
			cb := e.signIn(t, newBrowser(t), conf, tt.email, "demo", verifier)
			tok, err := conf.Exchange(context.Background(), code(t, cb, e), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			c := claims(t, tok.Extra("id_token").(string))
			roles, _ := json.Marshal(c["roles"])
			if got, want := string(roles), tt.wantRoles; got != want {
				t.Errorf("roles = %s, want %s", got, want)
			}
			if got, want := c["account_id"], tt.wantAccount; got != want {
				t.Errorf("account_id = %v, want %s", got, want)
			}
			groups, ok := c["groups"]
			switch {
			case tt.wantGroups == "" && ok:
				t.Errorf("groups = %v without the groups scope", groups)
			case tt.wantGroups != "":
				raw, _ := json.Marshal(groups)
				if got, want := string(raw), tt.wantGroups; got != want {
					t.Errorf("groups = %s, want %s", got, want)
				}
			}
		})
	}
}

func TestWrongCredentials(t *testing.T) {
	e := newEnv(t, "")
	tests := []struct {
		name, email, password string
	}{
		{"WrongPassword", "admin@acme.example", "not-demo"},
		{"UnknownUser", "nobody@acme.example", "demo"},
		{"EmptyPassword", "admin@acme.example", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBrowser(t)
			conf := e.oauthConfig(clientID, clientSecret, oauth2.AuthStyleInHeader)
			p := e.signIn(t, b, conf, tt.email, tt.password, oauth2.GenerateVerifier())
			if got, want := p.status, http.StatusUnauthorized; got != want {
				t.Errorf("status = %d, want %d", got, want)
			}
			if p.isCallback(e) || p.url.Path != "/login" {
				t.Errorf("ended at %s, want the login page", p.url)
			}
			if !strings.Contains(p.body, "Incorrect e-mail or password.") {
				t.Errorf("page lacks the error message:\n%s", p.body)
			}
			if _, fields := parseForm(t, p.body); fields.Get("email") != tt.email || fields.Get("password") != "" {
				t.Errorf("form fields = %v, want the e-mail kept and the password empty", fields)
			}
			for _, c := range b.Jar.Cookies(p.url) {
				if c.Name == "bcc_session" {
					t.Error("a failed sign-in set bcc_session")
				}
			}
		})
	}
}

func TestLoginPage(t *testing.T) {
	e := newEnv(t, "")
	b := newBrowser(t)
	conf := e.oauthConfig(clientID, clientSecret, oauth2.AuthStyleInHeader)
	p := get(t, b, conf.AuthCodeURL("state-1", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	for _, want := range []string{
		"<title>Sign in — BCC</title>",
		`<label for="email">E-mail</label>`,
		`<label for="password">Password</label>`,
		`>Sign in</button>`,
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("login page lacks %q", want)
		}
	}
	headers := map[string]string{
		"X-Frame-Options":        "DENY",
		"X-Content-Type-Options": "nosniff",
		"Cache-Control":          "no-store",
	}
	for k, want := range headers {
		if got := p.header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "script-src") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}

	t.Run("TamperedCSRFToken", func(t *testing.T) {
		action, fields := parseForm(t, p.body)
		fields.Set("csrf_token", "forged")
		fields.Set("email", "admin@acme.example")
		fields.Set("password", "demo")
		resp, err := b.PostForm(p.url.ResolveReference(&url.URL{Path: action}).String(), fields)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got, want := resp.StatusCode, http.StatusForbidden; got != want {
			t.Errorf("status = %d, want %d", got, want)
		}
	})
	t.Run("OtherBrowser", func(t *testing.T) {
		action, fields := parseForm(t, p.body)
		fields.Set("email", "admin@acme.example")
		fields.Set("password", "demo")
		resp, err := newBrowser(t).PostForm(p.url.ResolveReference(&url.URL{Path: action}).String(), fields)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got, want := resp.StatusCode, http.StatusForbidden; got != want {
			t.Errorf("status = %d, want %d", got, want)
		}
	})
	t.Run("UnknownAuthRequest", func(t *testing.T) {
		p := get(t, b, e.issuer+"/login?authRequestID=nope")
		if got, want := p.status, http.StatusBadRequest; got != want {
			t.Errorf("status = %d, want %d", got, want)
		}
	})
}

func TestSingleSignOn(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	b := newBrowser(t)
	conf := e.oauthConfig(clientID, clientSecret, oauth2.AuthStyleInHeader)
	verifier := oauth2.GenerateVerifier()
	tok, err := conf.Exchange(ctx, code(t, e.signIn(t, b, conf, "admin@acme.example", "demo", verifier), e), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	idToken := tok.Extra("id_token").(string)

	var cookie *http.Cookie
	for _, c := range b.Jar.Cookies(e.issuerURL()) {
		if c.Name == "bcc_session" {
			cookie = c
		}
	}
	if cookie == nil {
		t.Fatal("no bcc_session cookie after sign-in")
	}

	authorize := func(opts ...oauth2.AuthCodeOption) page {
		v := oauth2.GenerateVerifier()
		opts = append(opts, oauth2.S256ChallengeOption(v))
		return get(t, b, conf.AuthCodeURL("state-1", opts...))
	}

	t.Run("SecondAuthorizeSkipsForm", func(t *testing.T) {
		if p := authorize(); !p.isCallback(e) || p.url.Query().Get("code") == "" {
			t.Errorf("ended at %s, want the callback with a code", p.url)
		}
	})
	t.Run("PromptNoneWithSession", func(t *testing.T) {
		if p := authorize(oauth2.SetAuthURLParam("prompt", "none")); !p.isCallback(e) || p.url.Query().Get("code") == "" {
			t.Errorf("ended at %s, want the callback with a code", p.url)
		}
	})
	t.Run("PromptLoginShowsForm", func(t *testing.T) {
		if p := authorize(oauth2.SetAuthURLParam("prompt", "login")); !p.isLoginForm() {
			t.Errorf("ended at %s, want the login form", p.url)
		}
	})
	t.Run("EndSession", func(t *testing.T) {
		q := url.Values{
			"id_token_hint":            {idToken},
			"post_logout_redirect_uri": {e.rp.URL + "/"},
			"state":                    {"bye"},
		}
		p := get(t, b, e.issuer+"/end_session?"+q.Encode())
		if got, want := p.url.String(), e.rp.URL+"/?state=bye"; got != want {
			t.Errorf("end_session ended at %s, want %s", got, want)
		}
		if p := authorize(); !p.isLoginForm() {
			t.Errorf("authorize after end_session ended at %s, want the login form", p.url)
		}
		if p := authorize(oauth2.SetAuthURLParam("prompt", "none")); !p.isCallback(e) || p.url.Query().Get("error") != "login_required" {
			t.Errorf("prompt=none after end_session ended at %s, want error=login_required", p.url)
		}
		// The old cookie value no longer signs anyone in, even if a browser kept it.
		other := newBrowser(t)
		other.Jar.SetCookies(e.issuerURL(), []*http.Cookie{{Name: "bcc_session", Value: cookie.Value}})
		if p := get(t, other, conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))); !p.isLoginForm() {
			t.Errorf("old session cookie still works: ended at %s", p.url)
		}
	})
}

func (e *env) issuerURL() *url.URL {
	u, _ := url.Parse(e.issuer)
	return u
}

func TestPKCE(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()

	t.Run("VerifierMismatch", func(t *testing.T) {
		conf := e.oauthConfig(clientID, clientSecret, oauth2.AuthStyleInHeader)
		cb := e.signIn(t, newBrowser(t), conf, "admin@acme.example", "demo", oauth2.GenerateVerifier())
		_, err := conf.Exchange(ctx, code(t, cb, e), oauth2.VerifierOption(oauth2.GenerateVerifier()))
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
			t.Errorf("exchange error = %v, want invalid_grant", err)
		}
	})

	tests := []struct {
		name   string
		id     string
		params url.Values
	}{
		{"PublicClientWithoutPKCE", publicID, nil},
		{"PlainMethod", clientID, url.Values{"code_challenge": {"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopq"}, "code_challenge_method": {"plain"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conf := e.oauthConfig(tt.id, "", oauth2.AuthStyleInParams)
			var opts []oauth2.AuthCodeOption
			for k, v := range tt.params {
				opts = append(opts, oauth2.SetAuthURLParam(k, v[0]))
			}
			p := get(t, newBrowser(t), conf.AuthCodeURL("state-1", opts...))
			if !p.isCallback(e) || p.url.Query().Get("error") != "invalid_request" {
				t.Errorf("ended at %s, want the callback with error=invalid_request", p.url)
			}
		})
	}
}

func TestSessionCookie(t *testing.T) {
	e := newEnv(t, "")
	b := newBrowser(t)
	conf := e.oauthConfig(clientID, clientSecret, oauth2.AuthStyleInHeader)
	login := get(t, b, conf.AuthCodeURL("state-1", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	action, fields := parseForm(t, login.body)
	fields.Set("email", "admin@acme.example")
	fields.Set("password", "demo")

	b.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := b.PostForm(login.url.ResolveReference(&url.URL{Path: action}).String(), fields)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.StatusCode, http.StatusSeeOther; got != want {
		t.Fatalf("status = %d, want %d", got, want)
	}
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if !strings.HasPrefix(c.Name, "bcc_") {
			t.Errorf("cookie %q does not start with bcc_", c.Name)
		}
		if c.Name == "bcc_session" {
			session = c
		}
	}
	if session == nil {
		t.Fatal("no bcc_session cookie set")
	}
	if !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Path != "/" || len(session.Value) < 32 {
		t.Errorf("bcc_session = %+v, want HttpOnly, SameSite=Lax, Path=/ and a long random value", session)
	}
}
