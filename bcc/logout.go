package bcc

import (
	"errors"
	"net/http"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// logoutPurpose is what the sign-out confirmation is for, in its CSRF token.
const logoutPurpose = "end_session"

// logoutPage is the view model of the sign-out confirmation.
type logoutPage struct {
	Title     string
	Nonce     string
	Action    string
	CSRFToken string
	Email     string
	ClientID  string
	Redirect  string
	State     string
}

// endSession wraps zitadel's end_session endpoint. The browser's sign-on session ends only
// when the request proves that this browser's user asked: an id_token_hint issued to the user
// signed in here (what a relying party sends), or the confirmation form of this browser posted
// back. Anything else (a bare link, an image, another user's ID token) gets the confirmation.
func (p *Provider) endSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			p.renderMessage(w, http.StatusBadRequest, "Sign-out failed", "The sign-out request could not be read.")
			return
		}
		if sess, ok := p.currentSession(r); ok {
			switch hintSubject, hintClient := p.hintOf(r); {
			case r.Method == http.MethodPost && r.PostForm.Get("confirm") != "":
				if !p.validCSRF(r, logoutPurpose, r.PostForm.Get("csrf_token")) {
					p.logger.Warn("bcc: sign-out refused: bad CSRF token", "remote_addr", r.RemoteAddr)
					p.renderMessage(w, http.StatusForbidden, "Sign-out form expired",
						"This sign-out form is no longer valid. You are still signed in to BCC.")
					return
				}
				// The confirmation stands for the hint: zitadel checks the
				// redirect against client_id alone.
				r.Form.Del("id_token_hint")
			case hintSubject != "" && hintSubject == sess.subject:
			default:
				p.confirmLogout(w, r, sess, hintClient)
				return
			}
		}
		ew := &endSessionWriter{ResponseWriter: w, onRedirect: func() {
			if c, err := r.Cookie(p.sessionCookie); err == nil {
				if sess, ok := p.sessions.delete(c.Value); ok {
					p.logger.Info("bcc: signed out", "sub", sess.subject)
				}
			}
			expired := p.cookie(p.sessionCookie, "")
			expired.MaxAge = -1
			http.SetCookie(w, expired)
		}}
		next.ServeHTTP(ew, r)
	})
}

// hintOf returns the subject and client of the request's id_token_hint when the provider
// issued it (an expired one counts, as the spec allows), or "" and "".
func (p *Provider) hintOf(r *http.Request) (subject, clientID string) {
	raw := r.Form.Get("id_token_hint")
	if raw == "" {
		return "", ""
	}
	ctx := op.ContextWithIssuer(r.Context(), p.issuer)
	claims, err := op.VerifyIDTokenHint[*oidc.IDTokenClaims](ctx, raw, p.op.IDTokenHintVerifier(ctx))
	if err != nil && !errors.As(err, &op.IDTokenHintExpiredError{}) {
		return "", ""
	}
	return claims.GetSubject(), claims.GetAuthorizedParty()
}

// confirmLogout asks the signed-in user whether to sign out, carrying the relying party's
// redirect and state into the form.
func (p *Provider) confirmLogout(w http.ResponseWriter, r *http.Request, sess session, hintClient string) {
	page := logoutPage{
		Title:     "Sign out",
		Nonce:     randomToken(16),
		Action:    p.prefix + "/end_session",
		CSRFToken: p.csrfToken(logoutPurpose, p.browserNonceOrNone(w, r)),
		ClientID:  r.Form.Get("client_id"),
		State:     r.Form.Get("state"),
	}
	if page.ClientID == "" {
		page.ClientID = hintClient
	}
	if page.ClientID != "" {
		page.Redirect = r.Form.Get("post_logout_redirect_uri")
	}
	if u, ok := p.users.user(sess.subject); ok {
		page.Email = u.Email
	}
	p.write(w, p.pages.logout, http.StatusOK, page.Nonce, page)
}

// endSessionWriter calls onRedirect just before a redirect's status is written, while the
// headers can still carry the cookie deletion.
type endSessionWriter struct {
	http.ResponseWriter
	onRedirect  func()
	wroteHeader bool
}

func (w *endSessionWriter) WriteHeader(status int) {
	if !w.wroteHeader {
		w.wroteHeader = true
		if status == http.StatusFound || status == http.StatusSeeOther {
			w.onRedirect()
		}
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *endSessionWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// onlyGET answers a method the route does not take.
func onlyGET(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Allow", http.MethodGet)
	http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
}
