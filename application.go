package tokenservice

import (
	"time"
)

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

// StoredSecret is what the store keeps of a client secret: a keyed hash for
// verification and, during the reveal window only, the encrypted plaintext.
type StoredSecret struct {
	Hash        []byte    // HMAC-SHA-256 of the secret under the server key
	Ciphertext  []byte    // AES-256-GCM of the secret; erased when RevealUntil passes
	RevealUntil time.Time // end of the reveal window
}
