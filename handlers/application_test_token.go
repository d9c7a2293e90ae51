package handlers

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"tokenservice"
	"tokenservice/token"
	"tokenservice/views"
)

// testTokens issues the Details page's test tokens.
type testTokens interface {
	TestToken(ctx context.Context, accountID, clientID string) (string, *token.Claims, error)
}

// TestToken issues an access token for the account's application as if it
// had asked with its newest working credential: every scope, the usual
// lifetime, counted like any other token. Another account's is ENOTFOUND.
func (o *OAuth) TestToken(ctx context.Context, accountID, clientID string) (string, *token.Claims, error) {
	client, err := o.store.Client(ctx, clientID)
	if err != nil {
		return "", nil, err
	}
	if client.AccountID != accountID {
		return "", nil, notFound()
	}
	now := o.now()
	for i := range client.Secrets {
		if cred := &client.Secrets[i]; cred.Usable(now) {
			return o.mint(ctx, client, cred.ID, "", client.OAuthScopes())
		}
	}
	return "", nil, tokenservice.Errorf(tokenservice.ECONFLICT,
		"No credential of this application works now, so it cannot get a token. Rotate its secret to get one that does.")
}

// testToken is the Test panel's "Get a test token": a real token for the
// application, recorded in Activity, shown decoded.
func (h *Applications) testToken(c echo.Context) error {
	app, err := h.appOf(c)
	if err != nil {
		return err
	}
	ctx, user := c.Request().Context(), userOf(c)
	raw, claims, err := h.tokens.TestToken(ctx, user.AccountID, app.ClientID)
	panel := views.TestTokenPanel{ClientID: app.ClientID}
	switch {
	case tokenservice.ErrorCode(err) == tokenservice.ECONFLICT:
		panel.Error = tokenservice.ErrorMessage(err)
	case err != nil:
		return err
	default:
		e := &tokenservice.Event{AccountID: user.AccountID, At: h.now(), Action: tokenservice.ActionTestToken, Actor: actorOf(c),
			ClientID: app.ClientID, ApplicationName: app.Name, Credential: claims.Credential,
			CredentialKind: tokenservice.CredentialClientSecret, ExpiresAt: time.Unix(claims.Expiry, 0)}
		for _, cr := range app.Credentials {
			if cr.ID == claims.Credential && cr.Hint != "" {
				e.Credential = cr.Hint
			}
		}
		if err := h.store.RecordEvent(ctx, e); err != nil {
			return err
		}
		h.logger.Info("test token issued", append(logAttrs(c), "client_id", app.ClientID, "by", user.Email)...)
		panel.Token = decodeTestToken(raw, claims)
	}
	if isHTMX(c) {
		return render(c, http.StatusOK, views.TestTokenView(panel))
	}
	d := h.details(c, app)
	if err := h.addUsage(c, &d); err != nil {
		return err
	}
	d.Test = panel
	return render(c, http.StatusOK, views.Details(d))
}

// decodeTestToken is what the Test panel shows of a token: its parts as a
// resource server decodes them, before checking the signature.
func decodeTestToken(raw string, claims *token.Claims) *views.TestToken {
	t := &views.TestToken{Raw: raw, Expiry: time.Unix(claims.Expiry, 0).UTC(), Audience: strings.Join(claims.Audience, ", ")}
	if claims.Scope != "" {
		t.Scopes = strings.Fields(claims.Scope)
	}
	parts := strings.SplitN(raw, ".", 3)
	if len(parts) == 3 {
		t.Header, t.Claims = prettyJSON(parts[0]), prettyJSON(parts[1])
	}
	return t
}

// prettyJSON indents a base64url-encoded JSON object; "" if it is not one.
func prettyJSON(segment string) string {
	b, err := base64.RawURLEncoding.DecodeString(segment)
	if err != nil {
		return ""
	}
	var out bytes.Buffer
	if json.Indent(&out, b, "", "  ") != nil {
		return ""
	}
	return out.String()
}
