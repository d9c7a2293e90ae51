package db

import (
	"context"
	"fmt"
	"time"

	"tokenservice"
)

// RetireCredentials revokes the credentials whose grace period ended by now
// and records those that expired, each with its event, and returns how
// many it changed. The sweeper runs it: the token endpoint refuses them at
// their deadline by itself.
func (db *DB) RetireCredentials(ctx context.Context, now time.Time) (int, error) {
	tx, err := db.pool.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("db: retire credentials: %w", err)
	}
	defer tx.Rollback()
	type due struct {
		appID   int64
		cred    tokenservice.Credential
		expired bool
	}
	var list []due
	for _, q := range []struct {
		where   string
		expired bool
	}{
		{`revoke_at IS NOT NULL AND revoked_at IS NULL AND revoke_at <= ?`, false},
		// A secret whose grace period ended first is revoked, not expired.
		{`expires_at IS NOT NULL AND revoked_at IS NULL AND expires_at <= ? AND expiry_recorded = 0
			AND (revoke_at IS NULL OR revoke_at > expires_at)`, true},
	} {
		rows, err := tx.QueryContext(ctx, `SELECT application_id, `+credentialColumns+` FROM credentials WHERE `+q.where+` LIMIT 1000`, millis(now))
		if err != nil {
			return 0, fmt.Errorf("db: retire credentials: %w", err)
		}
		for rows.Next() {
			var d due
			c, err := scanCredential(scanWith(rows, &d.appID))
			if err != nil {
				rows.Close()
				return 0, fmt.Errorf("db: retire credentials: %w", err)
			}
			d.cred, d.expired = c, q.expired
			list = append(list, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, fmt.Errorf("db: retire credentials: %w", err)
		}
	}
	for _, d := range list {
		app, err := applicationByID(ctx, tx, d.appID)
		if err != nil {
			return 0, fmt.Errorf("db: retire credentials: %w", err)
		}
		var e *tokenservice.Event
		if d.expired {
			if _, err := tx.ExecContext(ctx, `UPDATE credentials SET expiry_recorded = 1 WHERE application_id = ? AND public_id = ?`, d.appID, d.cred.ID); err != nil {
				return 0, fmt.Errorf("db: retire credentials: %w", err)
			}
			e = credentialEvent(app, tokenservice.ActionCredentialExpired, &d.cred, systemActor, d.cred.ExpiresAt)
		} else {
			if err := revokeCredential(ctx, tx, d.appID, d.cred.ID, d.cred.RevokeAt, "tokenservice", tokenservice.RevokedByGracePeriod); err != nil {
				return 0, fmt.Errorf("db: retire credentials: %w", err)
			}
			e = credentialEvent(app, tokenservice.ActionCredentialRevoked, &d.cred, systemActor, d.cred.RevokeAt)
			e.Reason = tokenservice.RevokedByGracePeriod
		}
		if err := recordEvent(ctx, tx, e, ""); err != nil {
			return 0, fmt.Errorf("db: retire credentials: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("db: retire credentials: %w", err)
	}
	return len(list), nil
}

// scanWith scans the first columns of a row into dest and the rest into
// what the returned scanner is given.
func scanWith(row interface{ Scan(...any) error }, dest ...any) interface{ Scan(...any) error } {
	return scanFunc(func(rest ...any) error { return row.Scan(append(dest, rest...)...) })
}

type scanFunc func(...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }
