package tokenservice

import (
	"time"
)

// Client is what the token endpoint knows of an application: enough to
// check its secret and decide the claims of its token, read in one query.
type Client struct {
	ApplicationID    int64
	ClientID         string
	AccountID        string
	SecretGeneration int
	// Secrets are its client secrets that are not revoked, newest first;
	// each may still have passed its expiry or grace period.
	Secrets []ClientSecret
	Scopes  []ScopeGrant
}

// OAuthScopes returns every OAuth scope the client may be granted.
func (c *Client) OAuthScopes() []string { return OAuthScopes(c.Scopes) }

// HasOAuthScope reports whether scope is one of OAuthScopes(), without
// building them.
func (c *Client) HasOAuthScope(scope string) bool {
	for _, g := range c.Scopes {
		if g.Confers(scope) {
			return true
		}
	}
	return false
}

// SigningKey is a token-signing key as the store keeps it: the private key
// encrypted under a key derived from the server key.
type SigningKey struct {
	ID         string // "kid"
	Algorithm  string // ES256, RS256 or EdDSA
	Ciphertext []byte
	CreatedAt  time.Time
	RetiredAt  time.Time // zero for the current key
	// MaxTokenTTL is the longest lifetime of the tokens signed with it.
	MaxTokenTTL time.Duration
}

// TokenUsage counts the tokens one application got in one hour, for the
// Details page; the token endpoint batches them.
type TokenUsage struct {
	ApplicationID int64
	ClientID      string    // with the id: a row id reused after a delete is another application
	Hour          time.Time // truncated to the hour
	Count         int
	Last          time.Time // when the last of them was issued
	// CredentialID is the credential they were issued under, Hint what
	// people see of it (filled in for a secret from before credentials).
	CredentialID string
	Hint         string
}
