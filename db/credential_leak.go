package db

import (
	"context"
	"fmt"

	"tokenservice"
)

// ReportLeak acts on a client secret reported leaked: a live one is revoked
// at once, or marked leaked when its account chose to be notified only, and
// the trail records the report with the reporter's address. It reports
// whether a live secret had the hash; the caller must not tell.
func (db *DB) ReportLeak(ctx context.Context, r tokenservice.LeakReport) (bool, error) {
	tx, err := db.pool.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("db: report leak: %w", err)
	}
	defer tx.Rollback()
	// One secret in practice: hashes of 256-bit secrets do not collide.
	type match struct {
		appID  int64
		credID string
	}
	var matches []match
	rows, err := tx.QueryContext(ctx, `SELECT application_id, public_id FROM credentials WHERE secret_hash = ? AND revoked_at IS NULL`, r.Hash)
	if err != nil {
		return false, fmt.Errorf("db: report leak: %w", err)
	}
	for rows.Next() {
		var m match
		if err := rows.Scan(&m.appID, &m.credID); err != nil {
			rows.Close()
			return false, fmt.Errorf("db: report leak: %w", err)
		}
		matches = append(matches, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("db: report leak: %w", err)
	}
	found := false
	for _, m := range matches {
		ok, err := reportLeakOf(ctx, tx, m.appID, m.credID, r)
		if err != nil {
			return false, fmt.Errorf("db: report leak: %w", err)
		}
		found = found || ok
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("db: report leak: %w", err)
	}
	return found, nil
}

// reportLeakOf acts on a leak report of one credential, inside ReportLeak's
// transaction; false if it no longer works.
func reportLeakOf(ctx context.Context, tx execer, appID int64, credID string, r tokenservice.LeakReport) (bool, error) {
	app, err := applicationByID(ctx, tx, appID)
	if err != nil {
		return false, err
	}
	if err := loadCredentials(ctx, tx, app); err != nil {
		return false, err
	}
	settings, err := accountSettings(ctx, tx, app.AccountID)
	if err != nil {
		return false, err
	}
	c := *app.Credential(credID)
	if c.Revoked(r.Now) {
		return false, nil
	}
	if c.Hint == "" {
		c.Hint = r.Hint
		if _, err := tx.ExecContext(ctx, `UPDATE credentials SET hint = ? WHERE application_id = ? AND public_id = ?`, r.Hint, appID, c.ID); err != nil {
			return false, err
		}
	}
	var e *tokenservice.Event
	if settings.LeakAction == tokenservice.LeakNotify {
		if !c.LeakedAt.IsZero() {
			return true, nil // marked already: a repeated report adds nothing
		}
		if _, err := tx.ExecContext(ctx, `UPDATE credentials SET leaked_at = coalesce(leaked_at, ?) WHERE application_id = ? AND public_id = ?`,
			millis(r.Now), appID, c.ID); err != nil {
			return false, err
		}
		e = credentialEvent(app, tokenservice.ActionCredentialLeaked, &c, r.Actor, r.Now)
	} else {
		if _, err := changeApplication(ctx, tx, app.AccountID, app.ClientID, 0, r.Actor, r.Now); err != nil {
			return false, err
		}
		if err := revokeCredential(ctx, tx, appID, c.ID, r.Now, "leak report", tokenservice.RevokedByLeakReport); err != nil {
			return false, err
		}
		if err := keepWorking(ctx, tx, appID, r.Now); err != nil {
			return false, err
		}
		e = credentialEvent(app, tokenservice.ActionCredentialRevoked, &c, r.Actor, r.Now)
		e.Reason = tokenservice.RevokedByLeakReport
	}
	if err := recordEvent(ctx, tx, e, ""); err != nil {
		return false, err
	}
	return true, nil
}
