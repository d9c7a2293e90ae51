package tokenservice

import (
	"time"
)

// CredentialKind is how a credential proves an application's identity.
type CredentialKind string

// The kinds of credential.
const (
	CredentialClientSecret CredentialKind = "client_secret"
)

// Label is how pages name the kind.
func (k CredentialKind) Label() string {
	switch k {
	case CredentialClientSecret:
		return "Client secret"
	}
	return string(k)
}

// Credential is one of an application's ways to authenticate at the token
// endpoint. An application has one or more; at most MaxLiveSecrets client
// secrets are live at a time.
type Credential struct {
	ID   string // short and random, unique in its application: what tokens ("cred") and the CLI name
	Kind CredentialKind
	// Hint is what people see of a secret: "tss_…a1b2". A secret from
	// before credentials had one gets it at its next use; "" until then.
	Hint string

	CreatedAt time.Time
	CreatedBy string
	ExpiresAt time.Time // zero: does not expire
	// RevokeAt is the end of a rotation's grace period: the credential
	// stops working then, and the sweeper records its revocation.
	RevokeAt     time.Time
	RevokedAt    time.Time
	RevokedBy    string // who or what revoked it (see RevokeReason)
	RevokeReason RevokeReason
	LeakedAt     time.Time // reported leaked and kept working (the account's choice)
	LastUsedAt   time.Time // the last token it got, as the sweeper last wrote it
	RevealUntil  time.Time // end of a new secret's reveal window; zero once ended
	Migrated     bool      // the secret its application had before credentials: tokens of then name none
}

// RevokeReason says why a credential was revoked.
type RevokeReason string

// The reasons a credential is revoked.
const (
	RevokedByPerson      RevokeReason = "person"       // an admin, on the Details page
	RevokedByCLI         RevokeReason = "cli"          // the operator CLI
	RevokedByGracePeriod RevokeReason = "grace_period" // a rotation's grace period ended
	RevokedByLeakReport  RevokeReason = "leak_report"  // POST /oauth2/secrets/leaked
	RevokedByReset       RevokeReason = "reset"        // RESET CLIENT SECRET revokes every credential
	RevokedAfterExpiry   RevokeReason = "expired"      // a rotation replaces secrets that expired
)

// Label is how pages say who revoked a credential.
func (r RevokeReason) Label() string {
	switch r {
	case RevokedByPerson:
		return "an admin"
	case RevokedByCLI:
		return "the operator CLI"
	case RevokedByGracePeriod:
		return "the end of its grace period"
	case RevokedByLeakReport:
		return "a leak report"
	case RevokedByReset:
		return "a secret reset"
	case RevokedAfterExpiry:
		return "a rotation after it expired"
	}
	return string(r)
}

// CredentialState is a credential's state at a moment.
type CredentialState string

// The states of a credential.
const (
	CredentialActive   CredentialState = "active"
	CredentialExpiring CredentialState = "expiring" // expires, or ends its grace period, within ExpiryWarning
	CredentialExpired  CredentialState = "expired"
	CredentialRevoked  CredentialState = "revoked"
)

// ExpiryWarning is how long before its end a credential is "expiring soon".
const ExpiryWarning = 14 * 24 * time.Hour

// MaxLiveSecrets is how many client secrets an application may have live.
const MaxLiveSecrets = 2

// MaxGracePeriod is the longest an old secret keeps working after a rotation.
const MaxGracePeriod = 30 * 24 * time.Hour

// DefaultGracePeriod is what a rotation offers first.
const DefaultGracePeriod = 24 * time.Hour

// Revoked reports whether the credential no longer works at now because it
// was revoked or its grace period ended.
func (c *Credential) Revoked(now time.Time) bool {
	return !c.RevokedAt.IsZero() || (!c.RevokeAt.IsZero() && !now.Before(c.RevokeAt))
}

// Expired reports whether the credential is past its expiry at now.
func (c *Credential) Expired(now time.Time) bool {
	return !c.ExpiresAt.IsZero() && !now.Before(c.ExpiresAt)
}

// Live reports whether the credential can get tokens at now.
func (c *Credential) Live(now time.Time) bool { return !c.Revoked(now) && !c.Expired(now) }

// End is when the credential stops working by itself: the earlier of its
// expiry and the end of its grace period; zero for never.
func (c *Credential) End() time.Time {
	switch {
	case c.RevokeAt.IsZero():
		return c.ExpiresAt
	case c.ExpiresAt.IsZero() || c.RevokeAt.Before(c.ExpiresAt):
		return c.RevokeAt
	}
	return c.ExpiresAt
}

// State is the credential's state at now.
func (c *Credential) State(now time.Time) CredentialState {
	switch {
	case c.Revoked(now):
		return CredentialRevoked
	case c.Expired(now):
		return CredentialExpired
	case !c.End().IsZero() && c.End().Sub(now) <= ExpiryWarning:
		return CredentialExpiring
	}
	return CredentialActive
}

// SecretRevealable reports whether the new secret may still be shown at now.
func (c *Credential) SecretRevealable(now time.Time) bool {
	return !c.RevealUntil.IsZero() && now.Before(c.RevealUntil)
}

// ClientSecret is what the token endpoint knows of a client secret that has
// not been revoked: its hash and when it stops working.
type ClientSecret struct {
	ID        string
	Hash      []byte
	ExpiresAt time.Time // zero: never
	RevokeAt  time.Time // zero: no grace period running
	Migrated  bool
}

// Usable reports whether the secret may get a token at now.
func (s *ClientSecret) Usable(now time.Time) bool {
	return (s.RevokeAt.IsZero() || now.Before(s.RevokeAt)) && (s.ExpiresAt.IsZero() || now.Before(s.ExpiresAt))
}

// SecretRotation adds a new secret to an application and sets when its
// current one stops working, made against the Version the admin saw.
type SecretRotation struct {
	AccountID  string // "" for any account (the operator CLI)
	ClientID   string
	Version    int
	AnyVersion bool
	Secret     StoredSecret
	// Grace is how long the current secret keeps working; 0 revokes it now.
	Grace   time.Duration
	Actor   Actor
	FormKey string
	Now     time.Time
}

// CredentialRevocation revokes one credential of an application.
type CredentialRevocation struct {
	AccountID    string // "" for any account (the operator CLI)
	ClientID     string
	CredentialID string
	Version      int
	AnyVersion   bool
	Reason       RevokeReason
	Actor        Actor
	FormKey      string
	Now          time.Time
}

// LeakReport is a client secret someone found where it should not be,
// identified by its keyed hash.
type LeakReport struct {
	Hash  []byte
	Hint  string
	Actor Actor // the reporter: address and user agent
	Now   time.Time
}

// LeakAction is what an account has done with a reported live secret.
type LeakAction string

// The choices of AccountSettings.LeakAction.
const (
	LeakRevoke LeakAction = "revoke" // revoke it at once (the default)
	LeakNotify LeakAction = "notify" // mark it leaked on the Details page and keep it working
)

// AccountSettings are the choices an account's admins make for all its
// applications.
type AccountSettings struct {
	AccountID string
	// MaxSecretLifetime is the longest a new secret may live; 0 for no limit.
	MaxSecretLifetime time.Duration
	LeakAction        LeakAction
	Version           int // 0 until first saved
	UpdatedAt         time.Time
	UpdatedBy         string
}

// SettingsUpdate saves an account's settings against the Version seen.
type SettingsUpdate struct {
	Settings AccountSettings
	Version  int
	Actor    Actor
	FormKey  string
	Now      time.Time
}
