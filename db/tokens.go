package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"tokenservice"
)

// RevokeToken records that the token with the jti is revoked until it
// expires. Revoking it again changes nothing.
func (db *DB) RevokeToken(ctx context.Context, jti, accountID string, expiresAt time.Time) error {
	if _, err := db.pool.ExecContext(ctx,
		`INSERT INTO revoked_tokens (jti, account_id, expires_at) VALUES (?, ?, ?) ON CONFLICT (jti) DO NOTHING`,
		jti, accountID, millis(expiresAt)); err != nil {
		return fmt.Errorf("db: revoke token: %w", err)
	}
	return nil
}

// TokenRevoked reports whether the token with the jti was revoked.
func (db *DB) TokenRevoked(ctx context.Context, jti string) (bool, error) {
	var one int
	err := db.pool.QueryRowContext(ctx, `SELECT 1 FROM revoked_tokens WHERE jti = ?`, jti).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("db: token revoked: %w", err)
	}
	return true, nil
}

// DeleteExpiredRevocations forgets revocations of tokens expired at now.
func (db *DB) DeleteExpiredRevocations(ctx context.Context, now time.Time) (int, error) {
	res, err := db.pool.ExecContext(ctx, `DELETE FROM revoked_tokens WHERE expires_at <= ?`, millis(now))
	if err != nil {
		return 0, fmt.Errorf("db: delete expired revocations: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// AddTokenUsage adds batched counts of issued tokens in one transaction.
// Counts of an application deleted meanwhile are dropped, even when a new
// application got its row id.
func (db *DB) AddTokenUsage(ctx context.Context, usage []tokenservice.TokenUsage) error {
	if len(usage) == 0 {
		return nil
	}
	tx, err := db.pool.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("db: add token usage: %w", err)
	}
	defer tx.Rollback()
	// The counts change nothing the token endpoint's cache holds: keep it.
	mark, carry := db.clientCache.beforeOwnCommit()
	// Prepared once: a busy service flushes the counts of thousands of
	// applications at a time, and parsing the statements for each would
	// be most of the work.
	addCount, err := tx.PrepareContext(ctx, `
		INSERT INTO token_usage (application_id, hour, tokens)
		SELECT id, ?, ? FROM applications WHERE id = ? AND client_id = ?
		ON CONFLICT (application_id, hour) DO UPDATE SET tokens = token_usage.tokens + excluded.tokens`)
	if err != nil {
		return fmt.Errorf("db: add token usage: %w", err)
	}
	defer addCount.Close()
	setLast, err := tx.PrepareContext(ctx, `
		INSERT INTO token_last_issued (application_id, issued_at)
		SELECT id, ? FROM applications WHERE id = ? AND client_id = ?
		ON CONFLICT (application_id) DO UPDATE
		SET issued_at = `+db.dialect.greatest+`(token_last_issued.issued_at, excluded.issued_at)`)
	if err != nil {
		return fmt.Errorf("db: add token usage: %w", err)
	}
	defer setLast.Close()
	setUsedAt, err := tx.PrepareContext(ctx, `
		UPDATE applications SET last_used_at = `+db.dialect.greatest+`(coalesce(last_used_at, 0), ?)
		WHERE id = ? AND client_id = ?`)
	if err != nil {
		return fmt.Errorf("db: add token usage: %w", err)
	}
	defer setUsedAt.Close()
	// A credential's last use, and its hint if it had none; a rotated
	// secret's first use goes in the trail.
	firstUse, err := tx.PrepareContext(ctx, `
		UPDATE credentials SET last_used_at = ?, hint = CASE WHEN hint = '' THEN ? ELSE hint END
		WHERE application_id = ? AND public_id = ? AND last_used_at IS NULL
			AND application_id IN (SELECT id FROM applications WHERE id = ? AND client_id = ?)
		RETURNING rotated, hint`)
	if err != nil {
		return fmt.Errorf("db: add token usage: %w", err)
	}
	defer firstUse.Close()
	setUsed, err := tx.PrepareContext(ctx, `
		UPDATE credentials SET last_used_at = `+db.dialect.greatest+`(last_used_at, ?), hint = CASE WHEN hint = '' THEN ? ELSE hint END
		WHERE application_id = ? AND public_id = ? AND last_used_at IS NOT NULL`)
	if err != nil {
		return fmt.Errorf("db: add token usage: %w", err)
	}
	defer setUsed.Close()
	for _, u := range usage {
		if _, err := addCount.ExecContext(ctx, u.Hour.Unix()/3600, u.Count, u.ApplicationID, u.ClientID); err != nil {
			return fmt.Errorf("db: add token usage: %w", err)
		}
		if _, err := setLast.ExecContext(ctx, millis(u.Last), u.ApplicationID, u.ClientID); err != nil {
			return fmt.Errorf("db: add token usage: %w", err)
		}
		if _, err := setUsedAt.ExecContext(ctx, millis(u.Last), u.ApplicationID, u.ClientID); err != nil {
			return fmt.Errorf("db: add token usage: %w", err)
		}
		if u.CredentialID == "" {
			continue
		}
		var (
			rotated int
			hint    string
		)
		err := firstUse.QueryRowContext(ctx, millis(u.Last), u.Hint, u.ApplicationID, u.CredentialID, u.ApplicationID, u.ClientID).Scan(&rotated, &hint)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if _, err := setUsed.ExecContext(ctx, millis(u.Last), u.Hint, u.ApplicationID, u.CredentialID); err != nil {
				return fmt.Errorf("db: add token usage: %w", err)
			}
		case err != nil:
			return fmt.Errorf("db: add token usage: %w", err)
		case rotated == 1:
			app, err := applicationByID(ctx, tx, u.ApplicationID)
			if err != nil {
				return fmt.Errorf("db: add token usage: %w", err)
			}
			e := eventAt(app, tokenservice.ActionCredentialFirstUsed, systemActor, u.Last)
			e.Credential, e.CredentialKind = hint, tokenservice.CredentialClientSecret
			if err := recordEvent(ctx, tx, e, ""); err != nil {
				return fmt.Errorf("db: add token usage: %w", err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("db: add token usage: %w", err)
	}
	if carry {
		db.clientCache.carry(mark)
	}
	return nil
}

// TokenUsage returns how many tokens the account's application got in the
// 24 hours up to now (by whole hours: the current one and the 23 before it),
// and when it last got one (zero if never).
func (db *DB) TokenUsage(ctx context.Context, accountID, clientID string, now time.Time) (count int, last time.Time, err error) {
	var lastMs sql.NullInt64
	err = db.pool.QueryRowContext(ctx, `
		SELECT
			(SELECT CAST(coalesce(sum(u.tokens), 0) AS BIGINT) FROM token_usage u WHERE u.application_id = a.id AND u.hour > ?),
			(SELECT l.issued_at FROM token_last_issued l WHERE l.application_id = a.id)
		FROM applications a WHERE a.account_id = ? AND a.client_id = ?`,
		now.Unix()/3600-24, accountID, clientID).Scan(&count, &lastMs)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, fmt.Errorf("db: token usage: %w", errAppNotFound())
	} else if err != nil {
		return 0, time.Time{}, fmt.Errorf("db: token usage: %w", err)
	}
	return count, fromNullMillis(lastMs), nil
}

// DeleteOldTokenUsage deletes the hourly counts older than 24 hours before now.
func (db *DB) DeleteOldTokenUsage(ctx context.Context, now time.Time) (int, error) {
	res, err := db.pool.ExecContext(ctx, `DELETE FROM token_usage WHERE hour <= ?`, now.Unix()/3600-24)
	if err != nil {
		return 0, fmt.Errorf("db: delete old token usage: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
