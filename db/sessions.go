package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"tokenservice"
)

// Sessions live in the database, so logout and expiry are final on every
// replica. Rows are keyed by idHash, the hex SHA-256 of the cookie's random
// id, so a copy of the database yields no live cookies.

// LoadSession returns the data of the session, ENOTFOUND if there is none
// or it expired at or before now.
func (db *DB) LoadSession(ctx context.Context, idHash string, now time.Time) ([]byte, error) {
	var data []byte
	err := db.pool.QueryRowContext(ctx,
		`SELECT data FROM sessions WHERE id_hash = ? AND expires_at > ?`,
		idHash, millis(now),
	).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("db: load session: %w",
			tokenservice.Errorf(tokenservice.ENOTFOUND, "Session not found."))
	} else if err != nil {
		return nil, fmt.Errorf("db: load session: %w", err)
	}
	return data, nil
}

// SaveSession creates the session or replaces its data and expiry.
func (db *DB) SaveSession(ctx context.Context, idHash string, data []byte, expiresAt, now time.Time) error {
	if data == nil {
		data = []byte{}
	}
	if _, err := db.pool.ExecContext(ctx, `
		INSERT INTO sessions (id_hash, data, created_at, expires_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (id_hash) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at`,
		idHash, data, millis(now), millis(expiresAt),
	); err != nil {
		return fmt.Errorf("db: save session: %w", err)
	}
	return nil
}

// UpdateSession replaces the data and expiry of a live session. A session
// that was deleted (logout) or has expired is ENOTFOUND and stays gone: a
// request that loaded it before the logout cannot bring it back.
func (db *DB) UpdateSession(ctx context.Context, idHash string, data []byte, expiresAt, now time.Time) error {
	if data == nil {
		data = []byte{}
	}
	res, err := db.pool.ExecContext(ctx, `
		UPDATE sessions SET data = ?, expires_at = ? WHERE id_hash = ? AND expires_at > ?`,
		data, millis(expiresAt), idHash, millis(now))
	if err != nil {
		return fmt.Errorf("db: update session: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("db: update session: %w", err)
	} else if n == 0 {
		return fmt.Errorf("db: update session: %w", tokenservice.Errorf(tokenservice.ENOTFOUND, "Session not found."))
	}
	return nil
}

// DeleteSession deletes the session. Deleting one that does not exist is
// not an error: logging out twice is still logged out.
func (db *DB) DeleteSession(ctx context.Context, idHash string) error {
	if _, err := db.pool.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = ?`, idHash); err != nil {
		return fmt.Errorf("db: delete session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions deletes every session that expired at or before
// now and returns how many it deleted. cmd runs it periodically; LoadSession
// already ignores expired rows, so this only reclaims space.
func (db *DB) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	res, err := db.pool.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, millis(now))
	if err != nil {
		return 0, fmt.Errorf("db: delete expired sessions: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("db: delete expired sessions: %w", err)
	}
	return int(n), nil
}
