package handlers

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"
	"golang.org/x/oauth2"

	"tokenservice"
	"tokenservice/secret"
	"tokenservice/session"
	"tokenservice/views"
)

const (
	sessionCookie = "tokenservice_session"
	loginCookie   = "tokenservice_login" // pending sign-ins: state, nonce, PKCE verifier
	loginTTL      = 10 * time.Minute
	maxPending    = 4 // sign-ins started in other tabs that may still come back
)

// Session value keys.
const (
	keyUser         = "user"          // JSON of tokenservice.User
	keyCSRF         = "csrf"          // the session's CSRF token
	keyIDToken      = "id_token"      // raw ID token, the hint for the provider's end-session
	keyFlash        = "flash"         // one message for the next page
	keyFlashWarning = "flash_warning" // and what the change it reports means
)

// Auth signs people in and out through the OpenID Provider and guards the
// pages that need a signed-in member of an account.
type Auth struct {
	oidc       *OIDC
	sessions   *session.Store
	loginCodec *securecookie.SecureCookie
	secure     bool
	public     string
	region     string
	regionName string
	regions    []views.Region
	trail      interface {
		RecordEvent(ctx context.Context, e *tokenservice.Event) error
	}
	now    func() time.Time
	logger interface {
		Info(string, ...any)
		Warn(string, ...any)
	}
}

func newAuth(cfg Config, secure bool) *Auth {
	hashKey, _ := secret.Derive(cfg.ServerKey, "tokenservice login cookie hmac v1")
	blockKey, _ := secret.Derive(cfg.ServerKey, "tokenservice login cookie aes v1")
	sc := securecookie.New(hashKey, blockKey)
	sc.MaxAge(int(loginTTL.Seconds()))
	sc.SetSerializer(securecookie.JSONEncoder{})
	return &Auth{oidc: cfg.OIDC, sessions: cfg.Sessions, loginCodec: sc, secure: secure, public: cfg.PublicURL,
		region: cfg.Region, regionName: cfg.RegionLabel, regions: cfg.Regions, trail: cfg.Store, now: cfg.Now, logger: cfg.Logger}
}

type pendingLogin struct {
	State    string    `json:"s"`
	Nonce    string    `json:"n"`
	Verifier string    `json:"v"`
	ReturnTo string    `json:"r"`
	Started  time.Time `json:"t"`
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (a *Auth) session(c echo.Context) (*sessions.Session, error) {
	return a.sessions.Get(c.Request(), sessionCookie)
}

// currentUser returns the signed-in user of the session, or nil.
func currentUser(sess *sessions.Session) *tokenservice.User {
	raw, _ := sess.Values[keyUser].(string)
	if raw == "" {
		return nil
	}
	var u tokenservice.User
	if json.Unmarshal([]byte(raw), &u) != nil {
		return nil
	}
	return &u
}

// userOf returns the user that requireUser put on the context.
func userOf(c echo.Context) *tokenservice.User {
	u, _ := c.Get(keyUser).(*tokenservice.User)
	return u
}

// login starts the authorization code flow with PKCE (S256), state and nonce.
func (a *Auth) login(c echo.Context) error {
	returnTo := safeReturnTo(c.QueryParam("return_to"))
	if sess, err := a.session(c); err == nil && currentUser(sess) != nil && c.QueryParam("prompt") == "" {
		return c.Redirect(http.StatusSeeOther, returnTo)
	}
	if c.QueryParam("ended") != "" {
		a.withChrome(c, nil, "")
		return render(c, http.StatusOK, views.SessionEnded(views.SessionEndedPage{
			ReturnTo: returnTo, SignInURL: "/auth/login?return_to=" + url.QueryEscape(returnTo), Idle: a.sessions.IdleTimeout, Absolute: a.sessions.AbsoluteTimeout}))
	}
	p := pendingLogin{State: randomToken(), Nonce: randomToken(), Verifier: oauth2.GenerateVerifier(), ReturnTo: returnTo, Started: a.now()}
	pending := append(a.pendingLogins(c), p)
	if len(pending) > maxPending {
		pending = pending[len(pending)-maxPending:]
	}
	if err := a.setPendingLogins(c, pending); err != nil {
		return err
	}
	opts := []oauth2.AuthCodeOption{oidc.Nonce(p.Nonce), oauth2.S256ChallengeOption(p.Verifier)}
	if c.QueryParam("prompt") == "login" {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", "login"))
	}
	return c.Redirect(http.StatusFound, a.oidc.oauth.AuthCodeURL(p.State, opts...))
}

func (a *Auth) pendingLogins(c echo.Context) []pendingLogin {
	ck, err := c.Cookie(loginCookie)
	if err != nil {
		return nil
	}
	var all, live []pendingLogin
	if a.loginCodec.Decode(loginCookie, ck.Value, &all) != nil {
		return nil
	}
	for _, p := range all {
		if a.now().Sub(p.Started) < loginTTL {
			live = append(live, p)
		}
	}
	return live
}

func (a *Auth) setPendingLogins(c echo.Context, pending []pendingLogin) error {
	ck := &http.Cookie{Name: loginCookie, Path: "/auth/", HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode}
	if len(pending) == 0 {
		ck.MaxAge = -1
	} else {
		v, err := a.loginCodec.Encode(loginCookie, pending)
		if err != nil {
			return err
		}
		ck.Value = v
		ck.MaxAge = int(loginTTL.Seconds())
	}
	c.SetCookie(ck)
	return nil
}

// signInFailed is the answer to a callback that cannot be trusted.
func signInFailed(msg string) error {
	return tokenservice.Errorf(tokenservice.EUNAUTHORIZED, "%s", msg)
}

// callback finishes the sign-in: it checks state, exchanges the code with the
// PKCE verifier, verifies the ID token and its nonce, and starts a session
// under a new id.
func (a *Auth) callback(c echo.Context) error {
	state := c.QueryParam("state")
	pending := a.pendingLogins(c)
	idx := -1
	for i, p := range pending {
		if state != "" && subtle.ConstantTimeCompare([]byte(p.State), []byte(state)) == 1 {
			idx = i
		}
	}
	if idx < 0 {
		return signInFailed("This sign-in link has expired or was already used. Go back to the application list to sign in again.")
	}
	p := pending[idx]
	if err := a.setPendingLogins(c, append(pending[:idx:idx], pending[idx+1:]...)); err != nil {
		return err
	}
	if e := c.QueryParam("error"); e != "" {
		a.logger.Warn("sign-in refused by the provider", append(logAttrs(c), "error", e, "description", c.QueryParam("error_description"))...)
		return signInFailed("The identity provider did not sign you in. Try again, or ask your administrator for access.")
	}
	ctx := c.Request().Context()
	tok, err := a.oidc.oauth.Exchange(ctx, c.QueryParam("code"), oauth2.VerifierOption(p.Verifier))
	if err != nil {
		a.logger.Warn("sign-in: code exchange failed", append(logAttrs(c), "err", err)...)
		return signInFailed("The identity provider did not confirm your sign-in. Please sign in again.")
	}
	rawID, _ := tok.Extra("id_token").(string)
	idToken, err := a.oidc.verifier.Verify(ctx, rawID)
	if err != nil {
		a.logger.Warn("sign-in: ID token rejected", append(logAttrs(c), "err", err)...)
		return signInFailed("The identity provider's answer could not be verified. Please sign in again.")
	}
	if subtle.ConstantTimeCompare([]byte(idToken.Nonce), []byte(p.Nonce)) != 1 {
		a.logger.Warn("sign-in: nonce mismatch", logAttrs(c)...)
		return signInFailed("The identity provider's answer could not be verified. Please sign in again.")
	}
	var claims map[string]any
	if err := idToken.Claims(&claims); err != nil {
		return err
	}
	user := a.oidc.userFromClaims(claims)
	if user.Subject == "" {
		return signInFailed("The identity provider did not say who you are.")
	}
	sess, err := a.session(c)
	if err != nil {
		return err
	}
	if err := a.sessions.Renew(c.Request(), sess); err != nil {
		return err
	}
	if user.AccountID != "" {
		if err := a.trail.RecordEvent(ctx, a.sessionEvent(c, &user, tokenservice.ActionSignedIn)); err != nil {
			return err
		}
	}
	userJSON, _ := json.Marshal(user)
	sess.Values = map[any]any{keyUser: string(userJSON), keyCSRF: randomToken(), keyIDToken: rawID}
	if err := sess.Save(c.Request(), c.Response()); err != nil {
		return err
	}
	a.logger.Info("signed in", append(logAttrs(c), "sub", user.Subject, "email", user.Email, "account", user.AccountID, "admin", user.Admin)...)
	return c.Redirect(http.StatusSeeOther, p.ReturnTo)
}

// logout ends the session for good and, when the provider offers it, the
// provider's session too.
func (a *Auth) logout(c echo.Context) error {
	sess, err := a.session(c)
	if err != nil {
		return err
	}
	user := currentUser(sess)
	if user == nil {
		return c.Redirect(http.StatusSeeOther, "/auth/signed-out")
	}
	if !a.validCSRF(c, sess) {
		return tokenservice.Errorf(tokenservice.EFORBIDDEN, "The sign-out form has expired. Reload the page and try again.")
	}
	if user.AccountID != "" {
		if err := a.trail.RecordEvent(c.Request().Context(), a.sessionEvent(c, user, tokenservice.ActionSignedOut)); err != nil {
			return err
		}
	}
	idToken, _ := sess.Values[keyIDToken].(string)
	sess.Options.MaxAge = -1
	if err := sess.Save(c.Request(), c.Response()); err != nil {
		return err
	}
	a.logger.Info("signed out", append(logAttrs(c), "sub", user.Subject, "email", user.Email)...)
	if a.oidc.endSession == "" {
		return c.Redirect(http.StatusSeeOther, "/auth/signed-out")
	}
	q := url.Values{"post_logout_redirect_uri": {a.public + "/auth/signed-out"}, "client_id": {a.oidc.cfg.ClientID}}
	if idToken != "" {
		q.Set("id_token_hint", idToken)
	}
	return c.Redirect(http.StatusSeeOther, a.oidc.endSession+"?"+q.Encode())
}

// sessionEvent is the audit trail's record of a sign-in or sign-out.
func (a *Auth) sessionEvent(c echo.Context, user *tokenservice.User, action tokenservice.Action) *tokenservice.Event {
	return &tokenservice.Event{AccountID: user.AccountID, At: a.now(), Action: action, Actor: actorFor(c, user)}
}

// sessionState tells the page's script whether its session still holds,
// without touching it: asking must not keep an idle session alive.
func (a *Auth) sessionState(c echo.Context) error {
	sess, err := a.session(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]bool{"signed_in": currentUser(sess) != nil})
}

func (a *Auth) signedOut(c echo.Context) error {
	a.withChrome(c, nil, "")
	return render(c, http.StatusOK, views.SignedOut())
}

// requireUser lets signed-in users through and sends everyone else to the
// provider, coming back to the page they asked for. htmx requests get
// HX-Redirect so the whole page, not a fragment, goes through login.
func (a *Auth) requireUser(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		sess, err := a.session(c)
		if err != nil {
			return err
		}
		user := currentUser(sess)
		if user == nil {
			// A session cookie with no session behind it: the session ended
			// (timeout, or signed out elsewhere), which the login page says.
			_, cerr := c.Cookie(sessionCookie)
			return a.toLogin(c, cerr == nil)
		}
		// Touch the session: the idle timeout counts from the last request.
		if err := a.sessions.Touch(c.Request(), c.Response(), sess); errors.Is(err, session.ErrEnded) {
			return a.toLogin(c, true)
		} else if err != nil {
			return err
		}
		c.Set(keyUser, user)
		c.Set("session", sess)
		csrfToken, _ := sess.Values[keyCSRF].(string)
		a.withChrome(c, user, csrfToken)
		if ch := views.ChromeFrom(c.Request().Context()); ch.User != nil {
			ch.User.SessionEnds, ch.User.IdleTimeout = a.sessions.Ends(sess)
		}
		return next(c)
	}
}

func (a *Auth) toLogin(c echo.Context, ended bool) error {
	r := c.Request()
	login := "/auth/login?return_to="
	if ended {
		login = "/auth/login?ended=1&return_to="
		// Said once: the next request without a session starts afresh.
		opts := *a.sessions.Options
		opts.MaxAge = -1
		http.SetCookie(c.Response(), sessions.NewCookie(sessionCookie, "", &opts))
	}
	returnTo := r.URL.RequestURI()
	if isHTMX(c) {
		// Come back to the page the user was on, not to the fragment's URL.
		if cur := r.Header.Get("HX-Current-URL"); cur != "" {
			if u, err := url.Parse(cur); err == nil {
				returnTo = u.RequestURI()
			}
		} else if r.Method != http.MethodGet {
			returnTo = "/applications"
		}
		c.Response().Header().Set("HX-Redirect", login+url.QueryEscape(safeReturnTo(returnTo)))
		return c.NoContent(http.StatusUnauthorized)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		returnTo = "/applications"
		if ref, err := url.Parse(r.Referer()); err == nil && ref.Path != "" {
			returnTo = ref.RequestURI()
		}
	}
	return c.Redirect(http.StatusSeeOther, login+url.QueryEscape(safeReturnTo(returnTo)))
}

func (a *Auth) validCSRF(c echo.Context, sess *sessions.Session) bool {
	want, _ := sess.Values[keyCSRF].(string)
	got := c.Request().Header.Get("X-CSRF-Token")
	if got == "" {
		got = c.Request().PostFormValue("_csrf")
	}
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// checkCSRF refuses every unsafe request without the session's CSRF token,
// whatever Origin or Sec-Fetch-Site it claims.
func (a *Auth) checkCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		switch c.Request().Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return next(c)
		}
		sess, _ := c.Get("session").(*sessions.Session)
		if sess == nil || !a.validCSRF(c, sess) {
			return tokenservice.Errorf(tokenservice.EFORBIDDEN, "This form has expired or did not come from this site. Reload the page and try again. Nothing was changed.")
		}
		return next(c)
	}
}

// requireAccount refuses users whose provider names no account.
func (a *Auth) requireAccount(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if userOf(c).AccountID == "" {
			return errNoAccount
		}
		return next(c)
	}
}

// withChrome puts the layout's data on the request context.
func (a *Auth) withChrome(c echo.Context, user *tokenservice.User, csrfToken string) {
	ch := a.chrome(c, user, csrfToken)
	c.SetRequest(c.Request().WithContext(views.WithChrome(c.Request().Context(), ch)))
}

func (a *Auth) chrome(c echo.Context, user *tokenservice.User, csrfToken string) *views.Chrome {
	ch := &views.Chrome{CSRFToken: csrfToken, Region: a.region, RegionLabel: a.regionName, Regions: a.regions,
		RequestID: c.Response().Header().Get(echo.HeaderXRequestID)}
	if user != nil {
		ch.User = &views.User{Name: user.Name, Email: user.Email, AccountName: user.AccountName, Admin: user.Admin}
	}
	return ch
}
