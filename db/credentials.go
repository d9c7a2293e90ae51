package db

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"tokenservice"
)

// errCredentialNotFound is the one answer for a credential id the
// application does not have, whichever application or account has it.
func errCredentialNotFound() error {
	return tokenservice.Errorf(tokenservice.ENOTFOUND, "Credential not found.")
}

// systemActor is the actor of what the service does by itself: a grace
// period ending, a credential expiring, a new secret's first use.
var systemActor = tokenservice.Actor{Subject: "tokenservice"}

// credentialColumns are the columns scanCredential reads, in its order.
const credentialColumns = `public_id, kind, hint, created_at, created_by, expires_at, revoke_at, revoked_at,
	coalesce(revoked_by, ''), coalesce(revoke_reason, ''), leaked_at, last_used_at, reveal_until, migrated`

func scanCredential(row interface{ Scan(...any) error }) (tokenservice.Credential, error) {
	var (
		c                                                        tokenservice.Credential
		kind, reason                                             string
		createdAt                                                int64
		expiresAt, revokeAt, revokedAt, leakedAt, used, revealed sql.NullInt64
		migrated                                                 int
	)
	if err := row.Scan(&c.ID, &kind, &c.Hint, &createdAt, &c.CreatedBy, &expiresAt, &revokeAt, &revokedAt,
		&c.RevokedBy, &reason, &leakedAt, &used, &revealed, &migrated); err != nil {
		return c, err
	}
	c.Kind, c.RevokeReason = tokenservice.CredentialKind(kind), tokenservice.RevokeReason(reason)
	c.CreatedAt = fromMillis(createdAt)
	c.ExpiresAt, c.RevokeAt, c.RevokedAt = fromNullMillis(expiresAt), fromNullMillis(revokeAt), fromNullMillis(revokedAt)
	c.LeakedAt, c.LastUsedAt, c.RevealUntil = fromNullMillis(leakedAt), fromNullMillis(used), fromNullMillis(revealed)
	c.Migrated = migrated == 1
	return c, nil
}

// loadCredentials fills in the application's credentials, newest first.
func loadCredentials(ctx context.Context, q queryer, app *tokenservice.Application) error {
	rows, err := q.QueryContext(ctx,
		`SELECT `+credentialColumns+` FROM credentials WHERE application_id = ? ORDER BY id DESC`, app.ID)
	if err != nil {
		return fmt.Errorf("load credentials: %w", err)
	}
	defer rows.Close()
	app.Credentials = nil
	for rows.Next() {
		c, err := scanCredential(rows)
		if err != nil {
			return fmt.Errorf("load credentials: %w", err)
		}
		app.Credentials = append(app.Credentials, c)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load credentials: %w", err)
	}
	return nil
}

// newCredentialID is a credential's short id: 10 lowercase hex digits.
func newCredentialID() string {
	b := make([]byte, 5)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// nullMillis is how an optional time is stored: NULL for the zero time.
func nullMillis(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return millis(t)
}

// insertSecret adds the client secret s to the application and returns its
// credential id.
func (db *DB) insertSecret(ctx context.Context, tx execer, appID int64, s tokenservice.StoredSecret, rotated bool, actor tokenservice.Actor, now time.Time) (string, error) {
	id := newCredentialID()
	ciphertext, padding, revealUntil := db.secretColumns(s)
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO credentials (application_id, public_id, kind, secret_hash, hint, migrated, rotated,
			created_at, created_by, expires_at, reveal_until, padding, ciphertext)
		VALUES (?, ?, 'client_secret', ?, ?, 0, ?, ?, ?, ?, ?, `+db.dialect.padding+`, ?)`,
		appID, id, s.Hash, s.Hint, boolInt(rotated), millis(now), text(actor.Name(), 255),
		nullMillis(s.ExpiresAt), revealUntil, padding, ciphertext); err != nil {
		return "", fmt.Errorf("add secret: %w", err)
	}
	return id, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// liveSecrets returns the application's client secrets that can get tokens
// at now, newest first.
func liveSecrets(ctx context.Context, q queryer, appID int64, now time.Time) ([]tokenservice.Credential, error) {
	rows, err := q.QueryContext(ctx, `
		SELECT `+credentialColumns+` FROM credentials
		WHERE application_id = ? AND kind = 'client_secret' AND revoked_at IS NULL
			AND (revoke_at IS NULL OR revoke_at > ?) AND (expires_at IS NULL OR expires_at > ?)
		ORDER BY id DESC`, appID, millis(now), millis(now))
	if err != nil {
		return nil, fmt.Errorf("live secrets: %w", err)
	}
	defer rows.Close()
	var out []tokenservice.Credential
	for rows.Next() {
		c, err := scanCredential(rows)
		if err != nil {
			return nil, fmt.Errorf("live secrets: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// revokeCredential revokes one credential and erases its encrypted copy.
func revokeCredential(ctx context.Context, tx execer, appID int64, credentialID string, at time.Time, by string, reason tokenservice.RevokeReason) error {
	_, err := tx.ExecContext(ctx, `
		UPDATE credentials
		SET revoked_at = ?, revoked_by = ?, revoke_reason = ?,
			reveal_until = NULL, padding = NULL, ciphertext = NULL
		WHERE application_id = ? AND public_id = ? AND revoked_at IS NULL`,
		millis(at), text(by, 255), string(reason), appID, credentialID)
	if err != nil {
		return fmt.Errorf("revoke credential: %w", err)
	}
	return nil
}

// keepWorking ends the grace period of the application's secrets when no
// other secret will work after it: revoking the new secret of a rotation
// must not leave the application with only secrets on their way out.
func keepWorking(ctx context.Context, tx execer, appID int64, now time.Time) error {
	_, err := tx.ExecContext(ctx, `
		UPDATE credentials SET revoke_at = NULL
		WHERE application_id = ? AND revoked_at IS NULL AND revoke_at > ?
			AND NOT EXISTS (SELECT 1 FROM credentials o WHERE o.application_id = ? AND o.revoked_at IS NULL
				AND o.revoke_at IS NULL AND (o.expires_at IS NULL OR o.expires_at > ?))`,
		appID, millis(now), appID, millis(now))
	if err != nil {
		return fmt.Errorf("keep working: %w", err)
	}
	return nil
}

// changeApplication moves the application to its next version for a change
// of its credentials, checking the version unless it is 0, and returns its
// row id. With an AccountID, another account's application is ENOTFOUND.
func changeApplication(ctx context.Context, tx execer, accountID, clientID string, version int, actor tokenservice.Actor, now time.Time) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `
		UPDATE applications SET version = version + 1, updated_at = ?, updated_by = ?
		WHERE client_id = ? AND (? = '' OR account_id = ?) AND (? = 0 OR version = ?)
		RETURNING id`,
		millis(now), text(actor.Name(), 255), clientID, accountID, accountID, version, version).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		if accountID == "" {
			return 0, errAppNotFound()
		}
		return 0, missingOrConflict(ctx, tx, accountID, clientID)
	}
	return id, err
}

// credentialEvent is an event about one credential of app.
func credentialEvent(app *tokenservice.Application, action tokenservice.Action, c *tokenservice.Credential, actor tokenservice.Actor, now time.Time) *tokenservice.Event {
	e := eventAt(app, action, actor, now)
	e.Credential, e.CredentialKind = credentialName(c), c.Kind
	return e
}

// credentialName is how the trail names a credential: its hint, or its id
// for a secret whose hint is not known yet.
func credentialName(c *tokenservice.Credential) string {
	if c.Hint != "" {
		return c.Hint
	}
	return c.ID
}

// RotateSecret adds a new client secret and sets when the current one stops
// working: at once, or at the end of the grace period. An application with
// MaxLiveSecrets live already is EINVALID; a stale Version ECONFLICT. It
// returns the application with its credentials and the new credential's id.
func (db *DB) RotateSecret(ctx context.Context, r tokenservice.SecretRotation) (*tokenservice.Application, string, error) {
	if len(r.Secret.Hash) == 0 {
		return nil, "", fmt.Errorf("db: rotate secret: %w", tokenservice.Errorf(tokenservice.EINVALID, "A client secret is required."))
	}
	version, err := versionToCheck(r.Version, r.AnyVersion)
	if err != nil {
		return nil, "", fmt.Errorf("db: rotate secret: %w", err)
	}
	tx, err := db.pool.BeginTx(ctx, nil)
	if err != nil {
		return nil, "", fmt.Errorf("db: rotate secret: %w", err)
	}
	defer tx.Rollback()
	if err := checkFormKey(ctx, tx, r.AccountID, r.FormKey); err != nil {
		return nil, "", fmt.Errorf("db: rotate secret: %w", err)
	}
	id, err := changeApplication(ctx, tx, r.AccountID, r.ClientID, version, r.Actor, r.Now)
	if err != nil {
		return nil, "", fmt.Errorf("db: rotate secret: %w", err)
	}
	live, err := liveSecrets(ctx, tx, id, r.Now)
	if err != nil {
		return nil, "", fmt.Errorf("db: rotate secret: %w", err)
	}
	if len(live) >= tokenservice.MaxLiveSecrets {
		return nil, "", fmt.Errorf("db: rotate secret: %w", tokenservice.Errorf(tokenservice.EINVALID,
			"This application has two live secrets already. Revoke one of them, or wait for the older one's grace period to end, before you rotate again."))
	}
	deadline := r.Now.Add(r.Grace)
	reason := tokenservice.RevokedByPerson
	if r.AccountID == "" {
		reason = tokenservice.RevokedByCLI
	}
	for _, old := range live {
		if r.Grace <= 0 {
			err = revokeCredential(ctx, tx, id, old.ID, r.Now, r.Actor.Name(), reason)
		} else {
			// A deadline set before stays if it is sooner.
			_, err = tx.ExecContext(ctx, `
				UPDATE credentials SET revoke_at = CASE WHEN revoke_at IS NOT NULL AND revoke_at < ? THEN revoke_at ELSE ? END
				WHERE application_id = ? AND public_id = ?`,
				millis(deadline), millis(deadline), id, old.ID)
		}
		if err != nil {
			return nil, "", fmt.Errorf("db: rotate secret: %w", err)
		}
	}
	// Secrets that expired are replaced too: they leave the token
	// endpoint's list and the warnings.
	if _, err := tx.ExecContext(ctx, `
		UPDATE credentials SET revoked_at = ?, revoked_by = ?, revoke_reason = ?, reveal_until = NULL, padding = NULL, ciphertext = NULL
		WHERE application_id = ? AND revoked_at IS NULL AND expires_at IS NOT NULL AND expires_at <= ?`,
		millis(r.Now), text(r.Actor.Name(), 255), string(tokenservice.RevokedAfterExpiry), id, millis(r.Now)); err != nil {
		return nil, "", fmt.Errorf("db: rotate secret: %w", err)
	}
	newID, err := db.insertSecret(ctx, tx, id, r.Secret, true, r.Actor, r.Now)
	if err != nil {
		return nil, "", fmt.Errorf("db: rotate secret: %w", err)
	}
	app, err := applicationByID(ctx, tx, id)
	if err != nil {
		return nil, "", fmt.Errorf("db: rotate secret: %w", err)
	}
	if err := loadCredentials(ctx, tx, app); err != nil {
		return nil, "", fmt.Errorf("db: rotate secret: %w", err)
	}
	added := credentialEvent(app, tokenservice.ActionCredentialAdded, app.Credential(newID), r.Actor, r.Now)
	added.ExpiresAt = r.Secret.ExpiresAt
	if err := recordEvent(ctx, tx, added, r.FormKey); err != nil {
		return nil, "", fmt.Errorf("db: rotate secret: %w", err)
	}
	for _, old := range live {
		e := credentialEvent(app, tokenservice.ActionSecretRotated, &old, r.Actor, r.Now)
		e.RevokeAt = app.Credential(old.ID).RevokeAt
		if r.Grace <= 0 {
			e.RevokeAt = r.Now
		}
		if err := recordEvent(ctx, tx, e, ""); err != nil {
			return nil, "", fmt.Errorf("db: rotate secret: %w", err)
		}
		if r.Grace <= 0 {
			revoked := credentialEvent(app, tokenservice.ActionCredentialRevoked, &old, r.Actor, r.Now)
			revoked.Reason = reason
			if err := recordEvent(ctx, tx, revoked, ""); err != nil {
				return nil, "", fmt.Errorf("db: rotate secret: %w", err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, "", fmt.Errorf("db: rotate secret: %w", err)
	}
	return app, newID, nil
}

// RevokeCredential revokes one credential of the application at once. The
// last live credential is EINVALID (the application would stop working:
// delete it instead); an id the application does not have is ENOTFOUND.
func (db *DB) RevokeCredential(ctx context.Context, r tokenservice.CredentialRevocation) (*tokenservice.Application, error) {
	version, err := versionToCheck(r.Version, r.AnyVersion)
	if err != nil {
		return nil, fmt.Errorf("db: revoke credential: %w", err)
	}
	tx, err := db.pool.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("db: revoke credential: %w", err)
	}
	defer tx.Rollback()
	if err := checkFormKey(ctx, tx, r.AccountID, r.FormKey); err != nil {
		return nil, fmt.Errorf("db: revoke credential: %w", err)
	}
	id, err := changeApplication(ctx, tx, r.AccountID, r.ClientID, version, r.Actor, r.Now)
	if err != nil {
		return nil, fmt.Errorf("db: revoke credential: %w", err)
	}
	app, err := applicationByID(ctx, tx, id)
	if err != nil {
		return nil, fmt.Errorf("db: revoke credential: %w", err)
	}
	if err := loadCredentials(ctx, tx, app); err != nil {
		return nil, fmt.Errorf("db: revoke credential: %w", err)
	}
	c := app.Credential(r.CredentialID)
	switch {
	case c == nil:
		return nil, fmt.Errorf("db: revoke credential: %w", errCredentialNotFound())
	case c.Revoked(r.Now):
		return nil, fmt.Errorf("db: revoke credential: %w", tokenservice.Errorf(tokenservice.EINVALID,
			"This credential is revoked already."))
	case c.Live(r.Now) && app.LiveCredentials(r.Now) == 1:
		return nil, fmt.Errorf("db: revoke credential: %w", tokenservice.Errorf(tokenservice.EINVALID,
			"This is the application's only working credential: revoking it would stop the application. Rotate the secret first, or delete the application."))
	}
	if err := revokeCredential(ctx, tx, id, c.ID, r.Now, r.Actor.Name(), r.Reason); err != nil {
		return nil, fmt.Errorf("db: revoke credential: %w", err)
	}
	if err := keepWorking(ctx, tx, id, r.Now); err != nil {
		return nil, fmt.Errorf("db: revoke credential: %w", err)
	}
	e := credentialEvent(app, tokenservice.ActionCredentialRevoked, c, r.Actor, r.Now)
	e.Reason = r.Reason
	if err := recordEvent(ctx, tx, e, r.FormKey); err != nil {
		return nil, fmt.Errorf("db: revoke credential: %w", err)
	}
	if err := loadCredentials(ctx, tx, app); err != nil {
		return nil, fmt.Errorf("db: revoke credential: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("db: revoke credential: %w", err)
	}
	return app, nil
}
