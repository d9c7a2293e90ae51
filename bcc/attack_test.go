package bcc_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"tokenservice/bcc"
)

// The provider's attack tests: what the portal's attack tests prove of the portal, proven of
// the bundled provider.

// noFollow is the browser b that does not follow redirects.
func noFollow(b *http.Client) *http.Client {
	return &http.Client{Jar: b.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// startSignIn starts an authorization request in b and returns the login form it lands on.
func (e *env) startSignIn(t *testing.T, b *http.Client) page {
	t.Helper()
	conf := e.oauthConfig(clientID, clientSecret, oauth2.AuthStyleInHeader)
	p := get(t, b, conf.AuthCodeURL("state-1", oidc.Nonce("nonce-1"), oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	if !p.isLoginForm() {
		t.Fatalf("authorize ended at %s (%d), want the login form", p.url, p.status)
	}
	return p
}

// signedInBrowser is a browser with a sign-on session of email at the provider.
func (e *env) signedInBrowser(t *testing.T, email string) *http.Client {
	t.Helper()
	b := newBrowser(t)
	code(t, submitLogin(t, b, e.startSignIn(t, b), email, "demo"), e)
	return b
}

// hasSession reports whether b is signed in at the provider: a new authorization request
// comes straight back with a code.
func (e *env) hasSession(t *testing.T, b *http.Client) bool {
	t.Helper()
	conf := e.oauthConfig(clientID, clientSecret, oauth2.AuthStyleInHeader)
	p := get(t, b, conf.AuthCodeURL("state-1", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	return p.isCallback(e) && p.url.Query().Get("code") != ""
}

func hasCookie(b *http.Client, u *url.URL, name string) string {
	for _, c := range b.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// TestAttackRequestOfAnotherBrowser: an authorization request is completed only in the
// browser that started it. A signed-in victim's browser that opens the attacker's request
// (a link, an image) neither completes it nor is offered its form, and the attacker gets no
// code for it.
func TestAttackRequestOfAnotherBrowser(t *testing.T) {
	e := newEnv(t, "")
	victim := e.signedInBrowser(t, "admin@acme.example")
	attacker := newBrowser(t)
	form := e.startSignIn(t, attacker)
	id := form.url.Query().Get("authRequestID")

	p := fetch(t, noFollow(victim), mustRequest(t, http.MethodGet, e.issuer+"/login?authRequestID="+url.QueryEscape(id)))
	if p.status != http.StatusForbidden || p.isLoginForm() || !strings.Contains(p.body, "another browser") {
		t.Errorf("the victim's browser got %d (Location %q), want 403 saying the sign-in was started in another browser:\n%s",
			p.status, p.header.Get("Location"), p.body)
	}
	for _, b := range map[string]*http.Client{"attacker": attacker, "victim": victim} {
		cb := fetch(t, noFollow(b), mustRequest(t, http.MethodGet, e.issuer+"/authorize/callback?id="+url.QueryEscape(id)))
		if loc := cb.header.Get("Location"); strings.Contains(loc, "code=") {
			t.Errorf("the callback of a request the victim opened gave a code: %s", loc)
		}
	}

	// The victim's browser cannot post the attacker's form either, even with its fields.
	action, fields := parseForm(t, form.body)
	fields.Set("email", "admin@acme.example")
	fields.Set("password", "demo")
	resp, err := victim.PostForm(form.url.ResolveReference(&url.URL{Path: action}).String(), fields)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("the attacker's form posted from the victim's browser: %d, want 403", resp.StatusCode)
	}

	// The request is still the attacker's own: signing in to it as themselves works.
	if cb := submitLogin(t, attacker, form, "admin@globex.example", "demo"); !cb.isCallback(e) || cb.url.Query().Get("code") == "" {
		t.Errorf("the attacker's own sign-in ended at %s", cb.url)
	}
}

// TestAttackCallbackOnce: a completed request yields its code once; replaying its callback or
// its login URL gives a message and no second code.
func TestAttackCallbackOnce(t *testing.T) {
	e := newEnv(t, "")
	b := newBrowser(t)
	form := e.startSignIn(t, b)
	id := form.url.Query().Get("authRequestID")
	code(t, submitLogin(t, b, form, "admin@acme.example", "demo"), e)

	for _, path := range []string{"/authorize/callback?id=", "/login?authRequestID="} {
		p := fetch(t, noFollow(b), mustRequest(t, http.MethodGet, e.issuer+path+url.QueryEscape(id)))
		if loc := p.header.Get("Location"); strings.Contains(loc, "code=") || p.status != http.StatusBadRequest {
			t.Errorf("GET %s again: %d to %q, want 400 and no code", path, p.status, loc)
		}
	}
	resp, err := b.PostForm(e.issuer+"/authorize/callback", url.Values{"id": {id}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /authorize/callback: %d, want 405", resp.StatusCode)
	}
}

// TestAttackLoginCSRF: the login form counts only when posted by the browser it was shown to,
// for the request it was shown for; a refused post sets no session.
func TestAttackLoginCSRF(t *testing.T) {
	e := newEnv(t, "")
	b := newBrowser(t)
	first := e.startSignIn(t, b)
	second := e.startSignIn(t, b)
	_, firstFields := parseForm(t, first.body)

	tests := []struct {
		name   string
		client *http.Client
		change func(url.Values)
	}{
		{"NoToken", b, func(v url.Values) { v.Del("csrf_token") }},
		{"ForgedToken", b, func(v url.Values) { v.Set("csrf_token", "forged") }},
		{"TokenOfAnotherRequest", b, func(v url.Values) { v.Set("csrf_token", firstFields.Get("csrf_token")) }},
		{"NoBrowserCookie", &http.Client{}, func(url.Values) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			action, fields := parseForm(t, second.body)
			fields.Set("email", "admin@acme.example")
			fields.Set("password", "demo")
			tt.change(fields)
			resp, err := noFollow(tt.client).PostForm(second.url.ResolveReference(&url.URL{Path: action}).String(), fields)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("status = %d, want 403", resp.StatusCode)
			}
			for _, c := range resp.Cookies() {
				if c.Name == "bcc_session" {
					t.Error("a refused sign-in set a session cookie")
				}
			}
		})
	}
	if e.hasSession(t, b) {
		t.Error("the browser is signed in after refused posts")
	}
}

// TestAttackCodeReuse: a code is exchanged once, by the client it was issued to, with the
// redirect URI and PKCE verifier of its request.
func TestAttackCodeReuse(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	conf := e.oauthConfig(clientID, clientSecret, oauth2.AuthStyleInHeader)
	signIn := func() (string, string) {
		v := oauth2.GenerateVerifier()
		return code(t, e.signIn(t, newBrowser(t), conf, "admin@acme.example", "demo", v), e), v
	}
	invalid := func(t *testing.T, err error) {
		t.Helper()
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode == "" {
			t.Errorf("exchange error = %v, want an OAuth error", err)
		}
	}

	t.Run("Twice", func(t *testing.T) {
		c, v := signIn()
		if _, err := conf.Exchange(ctx, c, oauth2.VerifierOption(v)); err != nil {
			t.Fatal(err)
		}
		_, err := conf.Exchange(ctx, c, oauth2.VerifierOption(v))
		invalid(t, err)
	})
	t.Run("OtherClient", func(t *testing.T) {
		c, v := signIn()
		other := e.oauthConfig(publicID, "", oauth2.AuthStyleInParams)
		_, err := other.Exchange(ctx, c, oauth2.VerifierOption(v))
		invalid(t, err)
	})
	t.Run("OtherRedirectURI", func(t *testing.T) {
		c, v := signIn()
		other := *conf
		other.RedirectURL = e.rp.URL + "/auth/callback/other"
		_, err := other.Exchange(ctx, c, oauth2.VerifierOption(v))
		invalid(t, err)
	})
	t.Run("NoVerifier", func(t *testing.T) {
		c, _ := signIn()
		_, err := conf.Exchange(ctx, c)
		invalid(t, err)
	})
}

// TestAttackRedirectURI: the provider sends the browser only to a redirect URI registered for
// the client, compared exactly; anything else gets an error page, not a redirect.
func TestAttackRedirectURI(t *testing.T) {
	e := newEnv(t, "")
	registered := e.rp.URL + "/auth/callback"
	rp, _ := url.Parse(e.rp.URL)
	for name, uri := range map[string]string{
		"OtherHost":      "http://evil.example/auth/callback",
		"OtherPort":      "http://" + rp.Hostname() + ":1/auth/callback",
		"OtherScheme":    "https://" + rp.Host + "/auth/callback",
		"LongerPath":     registered + "/../../evil",
		"PathSuffix":     registered + "x",
		"TrailingSlash":  registered + "/",
		"ExtraQuery":     registered + "?next=http://evil.example",
		"Fragment":       registered + "#frag",
		"UserInfo":       "http://evil.example@" + rp.Host + "/auth/callback",
		"CaseOfPath":     e.rp.URL + "/AUTH/callback",
		"EncodedSlashes": e.rp.URL + "/auth%2Fcallback",
	} {
		t.Run(name, func(t *testing.T) {
			conf := e.oauthConfig(clientID, clientSecret, oauth2.AuthStyleInHeader)
			conf.RedirectURL = uri
			p := fetch(t, noFollow(newBrowser(t)), mustRequest(t, http.MethodGet,
				conf.AuthCodeURL("state-1", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))))
			if p.status >= 300 && p.status < 400 {
				t.Errorf("redirect_uri %q: %d to %q, want an error page", uri, p.status, p.header.Get("Location"))
			}
		})
	}
}

// TestAttackProviderSessionFixation: a bcc_session cookie planted before sign-in is replaced
// at sign-in and signs no one in.
func TestAttackProviderSessionFixation(t *testing.T) {
	e := newEnv(t, "")
	const planted = "an-id-of-the-attackers-choosing-0123456789abcdef"
	b := newBrowser(t)
	b.Jar.SetCookies(e.issuerURL(), []*http.Cookie{{Name: "bcc_session", Value: planted, Path: "/"}})
	code(t, submitLogin(t, b, e.startSignIn(t, b), "admin@acme.example", "demo"), e)
	if got := hasCookie(b, e.issuerURL(), "bcc_session"); got == "" || got == planted {
		t.Fatalf("bcc_session after sign-in = %q, want a new value", got)
	}
	holder := newBrowser(t)
	holder.Jar.SetCookies(e.issuerURL(), []*http.Cookie{{Name: "bcc_session", Value: planted, Path: "/"}})
	if e.hasSession(t, holder) {
		t.Error("the planted cookie signs its holder in")
	}
}

// TestAttackEndSession: a bare end_session request, or one with another user's ID token,
// does not end the browser's session: it asks, and only this browser's confirmation counts.
func TestAttackEndSession(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	conf := e.oauthConfig(clientID, clientSecret, oauth2.AuthStyleInHeader)
	v := oauth2.GenerateVerifier()
	tok, err := conf.Exchange(ctx, code(t, e.signIn(t, newBrowser(t), conf, "admin@globex.example", "demo", v), e), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	attackersIDToken := tok.Extra("id_token").(string)
	victim := e.signedInBrowser(t, "admin@acme.example")
	back := e.rp.URL + "/"

	for name, q := range map[string]url.Values{
		"Bare":                {},
		"WithRedirect":        {"client_id": {clientID}, "post_logout_redirect_uri": {back}},
		"AnotherUsersIDToken": {"id_token_hint": {attackersIDToken}, "post_logout_redirect_uri": {back}},
		"ForgedIDToken":       {"id_token_hint": {"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."}},
	} {
		t.Run(name, func(t *testing.T) {
			p := fetch(t, noFollow(victim), mustRequest(t, http.MethodGet, e.issuer+"/end_session?"+q.Encode()))
			if p.status != http.StatusOK || !strings.Contains(p.body, `data-testid="logout-form"`) {
				t.Errorf("GET /end_session = %d (Location %q), want 200 and the confirmation", p.status, p.header.Get("Location"))
			}
			if !e.hasSession(t, victim) {
				t.Fatal("the session ended without confirmation")
			}
		})
	}

	p := fetch(t, noFollow(victim), mustRequest(t, http.MethodGet, e.issuer+"/end_session?"+url.Values{
		"client_id": {clientID}, "post_logout_redirect_uri": {back}, "state": {"bye"}}.Encode()))
	action, fields := parseForm(t, p.body)
	target := p.url.ResolveReference(&url.URL{Path: action}).String()

	t.Run("ConfirmationFromAnotherBrowser", func(t *testing.T) {
		other := e.signedInBrowser(t, "admin@acme.example")
		resp, err := noFollow(other).PostForm(target, fields)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || !e.hasSession(t, other) {
			t.Errorf("a confirmation posted from another browser: %d, want 403 and the session kept", resp.StatusCode)
		}
	})
	t.Run("ForgedConfirmation", func(t *testing.T) {
		forged := url.Values{"confirm": {"1"}, "csrf_token": {"forged"}}
		resp, err := noFollow(victim).PostForm(target, forged)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || !e.hasSession(t, victim) {
			t.Errorf("a forged confirmation: %d, want 403 and the session kept", resp.StatusCode)
		}
	})
	t.Run("Confirmed", func(t *testing.T) {
		resp, err := noFollow(victim).PostForm(target, fields)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got, want := resp.Header.Get("Location"), back+"?state=bye"; got != want {
			t.Errorf("confirmed sign-out went to %q (%d), want %q", got, resp.StatusCode, want)
		}
		if e.hasSession(t, victim) {
			t.Error("the session survived a confirmed sign-out")
		}
	})
}

func mustRequest(t *testing.T, method, rawURL string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestAttackCallbackOfAnotherBrowser: a request completed in one browser yields its code to that
// browser only: another browser that learns its id gets a refusal, not the code.
func TestAttackCallbackOfAnotherBrowser(t *testing.T) {
	e := newEnv(t, "")
	completed := map[string]func(t *testing.T, b *http.Client) string{
		"ByTheForm": func(t *testing.T, b *http.Client) string {
			form := e.startSignIn(t, b)
			action, fields := parseForm(t, form.body)
			fields.Set("email", "admin@acme.example")
			fields.Set("password", "demo")
			resp, err := noFollow(b).PostForm(form.url.ResolveReference(&url.URL{Path: action}).String(), fields)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if !strings.Contains(resp.Header.Get("Location"), "/authorize/callback") {
				t.Fatalf("sign-in went to %q, want the callback", resp.Header.Get("Location"))
			}
			return form.url.Query().Get("authRequestID")
		},
		"BySingleSignOn": func(t *testing.T, b *http.Client) string {
			code(t, submitLogin(t, b, e.startSignIn(t, b), "admin@acme.example", "demo"), e)
			conf := e.oauthConfig(clientID, clientSecret, oauth2.AuthStyleInHeader)
			p := fetch(t, noFollow(b), mustRequest(t, http.MethodGet, conf.AuthCodeURL("state-1", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))))
			login, err := p.url.Parse(p.header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			p = fetch(t, noFollow(b), mustRequest(t, http.MethodGet, login.String()))
			if !strings.Contains(p.header.Get("Location"), "/authorize/callback") {
				t.Fatalf("single sign-on went to %q, want the callback", p.header.Get("Location"))
			}
			return login.Query().Get("authRequestID")
		},
	}
	for name, complete := range completed {
		t.Run(name, func(t *testing.T) {
			id := complete(t, newBrowser(t))
			p := fetch(t, noFollow(newBrowser(t)), mustRequest(t, http.MethodGet, e.issuer+"/authorize/callback?id="+url.QueryEscape(id)))
			if loc := p.header.Get("Location"); p.status != http.StatusForbidden || strings.Contains(loc, "code=") {
				t.Errorf("another browser's callback: %d to %q, want 403 and no code", p.status, loc)
			}
		})
	}
}

// TestAttackPlantedBrowserCookie: a bcc_browser value the attacker knows, planted in the victim's
// browser (by another service on the same host, or a sibling domain), does not make the victim's
// browser pass for the attacker's.
func TestAttackPlantedBrowserCookie(t *testing.T) {
	e := newEnv(t, "")
	attacker := newBrowser(t)
	form := e.startSignIn(t, attacker)
	id := form.url.Query().Get("authRequestID")
	planted := hasCookie(attacker, e.issuerURL(), "bcc_browser")
	stolen := e.issuer + "/login?authRequestID=" + url.QueryEscape(id)
	attackerGetsNoCode := func(t *testing.T) {
		t.Helper()
		cb := fetch(t, noFollow(attacker), mustRequest(t, http.MethodGet, e.issuer+"/authorize/callback?id="+url.QueryEscape(id)))
		if strings.Contains(cb.header.Get("Location"), "code=") {
			t.Errorf("the attacker got a code: %s", cb.header.Get("Location"))
		}
	}
	refused := func(t *testing.T, b *http.Client) {
		t.Helper()
		p := fetch(t, noFollow(b), mustRequest(t, http.MethodGet, stolen))
		if p.status != http.StatusForbidden || p.isLoginForm() {
			t.Errorf("the victim's browser opening the attacker's request: %d (Location %q), want 403 and no form", p.status, p.header.Get("Location"))
		}
		attackerGetsNoCode(t)
	}

	t.Run("AfterSignIn", func(t *testing.T) {
		// The replaced value matches the request, but not the session: no silent sign-in.
		victim := e.signedInBrowser(t, "admin@acme.example")
		victim.Jar.SetCookies(e.issuerURL(), []*http.Cookie{{Name: "bcc_browser", Value: planted, Path: "/"}})
		p := fetch(t, noFollow(victim), mustRequest(t, http.MethodGet, stolen))
		if p.status >= 300 && p.status < 400 {
			t.Errorf("the victim's session completed the attacker's request: %d to %q", p.status, p.header.Get("Location"))
		}
		attackerGetsNoCode(t)
	})
	t.Run("BeforeSignIn", func(t *testing.T) {
		victim := newBrowser(t)
		victim.Jar.SetCookies(e.issuerURL(), []*http.Cookie{{Name: "bcc_browser", Value: planted, Path: "/"}})
		code(t, submitLogin(t, victim, e.startSignIn(t, victim), "admin@acme.example", "demo"), e)
		if got := hasCookie(victim, e.issuerURL(), "bcc_browser"); got == planted {
			t.Error("the sign-in kept the planted bcc_browser value")
		}
		refused(t, victim)
	})
	t.Run("SignsInOnTheAttackersForm", func(t *testing.T) {
		// Planted in a browser without a session: it is shown the attacker's form, and signing
		// in there moves the request to the victim's new value, so the code goes to the victim.
		victim := newBrowser(t)
		victim.Jar.SetCookies(e.issuerURL(), []*http.Cookie{{Name: "bcc_browser", Value: planted, Path: "/"}})
		page := get(t, victim, stolen)
		if !page.isLoginForm() {
			t.Fatalf("the victim's browser got %d, want the form", page.status)
		}
		action, fields := parseForm(t, page.body)
		fields.Set("email", "admin@acme.example")
		fields.Set("password", "demo")
		resp, err := noFollow(victim).PostForm(page.url.ResolveReference(&url.URL{Path: action}).String(), fields)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		cb := fetch(t, noFollow(attacker), mustRequest(t, http.MethodGet, e.issuer+"/authorize/callback?id="+url.QueryEscape(id)))
		if cb.status != http.StatusForbidden || strings.Contains(cb.header.Get("Location"), "code=") {
			t.Errorf("the attacker's callback after the victim signed in: %d to %q, want 403 and no code", cb.status, cb.header.Get("Location"))
		}
	})
	t.Run("SecondCookieOnANarrowerPath", func(t *testing.T) {
		victim := e.signedInBrowser(t, "admin@acme.example")
		loginPath, _ := url.Parse(e.issuer + "/login")
		victim.Jar.SetCookies(loginPath, []*http.Cookie{{Name: "bcc_browser", Value: planted, Path: "/login"}})
		refused(t, victim)
		authorizePath, _ := url.Parse(e.issuer + "/authorize")
		victim.Jar.SetCookies(authorizePath, []*http.Cookie{{Name: "bcc_browser", Value: planted, Path: "/authorize"}})
		conf := e.oauthConfig(clientID, clientSecret, oauth2.AuthStyleInHeader)
		p := fetch(t, noFollow(victim), mustRequest(t, http.MethodGet, conf.AuthCodeURL("state-1", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))))
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, "more than one BCC sign-in cookie") {
			t.Errorf("authorize with two browser cookies: %d (Location %q), want 400 saying so", p.status, p.header.Get("Location"))
		}
	})
}

// TestSecureCookieNames: over https the provider's cookies carry the __Host- prefix.
func TestSecureCookieNames(t *testing.T) {
	p, err := bcc.New(bcc.Config{Issuer: "https://id.example", Clients: []bcc.Client{
		{ID: clientID, Secret: clientSecret, RedirectURIs: []string{"https://portal.example/auth/callback"}},
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	conf := oauth2.Config{ClientID: clientID, RedirectURL: "https://portal.example/auth/callback",
		Endpoint: oauth2.Endpoint{AuthURL: "https://id.example/authorize"}, Scopes: []string{oidc.ScopeOpenID}}
	req := httptest.NewRequest(http.MethodGet, conf.AuthCodeURL("state-1", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())), nil)
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, req)
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Name != "__Host-bcc_browser" || !cookies[0].Secure || cookies[0].Path != "/" || cookies[0].Domain != "" {
		t.Errorf("cookies set at /authorize over https = %+v, want one __Host-bcc_browser, Secure, Path=/, no Domain", cookies)
	}
}

// TestMalformedBrowserCookie: a browser whose one bcc_browser cookie is not a value the
// provider made gets a new one and signs in as usual; only several cookies are refused.
func TestMalformedBrowserCookie(t *testing.T) {
	e := newEnv(t, "")
	b := newBrowser(t)
	b.Jar.SetCookies(e.issuerURL(), []*http.Cookie{{Name: "bcc_browser", Value: "short", Path: "/"}})
	code(t, submitLogin(t, b, e.startSignIn(t, b), "admin@acme.example", "demo"), e)
	if got := hasCookie(b, e.issuerURL(), "bcc_browser"); len(got) < 32 {
		t.Errorf("bcc_browser after sign-in = %q, want a new random value", got)
	}
}
