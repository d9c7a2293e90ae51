package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"tokenservice"
)

// errSecretGone is what asking for a secret after its reveal window gets.
func errSecretGone() error {
	return tokenservice.Errorf(tokenservice.EGONE,
		"The client secret can no longer be viewed. Rotate or reset it to get a new one.")
}

// ResetSecret replaces the secret at once, the old one stops working, and
// the trail records it. With an AccountID, another account's application is
// ENOTFOUND; a stale Version is ECONFLICT, none without AnyVersion EINVALID.
func (db *DB) ResetSecret(ctx context.Context, r tokenservice.SecretReset) (*tokenservice.Application, error) {
	if len(r.Secret.Hash) == 0 {
		return nil, fmt.Errorf("db: reset secret: %w", tokenservice.Errorf(tokenservice.EINVALID, "A client secret is required."))
	}
	version, err := versionToCheck(r.Version, r.AnyVersion)
	if err != nil {
		return nil, fmt.Errorf("db: reset secret: %w", err)
	}
	tx, err := db.pool.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("db: reset secret: %w", err)
	}
	defer tx.Rollback()
	if err := checkFormKey(ctx, tx, r.AccountID, r.FormKey); err != nil {
		return nil, fmt.Errorf("db: reset secret: %w", err)
	}

	var id int64
	err = tx.QueryRowContext(ctx, `
		UPDATE applications
		SET secret_generation = secret_generation + 1, version = version + 1, updated_at = ?, updated_by = ?
		WHERE client_id = ? AND (? = '' OR account_id = ?) AND (? = 0 OR version = ?)
		RETURNING id`,
		millis(r.Now), text(r.Actor.Name(), 255),
		r.ClientID, r.AccountID, r.AccountID, version, version,
	).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		if r.AccountID == "" {
			return nil, fmt.Errorf("db: reset secret: %w", errAppNotFound())
		}
		return nil, fmt.Errorf("db: reset secret: %w", missingOrConflict(ctx, tx, r.AccountID, r.ClientID))
	} else if err != nil {
		return nil, fmt.Errorf("db: reset secret: %w", err)
	}
	// Every credential stops working, and every token issued under one.
	if _, err := tx.ExecContext(ctx, `
		UPDATE credentials
		SET revoked_at = ?, revoked_by = ?, revoke_reason = ?, reveal_until = NULL, padding = NULL, ciphertext = NULL
		WHERE application_id = ? AND revoked_at IS NULL`,
		millis(r.Now), text(r.Actor.Name(), 255), string(tokenservice.RevokedByReset), id); err != nil {
		return nil, fmt.Errorf("db: reset secret: %w", err)
	}
	if _, err := db.insertSecret(ctx, tx, id, r.Secret, false, r.Actor, r.Now); err != nil {
		return nil, fmt.Errorf("db: reset secret: %w", err)
	}
	app, err := applicationByID(ctx, tx, id)
	if err != nil {
		return nil, fmt.Errorf("db: reset secret: %w", err)
	}
	if err := loadCredentials(ctx, tx, app); err != nil {
		return nil, fmt.Errorf("db: reset secret: %w", err)
	}
	if err := recordEvent(ctx, tx, eventAt(app, tokenservice.ActionSecretReset, r.Actor, r.Now), r.FormKey); err != nil {
		return nil, fmt.Errorf("db: reset secret: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("db: reset secret: %w", err)
	}
	return app, nil
}

// secretColumns returns what the secret_ciphertext, secret_padding (the
// zeroblob length; none on PostgreSQL) and secret_reveal_until columns get
// for s. Without a ciphertext all three are NULL.
func (db *DB) secretColumns(s tokenservice.StoredSecret) (ciphertext []byte, padding any, revealUntil any) {
	if len(s.Ciphertext) == 0 || s.RevealUntil.IsZero() {
		return nil, nil, nil
	}
	if db.dialect.postgres {
		return s.Ciphertext, nil, millis(s.RevealUntil)
	}
	return s.Ciphertext, db.pageSize, millis(s.RevealUntil)
}

// SecretCiphertext returns the encrypted secret and its generation inside
// the reveal window and records that actor saw it (action). After the window
// it is EGONE and the ciphertext is erased at once: the server ends the window.
func (db *DB) SecretCiphertext(ctx context.Context, accountID, clientID string, action tokenservice.Action, actor tokenservice.Actor, now time.Time) (ciphertext []byte, generation int, err error) {
	tx, err := db.pool.BeginTx(ctx, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("db: secret ciphertext: %w", err)
	}
	defer tx.Rollback()
	app, err := scanApplication(tx.QueryRowContext(ctx,
		`SELECT `+applicationColumns+` FROM applications WHERE account_id = ? AND client_id = ?`,
		accountID, clientID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, fmt.Errorf("db: secret ciphertext: %w", errAppNotFound())
	} else if err != nil {
		return nil, 0, fmt.Errorf("db: secret ciphertext: %w", err)
	}
	// The newest secret with a reveal window; an older one's window ends
	// when a newer secret is made, or soon after.
	var (
		credID      string
		revealUntil sql.NullInt64
	)
	err = tx.QueryRowContext(ctx, `
		SELECT public_id, ciphertext, reveal_until FROM credentials
		WHERE application_id = ? AND ciphertext IS NOT NULL ORDER BY id DESC LIMIT 1`,
		app.ID).Scan(&credID, &ciphertext, &revealUntil)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, fmt.Errorf("db: secret ciphertext: %w", errSecretGone())
	} else if err != nil {
		return nil, 0, fmt.Errorf("db: secret ciphertext: %w", err)
	}
	if revealUntil.Valid && millis(now) < revealUntil.Int64 {
		if err := recordEvent(ctx, tx, eventAt(app, action, actor, now), ""); err != nil {
			return nil, 0, fmt.Errorf("db: secret ciphertext: %w", err)
		}
		if err := tx.Commit(); err != nil {
			return nil, 0, fmt.Errorf("db: secret ciphertext: %w", err)
		}
		return ciphertext, app.SecretGeneration, nil
	}
	if _, err := tx.ExecContext(ctx, `
		UPDATE credentials SET ciphertext = NULL, padding = NULL, reveal_until = NULL
		WHERE application_id = ? AND public_id = ?`, app.ID, credID); err != nil {
		return nil, 0, fmt.Errorf("db: secret ciphertext: erase: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, 0, fmt.Errorf("db: secret ciphertext: erase: %w", err)
	}
	return nil, 0, fmt.Errorf("db: secret ciphertext: %w", errSecretGone())
}

// EraseExpiredSecrets erases the encrypted secret of every credential whose
// reveal window ended by now and returns how many; on SQLite no copy is left
// in the files (see docs/store-notes.md). The sweeper runs it.
func (db *DB) EraseExpiredSecrets(ctx context.Context, now time.Time) (int, error) {
	res, err := db.pool.ExecContext(ctx, `
		UPDATE credentials SET ciphertext = NULL, padding = NULL, reveal_until = NULL
		WHERE reveal_until IS NOT NULL AND reveal_until <= ?`,
		millis(now))
	if err != nil {
		return 0, fmt.Errorf("db: erase expired secrets: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("db: erase expired secrets: %w", err)
	}
	if db.dialect.postgres {
		return int(n), nil
	}
	// Also when nothing expired now (SecretCiphertext may have erased a row);
	// if readers block it, the rows stay erased and the next sweep retries.
	if err := db.checkpoint(ctx); err != nil {
		return int(n), fmt.Errorf("db: erase expired secrets: %w", err)
	}
	return int(n), nil
}

// checkpoint copies the WAL into the main file and truncates it to zero bytes.
func (db *DB) checkpoint(ctx context.Context) error {
	var busy, logFrames, checkpointed int
	if err := db.pool.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &checkpointed); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if busy != 0 {
		return fmt.Errorf("checkpoint: blocked by readers (%d of %d frames copied)", checkpointed, logFrames)
	}
	return nil
}
