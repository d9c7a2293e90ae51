package views

import (
	"fmt"
	"time"

	"tokenservice"
)

// CredentialRow is one credential in the Details page's Credentials section.
type CredentialRow struct {
	ID         string
	Kind       string // "Client secret"
	Name       string // the hint, "tss_…a1b2"; "" until a secret from before credentials is next used
	State      tokenservice.CredentialState
	Leaked     bool
	CreatedAt  time.Time
	CreatedBy  string
	ExpiresAt  time.Time // zero: never
	WorksUntil time.Time // the end of a rotation's grace period; zero: none
	RevokedAt  time.Time
	RevokedBy  string
	Reason     tokenservice.RevokeReason
	LastUsedAt time.Time // zero: never
	Now        time.Time
	Revocable  bool // an admin may revoke it: live and not the last live one
	RevokeURL  string
}

// StateLabel says the credential's state in words.
func (r CredentialRow) StateLabel() string {
	switch {
	case r.State == tokenservice.CredentialRevoked:
		return "Revoked"
	case r.State == tokenservice.CredentialExpired:
		return "Expired"
	case r.Leaked:
		return "Reported leaked"
	case r.State == tokenservice.CredentialExpiring && !r.WorksUntil.IsZero():
		return "Stops working " + Until(r.Now, r.WorksUntil)
	case r.State == tokenservice.CredentialExpiring:
		return "Expires " + Until(r.Now, r.ExpiresAt)
	case !r.WorksUntil.IsZero():
		return "Stops working " + Until(r.Now, r.WorksUntil)
	}
	return "Active"
}

// RevokedByText says who or what revoked the credential: the person, or
// the reason when it was not one.
func (r CredentialRow) RevokedByText() string {
	switch r.Reason {
	case tokenservice.RevokedByGracePeriod, tokenservice.RevokedByLeakReport:
		return r.Reason.Label()
	case tokenservice.RevokedByReset:
		return r.RevokedBy + " (secret reset)"
	}
	return r.RevokedBy
}

// StateClass is the colour of the state: ok, warn or danger.
func (r CredentialRow) StateClass() string {
	switch {
	case r.State == tokenservice.CredentialRevoked, r.State == tokenservice.CredentialExpired, r.Leaked:
		return "state state--danger"
	case r.State == tokenservice.CredentialExpiring, !r.WorksUntil.IsZero():
		return "state state--warn"
	}
	return "state state--ok"
}

// RotatePage is the form that rotates an application's secret.
type RotatePage struct {
	AppName   string
	ClientID  string
	Version   int
	FormKey   string
	Grace     string // the chosen option: "0", "1h", "24h", "168h" or "date"
	GraceDate string // YYYY-MM-DD, with Grace "date"
	Expires   string // YYYY-MM-DD or ""
	MaxExpiry string // the latest expiry allowed, YYYY-MM-DD; "" for no maximum
	MaxText   string // the maximum lifetime in words; "" for none
	Errors    map[string]string
	Window    string // how long the new secret can be viewed, in words
}

// GraceOptions are the rotate form's choices of how long the old secret
// keeps working; the form starts at 24 hours (DefaultGracePeriod).
var GraceOptions = []Option{
	{Value: "0", Label: "Immediately: revoke it now"},
	{Value: "1h", Label: "1 hour"},
	{Value: "24h", Label: "24 hours"},
	{Value: "168h", Label: "7 days"},
	{Value: "date", Label: "Until a date"},
}

// SettingsPage is the account's Settings page.
type SettingsPage struct {
	AccountName       string
	MaxSecretLifetime string // days, "" for none
	Ceiling           string // the operator's ceiling in words; "" for none
	LeakAction        tokenservice.LeakAction
	Version           int
	FormKey           string
	Errors            map[string]string
	Flash             string
	UpdatedAt         time.Time
	UpdatedBy         string
}

// Duration says a duration in the largest whole unit: "24 hours", "7 days".
func Duration(d time.Duration) string {
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	case d >= 2*time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%d hours", d/time.Hour)
	case d == time.Hour:
		return "1 hour"
	case d >= 2*time.Minute:
		return fmt.Sprintf("%d minutes", d/time.Minute)
	}
	return fmt.Sprintf("%d seconds", d/time.Second)
}

// Lifetime says a maximum secret lifetime: "90 days", or "none".
func Lifetime(d time.Duration) string {
	if d <= 0 {
		return "none"
	}
	if n := d / (24 * time.Hour); n == 1 {
		return "1 day"
	}
	return Duration(d)
}

// LeakActionLabel says what happens to a secret reported leaked.
func LeakActionLabel(a tokenservice.LeakAction) string {
	if a == tokenservice.LeakNotify {
		return "mark it leaked and keep it working"
	}
	return "revoke it at once"
}

// Ago says how long before now t was: "Never", "just now", "3 days ago".
func Ago(now, t time.Time) string {
	if t.IsZero() {
		return "Never"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	}
	return plural(int(d/(24*time.Hour)), "day") + " ago"
}

// Until says when t comes after now: "in 3 hours", "on 4 Jan 2027".
func Until(now, t time.Time) string {
	d := t.Sub(now)
	switch {
	case d <= 0:
		return "now"
	case d < time.Hour:
		return "in " + plural(int((d+time.Minute-1)/time.Minute), "minute")
	case d < 48*time.Hour:
		return "in " + plural(int(d/time.Hour), "hour")
	case d < 14*24*time.Hour:
		return "in " + plural(int(d/(24*time.Hour)), "day")
	}
	return "on " + t.UTC().Format("2 Jan 2006")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
