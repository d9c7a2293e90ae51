package tokenservice

import (
	"time"
)

// Access is the type of access an application has to one scope of the
// catalogue, as chosen on the Add and Edit Application pages.
type Access string

// The access levels. AccessReadWrite grants both the :read and the :write
// OAuth scope of a catalogue entry.
const (
	AccessNone      Access = "none"
	AccessRead      Access = "read"
	AccessReadWrite Access = "read-write"
)

// Valid reports whether a is one of the known access levels.
func (a Access) Valid() bool {
	switch a {
	case AccessNone, AccessRead, AccessReadWrite:
		return true
	}
	return false
}

// Label is the wording the portal shows for a.
func (a Access) Label() string {
	switch a {
	case AccessRead:
		return "Read"
	case AccessReadWrite:
		return "Read & Write"
	}
	return "No access"
}

// ScopeGrant is the access an application has to one catalogue entry, keyed
// like the catalogue: "<product>:<resource>", e.g. "forensics:account".
type ScopeGrant struct {
	Key    string
	Access Access
}

// OAuthScopes returns the OAuth scope strings a grant confers:
// read gives "<key>:read", read-write gives "<key>:read" and "<key>:write".
func (g ScopeGrant) OAuthScopes() []string {
	switch g.Access {
	case AccessRead:
		return []string{g.Key + ":read"}
	case AccessReadWrite:
		return []string{g.Key + ":read", g.Key + ":write"}
	}
	return nil
}

// Confers reports whether scope is one of OAuthScopes(), without building
// them: introspection asks it of every scope of every token.
func (g ScopeGrant) Confers(scope string) bool {
	n := len(g.Key)
	if len(scope) <= n || scope[:n] != g.Key || scope[n] != ':' {
		return false
	}
	switch scope[n+1:] {
	case "read":
		return g.Access == AccessRead || g.Access == AccessReadWrite
	case "write":
		return g.Access == AccessReadWrite
	}
	return false
}

// Application is a registered application of an account: what calls the
// account's APIs with a Client ID and Client Secret.
type Application struct {
	ID        int64  // internal row id; never shown, never accepted from a request
	AccountID string // the tenant it belongs to
	ClientID  string // public, unguessable, immutable
	Name      string
	Scopes    []ScopeGrant // only grants with access other than none, sorted by key

	// SecretGeneration counts the secrets the application has had: 1 at
	// creation, +1 at every reset. Tokens carry it, so a reset retires them.
	SecretGeneration int
	// SecretRevealUntil is the end of the reveal window of the current secret,
	// zero once the window has ended and the encrypted copy is erased.
	SecretRevealUntil time.Time

	// Version increases with every change; an edit must name the version it
	// was made against (optimistic concurrency).
	Version int

	CreatedAt time.Time
	CreatedBy string // e-mail of the person (or "cli") who created it
	UpdatedAt time.Time
	UpdatedBy string
}

// SecretRevealable reports whether the current secret may still be shown at now.
func (a *Application) SecretRevealable(now time.Time) bool {
	return !a.SecretRevealUntil.IsZero() && now.Before(a.SecretRevealUntil)
}

// Grant returns the access the application has to the catalogue entry key.
func (a *Application) Grant(key string) Access {
	for _, g := range a.Scopes {
		if g.Key == key {
			return g.Access
		}
	}
	return AccessNone
}

// OAuthScopes returns every OAuth scope the application may be granted.
func (a *Application) OAuthScopes() []string { return OAuthScopes(a.Scopes) }

// OAuthScopes returns every OAuth scope the grants confer, in their order.
func OAuthScopes(grants []ScopeGrant) []string {
	var out []string
	for _, g := range grants {
		out = append(out, g.OAuthScopes()...)
	}
	return out
}

// StoredSecret is what the store keeps of a client secret: a keyed hash for
// verification and, during the reveal window only, the encrypted plaintext.
type StoredSecret struct {
	Hash        []byte    // HMAC-SHA-256 of the secret under the server key
	Ciphertext  []byte    // AES-256-GCM of the secret; erased when RevealUntil passes
	RevealUntil time.Time // end of the reveal window
}

// User is the person signed in to the portal, as the identity provider
// describes them.
type User struct {
	Subject     string
	Email       string
	Name        string
	AccountID   string
	AccountName string
	Admin       bool
}

// Client is what the token endpoint knows of an application: enough to
// check its secret and decide the claims of its token, read in one query.
type Client struct {
	ApplicationID    int64
	ClientID         string
	AccountID        string
	SecretHash       []byte
	SecretGeneration int
	Scopes           []ScopeGrant
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
}
