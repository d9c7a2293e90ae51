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
	// SecretRevealUntil is the end of the reveal window of the newest secret,
	// zero once the window has ended and the encrypted copy is erased.
	SecretRevealUntil time.Time
	// LastUsedAt is when it last got a token (zero: never), as the sweeper
	// last wrote it; SecretExpiresAt the earliest end of a live secret
	// (expiry or grace period; zero: none ends).
	LastUsedAt      time.Time
	SecretExpiresAt time.Time

	// Credentials are its credentials, newest first, revoked ones too;
	// only GetApplication fills them in.
	Credentials []Credential

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
	Hint        string    // "tss_…a1b2"
	ExpiresAt   time.Time // zero: does not expire
}

// SecretHint is what people are shown of a secret: its prefix and last four
// characters.
func SecretHint(secret string) string {
	if len(secret) < 12 {
		return ""
	}
	return secret[:4] + "…" + secret[len(secret)-4:]
}

// LiveCredentials counts the credentials that can get tokens at now.
func (a *Application) LiveCredentials(now time.Time) int {
	n := 0
	for i := range a.Credentials {
		if a.Credentials[i].Live(now) {
			n++
		}
	}
	return n
}

// Credential returns the credential with the id, or nil.
func (a *Application) Credential(id string) *Credential {
	for i := range a.Credentials {
		if a.Credentials[i].ID == id {
			return &a.Credentials[i]
		}
	}
	return nil
}

// NewApplication is an application to register, at Version 1 with its
// first secret.
type NewApplication struct {
	AccountID string
	ClientID  string
	Name      string
	Scopes    []ScopeGrant // grants with AccessNone are not stored
	Secret    StoredSecret
	Actor     Actor
	FormKey   string // the form submission's id, so a second post is not a second application; "" for none
	Now       time.Time
}

// ApplicationUpdate is an edit of an application's name and scopes, made
// against the Version the editor saw.
type ApplicationUpdate struct {
	AccountID string
	ClientID  string
	Version   int
	Name      string
	Scopes    []ScopeGrant // the full new set; AccessNone grants are dropped
	Actor     Actor
	FormKey   string
	Now       time.Time
}

// SecretReset replaces an application's secret, made against the Version
// the admin confirmed.
type SecretReset struct {
	AccountID  string // "" for any account (the operator CLI)
	ClientID   string
	Version    int  // required unless AnyVersion
	AnyVersion bool // no version check: the operator CLI, which shows none
	Secret     StoredSecret
	Actor      Actor
	FormKey    string
	Now        time.Time
}

// ApplicationDeletion deletes an application, made against the Version the admin
// confirmed.
type ApplicationDeletion struct {
	AccountID  string // "" for any account (the operator CLI)
	ClientID   string
	Version    int  // required unless AnyVersion
	AnyVersion bool // no version check: the operator CLI, which shows none
	Actor      Actor
	FormKey    string
	Now        time.Time
}

// ListOptions selects a page of an account's applications.
type ListOptions struct {
	Filter string // case-insensitive substring of the name or the client ID; "" lists all
	After  string // the Next of the previous page; "" for the first page
	Before string // the Prev of the following page, for the page before it
	Limit  int    // page size: DefaultListLimit when 0 or less, at most MaxListLimit
	// Sort is one of the Sort orders; every one pages by keyset.
	// ExpiringBy keeps the applications with a secret that expires by
	// then, paged by offset: a view for finding a few.
	Sort       string
	ExpiringBy time.Time
}

// The orders of the applications list. Names sort naturally ("App 2"
// before "App 10") and case-insensitively; ties go by client ID.
const (
	SortName         = ""           // A to Z
	SortNameDesc     = "-name"      // Z to A
	SortCreated      = "created"    // oldest first
	SortCreatedDesc  = "-created"   // newest first
	SortLastUsed     = "last_used"  // never used first, then least recently used
	SortLastUsedDesc = "-last_used" // most recently used first, never used last
)

// Page sizes of the applications list (ListOptions.Limit).
const (
	DefaultListLimit = 50
	MaxListLimit     = 200
)

// MaxListTotal caps ApplicationPage.Total: counting every match of a filter
// in a large account costs more than the page, and past this many the portal
// shows "1,000+".
const MaxListTotal = 1000

// ApplicationPage is one page of an account's applications, in the order
// asked.
type ApplicationPage struct {
	Applications []*Application
	Next         string // cursor for ListOptions.After; "" on the last page
	Prev         string // cursor for ListOptions.Before; "" on the first page
	// Offset is the position of the page's first application in the list,
	// from 0, as far as paging by cursor knows it.
	Offset int
	// Total counts the applications matching the filter, up to MaxListTotal;
	// MaxListTotal+1 means "more than MaxListTotal".
	Total int
}
