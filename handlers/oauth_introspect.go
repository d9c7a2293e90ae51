package handlers

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"tokenservice"
	"tokenservice/token"
)

// introspection is an introspection response (RFC 7662 §2.2).
type introspection struct {
	Active    bool           `json:"active"`
	Scope     string         `json:"scope,omitempty"`
	ClientID  string         `json:"client_id,omitempty"`
	TokenType string         `json:"token_type,omitempty"`
	Exp       int64          `json:"exp,omitempty"`
	Iat       int64          `json:"iat,omitempty"`
	Nbf       int64          `json:"nbf,omitempty"`
	Sub       string         `json:"sub,omitempty"`
	Aud       token.Audience `json:"aud,omitempty"`
	Iss       string         `json:"iss,omitempty"`
	Jti       string         `json:"jti,omitempty"`
	AccountID string         `json:"account_id,omitempty"`
	Region    string         `json:"region,omitempty"`
}

// introspect is POST /oauth2/introspect (RFC 7662). The caller is an
// application of the account; tokens of other accounts are inactive to it.
func (o *OAuth) introspect(c echo.Context) error {
	caller, raw, err := o.authenticateWithToken(c)
	if err != nil {
		return err
	}
	claims, err := o.activeClaims(c.Request().Context(), raw, caller.AccountID)
	if err != nil {
		return err
	}
	if claims == nil {
		return writeOAuthJSON(c, http.StatusOK, introspection{Active: false})
	}
	return writeOAuthJSON(c, http.StatusOK, introspection{
		Active: true, Scope: claims.Scope, ClientID: claims.ClientID, TokenType: "Bearer",
		Exp: claims.Expiry, Iat: claims.IssuedAt, Nbf: claims.NotBefore, Sub: claims.Subject,
		Aud: claims.Audience, Iss: claims.Issuer, Jti: claims.ID, AccountID: claims.AccountID, Region: claims.Region,
	})
}

// activeClaims returns the claims of raw, its scope narrowed to what its
// application still holds, if it is an active token of the account, else
// nil: a reset secret, a deletion or a revocation ends it before expiry.
func (o *OAuth) activeClaims(ctx context.Context, raw, accountID string) (*token.Claims, error) {
	claims, err := o.keyring.Verify(ctx, raw, o.issuer)
	if err != nil || claims.AccountID != accountID || claims.Region != o.region {
		// An invalid token, another account's or another region's is
		// simply inactive.
		return nil, nil //nolint:nilerr
	}
	client, err := o.store.Client(ctx, claims.ClientID)
	if tokenservice.ErrorCode(err) == tokenservice.ENOTFOUND {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if client.AccountID != claims.AccountID || client.SecretGeneration != claims.SecretGeneration ||
		!credentialWorks(client, claims.Credential, o.now()) {
		return nil, nil
	}
	if claims.Scope = heldScopes(claims.Scope, client); claims.Scope == "" {
		return nil, nil
	}
	if revoked, err := o.store.TokenRevoked(ctx, claims.ID); err != nil {
		return nil, err
	} else if revoked {
		return nil, nil
	}
	return claims, nil
}

// credentialWorks reports whether the credential a token was issued under
// is not revoked at now: a token without one is from before credentials,
// issued under the secret the application had then. An expired credential's
// tokens run out their lifetime.
func credentialWorks(client *tokenservice.Client, id string, now time.Time) bool {
	for i := range client.Secrets {
		s := &client.Secrets[i]
		if s.ID == id || (id == "" && s.Migrated) {
			return s.RevokeAt.IsZero() || now.Before(s.RevokeAt)
		}
	}
	return false
}

// heldScopes returns the scopes of a token's scope claim that the client
// still holds, in the claim's order, or "" for none. A token whose scopes
// are all still held, nearly every one, gets its claim back unchanged.
func heldScopes(scope string, client *tokenservice.Client) string {
	all := true
	for s := range strings.SplitSeq(scope, " ") {
		if !client.HasOAuthScope(s) {
			all = false
			break
		}
	}
	if all {
		return scope
	}
	var held []string
	for s := range strings.SplitSeq(scope, " ") {
		if client.HasOAuthScope(s) {
			held = append(held, s)
		}
	}
	return strings.Join(held, " ")
}
