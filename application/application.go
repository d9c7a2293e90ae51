// Package application owns the rules of changing an account's applications:
// who may, validation against the scope catalogue, secret generation, the
// optimistic version and the audit event. Its Service implements
// tokenservice.ApplicationService on top of the store, for the portal's
// handlers and the operator CLI alike.
package application

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"tokenservice"
	"tokenservice/scope"
	"tokenservice/secret"
)

// Store is what the operations need from the database. It writes each change
// and its event in one transaction; a member's another account's application
// is ENOTFOUND.
type Store interface {
	GetApplication(ctx context.Context, accountID, clientID string) (*tokenservice.Application, error)
	CreateApplication(ctx context.Context, a tokenservice.NewApplication) (*tokenservice.Application, error)
	UpdateApplication(ctx context.Context, u tokenservice.ApplicationUpdate) (*tokenservice.Application, error)
	ResetSecret(ctx context.Context, r tokenservice.SecretReset) (*tokenservice.Application, error)
	DeleteApplication(ctx context.Context, d tokenservice.ApplicationDeletion) error
	SecretCiphertext(ctx context.Context, accountID, clientID string, action tokenservice.Action, actor tokenservice.Actor, now time.Time) ([]byte, int, error)
	FormSubmitted(ctx context.Context, accountID, formKey string) (clientID string, ok bool, err error)
	RotateSecret(ctx context.Context, r tokenservice.SecretRotation) (*tokenservice.Application, string, error)
	RevokeCredential(ctx context.Context, r tokenservice.CredentialRevocation) (*tokenservice.Application, error)
	ApplicationByClientID(ctx context.Context, clientID string) (*tokenservice.Application, []byte, error)
	AccountSettings(ctx context.Context, accountID string) (*tokenservice.AccountSettings, error)
	UpdateAccountSettings(ctx context.Context, u tokenservice.SettingsUpdate) (*tokenservice.AccountSettings, error)
	ReportLeak(ctx context.Context, r tokenservice.LeakReport) (bool, error)
	// ApplicationNamed returns the account's oldest application with the
	// name, case-insensitively, other than except; nil for none.
	ApplicationNamed(ctx context.Context, accountID, name, except string) (*tokenservice.Application, error)
}

// Service implements tokenservice.ApplicationService.
type Service struct {
	store     Store
	catalogue *scope.Catalogue
	keys      *secret.Keys
	window    time.Duration // how long a new secret can be viewed
	now       func() time.Time
	// ceiling is the operator's maximum secret lifetime for the whole
	// region (--max-secret-lifetime); 0 for none.
	ceiling time.Duration
}

var _ tokenservice.ApplicationService = (*Service)(nil)

// NewService returns the operations on store, checking scopes against
// catalogue and making secrets with keys that can be viewed for window.
func NewService(store Store, catalogue *scope.Catalogue, keys *secret.Keys, window time.Duration, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, catalogue: catalogue, keys: keys, window: window, now: now}
}

// SetMaxSecretLifetime sets the operator's ceiling on every account's
// secret lifetime; 0 for none.
func (s *Service) SetMaxSecretLifetime(d time.Duration) { s.ceiling = d }

// mayChange refuses read-only members, whatever page they were shown.
func mayChange(p tokenservice.Principal) error {
	if !p.Admin && !p.Operator {
		return tokenservice.ErrReadOnly
	}
	return nil
}

// Check cleans the name and checks the access chosen per catalogue key for an
// application that has the grants current (nil for a new one). It returns
// the name and grants to store, or an EINVALID *tokenservice.Error with one
// message per field.
func Check(c *scope.Catalogue, in tokenservice.ApplicationInput, current []tokenservice.ScopeGrant) (string, []tokenservice.ScopeGrant, error) {
	fields := map[string]string{}
	name, err := tokenservice.CleanName(in.Name)
	if err != nil {
		fields["name"] = tokenservice.ErrorMessage(err)
	}
	grants, err := c.Check(in.Access, current)
	if e, ok := errors.AsType[*tokenservice.Error](err); ok {
		maps.Copy(fields, e.Fields)
		if len(e.Fields) == 0 {
			fields["form"] = e.Message
		}
	}
	if len(fields) > 0 {
		return "", nil, &tokenservice.Error{Code: tokenservice.EINVALID, Message: "Some fields are not valid.", Fields: fields}
	}
	return name, grants, nil
}

// CreateApplication registers an application in the member's account, or
// in the one the operator names.
func (s *Service) CreateApplication(ctx context.Context, p tokenservice.Principal, in tokenservice.CreateApplicationInput) (*tokenservice.Application, string, error) {
	if err := mayChange(p); err != nil {
		return nil, "", err
	}
	account := p.AccountID
	if p.Operator {
		account = in.AccountID
	}
	now := s.now()
	name, grants, err := Check(s.catalogue, in.ApplicationInput, nil)
	expires, expErr := s.secretExpiry(ctx, account, in.SecretExpiresAt, now)
	if err != nil || expErr != nil {
		return nil, "", joinInvalid(err, expErr)
	}
	if err := s.checkSameName(ctx, account, name, "", in.ConfirmedName, in.FormKey); err != nil {
		return nil, "", err
	}
	clientID := secret.NewClientID()
	plaintext, stored := s.keys.NewStored(clientID, now.Add(s.window))
	stored.ExpiresAt = expires
	app, err := s.store.CreateApplication(ctx, tokenservice.NewApplication{
		AccountID: account, ClientID: clientID, Name: name, Scopes: grants,
		Secret: stored, Actor: p.Actor, FormKey: in.FormKey, Now: now,
	})
	if err != nil {
		return nil, "", err
	}
	return app, plaintext, nil
}

// UpdateApplication saves a member's edit against the version it was made
// from: if someone saved in between, it is ECONFLICT and nothing changes.
func (s *Service) UpdateApplication(ctx context.Context, p tokenservice.Principal, in tokenservice.UpdateApplicationInput) (*tokenservice.Application, error) {
	if err := mayChange(p); err != nil {
		return nil, err
	}
	current, err := s.store.GetApplication(ctx, p.AccountID, in.ClientID)
	if err != nil {
		return nil, err
	}
	name, grants, err := Check(s.catalogue, in.ApplicationInput, current.Scopes)
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(name, current.Name) {
		if err := s.checkSameName(ctx, p.AccountID, name, current.ClientID, in.ConfirmedName, in.FormKey); err != nil {
			return nil, err
		}
	}
	return s.store.UpdateApplication(ctx, tokenservice.ApplicationUpdate{
		AccountID: p.AccountID, ClientID: in.ClientID, Version: in.Version, Name: name, Scopes: grants,
		Actor: p.Actor, FormKey: in.FormKey, Now: s.now(),
	})
}

// ResetSecret replaces the secret at once: the old one stops working.
func (s *Service) ResetSecret(ctx context.Context, p tokenservice.Principal, in tokenservice.ApplicationChange) (*tokenservice.Application, string, error) {
	if err := mayChange(p); err != nil {
		return nil, "", err
	}
	if !p.Operator {
		// Not the account's: not found, before any question of version.
		if _, err := s.store.GetApplication(ctx, p.AccountID, in.ClientID); err != nil {
			return nil, "", err
		}
	}
	now := s.now()
	account, err := s.accountOf(ctx, p, in.ClientID)
	if err != nil {
		return nil, "", err
	}
	expires, err := s.secretExpiry(ctx, account, time.Time{}, now)
	if err != nil {
		return nil, "", err
	}
	plaintext, stored := s.keys.NewStored(in.ClientID, now.Add(s.window))
	stored.ExpiresAt = expires
	app, err := s.store.ResetSecret(ctx, tokenservice.SecretReset{
		AccountID: p.AccountID, ClientID: in.ClientID, Version: in.Version, AnyVersion: p.Operator,
		Secret: stored, Actor: p.Actor, FormKey: in.FormKey, Now: now,
	})
	if err != nil {
		return nil, "", err
	}
	return app, plaintext, nil
}

// DeleteApplication deletes the application and its credentials. A form
// posted again after its first post deleted it is a *tokenservice.DuplicateError.
// The operator gets back the Client ID only.
func (s *Service) DeleteApplication(ctx context.Context, p tokenservice.Principal, in tokenservice.ApplicationChange) (*tokenservice.Application, error) {
	if err := mayChange(p); err != nil {
		return nil, err
	}
	app := &tokenservice.Application{ClientID: in.ClientID}
	if !p.Operator {
		var err error
		app, err = s.store.GetApplication(ctx, p.AccountID, in.ClientID)
		if tokenservice.ErrorCode(err) == tokenservice.ENOTFOUND && in.FormKey != "" {
			if id, done, ferr := s.store.FormSubmitted(ctx, p.AccountID, in.FormKey); ferr != nil {
				return nil, ferr
			} else if done {
				return nil, &tokenservice.DuplicateError{ClientID: id}
			}
		}
		if err != nil {
			return nil, err
		}
	}
	err := s.store.DeleteApplication(ctx, tokenservice.ApplicationDeletion{
		AccountID: p.AccountID, ClientID: in.ClientID, Version: in.Version, AnyVersion: p.Operator,
		Actor: p.Actor, FormKey: in.FormKey, Now: s.now(),
	})
	if err != nil {
		return nil, err
	}
	return app, nil
}

// RevealSecret returns the current secret to show on the page.
func (s *Service) RevealSecret(ctx context.Context, p tokenservice.Principal, clientID string) (string, error) {
	return s.plaintext(ctx, p, clientID, tokenservice.ActionSecretRevealed)
}

// CopySecret returns the current secret for the clipboard.
func (s *Service) CopySecret(ctx context.Context, p tokenservice.Principal, clientID string) (string, error) {
	return s.plaintext(ctx, p, clientID, tokenservice.ActionSecretCopied)
}

// plaintext decrypts the current secret if its reveal window is open;
// afterwards the store answers EGONE (and has erased the ciphertext).
func (s *Service) plaintext(ctx context.Context, p tokenservice.Principal, clientID string, action tokenservice.Action) (string, error) {
	if err := mayChange(p); err != nil {
		return "", err
	}
	ct, _, err := s.store.SecretCiphertext(ctx, p.AccountID, clientID, action, p.Actor, s.now())
	if err != nil {
		return "", err
	}
	pt, err := s.keys.Decrypt(ct, clientID)
	if err != nil {
		return "", fmt.Errorf("application: decrypt secret of %s: %w", clientID, err)
	}
	return pt, nil
}

// accountOf returns the account the principal acts on the application in:
// the member's own (another account's application is ENOTFOUND), or for the
// operator the application's.
func (s *Service) accountOf(ctx context.Context, p tokenservice.Principal, clientID string) (string, error) {
	if !p.Operator {
		return p.AccountID, nil
	}
	app, _, err := s.store.ApplicationByClientID(ctx, clientID)
	if err != nil {
		return "", err
	}
	return app.AccountID, nil
}

// MaxSecretLifetime is the stricter of the account's maximum secret
// lifetime and the operator's ceiling; 0 for none.
func (s *Service) MaxSecretLifetime(ctx context.Context, accountID string) (time.Duration, error) {
	settings, err := s.store.AccountSettings(ctx, accountID)
	if err != nil {
		return 0, err
	}
	limit := settings.MaxSecretLifetime
	if s.ceiling > 0 && (limit == 0 || s.ceiling < limit) {
		limit = s.ceiling
	}
	return limit, nil
}

// secretExpiry checks the expiry an admin chose for a new secret of the
// account against its maximum lifetime, and returns the one to store: the
// chosen one, or the latest allowed when there is a maximum and none was
// chosen. A bad one is EINVALID on the field "expires".
func (s *Service) secretExpiry(ctx context.Context, accountID string, chosen, now time.Time) (time.Time, error) {
	limit, err := s.MaxSecretLifetime(ctx, accountID)
	if err != nil {
		return time.Time{}, err
	}
	switch {
	case chosen.IsZero() && limit == 0:
		return time.Time{}, nil
	case chosen.IsZero():
		return now.Add(limit), nil
	case !chosen.After(now):
		return time.Time{}, fieldError("expires", "The expiry date must be in the future.")
	case limit > 0 && chosen.After(now.Add(limit)):
		return time.Time{}, fieldError("expires", fmt.Sprintf(
			"Secrets of this account may live at most %s: choose %s or earlier.", Days(limit), now.Add(limit).UTC().Format("2 Jan 2006")))
	}
	return chosen, nil
}

// Days says a whole number of days in words: "1 day", "90 days".
func Days(d time.Duration) string {
	n := int(d / (24 * time.Hour))
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

// checkSameName refuses a name another application of the account (but
// except) has, case-insensitively, unless the admin confirmed that name. A
// form posted again is left to the store, which answers what the first post did.
func (s *Service) checkSameName(ctx context.Context, accountID, name, except, confirmed, formKey string) error {
	if strings.EqualFold(strings.TrimSpace(confirmed), name) {
		return nil
	}
	other, err := s.store.ApplicationNamed(ctx, accountID, name, except)
	if err != nil || other == nil {
		return err
	}
	if formKey != "" {
		if _, done, err := s.store.FormSubmitted(ctx, accountID, formKey); err != nil || done {
			return err
		}
	}
	return fieldError("same_name", fmt.Sprintf("An application named “%s” already exists (created %s by %s). Two applications with the same name are easy to mix up.",
		other.Name, other.CreatedAt.UTC().Format("2 Jan 2006"), other.CreatedBy))
}

func fieldError(field, message string) error {
	return &tokenservice.Error{Code: tokenservice.EINVALID, Message: message, Fields: map[string]string{field: message}}
}

// joinInvalid merges the field messages of EINVALID errors (nil ones are
// skipped); any other error is returned as it is.
func joinInvalid(errs ...error) error {
	fields := map[string]string{}
	for _, err := range errs {
		if err == nil {
			continue
		}
		e, ok := errors.AsType[*tokenservice.Error](err)
		if !ok || e.Code != tokenservice.EINVALID {
			return err
		}
		maps.Copy(fields, e.Fields)
	}
	return &tokenservice.Error{Code: tokenservice.EINVALID, Message: "Some fields are not valid.", Fields: fields}
}

// RotateSecret adds a new secret; the current one keeps working for the
// grace period (at most tokenservice.MaxGracePeriod), then the sweeper
// revokes it. A third live secret is EINVALID; a stale version ECONFLICT.
func (s *Service) RotateSecret(ctx context.Context, p tokenservice.Principal, in tokenservice.RotateSecretInput) (*tokenservice.Application, string, string, error) {
	if err := mayChange(p); err != nil {
		return nil, "", "", err
	}
	account, err := s.accountOf(ctx, p, in.ClientID)
	if err != nil {
		return nil, "", "", err
	}
	if !p.Operator {
		if _, err := s.store.GetApplication(ctx, p.AccountID, in.ClientID); err != nil {
			return nil, "", "", err
		}
	}
	now := s.now()
	grace := in.Grace
	if !in.GraceUntil.IsZero() {
		grace = in.GraceUntil.Sub(now)
	}
	var graceErr error
	switch {
	case grace < 0:
		graceErr = fieldError("grace", "The old secret cannot stop working in the past: choose a later time, or revoke it immediately.")
	case grace > tokenservice.MaxGracePeriod:
		graceErr = fieldError("grace", "The old secret can keep working for at most 30 days.")
	}
	expires, expErr := s.secretExpiry(ctx, account, in.ExpiresAt, now)
	if graceErr != nil || expErr != nil {
		return nil, "", "", joinInvalid(graceErr, expErr)
	}
	plaintext, stored := s.keys.NewStored(in.ClientID, now.Add(s.window))
	stored.ExpiresAt = expires
	app, credID, err := s.store.RotateSecret(ctx, tokenservice.SecretRotation{
		AccountID: p.AccountID, ClientID: in.ClientID, Version: in.Version, AnyVersion: p.Operator,
		Secret: stored, Grace: grace, Actor: p.Actor, FormKey: in.FormKey, Now: now,
	})
	if err != nil {
		return nil, "", "", err
	}
	return app, plaintext, credID, nil
}

// RevokeCredential revokes one credential at once, never the application's
// last live one; a credential id it does not have is ENOTFOUND.
func (s *Service) RevokeCredential(ctx context.Context, p tokenservice.Principal, in tokenservice.RevokeCredentialInput) (*tokenservice.Application, error) {
	if err := mayChange(p); err != nil {
		return nil, err
	}
	if !secret.ValidCredentialID(in.CredentialID) {
		return nil, tokenservice.Errorf(tokenservice.ENOTFOUND, "Credential not found.")
	}
	if !p.Operator {
		if _, err := s.store.GetApplication(ctx, p.AccountID, in.ClientID); err != nil {
			return nil, err
		}
	}
	reason := tokenservice.RevokedByPerson
	if p.Operator {
		reason = tokenservice.RevokedByCLI
	}
	return s.store.RevokeCredential(ctx, tokenservice.CredentialRevocation{
		AccountID: p.AccountID, ClientID: in.ClientID, CredentialID: in.CredentialID,
		Version: in.Version, AnyVersion: p.Operator, Reason: reason,
		Actor: p.Actor, FormKey: in.FormKey, Now: s.now(),
	})
}

// Settings returns an account's settings: any member may read their own.
func (s *Service) Settings(ctx context.Context, p tokenservice.Principal, accountID string) (*tokenservice.AccountSettings, error) {
	if !p.Operator {
		accountID = p.AccountID
	}
	return s.store.AccountSettings(ctx, accountID)
}

// MaxSettingsLifetime is the longest maximum secret lifetime an account may set.
const MaxSettingsLifetime = 5 * 365 * 24 * time.Hour

// UpdateSettings saves an admin's settings for their account.
func (s *Service) UpdateSettings(ctx context.Context, p tokenservice.Principal, in tokenservice.SettingsInput) (*tokenservice.AccountSettings, error) {
	if err := mayChange(p); err != nil {
		return nil, err
	}
	fields := map[string]string{}
	switch {
	case in.MaxSecretLifetime < 0, in.MaxSecretLifetime%(24*time.Hour) != 0:
		fields["max_secret_lifetime"] = "Enter a whole number of days, or leave it empty for no maximum."
	case in.MaxSecretLifetime > 0 && in.MaxSecretLifetime < 24*time.Hour:
		fields["max_secret_lifetime"] = "The maximum lifetime is at least 1 day."
	case in.MaxSecretLifetime > MaxSettingsLifetime:
		fields["max_secret_lifetime"] = "The maximum lifetime is at most 1825 days (5 years)."
	}
	if in.LeakAction != tokenservice.LeakRevoke && in.LeakAction != tokenservice.LeakNotify {
		fields["leak_action"] = "Choose what happens to a secret reported leaked."
	}
	if len(fields) > 0 {
		return nil, &tokenservice.Error{Code: tokenservice.EINVALID, Message: "Some fields are not valid.", Fields: fields}
	}
	return s.store.UpdateAccountSettings(ctx, tokenservice.SettingsUpdate{
		Settings: tokenservice.AccountSettings{AccountID: p.AccountID, MaxSecretLifetime: in.MaxSecretLifetime, LeakAction: in.LeakAction},
		Version:  in.Version, Actor: p.Actor, FormKey: in.FormKey, Now: s.now(),
	})
}

// MaxLeakReport is how many secrets one leak report may carry.
const MaxLeakReport = 20

// ReportLeakedSecrets revokes (or marks, as the account chose) every live
// secret among secrets. Anything else, malformed or unknown, is ignored
// alike: holding the secret is the only proof asked for.
func (s *Service) ReportLeakedSecrets(ctx context.Context, reporter tokenservice.Actor, secrets []string) error {
	now := s.now()
	for _, sec := range secrets {
		if !secret.WellFormed(sec) {
			continue
		}
		if _, err := s.store.ReportLeak(ctx, tokenservice.LeakReport{
			Hash: s.keys.Hash(sec), Hint: tokenservice.SecretHint(sec), Actor: reporter, Now: now,
		}); err != nil {
			return err
		}
	}
	return nil
}
