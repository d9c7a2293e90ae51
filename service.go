package tokenservice

import (
	"context"
	"time"
)

// Principal is who asks for an operation on applications: a signed-in member
// of an account, or the operator CLI. The operation, not its caller, decides
// from it what may be done.
type Principal struct {
	Actor     Actor  // as the audit trail records it
	AccountID string // the account the member acts in; "" for the operator
	Admin     bool   // may change the account's applications and see their secrets
	// Operator is the operator CLI: it acts in any account and shows no
	// version, so its resets and deletions check none.
	Operator bool
}

// CLIPrincipal is the operator CLI.
var CLIPrincipal = Principal{Actor: CLIActor, Admin: true, Operator: true}

// MemberPrincipal is the signed-in user u, acting as actor.
func MemberPrincipal(u *User, actor Actor) Principal {
	return Principal{Actor: actor, AccountID: u.AccountID, Admin: u.Admin}
}

// ApplicationInput is an application's name and access per catalogue key as
// an admin chose them; the operation cleans and checks both.
type ApplicationInput struct {
	Name   string
	Access map[string]Access // by catalogue key; AccessNone drops a grant
	// ConfirmedName is a name the admin chose to keep although another
	// application of the account has it (case-insensitively): without it,
	// that name is EINVALID with the field "same_name", since two "App 1"
	// rows are a trap. Scripts that mean it pass the name itself.
	ConfirmedName string
}

// CreateApplicationInput registers an application.
type CreateApplicationInput struct {
	AccountID string // the operator's choice; a member registers in their own account
	ApplicationInput
	// SecretExpiresAt is when the first secret expires; zero for never, or
	// for the longest the account allows when it sets a maximum.
	SecretExpiresAt time.Time
	FormKey         string // the form submission's id, so a second post changes nothing; "" for none
}

// RotateSecretInput adds a new secret to an application and says how long
// its current secret keeps working, against the Version the admin saw.
type RotateSecretInput struct {
	ClientID string
	Version  int
	// Grace is how long the current secret keeps working (0: revoked at
	// once), unless GraceUntil names the moment instead.
	Grace      time.Duration
	GraceUntil time.Time
	// ExpiresAt is when the new secret expires; zero as in CreateApplicationInput.
	ExpiresAt time.Time
	FormKey   string
}

// RevokeCredentialInput revokes one credential of an application.
type RevokeCredentialInput struct {
	ClientID     string
	CredentialID string
	Version      int
	FormKey      string
}

// SettingsInput is an account's settings as an admin chose them, against
// the Version of the settings they saw.
type SettingsInput struct {
	MaxSecretLifetime time.Duration // 0: no maximum
	LeakAction        LeakAction
	Version           int
	FormKey           string
}

// UpdateApplicationInput edits an application against the Version the
// editor saw.
type UpdateApplicationInput struct {
	ClientID string
	Version  int
	ApplicationInput
	FormKey string
}

// ApplicationChange names the application a reset or a deletion acts on and
// the Version the admin confirmed (the operator's is not checked).
type ApplicationChange struct {
	ClientID string
	Version  int
	FormKey  string
}

// ApplicationService is every change to applications, with its rules: who
// may, validation, secret generation, the optimistic version and the audit
// event. The portal's handlers and the operator CLI call the same methods.
// Invalid input is EINVALID with one message per field ("name",
// "scope.<key>"); a member's another account's application is ENOTFOUND.
type ApplicationService interface {
	// CreateApplication registers an application with its first secret and
	// returns it with the secret's plaintext.
	CreateApplication(ctx context.Context, p Principal, in CreateApplicationInput) (*Application, string, error)
	// UpdateApplication saves a new name and scopes; a stale version is ECONFLICT.
	UpdateApplication(ctx context.Context, p Principal, in UpdateApplicationInput) (*Application, error)
	// ResetSecret replaces the secret and returns the application with the
	// new secret's plaintext.
	ResetSecret(ctx context.Context, p Principal, in ApplicationChange) (*Application, string, error)
	// DeleteApplication deletes the application and returns it as it was.
	DeleteApplication(ctx context.Context, p Principal, in ApplicationChange) (*Application, error)
	// RevealSecret and CopySecret return the current secret during its
	// reveal window and record who saw it; afterwards they are EGONE.
	RevealSecret(ctx context.Context, p Principal, clientID string) (string, error)
	CopySecret(ctx context.Context, p Principal, clientID string) (string, error)

	// RotateSecret adds a new secret, keeping the current one working for
	// the grace period, and returns the application with the new secret's
	// plaintext and credential id.
	RotateSecret(ctx context.Context, p Principal, in RotateSecretInput) (*Application, string, string, error)
	// RevokeCredential revokes one credential at once; never the last live one.
	RevokeCredential(ctx context.Context, p Principal, in RevokeCredentialInput) (*Application, error)

	// Settings returns the member's account's settings, or the account's
	// the operator names; UpdateSettings saves an admin's choice.
	Settings(ctx context.Context, p Principal, accountID string) (*AccountSettings, error)
	UpdateSettings(ctx context.Context, p Principal, in SettingsInput) (*AccountSettings, error)
	// MaxSecretLifetime is the longest a new secret of the account may
	// live, the stricter of the account's setting and the operator's
	// ceiling; 0 for no limit.
	MaxSecretLifetime(ctx context.Context, accountID string) (time.Duration, error)

	// ReportLeakedSecrets acts on secrets someone reports leaked (see
	// LeakReport); it never tells whether any existed.
	ReportLeakedSecrets(ctx context.Context, reporter Actor, secrets []string) error
}
