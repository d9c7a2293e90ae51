package db

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"tokenservice"
)

// SigningKeys returns every stored token-signing key: the current one first,
// then the retired ones, newest first.
func (db *DB) SigningKeys(ctx context.Context) ([]tokenservice.SigningKey, error) {
	rows, err := db.pool.QueryContext(ctx, `
		SELECT kid, algorithm, private_key, created_at, retired_at, max_token_ttl FROM signing_keys
		ORDER BY retired_at IS NOT NULL, created_at DESC, kid`)
	if err != nil {
		return nil, fmt.Errorf("db: signing keys: %w", err)
	}
	defer rows.Close()
	var out []tokenservice.SigningKey
	for rows.Next() {
		var (
			k         tokenservice.SigningKey
			createdAt int64
			retiredAt sql.NullInt64
			maxTTL    int64
		)
		if err := rows.Scan(&k.ID, &k.Algorithm, &k.Ciphertext, &createdAt, &retiredAt, &maxTTL); err != nil {
			return nil, fmt.Errorf("db: signing keys: %w", err)
		}
		k.CreatedAt, k.RetiredAt = fromMillis(createdAt), fromNullMillis(retiredAt)
		k.MaxTokenTTL = time.Duration(maxTTL) * time.Millisecond
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("db: signing keys: %w", err)
	}
	return out, nil
}

// AddSigningKey makes k the current key, retiring the current one at now;
// with onlyIfNone only when there is none (and reports whether it did), so
// replicas starting together on a new database end up with one key.
func (db *DB) AddSigningKey(ctx context.Context, k tokenservice.SigningKey, onlyIfNone bool, now time.Time) (bool, error) {
	tx, err := db.pool.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("db: add signing key: %w", err)
	}
	defer tx.Rollback()
	if onlyIfNone {
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM signing_keys WHERE retired_at IS NULL)`).Scan(&exists); err != nil {
			return false, fmt.Errorf("db: add signing key: %w", err)
		} else if exists {
			return false, nil
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL`, millis(now)); err != nil {
		return false, fmt.Errorf("db: add signing key: %w", err)
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO signing_keys (kid, algorithm, private_key, created_at, max_token_ttl) VALUES (?, ?, ?, ?, ?)`,
		k.ID, k.Algorithm, k.Ciphertext, millis(k.CreatedAt), k.MaxTokenTTL.Milliseconds()); err != nil {
		return false, fmt.Errorf("db: add signing key: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("db: add signing key: %w", err)
	}
	return true, nil
}

// RaiseSigningKeyTTL records that tokens of lifetime ttl are signed with
// the key (MaxTokenTTL only grows).
func (db *DB) RaiseSigningKeyTTL(ctx context.Context, kid string, ttl time.Duration) error {
	if _, err := db.pool.ExecContext(ctx,
		`UPDATE signing_keys SET max_token_ttl = `+db.dialect.greatest+`(max_token_ttl, ?) WHERE kid = ?`, ttl.Milliseconds(), kid); err != nil {
		return fmt.Errorf("db: raise signing key ttl: %w", err)
	}
	return nil
}

// DeleteSigningKeys deletes, private key and all, the retired keys whose
// every token expired before expiredBefore: retired more than their
// MaxTokenTTL before it.
func (db *DB) DeleteSigningKeys(ctx context.Context, expiredBefore time.Time) (int, error) {
	res, err := db.pool.ExecContext(ctx, `DELETE FROM signing_keys WHERE retired_at + max_token_ttl < ?`, millis(expiredBefore))
	if err != nil {
		return 0, fmt.Errorf("db: delete signing keys: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
