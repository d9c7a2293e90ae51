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
}

// Service implements tokenservice.ApplicationService.
type Service struct {
	store     Store
	catalogue *scope.Catalogue
	keys      *secret.Keys
	window    time.Duration // how long a new secret can be viewed
	now       func() time.Time
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
	name, grants, err := Check(s.catalogue, in.ApplicationInput, nil)
	if err != nil {
		return nil, "", err
	}
	now, clientID := s.now(), secret.NewClientID()
	plaintext, stored := s.keys.NewStored(clientID, now.Add(s.window))
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
	plaintext, stored := s.keys.NewStored(in.ClientID, now.Add(s.window))
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
