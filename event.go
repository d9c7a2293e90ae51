package tokenservice

import (
	"time"
)

// Action is what an entry of the audit trail records.
type Action string

// The actions of the audit trail.
const (
	ActionCreated        Action = "application.created"
	ActionRenamed        Action = "application.renamed"
	ActionScopesChanged  Action = "application.scopes_changed"
	ActionSecretReset    Action = "secret.reset"
	ActionSecretRevealed Action = "secret.revealed"
	ActionSecretCopied   Action = "secret.copied"
	ActionDeleted        Action = "application.deleted"

	ActionCredentialAdded     Action = "credential.added"
	ActionSecretRotated       Action = "secret.rotated"
	ActionCredentialRevoked   Action = "credential.revoked"
	ActionCredentialExpired   Action = "credential.expired"
	ActionCredentialFirstUsed Action = "credential.first_used"
	ActionCredentialLeaked    Action = "credential.leaked"
	ActionSettingsChanged     Action = "settings.changed"
	ActionSignedIn            Action = "session.signed_in"
	ActionSignedOut           Action = "session.signed_out"
	ActionAccessRefused       Action = "access.refused"
	// ActionTestToken: an admin got a token for the application from its
	// Details page, to see what its tokens hold.
	ActionTestToken Action = "token.test_issued"
)

// Actions lists every action, in the order the Activity filter offers them.
var Actions = []Action{
	ActionCreated, ActionRenamed, ActionScopesChanged, ActionSecretReset,
	ActionSecretRevealed, ActionSecretCopied, ActionDeleted,
	ActionCredentialAdded, ActionSecretRotated, ActionCredentialRevoked, ActionCredentialExpired,
	ActionCredentialFirstUsed, ActionCredentialLeaked, ActionSettingsChanged,
	ActionTestToken, ActionSignedIn, ActionSignedOut, ActionAccessRefused,
}

// Valid reports whether a is one of the known actions.
func (a Action) Valid() bool {
	for _, known := range Actions {
		if a == known {
			return true
		}
	}
	return false
}

// Label is the wording the Activity page shows for a.
func (a Action) Label() string {
	switch a {
	case ActionCreated:
		return "Application created"
	case ActionRenamed:
		return "Application renamed"
	case ActionScopesChanged:
		return "Scopes changed"
	case ActionSecretReset:
		return "Client secret reset"
	case ActionSecretRevealed:
		return "Client secret shown"
	case ActionSecretCopied:
		return "Client secret copied"
	case ActionDeleted:
		return "Application deleted"
	case ActionCredentialAdded:
		return "Credential added"
	case ActionSecretRotated:
		return "Client secret rotated"
	case ActionCredentialRevoked:
		return "Credential revoked"
	case ActionTestToken:
		return "Test token issued"
	case ActionCredentialExpired:
		return "Credential expired"
	case ActionCredentialFirstUsed:
		return "New secret first used"
	case ActionCredentialLeaked:
		return "Secret reported leaked"
	case ActionSettingsChanged:
		return "Settings changed"
	case ActionSignedIn:
		return "Signed in"
	case ActionSignedOut:
		return "Signed out"
	case ActionAccessRefused:
		return "Access refused"
	}
	return string(a)
}

// Actor is who made a change and from where, as the audit trail records it.
type Actor struct {
	Subject   string // the identity provider's subject; "cli" for the operator CLI
	Email     string
	Address   string // the client's address (see --trusted-proxies); "" for the CLI
	UserAgent string
}

// CLIActor is the actor of the operator CLI's changes.
var CLIActor = Actor{Subject: "cli", UserAgent: "tokenservice CLI"}

// Name is how pages show who did something: the e-mail, else the subject.
func (a Actor) Name() string {
	if a.Email != "" {
		return a.Email
	}
	return a.Subject
}

// Event is one entry of an account's audit trail. It never holds a secret or
// a token.
type Event struct {
	ID        int64 // increases with time: the trail's order and its page cursor
	AccountID string
	At        time.Time
	Action    Action
	Actor     Actor

	// ClientID and ApplicationName name the application, as it was then;
	// both are "" for sign-in and sign-out.
	ClientID        string
	ApplicationName string

	// OldName is the name before a rename.
	OldName string
	// OldScopes and Scopes are the grants before and after a scope change;
	// Scopes alone are the grants an application was created with.
	OldScopes []ScopeGrant
	Scopes    []ScopeGrant

	// Credential names the credential an event is about (its hint, or its
	// id while the hint is unknown), of kind CredentialKind.
	Credential     string
	CredentialKind CredentialKind
	ExpiresAt      time.Time    // a new credential's expiry; zero for none
	RevokeAt       time.Time    // when a rotated secret stops working
	Reason         RevokeReason // why a credential was revoked

	// OldSettings and Settings are an account's settings before and after.
	OldSettings, Settings *AccountSettings

	// Method and Path are the request a person was refused, Route its
	// pattern (e.g. "/applications/:client_id/reset"), Refused why.
	Method, Path, Route string
	Refused             Refusal
}

// Refusal is why the portal refused a person's request.
type Refusal string

// The refusals the audit trail records.
const (
	RefusedReadOnly Refusal = "read_only" // a read-only member asked for what only admins may do
	RefusedNotFound Refusal = "not_found" // no such application (or credential) in the person's account
)

// Label is how the Activity page says why.
func (r Refusal) Label() string {
	switch r {
	case RefusedReadOnly:
		return "read-only access"
	case RefusedNotFound:
		return "not found in the account"
	}
	return string(r)
}

// EventFilter selects a page of an account's audit trail, newest first.
type EventFilter struct {
	Action   Action // "" for every action
	Actor    string // the actor's subject; "" for everyone
	ClientID string // one application's events; "" for the whole account

	// From and To bound the events' time: at or after From, before To;
	// the zero time for no bound.
	From, To time.Time

	// Before and After page through the trail: events older than Before, or
	// (when After is set) the ones just newer than After. 0 for the newest.
	Before, After int64
	Limit         int // DefaultEventLimit when 0 or less, at most MaxEventLimit
}

// Page sizes of the audit trail (EventFilter.Limit).
const (
	DefaultEventLimit = 50
	MaxEventLimit     = 1000
)

// EventPage is one page of the audit trail, newest first.
type EventPage struct {
	Events []*Event
	// Older is the Before of the next older page, Newer the After of the
	// next newer one; 0 when there is none.
	Older, Newer int64
}

// EventActor is a person who appears in an account's audit trail.
type EventActor struct {
	Subject string
	Email   string
}
