package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"

	"tokenservice"
	"tokenservice/secret"
)

// secretPattern matches a whole client secret; pages may show a secret's
// hint ("tss_…a1b2"), never one.
var secretPattern = regexp.MustCompile(`tss_[0-9A-Za-z]{49}`)

// newMain starts the whole service (portal, bundled provider, SQLite in a
// temporary directory) on free ports and closes it when the test ends.
func newMain(t testing.TB, configure ...func(*Main)) *Main {
	t.Helper()
	m := NewMain()
	m.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	m.Config.Addr = "127.0.0.1:0"
	m.Config.BCCAddr = "127.0.0.1:0"
	m.Config.DataDir = t.TempDir()
	for _, f := range configure {
		f(m)
	}
	if err := m.Open(context.Background()); err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return m
}

// client is a browser: a cookie jar, and the CSRF token of the last page.
type client struct {
	t        *testing.T
	m        *Main
	email    string
	jar      *cookiejar.Jar
	follow   *http.Client
	noFollow *http.Client
	csrf     string
}

// page is a response as the test sees it.
type page struct {
	status int
	header http.Header
	body   string
	url    *url.URL // after redirects
}

func newClient(t *testing.T, m *Main) *client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, m: m, jar: jar,
		follow: &http.Client{Jar: jar, Timeout: 15 * time.Second},
		noFollow: &http.Client{Jar: jar, Timeout: 15 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}
}

func (c *client) abs(path string) string {
	if strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://") {
		return path
	}
	return c.m.URL + path
}

// request sends method path with form (url-encoded, as given) and headers.
func (c *client) request(method, path string, form url.Values, header http.Header, follow bool) *page {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.abs(path), body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	hc := c.noFollow
	if follow {
		hc = c.follow
	}
	resp, err := hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	p := &page{status: resp.StatusCode, header: resp.Header, body: string(b), url: resp.Request.URL}
	if tok := csrfToken(p.body); tok != "" && strings.HasPrefix(p.url.String(), c.m.URL) {
		c.csrf = tok
	}
	return p
}

// get follows redirects, as a browser does.
func (c *client) get(path string) *page {
	c.t.Helper()
	return c.request(http.MethodGet, path, nil, nil, true)
}

// getRaw does not follow redirects.
func (c *client) getRaw(path string, header http.Header) *page {
	c.t.Helper()
	return c.request(http.MethodGet, path, nil, header, false)
}

// post posts form with the session's CSRF token and does not follow redirects.
func (c *client) post(path string, form url.Values) *page {
	c.t.Helper()
	f := url.Values{}
	for k, v := range form {
		f[k] = v
	}
	f.Set("_csrf", c.csrf)
	return c.request(http.MethodPost, path, f, nil, false)
}

// signIn signs email in through the bundled provider's login page, starting
// at the application list.
func signIn(t *testing.T, m *Main, email string) *client {
	t.Helper()
	return signInAt(t, m, email, "/applications")
}

// signInAt asks for path without a session, signs in on the provider's login
// form with the demo password and checks that the browser lands on path.
func signInAt(t *testing.T, m *Main, email, path string) *client {
	t.Helper()
	c, p := signInFrom(t, m, email, path)
	if got, want := p.url.String(), m.URL+path; got != want {
		t.Fatalf("after signing in as %s: ended at %s (%d), want %s\n%s", email, got, p.status, want, p.body)
	}
	if got, want := p.status, http.StatusOK; got != want {
		t.Fatalf("after signing in: status %d, want %d", got, want)
	}
	if got, want := testIDText(t, p.body, "user-email"), email; got != want {
		t.Fatalf("signed-in e-mail shown = %q, want %q", got, want)
	}
	if c.csrf == "" {
		t.Fatal("no CSRF token on the page after signing in")
	}
	return c
}

// signInFrom asks for path without a session, fills in the provider's login
// form and returns the page the browser ends on.
func signInFrom(t *testing.T, m *Main, email, path string) (*client, *page) {
	t.Helper()
	c := newClient(t, m)
	c.email = email
	login := c.get(path)
	if login.status != http.StatusOK || !strings.HasPrefix(login.url.String(), m.ProviderURL) {
		t.Fatalf("GET %s without a session ended at %s (%d), want the provider's login page", path, login.url, login.status)
	}
	f := findForm(t, login.body, func(n *html.Node) bool { return attr(n, "data-testid") == "login-form" })
	for _, name := range []string{"authRequestID", "csrf_token"} {
		if f.values.Get(name) == "" {
			t.Fatalf("login form lacks the hidden field %q: %v", name, f.values)
		}
	}
	if !f.has["email"] || !f.has["password"] {
		t.Fatalf("login form lacks the e-mail or password field: %v", f.values)
	}
	f.values.Set("email", email)
	f.values.Set("password", "demo")
	action, err := login.url.Parse(f.action)
	if err != nil {
		t.Fatalf("login form action %q: %v", f.action, err)
	}
	return c, c.request(http.MethodPost, action.String(), f.values, nil, true)
}

// sessionCookie returns the portal's session cookie from the jar.
func (c *client) sessionCookie() *http.Cookie {
	c.t.Helper()
	u, _ := url.Parse(c.m.URL)
	for _, ck := range c.jar.Cookies(u) {
		if ck.Name == "tokenservice_session" {
			return ck
		}
	}
	c.t.Fatal("no tokenservice_session cookie")
	return nil
}

var clientIDPath = regexp.MustCompile(`^/applications/([a-z2-7]{26})$`)

// createApp adds an application through the Add Application page and
// returns its Client ID.
func (c *client) createApp(name string, scopes url.Values) string {
	c.t.Helper()
	if p := c.get("/applications/new"); p.status != http.StatusOK {
		c.t.Fatalf("GET /applications/new = %d", p.status)
	}
	form := url.Values{"name": {name}}
	for k, v := range scopes {
		form[k] = v
	}
	p := c.post("/applications", form)
	if got, want := p.status, http.StatusSeeOther; got != want {
		c.t.Fatalf("POST /applications = %d, want %d\n%s", got, want, p.body)
	}
	sm := clientIDPath.FindStringSubmatch(p.header.Get("Location"))
	if sm == nil {
		c.t.Fatalf("POST /applications redirected to %q, want /applications/<client id>", p.header.Get("Location"))
	}
	return sm[1]
}

// reveal shows the Client Secret on the details page and returns it.
func (c *client) reveal(id string) string {
	c.t.Helper()
	p := c.post("/applications/"+id+"/secret/reveal", nil)
	if got, want := p.status, http.StatusOK; got != want {
		c.t.Fatalf("reveal = %d, want %d\n%s", got, want, p.body)
	}
	s := testIDText(c.t, p.body, "client-secret")
	if !strings.HasPrefix(s, secret.Prefix) || len(s) != secret.Len || !secret.WellFormed(s) {
		c.t.Fatalf("revealed secret %q is not a well-formed %s… secret", s, secret.Prefix)
	}
	return s
}

// copySecret answers the copy button: the secret as text.
func (c *client) copySecret(id string) *page {
	c.t.Helper()
	return c.post("/applications/"+id+"/secret/copy", nil)
}

// --- HTML helpers ---

func parseHTML(t *testing.T, body string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse HTML: %v", err)
	}
	return doc
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

// findAll returns the elements under n for which match is true, in document order.
func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && match(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

// textOf is the text content of n with runs of white space collapsed.
func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

func byTestID(t *testing.T, body, id string) []*html.Node {
	t.Helper()
	return findAll(parseHTML(t, body), func(n *html.Node) bool { return attr(n, "data-testid") == id })
}

func hasTestID(t *testing.T, body, id string) bool {
	t.Helper()
	return len(byTestID(t, body, id)) > 0
}

// testIDText is the text of the first element with data-testid id, or "".
func testIDText(t *testing.T, body, id string) string {
	t.Helper()
	ns := byTestID(t, body, id)
	if len(ns) == 0 {
		return ""
	}
	return textOf(ns[0])
}

// elementText is the text of the element with the HTML id, and whether it exists.
func elementText(t *testing.T, body, id string) (string, bool) {
	t.Helper()
	ns := findAll(parseHTML(t, body), func(n *html.Node) bool { return attr(n, "id") == id })
	if len(ns) == 0 {
		return "", false
	}
	return textOf(ns[0]), true
}

func csrfToken(body string) string {
	if !strings.Contains(body, `name="csrf-token"`) {
		return ""
	}
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		return ""
	}
	for _, n := range findAll(doc, func(n *html.Node) bool { return n.Data == "meta" && attr(n, "name") == "csrf-token" }) {
		return attr(n, "content")
	}
	return ""
}

// form is a parsed HTML form: its action and what a browser would submit.
type form struct {
	action string
	values url.Values
	has    map[string]bool // every named input, submitted or not
}

// findForm parses the first form for which match is true.
func findForm(t *testing.T, body string, match func(*html.Node) bool) form {
	t.Helper()
	forms := findAll(parseHTML(t, body), func(n *html.Node) bool { return n.Data == "form" && match(n) })
	if len(forms) == 0 {
		t.Fatalf("no such form on the page:\n%s", body)
	}
	f := form{action: attr(forms[0], "action"), values: url.Values{}, has: map[string]bool{}}
	for _, in := range findAll(forms[0], func(n *html.Node) bool { return n.Data == "input" }) {
		name := attr(in, "name")
		if name == "" {
			continue
		}
		f.has[name] = true
		switch attr(in, "type") {
		case "radio", "checkbox":
			if hasAttr(in, "checked") {
				f.values.Add(name, attr(in, "value"))
			}
		case "submit", "button":
		default:
			f.values.Add(name, attr(in, "value"))
		}
	}
	return f
}

func appForm(t *testing.T, body string) form {
	t.Helper()
	return findForm(t, body, func(n *html.Node) bool { return attr(n, "id") == "app-form" })
}

// hasLink reports whether the page links to href.
func hasLink(t *testing.T, body, href string) bool {
	t.Helper()
	return len(findAll(parseHTML(t, body), func(n *html.Node) bool { return n.Data == "a" && attr(n, "href") == href })) > 0
}

// listedClientIDs are the Client IDs in the application table.
func listedClientIDs(t *testing.T, body string) []string {
	t.Helper()
	var out []string
	for _, n := range findAll(parseHTML(t, body), func(n *html.Node) bool { return n.Data == "tr" && hasAttr(n, "data-client-id") }) {
		out = append(out, attr(n, "data-client-id"))
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// --- store helpers ---

// appState is what must not change when a request is refused.
type appState struct {
	Name       string
	Version    int
	Generation int
	Scopes     string
	UpdatedAt  time.Time
	Hash       []byte
}

func stateOf(t *testing.T, m *Main, id string) appState {
	t.Helper()
	app, hash, err := m.Store.ApplicationByClientID(context.Background(), id)
	if err != nil {
		t.Fatalf("application %s: %v", id, err)
	}
	return appState{Name: app.Name, Version: app.Version, Generation: app.SecretGeneration,
		Scopes: fmt.Sprint(app.Scopes), UpdatedAt: app.UpdatedAt, Hash: hash}
}

func assertUnchanged(t *testing.T, m *Main, id string, before appState) {
	t.Helper()
	after := stateOf(t, m, id)
	if after.Name != before.Name || after.Version != before.Version || after.Generation != before.Generation ||
		after.Scopes != before.Scopes || !after.UpdatedAt.Equal(before.UpdatedAt) || !bytes.Equal(after.Hash, before.Hash) {
		t.Errorf("application changed:\n got  %+v\n want %+v", after, before)
	}
}

func countApps(t *testing.T, m *Main, account string) int {
	t.Helper()
	page, err := m.Store.ListApplications(context.Background(), account, tokenservice.ListOptions{})
	if err != nil {
		t.Fatalf("list applications: %v", err)
	}
	return page.Total
}

var defaultScopes = url.Values{"scope.forensics:account": {"read-write"}, "scope.ess:account": {"read"}}

// --- tests ---

// syncBuffer collects log output written from many goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestApplicationLifecycle(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	m := newMain(t, func(m *Main) {
		m.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	admin := signIn(t, m, "admin@acme.example")
	var secrets []string
	t.Cleanup(func() {
		out := logs.String()
		if !strings.Contains(out, "application created") {
			t.Errorf("the log lacks the creation; logging went elsewhere:\n%s", out)
		}
		for _, s := range append(secrets, secret.Prefix) {
			if strings.Contains(out, s) {
				t.Errorf("the log contains a client secret (%.8s…)", s)
			}
		}
	})

	t.Run("SecurityHeaders", func(t *testing.T) {
		p := admin.getRaw("/applications", nil)
		for name, want := range map[string]string{
			"Cache-Control":           "no-store",
			"X-Content-Type-Options":  "nosniff",
			"Content-Security-Policy": "frame-ancestors 'none'",
		} {
			if got := p.header.Get(name); !strings.Contains(got, want) {
				t.Errorf("%s = %q, want it to contain %q", name, got, want)
			}
		}
		if csp := p.header.Get("Content-Security-Policy"); strings.Contains(csp, "unsafe-inline") {
			t.Errorf("CSP allows inline script or style: %s", csp)
		}
		// A flash message makes the session save, and set its cookie again.
		admin.get("/applications/new")
		created := admin.post("/applications", url.Values{"name": {"Cookie check"}})
		id := clientIDPath.FindStringSubmatch(created.header.Get("Location"))
		if id == nil {
			t.Fatalf("create = %d", created.status)
		}
		confirm := findForm(t, admin.get("/applications/"+id[1]+"/delete").body, func(n *html.Node) bool { return attr(n, "action") == "/applications/"+id[1]+"/delete" })
		if del := admin.post(confirm.action, confirm.values); del.status != http.StatusSeeOther {
			t.Fatalf("delete = %d", del.status)
		}
		var session string
		for _, sc := range created.header.Values("Set-Cookie") {
			if strings.HasPrefix(sc, "tokenservice_session=") {
				session = sc
			}
		}
		if session == "" {
			t.Fatal("no session cookie set by the create")
		}
		if !strings.Contains(session, "HttpOnly") || !strings.Contains(session, "SameSite=Lax") {
			t.Errorf("session cookie %q is not HttpOnly; SameSite=Lax", session)
		}
	})

	if p := admin.get("/applications"); !hasTestID(t, p.body, "empty-state") {
		t.Errorf("a new account's list shows no empty state")
	}

	id := admin.createApp("SIEM export", defaultScopes)

	var first string
	t.Run("Details", func(t *testing.T) {
		p := admin.get("/applications/" + id)
		if got, want := p.status, http.StatusOK; got != want {
			t.Fatalf("status = %d, want %d", got, want)
		}
		if got, want := testIDText(t, p.body, "app-name"), "SIEM export"; got != want {
			t.Errorf("name = %q, want %q", got, want)
		}
		if got, want := testIDText(t, p.body, "client-id"), id; got != want {
			t.Errorf("client id = %q, want %q", got, want)
		}
		if !strings.Contains(testIDText(t, p.body, "flash"), "Application registered") {
			t.Errorf("flash = %q, want the registration notice", testIDText(t, p.body, "flash"))
		}
		if hasTestID(t, p.body, "client-secret") {
			t.Error("the secret is shown before the admin asked for it")
		}
		if !hasTestID(t, p.body, "countdown") {
			t.Error("no countdown during the reveal window")
		}
		scopes := testIDText(t, p.body, "scopes")
		for _, s := range []string{"ess:account:read", "forensics:account:read", "forensics:account:write"} {
			if !strings.Contains(scopes, s) {
				t.Errorf("scopes %q lack %s", scopes, s)
			}
		}
		if got, want := testIDText(t, p.body, "token-url"), m.URL+"/oauth2/token"; got != want {
			t.Errorf("token URL = %q, want %q", got, want)
		}
		if secretPattern.MatchString(p.body) {
			t.Error("the details page contains a secret before reveal")
		}
	})

	t.Run("List", func(t *testing.T) {
		p := admin.get("/applications")
		if ids := listedClientIDs(t, p.body); len(ids) != 1 || ids[0] != id {
			t.Errorf("listed = %v, want [%s]", ids, id)
		}
		if !strings.Contains(testIDText(t, p.body, "applications"), "SIEM export") {
			t.Error("the list does not show the name")
		}
		if got, want := testIDText(t, p.body, "count"), "1 application"; got != want {
			t.Errorf("count = %q, want %q", got, want)
		}
	})

	t.Run("RevealAndCopy", func(t *testing.T) {
		first = admin.reveal(id)
		secrets = append(secrets, first)
		p := admin.copySecret(id)
		if got, want := p.status, http.StatusOK; got != want {
			t.Fatalf("copy = %d, want %d", got, want)
		}
		if got, want := p.body, first; got != want {
			t.Errorf("copied %q, want the revealed %q", got, want)
		}
		if ct := p.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("copy Content-Type = %q, want text/plain", ct)
		}
		if cc := p.header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Errorf("copy Cache-Control = %q, want no-store", cc)
		}
		// htmx gets only the secret panel.
		hx := admin.request(http.MethodPost, "/applications/"+id+"/secret/reveal", url.Values{"_csrf": {admin.csrf}},
			http.Header{"Hx-Request": {"true"}}, false)
		if hx.status != http.StatusOK || strings.Contains(hx.body, "<html") || testIDText(t, hx.body, "client-secret") != first {
			t.Errorf("htmx reveal = %d, want the secret panel fragment with the secret\n%s", hx.status, hx.body)
		}
	})

	var staleVersion string
	t.Run("Edit", func(t *testing.T) {
		p := admin.get("/applications/" + id + "/edit")
		if got, want := p.status, http.StatusOK; got != want {
			t.Fatalf("edit page = %d, want %d", got, want)
		}
		f := appForm(t, p.body)
		if got, want := f.values.Get("name"), "SIEM export"; got != want {
			t.Errorf("form name = %q, want %q", got, want)
		}
		for key, want := range map[string]string{"forensics:account": "read-write", "ess:account": "read", "reporting:reports": "none"} {
			if got := f.values.Get("scope." + key); got != want {
				t.Errorf("form scope.%s = %q, want %q", key, got, want)
			}
		}
		staleVersion = f.values.Get("version")
		f.values.Set("name", "SIEM export v2")
		f.values.Set("scope.forensics:account", "read")
		f.values.Set("scope.ess:account", "none")
		f.values.Set("scope.reporting:reports", "read")
		r := admin.post(f.action, f.values)
		if got, want := r.status, http.StatusSeeOther; got != want {
			t.Fatalf("save = %d, want %d\n%s", got, want, r.body)
		}
		if got, want := r.header.Get("Location"), "/applications/"+id; got != want {
			t.Errorf("save redirected to %q, want %q", got, want)
		}
		d := admin.get("/applications/" + id)
		if got, want := testIDText(t, d.body, "app-name"), "SIEM export v2"; got != want {
			t.Errorf("name after edit = %q, want %q", got, want)
		}
		app, err := m.Store.GetApplication(context.Background(), "acme", id)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := strings.Join(app.OAuthScopes(), " "), "forensics:account:read reporting:reports:read"; got != want {
			t.Errorf("scopes after edit = %q, want %q", got, want)
		}
		if got, want := app.UpdatedBy, "admin@acme.example"; got != want {
			t.Errorf("updated by = %q, want %q", got, want)
		}
	})

	t.Run("StaleVersionConflict", func(t *testing.T) {
		before := stateOf(t, m, id)
		form := url.Values{"version": {staleVersion}, "name": {"Stale name"}, "scope.forensics:account": {"read-write"}}
		p := admin.post("/applications/"+id, form)
		if got, want := p.status, http.StatusConflict; got != want {
			t.Fatalf("stale save = %d, want %d\n%s", got, want, p.body)
		}
		conflict := testIDText(t, p.body, "conflict")
		if !strings.Contains(conflict, "SIEM export v2") || !strings.Contains(conflict, "admin@acme.example") {
			t.Errorf("conflict message %q does not say what the other person saved", conflict)
		}
		f := appForm(t, p.body)
		if got, want := f.values.Get("name"), "Stale name"; got != want {
			t.Errorf("form name = %q, want the user's input %q", got, want)
		}
		if got, want := f.values.Get("scope.forensics:account"), "read-write"; got != want {
			t.Errorf("form scope = %q, want the user's input %q", got, want)
		}
		if f.values.Get("version") == staleVersion {
			t.Error("the conflict form still carries the stale version")
		}
		assertUnchanged(t, m, id, before)
	})

	t.Run("ResetSecret", func(t *testing.T) {
		if first == "" {
			t.Fatal("no first secret: the reveal step failed")
		}
		p := admin.get("/applications/" + id + "/reset")
		if got, want := p.status, http.StatusOK; got != want || !hasTestID(t, p.body, "confirm") {
			t.Fatalf("confirm reset page = %d, want %d with a confirmation", got, want)
		}
		f := findForm(t, p.body, func(n *html.Node) bool { return attr(n, "action") == "/applications/"+id+"/reset" })

		// A version from before someone else's change resets nothing.
		before := stateOf(t, m, id)
		stale := admin.post("/applications/"+id+"/reset", url.Values{"version": {staleVersion}})
		if got, want := stale.status, http.StatusSeeOther; got != want {
			t.Fatalf("stale reset = %d, want %d", got, want)
		}
		assertUnchanged(t, m, id, before)

		r := admin.post(f.action, f.values)
		if got, want := r.status, http.StatusSeeOther; got != want {
			t.Fatalf("reset = %d, want %d\n%s", got, want, r.body)
		}
		if got, want := r.header.Get("Location"), "/applications/"+id; got != want {
			t.Errorf("reset redirected to %q, want %q", got, want)
		}
		if got, want := stateOf(t, m, id).Generation, before.Generation+1; got != want {
			t.Errorf("secret generation = %d, want %d", got, want)
		}
		second := admin.reveal(id)
		secrets = append(secrets, second)
		if second == first {
			t.Error("the secret after reset is the old one")
		}
		if c := admin.copySecret(id); c.status != http.StatusOK || c.body != second {
			t.Errorf("copy after reset = %d %q, want %q", c.status, c.body, second)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		p := admin.get("/applications/" + id + "/delete")
		if got, want := p.status, http.StatusOK; got != want || !hasTestID(t, p.body, "confirm") {
			t.Fatalf("confirm delete page = %d, want %d with a confirmation", got, want)
		}
		f := findForm(t, p.body, func(n *html.Node) bool { return attr(n, "action") == "/applications/"+id+"/delete" })
		r := admin.post(f.action, f.values)
		if got, want := r.status, http.StatusSeeOther; got != want {
			t.Fatalf("delete = %d, want %d\n%s", got, want, r.body)
		}
		if got, want := r.header.Get("Location"), "/applications"; got != want {
			t.Errorf("delete redirected to %q, want %q", got, want)
		}
		if got, want := admin.get("/applications/"+id).status, http.StatusNotFound; got != want {
			t.Errorf("details after delete = %d, want %d", got, want)
		}
		if ids := listedClientIDs(t, admin.get("/applications").body); contains(ids, id) {
			t.Errorf("the list still shows the deleted application: %v", ids)
		}
		if _, err := m.Store.GetApplication(context.Background(), "acme", id); tokenservice.ErrorCode(err) != tokenservice.ENOTFOUND {
			t.Errorf("store after delete: err = %v, want not found", err)
		}
	})
}

// normalize removes what differs between any two responses (the request id).
var requestIDPattern = regexp.MustCompile(`Request ID: <code>[^<]*</code>`)

func normalize(body string) string { return requestIDPattern.ReplaceAllString(body, "") }

func TestOtherAccount(t *testing.T) {
	t.Parallel()
	m := newMain(t)
	acme := signIn(t, m, "admin@acme.example")
	id := acme.createApp("Acme secret app", defaultScopes)
	plaintext := acme.reveal(id)
	before := stateOf(t, m, id)
	ciphertext, _, err := m.Store.SecretCiphertext(context.Background(), "acme", id, tokenservice.ActionSecretRevealed, tokenservice.Actor{Subject: "test"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}

	globex := signIn(t, m, "admin@globex.example")
	missing := secret.NewClientID()
	writeForm := url.Values{"version": {fmt.Sprint(before.Version)}, "name": {"Taken over"}, "scope.forensics:account": {"read"}}
	// Every route that names an application, so a new one cannot be
	// forgotten here, and the export that takes one as a parameter.
	type route struct{ name, method, path string }
	tests := []route{{"ExportActivity", http.MethodGet, "/activity/export?format=csv&application=%s"}}
	for _, r := range m.server.Routes() {
		if !strings.Contains(r.Path, ":client_id") {
			continue
		}
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			t.Fatalf("route %s %s: the test sends only GET and POST", r.Method, r.Path)
		}
		tests = append(tests, route{r.Method + strings.ReplaceAll(r.Path, "/", "_"), r.Method, strings.Replace(r.Path, ":client_id", "%s", 1)})
	}
	if len(tests) < 11 {
		t.Fatalf("only %d routes name an application: %v", len(tests), tests)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			send := func(clientID string) *page {
				path := fmt.Sprintf(tt.path, clientID)
				if tt.method == http.MethodGet {
					return globex.getRaw(path, nil)
				}
				return globex.post(path, writeForm)
			}
			p := send(id)
			if got, want := p.status, http.StatusNotFound; got != want {
				t.Fatalf("%s %s = %d, want %d", tt.method, tt.path, got, want)
			}
			for _, leak := range []string{"Acme secret app", plaintext, secret.Prefix} {
				if strings.Contains(p.body, leak) {
					t.Errorf("the 404 contains %q", leak)
				}
			}
			q := send(missing)
			if got, want := normalize(p.body), normalize(q.body); q.status != p.status || got != want {
				t.Errorf("another account's application and a missing one answer differently:\n%d %s\n---\n%d %s", p.status, got, q.status, want)
			}
			assertUnchanged(t, m, id, before)
		})
	}

	if ids := listedClientIDs(t, globex.get("/applications").body); contains(ids, id) {
		t.Errorf("globex's list shows acme's application")
	}
	assertUnchanged(t, m, id, before)
	if ct, _, err := m.Store.SecretCiphertext(context.Background(), "acme", id, tokenservice.ActionSecretRevealed, tokenservice.Actor{Subject: "test"}, time.Now()); err != nil || !bytes.Equal(ct, ciphertext) {
		t.Errorf("acme's secret ciphertext changed (err %v)", err)
	}
	if got := acme.reveal(id); got != plaintext {
		t.Errorf("acme's secret = %q, want %q", got, plaintext)
	}
	if got, want := testIDText(t, acme.get("/applications/"+id).body, "app-name"), "Acme secret app"; got != want {
		t.Errorf("acme sees name %q, want %q", got, want)
	}
}

func TestViewer(t *testing.T) {
	t.Parallel()
	m := newMain(t)
	admin := signIn(t, m, "admin@acme.example")
	id := admin.createApp("Billing sync", defaultScopes)
	plaintext := admin.reveal(id)
	before := stateOf(t, m, id)

	viewer := signIn(t, m, "viewer@acme.example")

	t.Run("List", func(t *testing.T) {
		p := viewer.get("/applications")
		if got, want := p.status, http.StatusOK; got != want {
			t.Fatalf("list = %d, want %d", got, want)
		}
		if ids := listedClientIDs(t, p.body); len(ids) != 1 || ids[0] != id {
			t.Errorf("listed = %v, want [%s]", ids, id)
		}
		if hasLink(t, p.body, "/applications/new") {
			t.Error("a viewer is offered Add application")
		}
		if hasLink(t, p.body, "/applications/"+id+"/edit") {
			t.Error("a viewer is offered Edit")
		}
	})

	t.Run("Details", func(t *testing.T) {
		p := viewer.get("/applications/" + id)
		if got, want := p.status, http.StatusOK; got != want {
			t.Fatalf("details = %d, want %d", got, want)
		}
		if got, want := testIDText(t, p.body, "app-name"), "Billing sync"; got != want {
			t.Errorf("name = %q, want %q", got, want)
		}
		if got, want := testIDText(t, p.body, "client-id"), id; got != want {
			t.Errorf("client id = %q, want %q", got, want)
		}
		if hasTestID(t, p.body, "client-secret") || strings.Contains(p.body, plaintext) || secretPattern.MatchString(p.body) {
			t.Error("a viewer sees the secret")
		}
		if hasLink(t, p.body, "/applications/"+id+"/edit") || hasLink(t, p.body, "/applications/"+id+"/reset") {
			t.Error("a viewer is offered Edit or Reset")
		}
		if strings.Contains(p.body, "/secret/reveal") || strings.Contains(p.body, "/secret/copy") {
			t.Error("a viewer is offered Show or Copy")
		}
	})

	writeForm := url.Values{"version": {fmt.Sprint(before.Version)}, "name": {"Viewer was here"}, "scope.forensics:account": {"read"}}
	tests := []struct {
		name   string
		method string
		path   string
	}{
		{"NewPage", http.MethodGet, "/applications/new"},
		{"Create", http.MethodPost, "/applications"},
		{"EditPage", http.MethodGet, "/applications/%s/edit"},
		{"Update", http.MethodPost, "/applications/%s"},
		{"Reveal", http.MethodPost, "/applications/%s/secret/reveal"},
		{"Copy", http.MethodPost, "/applications/%s/secret/copy"},
		{"ResetPage", http.MethodGet, "/applications/%s/reset"},
		{"Reset", http.MethodPost, "/applications/%s/reset"},
		{"DeletePage", http.MethodGet, "/applications/%s/delete"},
		{"Delete", http.MethodPost, "/applications/%s/delete"},
		{"RotatePage", http.MethodGet, "/applications/%s/rotate"},
		{"Rotate", http.MethodPost, "/applications/%s/rotate"},
		{"TestToken", http.MethodPost, "/applications/%s/test-token"},
		{"RevokePage", http.MethodGet, "/applications/%s/credentials/:credential_id/revoke"},
		{"Revoke", http.MethodPost, "/applications/%s/credentials/:credential_id/revoke"},
		{"SettingsPage", http.MethodGet, "/settings"},
		{"Settings", http.MethodPost, "/settings"},
		{"Activity", http.MethodGet, "/activity"},
		{"ActivityExport", http.MethodGet, "/activity/export?format=csv"},
		{"ActivitySuggestions", http.MethodGet, "/activity/applications?application=Bill"},
		{"ApplicationActivity", http.MethodGet, "/applications/%s/activity"},
	}
	// Every write route of the portal is among them.
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.method+" "+tt.path] = true
	}
	for _, r := range m.server.Routes() {
		if r.Method == http.MethodPost && !strings.HasPrefix(r.Path, "/auth/") && !strings.HasPrefix(r.Path, "/oauth2/") && !strings.HasPrefix(r.Path, "/.well-known/") &&
			!covered["POST "+strings.Replace(r.Path, ":client_id", "%s", 1)] {
			t.Errorf("the write route POST %s is not tested with a read-only member", r.Path)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path
			if strings.Contains(path, "%s") {
				path = fmt.Sprintf(path, id)
			}
			var p *page
			if tt.method == http.MethodGet {
				p = viewer.getRaw(path, nil)
			} else {
				p = viewer.post(path, writeForm)
			}
			if got, want := p.status, http.StatusForbidden; got != want {
				t.Fatalf("%s %s = %d, want %d", tt.method, path, got, want)
			}
			if strings.Contains(p.body, plaintext) || strings.Contains(p.body, secret.Prefix) {
				t.Error("the refusal contains the secret")
			}
			assertUnchanged(t, m, id, before)
			if got, want := countApps(t, m, "acme"), 1; got != want {
				t.Errorf("applications = %d, want %d", got, want)
			}
		})
	}
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	m := newMain(t)
	admin := signIn(t, m, "admin@acme.example")
	id := admin.createApp("Guarded", defaultScopes)
	before := stateOf(t, m, id)
	other := signIn(t, m, "admin@acme.example")     // a second session of the same user
	viewer := signIn(t, m, "viewer@acme.example")   // another user of the account
	globex := signIn(t, m, "admin@globex.example")  // another account's admin
	signedOut := signIn(t, m, "admin@acme.example") // a session of the same user, ended
	if p := signedOut.post("/auth/logout", nil); p.status != http.StatusSeeOther {
		t.Fatalf("logout = %d, want %d", p.status, http.StatusSeeOther)
	}

	endpoints := []struct {
		name string
		path string
	}{
		{"Create", "/applications"},
		{"Update", "/applications/" + id},
		{"Reveal", "/applications/" + id + "/secret/reveal"},
		{"Copy", "/applications/" + id + "/secret/copy"},
		{"Reset", "/applications/" + id + "/reset"},
		{"Delete", "/applications/" + id + "/delete"},
		{"Logout", "/auth/logout"},
	}
	tokens := []struct {
		name   string
		form   url.Values
		header http.Header
	}{
		{"Missing", url.Values{}, nil},
		{"Empty", url.Values{"_csrf": {""}}, nil},
		{"Wrong", url.Values{"_csrf": {"not-the-token"}}, nil},
		{"WrongHeader", url.Values{}, http.Header{"X-Csrf-Token": {"not-the-token"}}},
		{"OtherSession", url.Values{"_csrf": {other.csrf}}, nil},
		{"OtherSessionHeader", url.Values{}, http.Header{"X-Csrf-Token": {other.csrf}}},
		{"OtherUser", url.Values{"_csrf": {viewer.csrf}}, nil},
		{"OtherAccount", url.Values{"_csrf": {globex.csrf}}, nil},
		{"SignedOutSession", url.Values{"_csrf": {signedOut.csrf}}, nil},
		{"RightLengthHeader", url.Values{}, http.Header{"X-Csrf-Token": {strings.Repeat("A", len(admin.csrf))}}},
	}
	// What a cross-site request may claim about where it comes from: none of
	// it stands in for the token.
	claims := []struct {
		name   string
		header http.Header
	}{
		{"", nil},
		{"+SameOrigin", http.Header{"Sec-Fetch-Site": {"same-origin"}, "Sec-Fetch-Mode": {"navigate"}, "Origin": {m.URL}, "Referer": {m.URL + "/applications/" + id}}},
		{"+HTMX", http.Header{"Hx-Request": {"true"}, "Hx-Current-Url": {m.URL + "/applications/" + id}, "Sec-Fetch-Site": {"same-origin"}, "Sec-Fetch-Mode": {"cors"}, "Origin": {m.URL}}},
		{"+NoOrigin", http.Header{"Sec-Fetch-Site": {"none"}, "Origin": {"null"}}},
	}
	for _, e := range endpoints {
		for _, tok := range tokens {
			for _, claim := range claims {
				t.Run(e.name+"/"+tok.name+claim.name, func(t *testing.T) {
					form := url.Values{"version": {fmt.Sprint(before.Version)}, "name": {"Forged"}, "scope.forensics:account": {"read"}}
					for k, v := range tok.form {
						form[k] = v
					}
					header := http.Header{}
					for _, h := range []http.Header{claim.header, tok.header} {
						for k, v := range h {
							header[k] = v
						}
					}
					p := admin.request(http.MethodPost, e.path, form, header, false)
					if got, want := p.status, http.StatusForbidden; got != want {
						t.Fatalf("POST %s = %d, want %d", e.path, got, want)
					}
					if strings.Contains(p.body, secret.Prefix) {
						t.Error("the refusal contains a secret")
					}
					if msg := testIDText(t, p.body, "error-page"); !strings.Contains(msg, "Reload the page and try again") {
						t.Errorf("the refusal says %q, want the reload advice", msg)
					}
					assertUnchanged(t, m, id, before)
					if got, want := countApps(t, m, "acme"), 1; got != want {
						t.Errorf("applications = %d, want %d", got, want)
					}
				})
			}
		}
	}
	// The control: the same request with the session's own token goes through.
	if p := admin.request(http.MethodPost, "/applications/"+id+"/secret/reveal", url.Values{}, http.Header{"X-Csrf-Token": {admin.csrf}}, false); p.status != http.StatusOK {
		t.Errorf("reveal with the session's token in the header = %d, want 200", p.status)
	}
	// Still signed in: the forged logouts did nothing.
	if p := admin.getRaw("/applications", nil); p.status != http.StatusOK {
		t.Errorf("after forged logouts: list = %d, want 200", p.status)
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	m := newMain(t)
	admin := signIn(t, m, "admin@acme.example")
	id := admin.createApp("Original", url.Values{"scope.forensics:account": {"read"}})
	before := stateOf(t, m, id)

	tests := []struct {
		name   string
		field  string // the field that gets the message: "name" or "scope.<key>"
		values url.Values
	}{
		{"NameEmpty", "name", url.Values{"name": {""}}},
		{"NameBlank", "name", url.Values{"name": {"   "}}},
		{"NameTooLong", "name", url.Values{"name": {strings.Repeat("a", 10000)}}},
		{"Name101", "name", url.Values{"name": {strings.Repeat("é", 101)}}},
		{"NameTab", "name", url.Values{"name": {"SIEM\texport"}}},
		{"NameNUL", "name", url.Values{"name": {"SIEM\x00export"}}},
		{"NameEscape", "name", url.Values{"name": {"SIEM\x1b[31mexport"}}},
		{"NameNewline", "name", url.Values{"name": {"SIEM\nexport"}}},
		{"NameBidiOverride", "name", url.Values{"name": {"SIEM\u202eexport"}}},
		{"NameZeroWidthSpace", "name", url.Values{"name": {"SIEM\u200bexport"}}},
		{"NameSoftHyphen", "name", url.Values{"name": {"SIEM ex\u00adport"}}},
		{"NameByteOrderMark", "name", url.Values{"name": {"\ufeffSIEM export"}}},
		{"NameTagCharacter", "name", url.Values{"name": {"SIEM export\U000E0041"}}},
		{"NameInvalidUTF8", "name", url.Values{"name": {"SIEM\xffexport"}}},
		{"ScopeUnknownKey", "scope.nope:thing", url.Values{"scope.nope:thing": {"read"}}},
		{"AccessUnknown", "scope.impersonation:account", url.Values{"scope.impersonation:account": {"admin"}}},
		{"WriteOnReadOnlyScope", "scope.ess:account", url.Values{"scope.ess:account": {"read-write"}}},
	}
	for _, target := range []string{"Add", "Edit"} {
		for _, tt := range tests {
			t.Run(target+"/"+tt.name, func(t *testing.T) {
				form := url.Values{"name": {"Valid name"}, "scope.archiving:messages": {"read-write"}}
				path := "/applications"
				if target == "Edit" {
					path += "/" + id
					form.Set("version", fmt.Sprint(before.Version))
				}
				for k, v := range tt.values {
					form[k] = v
				}
				p := admin.post(path, form)
				if got, want := p.status, http.StatusUnprocessableEntity; got != want {
					t.Fatalf("POST %s = %d, want %d\n%s", path, got, want, p.body)
				}
				if !hasTestID(t, p.body, "form-errors") {
					t.Error("no error summary")
				}
				errID := "name-error"
				if key, ok := strings.CutPrefix(tt.field, "scope."); ok {
					errID = "scope-" + key + "-error"
				}
				if msg, ok := elementText(t, p.body, errID); !ok || msg == "" {
					t.Errorf("no message for %s (#%s)", tt.field, errID)
				}
				f := appForm(t, p.body)
				wantName := strings.ReplaceAll(form.Get("name"), "\x00", "\uFFFD") // as an HTML parser reads NUL
				if got := f.values.Get("name"); got != wantName {
					t.Errorf("form name = %.60q, want the user's input %.60q", got, wantName)
				}
				if got, want := f.values.Get("scope.archiving:messages"), "read-write"; got != want {
					t.Errorf("form scope.archiving:messages = %q, want the user's input %q", got, want)
				}
				if got, want := countApps(t, m, "acme"), 1; got != want {
					t.Errorf("applications = %d, want %d", got, want)
				}
				assertUnchanged(t, m, id, before)
			})
		}
	}

	t.Run("InvisibleCharacterNamed", func(t *testing.T) {
		p := admin.post("/applications", url.Values{"name": {"SIEM\u200bexport"}, "scope.ess:account": {"read"}})
		if got, want := p.status, http.StatusUnprocessableEntity; got != want {
			t.Fatalf("status = %d, want %d", got, want)
		}
		if msg, _ := elementText(t, p.body, "name-error"); !strings.Contains(msg, "invisible character (U+200B ZERO WIDTH SPACE)") {
			t.Errorf("name message = %q, want it to name the invisible character", msg)
		}
	})

	t.Run("HTMXGetsTheForm", func(t *testing.T) {
		form := url.Values{"_csrf": {admin.csrf}, "name": {""}}
		p := admin.request(http.MethodPost, "/applications", form, http.Header{"Hx-Request": {"true"}}, false)
		if got, want := p.status, http.StatusUnprocessableEntity; got != want {
			t.Fatalf("status = %d, want %d", got, want)
		}
		if strings.Contains(p.body, "<html") || len(findAll(parseHTML(t, p.body), func(n *html.Node) bool { return attr(n, "id") == "app-form" })) != 1 {
			t.Errorf("htmx got more or less than the form:\n%s", p.body)
		}
		if got, want := countApps(t, m, "acme"), 1; got != want {
			t.Errorf("applications = %d, want %d", got, want)
		}
	})

	t.Run("ScriptNameIsEscaped", func(t *testing.T) {
		const name = `<script>alert(1)</script>`
		sid := admin.createApp(name, url.Values{"scope.forensics:account": {"read"}})
		app, err := m.Store.GetApplication(context.Background(), "acme", sid)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := app.Name, name; got != want {
			t.Errorf("stored name = %q, want %q", got, want)
		}
		for _, path := range []string{"/applications/" + sid, "/applications", "/applications/" + sid + "/edit", "/applications/" + sid + "/delete"} {
			p := admin.get(path)
			if p.status != http.StatusOK {
				t.Errorf("GET %s = %d", path, p.status)
				continue
			}
			if !strings.Contains(p.body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
				t.Errorf("GET %s does not show the escaped name", path)
			}
			if strings.Contains(p.body, "<script>alert") {
				t.Errorf("GET %s contains the name unescaped", path)
			}
		}
		if got, want := testIDText(t, admin.get("/applications/"+sid).body, "app-name"), name; got != want {
			t.Errorf("shown name = %q, want %q", got, want)
		}
		if got, want := countApps(t, m, "acme"), 2; got != want {
			t.Errorf("applications = %d, want %d", got, want)
		}
		confirm := findForm(t, admin.get("/applications/"+sid+"/delete").body, func(n *html.Node) bool { return attr(n, "action") == "/applications/"+sid+"/delete" })
		if p := admin.post(confirm.action, confirm.values); p.status != http.StatusSeeOther {
			t.Fatalf("delete = %d", p.status)
		}
		list := admin.get("/applications")
		if !strings.Contains(list.body, "&lt;script&gt;alert(1)&lt;/script&gt;") || strings.Contains(list.body, "<script>alert") {
			t.Error("the deletion notice does not show the name escaped")
		}
	})

	t.Run("FormTooLarge", func(t *testing.T) {
		p := admin.post("/applications", url.Values{"name": {strings.Repeat("a", 100_000)}})
		if got, want := p.status, http.StatusRequestEntityTooLarge; got != want {
			t.Errorf("status = %d, want %d", got, want)
		}
		if got, want := countApps(t, m, "acme"), 1; got != want {
			t.Errorf("applications = %d, want %d", got, want)
		}
	})

	t.Run("MalformedClientID", func(t *testing.T) {
		for _, path := range []string{"/applications/x", "/applications/" + strings.ToUpper(id), "/applications/" + id + "a/edit"} {
			if got, want := admin.getRaw(path, nil).status, http.StatusNotFound; got != want {
				t.Errorf("GET %s = %d, want %d", path, got, want)
			}
		}
		if got, want := admin.post("/applications/"+id+"x", url.Values{"name": {"x"}, "version": {"1"}}).status, http.StatusNotFound; got != want {
			t.Errorf("POST to a malformed Client ID = %d, want %d", got, want)
		}
		assertUnchanged(t, m, id, before)
	})
}

func TestNoAccount(t *testing.T) {
	t.Parallel()
	users := filepath.Join(t.TempDir(), "users.json")
	if err := os.WriteFile(users, []byte(`{"accounts": [{"id": "acme", "name": "Acme"}], "users": [
		{"email": "drifter@nowhere.example", "name": "Drifter", "roles": ["admin"], "password": "demo"},
		{"email": "admin@acme.example", "name": "Ada", "account": "acme", "roles": ["admin"], "password": "demo"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	m := newMain(t, func(m *Main) { m.Config.BCCUsersFile = users })
	admin := signIn(t, m, "admin@acme.example")
	id := admin.createApp("Acme only", defaultScopes)
	before := stateOf(t, m, id)

	c, p := signInFrom(t, m, "drifter@nowhere.example", "/applications")
	if got, want := p.status, http.StatusForbidden; got != want {
		t.Fatalf("a user without an account: status %d, want %d\n%s", got, want, p.body)
	}
	if !strings.Contains(testIDText(t, p.body, "error-page"), "No account") {
		t.Errorf("the 403 page does not explain the missing account: %q", testIDText(t, p.body, "error-page"))
	}
	for _, path := range []string{"/applications/" + id, "/applications/new"} {
		if got, want := c.getRaw(path, nil).status, http.StatusForbidden; got != want {
			t.Errorf("GET %s = %d, want %d", path, got, want)
		}
	}
	if got, want := c.post("/applications", url.Values{"name": {"Drifter app"}}).status, http.StatusForbidden; got != want {
		t.Errorf("POST /applications = %d, want %d", got, want)
	}
	if got, want := countApps(t, m, ""), 0; got != want {
		t.Errorf("applications without an account = %d, want %d", got, want)
	}
	assertUnchanged(t, m, id, before)
}

func TestRevealWindow(t *testing.T) {
	t.Parallel()
	m := newMain(t, func(m *Main) {
		m.Config.RevealWindow = 10 * time.Second
		m.Config.SweepInterval = 200 * time.Millisecond
	})
	admin := signIn(t, m, "admin@acme.example")
	id := admin.createApp("Short window", defaultScopes)
	plaintext := admin.reveal(id)
	if c := admin.copySecret(id); c.status != http.StatusOK || c.body != plaintext {
		t.Fatalf("copy in the window = %d %q, want %q", c.status, c.body, plaintext)
	}
	ciphertext, _, err := m.Store.SecretCiphertext(context.Background(), "acme", id, tokenservice.ActionSecretRevealed, tokenservice.Actor{Subject: "test"}, time.Now())
	if err != nil || len(ciphertext) < 16 {
		t.Fatalf("ciphertext in the window: %x, %v", ciphertext, err)
	}
	app, err := m.Store.GetApplication(context.Background(), "acme", id)
	if err != nil {
		t.Fatal(err)
	}

	files := []string{"tokenservice.db", "tokenservice.db-wal", "tokenservice.db-shm"}
	// leaks returns the files that hold the secret in any form.
	leaks := func() []string {
		var out []string
		for _, name := range files {
			b, err := os.ReadFile(filepath.Join(m.Config.DataDir, name))
			if os.IsNotExist(err) {
				continue
			} else if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(b, ciphertext) {
				out = append(out, name+" (ciphertext)")
			}
			if bytes.Contains(b, []byte(plaintext)) {
				out = append(out, name+" (plaintext)")
			}
		}
		return out
	}
	if l := leaks(); len(l) == 0 {
		t.Fatal("the ciphertext is in no database file during the window: the check below would prove nothing")
	}

	time.Sleep(time.Until(app.SecretRevealUntil) + 300*time.Millisecond)
	// The sweeper runs every 200ms; give it a few runs.
	deadline := time.Now().Add(1500 * time.Millisecond)
	l := leaks()
	for len(l) > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		l = leaks()
	}
	if len(l) > 0 {
		t.Errorf("after the reveal window and the sweep, the secret is still in %v", l)
	}

	d := admin.get("/applications/" + id)
	if !hasTestID(t, d.body, "secret-gone") || hasTestID(t, d.body, "countdown") {
		t.Error("the details page still offers the secret after the window")
	}
	if !hasLink(t, d.body, "/applications/"+id+"/reset") {
		t.Error("the details page does not point to Reset client secret")
	}
	r := admin.post("/applications/"+id+"/secret/reveal", nil)
	if got, want := r.status, http.StatusOK; got != want {
		t.Errorf("reveal after the window = %d, want %d", got, want)
	}
	if !strings.Contains(testIDText(t, r.body, "secret-gone"), "can no longer be viewed") {
		t.Error("reveal after the window does not say the secret can no longer be viewed")
	}
	if hasTestID(t, r.body, "client-secret") || strings.Contains(r.body, plaintext) {
		t.Error("reveal after the window shows the secret")
	}
	c := admin.copySecret(id)
	if got, want := c.status, http.StatusGone; got != want {
		t.Errorf("copy after the window = %d, want %d", got, want)
	}
	if strings.Contains(c.body, plaintext) {
		t.Error("copy after the window returns the secret")
	}
	if _, _, err := m.Store.SecretCiphertext(context.Background(), "acme", id, tokenservice.ActionSecretRevealed, tokenservice.Actor{Subject: "test"}, time.Now()); tokenservice.ErrorCode(err) != tokenservice.EGONE {
		t.Errorf("store after the window: err = %v, want gone", err)
	}
	if l := leaks(); len(l) > 0 {
		t.Errorf("after reveal and copy past the window, the secret is in %v", l)
	}
}

func TestSignIn(t *testing.T) {
	t.Parallel()
	m := newMain(t)

	t.Run("ReturnsToThePageAsked", func(t *testing.T) {
		c := newClient(t, m)
		p := c.getRaw("/applications/new", nil)
		if got, want := p.status, http.StatusSeeOther; got != want {
			t.Fatalf("status = %d, want %d", got, want)
		}
		if got, want := p.header.Get("Location"), "/auth/login?return_to="+url.QueryEscape("/applications/new"); got != want {
			t.Errorf("Location = %q, want %q", got, want)
		}
		admin := signInAt(t, m, "admin@acme.example", "/applications/new")
		if p := admin.get("/applications/new"); !strings.Contains(p.body, "Add Application") {
			t.Error("not on the Add Application page")
		}
	})

	t.Run("ReturnToKeepsQuery", func(t *testing.T) {
		signInAt(t, m, "viewer@acme.example", "/applications?q=nothing")
	})

	t.Run("ReturnToIsLocalOnly", func(t *testing.T) {
		for _, rt := range []string{"https://evil.example/", "//evil.example/x", `/\evil.example/x`} {
			_, p := signInFrom(t, m, "viewer@acme.example", "/auth/login?return_to="+url.QueryEscape(rt))
			if got := p.url.String(); !strings.HasPrefix(got, m.URL+"/") || p.status != http.StatusOK {
				t.Errorf("sign-in with return_to %q ended at %s (%d), want a portal page", rt, got, p.status)
			}
		}
	})

	t.Run("HTMXWithoutSession", func(t *testing.T) {
		c := newClient(t, m)
		tests := []struct {
			name       string
			currentURL string // HX-Current-URL, the page htmx was on; "" sends none
			path       string
			returnTo   string
		}{
			{"CurrentURL", m.URL + "/applications/new", "/applications?q=x", "/applications/new"},
			{"CurrentURLWithQuery", m.URL + "/applications?q=siem", "/applications?q=siem", "/applications?q=siem"},
			{"NoCurrentURL", "", "/applications", "/applications"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				h := http.Header{"Hx-Request": {"true"}}
				if tt.currentURL != "" {
					h.Set("HX-Current-URL", tt.currentURL)
				}
				p := c.getRaw(tt.path, h)
				if got, want := p.status, http.StatusUnauthorized; got != want {
					t.Fatalf("status = %d, want %d", got, want)
				}
				if got, want := p.header.Get("HX-Redirect"), "/auth/login?return_to="+url.QueryEscape(tt.returnTo); got != want {
					t.Errorf("HX-Redirect = %q, want %q", got, want)
				}
			})
		}
		post := c.request(http.MethodPost, "/applications", url.Values{"name": {"x"}}, http.Header{"Hx-Request": {"true"}}, false)
		if got, want := post.status, http.StatusUnauthorized; got != want || !strings.HasPrefix(post.header.Get("HX-Redirect"), "/auth/login?return_to=") {
			t.Errorf("htmx POST without a session = %d %q, want %d and an HX-Redirect to login", got, post.header.Get("HX-Redirect"), want)
		}
	})

	t.Run("Logout", func(t *testing.T) {
		admin := signIn(t, m, "admin@acme.example")
		old := admin.sessionCookie()
		p := admin.post("/auth/logout", nil)
		if got, want := p.status, http.StatusSeeOther; got != want {
			t.Fatalf("logout = %d, want %d", got, want)
		}
		if loc := p.header.Get("Location"); !strings.HasPrefix(loc, m.ProviderURL) && loc != "/auth/signed-out" {
			t.Errorf("logout redirected to %q, want the provider's end session or /auth/signed-out", loc)
		}
		if end := admin.get(p.header.Get("Location")); end.status != http.StatusOK || end.url.String() != m.URL+"/auth/signed-out" {
			t.Errorf("after logout ended at %s (%d), want %s/auth/signed-out", end.url, end.status, m.URL)
		}

		// The saved cookie value no longer opens the portal.
		replay := newClient(t, m)
		u, _ := url.Parse(m.URL)
		replay.jar.SetCookies(u, []*http.Cookie{{Name: old.Name, Value: old.Value, Path: "/"}})
		r := replay.getRaw("/applications", nil)
		if got, want := r.status, http.StatusSeeOther; got != want {
			t.Fatalf("old cookie: status = %d, want %d", got, want)
		}
		if loc := r.header.Get("Location"); !strings.HasPrefix(loc, "/auth/login") {
			t.Errorf("old cookie: redirected to %q, want /auth/login", loc)
		}
		if h := replay.getRaw("/applications", http.Header{"Hx-Request": {"true"}}); h.status != http.StatusUnauthorized {
			t.Errorf("old cookie, htmx: status = %d, want 401", h.status)
		}
		if _, err := m.Store.ListApplications(context.Background(), "acme", tokenservice.ListOptions{}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("LogoutNeedsCSRF", func(t *testing.T) {
		admin := signIn(t, m, "admin@acme.example")
		p := admin.request(http.MethodPost, "/auth/logout", url.Values{"_csrf": {"forged"}}, nil, false)
		if got, want := p.status, http.StatusForbidden; got != want {
			t.Errorf("forged logout = %d, want %d", got, want)
		}
		if got := admin.getRaw("/applications", nil).status; got != http.StatusOK {
			t.Errorf("after a forged logout: list = %d, want 200", got)
		}
	})
}
