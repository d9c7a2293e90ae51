package bcc

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
)

// browserKey carries, from /authorize to CreateAuthRequest, the hash of the
// bcc_browser cookie of the browser that asked.
type browserKey struct{}

// browserHash is what an auth request keeps of the browser that started it.
func browserHash(cookie string) string {
	sum := sha256.Sum256([]byte(cookie))
	return hex.EncodeToString(sum[:])
}

// bindToBrowser wraps /authorize: the browser gets a random bcc_browser
// cookie if it has none, and the auth request it starts is bound to it, so
// that no other browser can complete it (see startedHere).
func (p *Provider) bindToBrowser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nonce, ok := p.browserNonce(w, r)
		if !ok {
			p.refuseConflictingCookies(w, r)
			return
		}
		ctx := context.WithValue(r.Context(), browserKey{}, browserHash(nonce))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// browserValue returns the value of the request's bcc_browser cookie. ok is false when there is
// none or more than one: a second one was planted (by a sibling domain, or another service on
// the same host with a narrower path) to make this browser pass for another.
func (p *Provider) browserValue(r *http.Request) (value string, ok bool) {
	value, n := p.browserCookies(r)
	return value, n == 1 && len(value) >= 32
}

// browserCookies returns the value of the request's last bcc_browser cookie and how many it has.
func (p *Provider) browserCookies(r *http.Request) (value string, n int) {
	for _, c := range r.Cookies() {
		if c.Name == p.browserCookie {
			value, n = c.Value, n+1
		}
	}
	return value, n
}

// browserNonce returns the browser's bcc_browser value, setting a new one first if the browser
// has none or a malformed one; ok is false when it holds several.
func (p *Provider) browserNonce(w http.ResponseWriter, r *http.Request) (nonce string, ok bool) {
	switch value, n := p.browserCookies(r); {
	case n > 1:
		return "", false
	case n == 1 && len(value) >= 32:
		return value, true
	}
	return p.newBrowserNonce(w), true
}

// newBrowserNonce gives the browser a fresh bcc_browser value.
func (p *Provider) newBrowserNonce(w http.ResponseWriter) string {
	nonce := randomToken(32)
	http.SetCookie(w, p.cookie(p.browserCookie, nonce))
	return nonce
}

// browserNonceOrNone is browserNonce for a form's CSRF token: with several cookies, a token
// that no post can match.
func (p *Provider) browserNonceOrNone(w http.ResponseWriter, r *http.Request) string {
	nonce, _ := p.browserNonce(w, r)
	return nonce
}

func (p *Provider) refuseConflictingCookies(w http.ResponseWriter, r *http.Request) {
	p.logger.Warn("bcc: request with several browser cookies", "remote_addr", r.RemoteAddr, "path", r.URL.Path)
	p.renderMessage(w, http.StatusBadRequest, "Conflicting cookies",
		"Your browser holds more than one BCC sign-in cookie, which a site may have planted. "+
			"Delete this site's cookies in your browser, then go back to the application and sign in again.")
}

// browserOf returns the browser hash bindToBrowser put into ctx.
func browserOf(ctx context.Context) string {
	b, _ := ctx.Value(browserKey{}).(string)
	return b
}

// startedHere reports whether the request comes from the browser that
// started the auth request.
func (p *Provider) startedHere(r *http.Request, a *authRequest) bool {
	v, ok := p.browserValue(r)
	if !ok || a.Browser == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(browserHash(v)), []byte(a.Browser)) == 1
}

// requestOfThisBrowser returns the live auth request with the id if this browser started it;
// otherwise it answers the request itself and returns false.
func (p *Provider) requestOfThisBrowser(w http.ResponseWriter, r *http.Request, id string) (*authRequest, bool) {
	a, err := p.storage.authRequest(id)
	if err != nil {
		p.renderUnknownRequest(w)
		return nil, false
	}
	if !p.startedHere(r, a) {
		p.refuseOtherBrowser(w, r, a)
		return nil, false
	}
	return a, true
}

// guardCallback wraps /authorize/callback, where zitadel turns a completed
// auth request into a code: only for the browser that started the request,
// and only once.
func (p *Provider) guardCallback(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The same lookup zitadel makes (r.Form's first "id"), so both
		// judge the same request.
		if err := r.ParseForm(); err != nil {
			p.renderUnknownRequest(w)
			return
		}
		a, ok := p.requestOfThisBrowser(w, r, r.Form.Get("id"))
		if !ok {
			return
		}
		if !a.CodeIssuedAt.IsZero() {
			p.renderAlreadyUsed(w)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// continueDone answers a request for an auth request that is already
// complete: on to the callback while it has not yielded its code, a clear
// message once it has.
func (p *Provider) continueDone(w http.ResponseWriter, r *http.Request, a *authRequest, status int) {
	if a.CodeIssuedAt.IsZero() {
		http.Redirect(w, r, p.callbackURL(a.ID), status)
		return
	}
	p.renderAlreadyUsed(w)
}

// refuseOtherBrowser is the answer to a browser that did not start the auth
// request: never the form, never a silent sign-in.
func (p *Provider) refuseOtherBrowser(w http.ResponseWriter, r *http.Request, a *authRequest) {
	p.logger.Warn("bcc: auth request opened in another browser",
		"client_id", a.ClientID, "remote_addr", r.RemoteAddr, "path", r.URL.Path)
	p.renderMessage(w, http.StatusForbidden, "Sign-in started elsewhere",
		"This sign-in was started in another browser, so it cannot be completed here. "+
			"If you want to sign in, go back to the application and sign in again from this browser.")
}

func (p *Provider) renderAlreadyUsed(w http.ResponseWriter) {
	p.renderMessage(w, http.StatusBadRequest, "Sign-in already complete",
		"This sign-in has already been completed. Go back to the application; if you are not signed in there, sign in again.")
}
