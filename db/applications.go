package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"tokenservice"
)

// errAppNotFound is the one answer for a missing application and for another
// account's: the two must be indistinguishable.
func errAppNotFound() error {
	return tokenservice.Errorf(tokenservice.ENOTFOUND, "Application not found.")
}

// errVersionConflict is what an edit made against a stale version gets.
func errVersionConflict() error {
	return tokenservice.Errorf(tokenservice.ECONFLICT,
		"This application was changed by someone else while you were editing it. Review the current values and try again.")
}

// versionToCheck is the version a reset or delete must match, 0 for none.
// Only AnyVersion skips the check: a missing version is refused, or a form
// stripped of it would act on whatever someone else saved meanwhile.
func versionToCheck(version int, anyVersion bool) (int, error) {
	switch {
	case anyVersion:
		return 0, nil
	case version <= 0:
		return 0, tokenservice.Errorf(tokenservice.EINVALID,
			"This form is out of date or incomplete, so nothing was changed. Open the application and try again.")
	}
	return version, nil
}

// applicationColumns are the columns scanApplication reads, in its order.
// The secret's hash and ciphertext are never among them.
const applicationColumns = `id, account_id, client_id, name, secret_generation,
	(SELECT max(reveal_until) FROM credentials WHERE credentials.application_id = applications.id),
	` + listedColumns

// listColumns are applicationColumns as the list reads them: without the
// reveal window, which it does not show (one lookup fewer per row).
const listColumns = `id, account_id, client_id, name, secret_generation, NULL,
	` + listedColumns

// listedColumns end applicationColumns and listColumns: last use and the
// secrets' end are kept on the row (see migration 7), so that a page of
// the list reads no other table.
const listedColumns = `version, created_at, created_by, updated_at, updated_by, last_used_at, secret_ends_at`

// scanApplication reads a row of applicationColumns, plus extra columns after them.
func scanApplication(row interface{ Scan(...any) error }, extra ...any) (*tokenservice.Application, error) {
	var (
		a                           tokenservice.Application
		revealUntil, lastUsed, ends sql.NullInt64
		createdAt, updatedAt        int64
	)
	dest := append([]any{
		&a.ID, &a.AccountID, &a.ClientID, &a.Name, &a.SecretGeneration, &revealUntil,
		&a.Version, &createdAt, &a.CreatedBy, &updatedAt, &a.UpdatedBy, &lastUsed, &ends,
	}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	a.SecretRevealUntil = fromNullMillis(revealUntil)
	a.LastUsedAt, a.SecretExpiresAt = fromNullMillis(lastUsed), fromNullMillis(ends)
	a.CreatedAt = fromMillis(createdAt)
	a.UpdatedAt = fromMillis(updatedAt)
	return &a, nil
}

// CreateApplication registers an application at Version 1 with its first
// secret (SecretGeneration 1). A client ID that exists already is ECONFLICT.
func (db *DB) CreateApplication(ctx context.Context, n tokenservice.NewApplication) (*tokenservice.Application, error) {
	grants, err := storedGrants(n.Scopes)
	if err != nil {
		return nil, fmt.Errorf("db: create application: %w", err)
	}
	if n.AccountID == "" || n.ClientID == "" || strings.TrimSpace(n.Name) == "" {
		return nil, fmt.Errorf("db: create application: %w",
			tokenservice.Errorf(tokenservice.EINVALID, "An application needs an account, a client ID and a name."))
	}
	if len(n.Secret.Hash) == 0 {
		return nil, fmt.Errorf("db: create application: %w",
			tokenservice.Errorf(tokenservice.EINVALID, "An application needs a client secret."))
	}

	tx, err := db.pool.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("db: create application: %w", err)
	}
	defer tx.Rollback()
	if err := checkFormKey(ctx, tx, n.AccountID, n.FormKey); err != nil {
		return nil, fmt.Errorf("db: create application: %w", err)
	}

	now := millis(n.Now)
	var id int64
	err = tx.QueryRowContext(ctx, `
		INSERT INTO applications (
			account_id, client_id, name, name_lower, name_key, secret_generation, version,
			created_at, created_by, updated_at, updated_by
		) VALUES (?, ?, ?, ?, ?, 1, 1, ?, ?, ?, ?)
		RETURNING id`,
		n.AccountID, n.ClientID, n.Name, nameKey(n.Name), NameSortKey(n.Name),
		now, text(n.Actor.Name(), 255), now, text(n.Actor.Name(), 255),
	).Scan(&id)
	if isUniqueViolation(err) {
		return nil, fmt.Errorf("db: create application: %w",
			tokenservice.Errorf(tokenservice.ECONFLICT, "An application with this client ID exists already."))
	} else if err != nil {
		return nil, fmt.Errorf("db: create application: %w", err)
	}
	if err := insertScopes(ctx, tx, id, grants); err != nil {
		return nil, fmt.Errorf("db: create application: %w", err)
	}
	if _, err := db.insertSecret(ctx, tx, id, n.Secret, false, n.Actor, n.Now); err != nil {
		return nil, fmt.Errorf("db: create application: %w", err)
	}
	app, err := applicationByID(ctx, tx, id)
	if err != nil {
		return nil, fmt.Errorf("db: create application: %w", err)
	}
	if err := loadCredentials(ctx, tx, app); err != nil {
		return nil, fmt.Errorf("db: create application: %w", err)
	}
	e := eventAt(app, tokenservice.ActionCreated, n.Actor, n.Now)
	e.Scopes, e.ExpiresAt = app.Scopes, n.Secret.ExpiresAt
	if err := recordEvent(ctx, tx, e, n.FormKey); err != nil {
		return nil, fmt.Errorf("db: create application: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("db: create application: %w", err)
	}
	return app, nil
}

// GetApplication returns the account's application with the client ID.
// Another account's application is ENOTFOUND, exactly like a missing one.
func (db *DB) GetApplication(ctx context.Context, accountID, clientID string) (*tokenservice.Application, error) {
	app, err := scanApplication(db.pool.QueryRowContext(ctx,
		`SELECT `+applicationColumns+` FROM applications WHERE account_id = ? AND client_id = ?`,
		accountID, clientID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("db: get application: %w", errAppNotFound())
	} else if err != nil {
		return nil, fmt.Errorf("db: get application: %w", err)
	}
	if err := loadScopes(ctx, db.pool, app); err != nil {
		return nil, fmt.Errorf("db: get application: %w", err)
	}
	if err := loadCredentials(ctx, db.pool, app); err != nil {
		return nil, fmt.Errorf("db: get application: %w", err)
	}
	return app, nil
}

// ApplicationByClientID returns the application with the client ID in any
// account, with its credentials, and the keyed hash of its newest secret,
// for the operator CLI and checks across accounts such as the tests'; the
// token endpoint reads Client instead.
func (db *DB) ApplicationByClientID(ctx context.Context, clientID string) (*tokenservice.Application, []byte, error) {
	var hash []byte
	app, err := scanApplication(db.pool.QueryRowContext(ctx,
		`SELECT `+applicationColumns+`,
			(SELECT secret_hash FROM credentials WHERE credentials.application_id = applications.id ORDER BY id DESC LIMIT 1)
		FROM applications WHERE client_id = ?`,
		clientID), &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, fmt.Errorf("db: application by client id: %w", errAppNotFound())
	} else if err != nil {
		return nil, nil, fmt.Errorf("db: application by client id: %w", err)
	}
	if err := loadScopes(ctx, db.pool, app); err != nil {
		return nil, nil, fmt.Errorf("db: application by client id: %w", err)
	}
	if err := loadCredentials(ctx, db.pool, app); err != nil {
		return nil, nil, fmt.Errorf("db: application by client id: %w", err)
	}
	return app, hash, nil
}

// nameKey is the sort and filter key of a name.
func nameKey(name string) string {
	return strings.ToLower(name)
}

// UpdateApplication saves an edit of the name and scopes made against
// u.Version. If the version moved on since, it is ECONFLICT and nothing
// changes, so one admin never silently overwrites another's work.
func (db *DB) UpdateApplication(ctx context.Context, u tokenservice.ApplicationUpdate) (*tokenservice.Application, error) {
	grants, err := storedGrants(u.Scopes)
	if err != nil {
		return nil, fmt.Errorf("db: update application: %w", err)
	}
	if strings.TrimSpace(u.Name) == "" {
		return nil, fmt.Errorf("db: update application: %w",
			tokenservice.Errorf(tokenservice.EINVALID, "An application needs a name."))
	}

	tx, err := db.pool.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("db: update application: %w", err)
	}
	defer tx.Rollback()
	if err := checkFormKey(ctx, tx, u.AccountID, u.FormKey); err != nil {
		return nil, fmt.Errorf("db: update application: %w", err)
	}
	before, err := scanApplication(tx.QueryRowContext(ctx,
		`SELECT `+applicationColumns+` FROM applications WHERE account_id = ? AND client_id = ?`, u.AccountID, u.ClientID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("db: update application: %w", errAppNotFound())
	} else if err != nil {
		return nil, fmt.Errorf("db: update application: %w", err)
	}
	if before.Version != u.Version {
		return nil, fmt.Errorf("db: update application: %w", errVersionConflict())
	}
	if err := loadScopes(ctx, tx, before); err != nil {
		return nil, fmt.Errorf("db: update application: %w", err)
	}
	if u.Name == before.Name && sameGrants(grants, before.Scopes) {
		// Nothing changed: no new version, no event; saving twice is harmless.
		return before, nil
	}

	var id int64
	err = tx.QueryRowContext(ctx, `
		UPDATE applications
		SET name = ?, name_lower = ?, name_key = ?, version = version + 1, updated_at = ?, updated_by = ?
		WHERE account_id = ? AND client_id = ? AND version = ?
		RETURNING id`,
		u.Name, nameKey(u.Name), NameSortKey(u.Name), millis(u.Now), text(u.Actor.Name(), 255),
		u.AccountID, u.ClientID, u.Version,
	).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("db: update application: %w", missingOrConflict(ctx, tx, u.AccountID, u.ClientID))
	} else if err != nil {
		return nil, fmt.Errorf("db: update application: %w", err)
	}
	if !sameGrants(grants, before.Scopes) {
		if _, err := tx.ExecContext(ctx, `DELETE FROM application_scopes WHERE application_id = ?`, id); err != nil {
			return nil, fmt.Errorf("db: update application: %w", err)
		}
		if err := insertScopes(ctx, tx, id, grants); err != nil {
			return nil, fmt.Errorf("db: update application: %w", err)
		}
	}
	app, err := applicationByID(ctx, tx, id)
	if err != nil {
		return nil, fmt.Errorf("db: update application: %w", err)
	}
	// One event per kind of change; the form key goes on the first.
	formKey := u.FormKey
	if app.Name != before.Name {
		e := eventAt(app, tokenservice.ActionRenamed, u.Actor, u.Now)
		e.OldName = before.Name
		if err := recordEvent(ctx, tx, e, formKey); err != nil {
			return nil, fmt.Errorf("db: update application: %w", err)
		}
		formKey = ""
	}
	if !sameGrants(app.Scopes, before.Scopes) {
		e := eventAt(app, tokenservice.ActionScopesChanged, u.Actor, u.Now)
		e.OldScopes, e.Scopes = before.Scopes, app.Scopes
		if err := recordEvent(ctx, tx, e, formKey); err != nil {
			return nil, fmt.Errorf("db: update application: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("db: update application: %w", err)
	}
	return app, nil
}

// missingOrConflict tells why a versioned write matched no row: the
// application is not the account's (ENOTFOUND) or its version moved on
// (ECONFLICT).
func missingOrConflict(ctx context.Context, q queryer, accountID, clientID string) error {
	var version int
	err := q.QueryRowContext(ctx,
		`SELECT version FROM applications WHERE account_id = ? AND client_id = ?`,
		accountID, clientID).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		return errAppNotFound()
	} else if err != nil {
		return err
	}
	return errVersionConflict()
}

// DeleteApplication deletes the application and its scopes, its secret stops
// working at once, and the trail records it. With an AccountID, another
// account's is ENOTFOUND; a stale Version is ECONFLICT, none EINVALID.
func (db *DB) DeleteApplication(ctx context.Context, d tokenservice.ApplicationDeletion) error {
	version, err := versionToCheck(d.Version, d.AnyVersion)
	if err != nil {
		return fmt.Errorf("db: delete application: %w", err)
	}
	tx, err := db.pool.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("db: delete application: %w", err)
	}
	defer tx.Rollback()
	if err := checkFormKey(ctx, tx, d.AccountID, d.FormKey); err != nil {
		return fmt.Errorf("db: delete application: %w", err)
	}
	app := &tokenservice.Application{ClientID: d.ClientID}
	err = tx.QueryRowContext(ctx, `
		DELETE FROM applications
		WHERE client_id = ? AND (? = '' OR account_id = ?) AND (? = 0 OR version = ?)
		RETURNING account_id, name`,
		d.ClientID, d.AccountID, d.AccountID, version, version,
	).Scan(&app.AccountID, &app.Name)
	if errors.Is(err, sql.ErrNoRows) {
		if d.AccountID == "" {
			return fmt.Errorf("db: delete application: %w", errAppNotFound())
		}
		return fmt.Errorf("db: delete application: %w", missingOrConflict(ctx, tx, d.AccountID, d.ClientID))
	} else if err != nil {
		return fmt.Errorf("db: delete application: %w", err)
	}
	if err := recordEvent(ctx, tx, eventAt(app, tokenservice.ActionDeleted, d.Actor, d.Now), d.FormKey); err != nil {
		return fmt.Errorf("db: delete application: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("db: delete application: %w", err)
	}
	return nil
}

// sameGrants reports whether two sets of grants without AccessNone, each key
// once, are the same, in whatever order.
func sameGrants(a, b []tokenservice.ScopeGrant) bool {
	if len(a) != len(b) {
		return false
	}
	access := make(map[string]tokenservice.Access, len(a))
	for _, g := range a {
		access[g.Key] = g.Access
	}
	for _, g := range b {
		if access[g.Key] != g.Access {
			return false
		}
	}
	return true
}

// storedGrants returns the grants to store: without AccessNone, each key
// once, each access known. Anything else is EINVALID.
func storedGrants(scopes []tokenservice.ScopeGrant) ([]tokenservice.ScopeGrant, error) {
	seen := make(map[string]bool, len(scopes))
	var out []tokenservice.ScopeGrant
	for _, g := range scopes {
		switch {
		case g.Key == "":
			return nil, tokenservice.Errorf(tokenservice.EINVALID, "A scope has no key.")
		case !g.Access.Valid():
			return nil, tokenservice.Errorf(tokenservice.EINVALID, "Scope %s has an unknown type of access.", g.Key)
		case seen[g.Key]:
			return nil, tokenservice.Errorf(tokenservice.EINVALID, "Scope %s is given twice.", g.Key)
		}
		seen[g.Key] = true
		if g.Access != tokenservice.AccessNone {
			out = append(out, g)
		}
	}
	return out, nil
}

func insertScopes(ctx context.Context, tx execer, applicationID int64, grants []tokenservice.ScopeGrant) error {
	for _, g := range grants {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO application_scopes (application_id, scope_key, access) VALUES (?, ?, ?)`,
			applicationID, g.Key, string(g.Access)); err != nil {
			return fmt.Errorf("scope %s: %w", g.Key, err)
		}
	}
	return nil
}

// applicationByID reads an application with its scopes and credentials,
// inside the transaction that just wrote it.
func applicationByID(ctx context.Context, q queryer, id int64) (*tokenservice.Application, error) {
	app, err := scanApplication(q.QueryRowContext(ctx,
		`SELECT `+applicationColumns+` FROM applications WHERE id = ?`, id))
	if err != nil {
		return nil, err
	}
	if err := loadScopes(ctx, q, app); err != nil {
		return nil, err
	}
	if err := loadCredentials(ctx, q, app); err != nil {
		return nil, err
	}
	return app, nil
}

// loadScopes fills in the scopes of apps with one query, sorted by key.
func loadScopes(ctx context.Context, q queryer, apps ...*tokenservice.Application) error {
	if len(apps) == 0 {
		return nil
	}
	byID := make(map[int64]*tokenservice.Application, len(apps))
	args := make([]any, len(apps))
	for i, a := range apps {
		byID[a.ID] = a
		args[i] = a.ID
	}
	rows, err := q.QueryContext(ctx, `
		SELECT application_id, scope_key, access FROM application_scopes
		WHERE application_id IN (?`+strings.Repeat(`, ?`, len(apps)-1)+`)
		ORDER BY application_id, scope_key`, args...)
	if err != nil {
		return fmt.Errorf("load scopes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id     int64
			key    string
			access string
		)
		if err := rows.Scan(&id, &key, &access); err != nil {
			return fmt.Errorf("load scopes: %w", err)
		}
		a := byID[id]
		a.Scopes = append(a.Scopes, tokenservice.ScopeGrant{Key: key, Access: tokenservice.Access(access)})
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load scopes: %w", err)
	}
	return nil
}
