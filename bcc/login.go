package bcc

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"html/template"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"tokenservice/ratelimit"
)

// errBadCredentials is the only thing a failed sign-in tells the user: it never says whether
// the e-mail or the password was wrong.
const errBadCredentials = "Incorrect e-mail or password."

// Failed sign-ins are limited per source address (guessing many users' passwords) and per
// e-mail from one address (guessing one user's): a limit on the e-mail alone would let anyone
// lock a user out by failing on purpose. While limited, the password is not even checked.
const (
	loginAddressBurst = 20
	loginAddressEvery = 3 * time.Second
	loginEmailBurst   = 5
	loginEmailEvery   = 30 * time.Second
	loginLimiterSize  = 16384
)

//go:embed templates/*.html
var templateFS embed.FS

// pages holds the parsed HTML pages.
type pages struct {
	login   *template.Template
	message *template.Template
	logout  *template.Template
}

func newPages() (*pages, error) {
	funcs := template.FuncMap{"join": strings.Join}
	parse := func(name string) (*template.Template, error) {
		return template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name)
	}
	login, err := parse("login.html")
	if err != nil {
		return nil, err
	}
	message, err := parse("message.html")
	if err != nil {
		return nil, err
	}
	logout, err := parse("logout.html")
	if err != nil {
		return nil, err
	}
	return &pages{login: login, message: message, logout: logout}, nil
}

// loginPage is the view model of the sign-in page.
type loginPage struct {
	Title         string
	Nonce         string
	Action        string
	AuthRequestID string
	CSRFToken     string
	ClientID      string
	Email         string
	Error         string
	DemoUsers     []UserInfo
	DemoPassword  string
}

// messagePage is the view model of a page that only says something (an error, signed out).
type messagePage struct {
	Title   string
	Nonce   string
	Message string
}

// renderLogin and renderMessage wrap render for each view model.
func (p *Provider) renderLogin(w http.ResponseWriter, status int, page loginPage) {
	page.Title = "Sign in"
	page.Nonce = randomToken(16)
	p.write(w, p.pages.login, status, page.Nonce, page)
}

func (p *Provider) renderMessage(w http.ResponseWriter, status int, title, message string) {
	page := messagePage{Title: title, Nonce: randomToken(16), Message: message}
	p.write(w, p.pages.message, status, page.Nonce, page)
}

// write renders the page through a buffer so that a template error becomes a clean 500, with a
// CSP that allows only the page's own nonce-tagged style element.
func (p *Provider) write(w http.ResponseWriter, t *template.Template, status int, nonce string, data any) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		p.logger.Error("bcc: render page", "err", err)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy",
		"default-src 'none'; style-src 'nonce-"+nonce+"'; base-uri 'none'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// showLogin answers the redirect from /authorize, in the browser that started the request
// only: with a live sign-on session it completes the request at once (single sign-on);
// otherwise it shows the form.
func (p *Provider) showLogin(w http.ResponseWriter, r *http.Request) {
	a, ok := p.requestOfThisBrowser(w, r, r.URL.Query().Get("authRequestID"))
	if !ok {
		return
	}
	if a.IsDone {
		p.continueDone(w, r, a, http.StatusFound)
		return
	}
	// A session started under another bcc_browser value (the cookie was replaced since) signs
	// nothing in silently; the form is safe, since signing in there rebinds the request.
	sess, signedIn := p.currentSession(r)
	if signedIn && sess.browser == a.Browser && !a.needsLogin(sess.subject, sess.authTime) {
		if u, ok := p.users.user(sess.subject); ok {
			if err := p.storage.completeAuthRequest(a.ID, u.Subject, sess.authTime, a.Browser); err != nil {
				p.renderAlreadyUsed(w)
				return
			}
			p.logger.Info("bcc: signed in with existing session",
				"email", u.Email, "sub", u.Subject, "account", u.AccountID, "client_id", a.ClientID)
			http.Redirect(w, r, p.callbackURL(a.ID), http.StatusFound)
			return
		}
	}
	if a.promptNone() {
		op.AuthRequestError(w, r, a, oidc.ErrLoginRequired().WithDescription("the user is not signed in"), p.op)
		return
	}
	p.renderLogin(w, http.StatusOK, p.loginPage(w, r, a, a.LoginHint))
}

// signIn checks the submitted e-mail and password. Success starts a sign-on session and goes
// back to the relying party; failure shows the form again with 401 and the e-mail kept.
func (p *Provider) signIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		p.renderMessage(w, http.StatusBadRequest, "Sign-in failed", "The sign-in form could not be read. Go back to the application and try again.")
		return
	}
	id := r.PostForm.Get("authRequestID")
	if id == "" || !p.validCSRF(r, loginPurpose(id), r.PostForm.Get("csrf_token")) {
		p.logger.Warn("bcc: sign-in form rejected: bad CSRF token", "remote_addr", r.RemoteAddr)
		p.renderMessage(w, http.StatusForbidden, "Sign-in form expired",
			"This sign-in form is no longer valid. Go back to the application and sign in again.")
		return
	}
	a, ok := p.requestOfThisBrowser(w, r, id)
	if !ok {
		return
	}
	if a.IsDone {
		p.continueDone(w, r, a, http.StatusSeeOther)
		return
	}

	email := strings.TrimSpace(r.PostForm.Get("email"))
	now := time.Now()
	addr, emailKey := failureKeys(r, email)
	// Each attempt takes its try before the (slow) password check, so
	// parallel attempts cannot all slip through before a failure counts; a
	// success gives the tries back.
	waitAddr, undoAddr := p.failuresPerAddress.Attempt(addr, now)
	waitEmail, undoEmail := p.failuresPerEmail.Attempt(emailKey, now)
	undo := func() {
		for _, f := range []func(){undoAddr, undoEmail} {
			if f != nil {
				f()
			}
		}
	}
	if wait := max(waitAddr, waitEmail); wait > 0 {
		undo()
		secs := int(math.Ceil(wait.Seconds()))
		p.logger.Debug("bcc: sign-in refused: too many failures", "email", email, "remote_addr", addr, "retry_after", secs)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		page := p.loginPage(w, r, a, email)
		page.Error = fmt.Sprintf("Too many failed sign-in attempts. Wait %d seconds, then try again.", secs)
		p.renderLogin(w, http.StatusTooManyRequests, page)
		return
	}
	u, ok := p.users.authenticate(email, r.PostForm.Get("password"))
	if !ok {
		p.logger.Warn("bcc: sign-in failed", "email", email, "client_id", a.ClientID, "remote_addr", r.RemoteAddr)
		page := p.loginPage(w, r, a, email)
		page.Error = errBadCredentials
		p.renderLogin(w, http.StatusUnauthorized, page)
		return
	}

	undo()
	// A sign-in gives the browser a new bcc_browser value, which the session and the request
	// are bound to from now on: a value planted before the sign-in is worthless after it.
	fresh := randomToken(32)
	if err := p.storage.completeAuthRequest(a.ID, u.Subject, now, browserHash(fresh)); err != nil {
		// Completed meanwhile (a second tab, a double submit): no new session.
		p.renderAlreadyUsed(w)
		return
	}
	if c, err := r.Cookie(p.sessionCookie); err == nil {
		p.sessions.delete(c.Value)
	}
	http.SetCookie(w, p.cookie(p.browserCookie, fresh))
	http.SetCookie(w, p.cookie(p.sessionCookie, p.sessions.create(u.Subject, now, browserHash(fresh))))
	p.logger.Info("bcc: signed in",
		"email", u.Email, "sub", u.Subject, "account", u.AccountID, "client_id", a.ClientID)
	http.Redirect(w, r, p.callbackURL(a.ID), http.StatusSeeOther)
}

// failureKeys are the keys a failed sign-in counts against: the source address, and the e-mail
// (case-insensitive, hashed so that a long one costs no memory) from that address.
func failureKeys(r *http.Request, email string) (addr, emailKey string) {
	addr = r.RemoteAddr
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		addr = host
	}
	addr = ratelimit.AddressKey(addr)
	sum := sha256.Sum256([]byte(strings.ToLower(email)))
	return addr, addr + " " + hex.EncodeToString(sum[:])
}

func (p *Provider) showLoggedOut(w http.ResponseWriter, _ *http.Request) {
	p.renderMessage(w, http.StatusOK, "Signed out", "You have signed out of BCC. You can close this window.")
}

func (p *Provider) renderUnknownRequest(w http.ResponseWriter) {
	p.renderMessage(w, http.StatusBadRequest, "Sign-in link expired",
		"This sign-in request is unknown or has expired. Go back to the application and sign in again.")
}

// loginPage builds the form's view model, setting the browser's CSRF cookie when needed.
func (p *Provider) loginPage(w http.ResponseWriter, r *http.Request, a *authRequest, email string) loginPage {
	page := loginPage{
		Action:        p.prefix + "/login",
		AuthRequestID: a.ID,
		CSRFToken:     p.csrfToken(loginPurpose(a.ID), p.browserNonceOrNone(w, r)),
		ClientID:      a.ClientID,
		Email:         email,
	}
	if c, ok := p.storage.clients[a.ClientID]; ok && c.name != "" {
		page.ClientID = c.name
	}
	if p.users.demo {
		page.DemoUsers = p.users.list()
		page.DemoPassword = demoPassword
	}
	return page
}

// callbackURL is where a completed auth request goes: zitadel's callback issues the code and
// redirects to the relying party.
func (p *Provider) callbackURL(authRequestID string) string {
	return p.prefix + "/authorize/callback?" + url.Values{"id": {authRequestID}}.Encode()
}

func (p *Provider) currentSession(r *http.Request) (session, bool) {
	c, err := r.Cookie(p.sessionCookie)
	if err != nil {
		return session{}, false
	}
	return p.sessions.get(c.Value)
}

// csrfToken binds a form to both what it is about (the auth request, a sign-out) and the
// browser: an HMAC over the purpose and the browser's bcc_browser cookie, under a key that
// lives as long as the process.
func (p *Provider) csrfToken(purpose, browserNonce string) string {
	mac := hmac.New(sha256.New, p.csrfKey)
	mac.Write([]byte("bcc-form\x00" + purpose + "\x00" + browserNonce))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// loginPurpose is what the login form of an auth request is for, in its CSRF token.
func loginPurpose(authRequestID string) string { return "login " + authRequestID }

func (p *Provider) validCSRF(r *http.Request, purpose, token string) bool {
	v, ok := p.browserValue(r)
	if !ok || purpose == "" || token == "" {
		return false
	}
	return hmac.Equal([]byte(token), []byte(p.csrfToken(purpose, v)))
}

// cookieName is the name of a provider cookie: with the __Host- prefix over https, which
// browsers accept only from this very host, Secure, for the whole site.
func (p *Provider) cookieName(name string) string {
	if p.secure {
		return "__Host-" + name
	}
	return name
}

// cookie is a provider cookie: host-only, whole site, not readable by scripts, sent on
// top-level navigations from the relying party (SameSite=Lax), ending with the browser session.
func (p *Provider) cookie(name, value string) *http.Cookie {
	return &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		HttpOnly: true,
		Secure:   p.secure,
		SameSite: http.SameSiteLaxMode,
	}
}

// randomToken returns n random bytes, base64url-encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
