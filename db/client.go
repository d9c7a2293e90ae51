package db

import (
	"context"
	"database/sql"
	"fmt"

	"tokenservice"
)

// Client returns what the token endpoint needs of the application with the
// client ID, in any account, from the cache while the database is unchanged;
// a missing one is ENOTFOUND. The result is shared: do not modify it.
func (db *DB) Client(ctx context.Context, clientID string) (*tokenservice.Client, error) {
	mark, err := db.clientCache.mark(ctx)
	if err != nil {
		return nil, fmt.Errorf("db: client: change mark: %w", err)
	}
	if c, missing := db.clientCache.get(clientID, mark); c != nil {
		return c, nil
	} else if missing {
		return nil, errClientNotFound
	}
	c, err := db.queryClient(ctx, clientID)
	if err != nil {
		return nil, err
	}
	db.clientCache.put(clientID, mark, c)
	if c == nil {
		return nil, errClientNotFound
	}
	return c, nil
}

// errClientNotFound is Client's answer for a client ID no application has,
// made once: an unknown ID costs no more than a known one.
var errClientNotFound = fmt.Errorf("db: client: %w", errAppNotFound())

// clientQuery and clientSecretsQuery are queryClient's queries, prepared
// at Open.
const (
	clientQuery = `
	SELECT a.id, a.account_id, a.secret_generation, s.scope_key, s.access
	FROM applications a LEFT JOIN application_scopes s ON s.application_id = a.id
	WHERE a.client_id = ?
	ORDER BY s.scope_key`
	clientSecretsQuery = `
	SELECT public_id, secret_hash, expires_at, revoke_at, migrated FROM credentials
	WHERE application_id = ? AND kind = 'client_secret' AND revoked_at IS NULL
	ORDER BY id DESC`
)

// queryClient reads what the token endpoint needs of the application with
// the client ID, in one indexed query; nil when no application has it.
func (db *DB) queryClient(ctx context.Context, clientID string) (*tokenservice.Client, error) {
	rows, err := db.clientStmt.QueryContext(ctx, clientID)
	if err != nil {
		return nil, fmt.Errorf("db: client: %w", err)
	}
	defer rows.Close()
	var c *tokenservice.Client
	for rows.Next() {
		var (
			next        tokenservice.Client
			key, access sql.NullString
		)
		if err := rows.Scan(&next.ApplicationID, &next.AccountID, &next.SecretGeneration, &key, &access); err != nil {
			return nil, fmt.Errorf("db: client: %w", err)
		}
		if c == nil {
			next.ClientID = clientID
			c = &next
		}
		if key.Valid {
			c.Scopes = append(c.Scopes, tokenservice.ScopeGrant{Key: key.String, Access: tokenservice.Access(access.String)})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("db: client: %w", err)
	}
	rows.Close()
	if c == nil {
		// The same second query as a known client's: an unknown ID must not
		// answer sooner.
		if _, err := db.querySecrets(ctx, 0); err != nil {
			return nil, fmt.Errorf("db: client: %w", err)
		}
		return nil, nil
	}
	if c.Secrets, err = db.querySecrets(ctx, c.ApplicationID); err != nil {
		return nil, fmt.Errorf("db: client: %w", err)
	}
	return c, nil
}

// querySecrets reads the client secrets of an application not revoked yet.
func (db *DB) querySecrets(ctx context.Context, appID int64) ([]tokenservice.ClientSecret, error) {
	rows, err := db.clientSecretsStmt.QueryContext(ctx, appID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []tokenservice.ClientSecret
	for rows.Next() {
		var (
			s                   tokenservice.ClientSecret
			expiresAt, revokeAt sql.NullInt64
			migrated            int
		)
		if err := rows.Scan(&s.ID, &s.Hash, &expiresAt, &revokeAt, &migrated); err != nil {
			return nil, err
		}
		s.ExpiresAt, s.RevokeAt, s.Migrated = fromNullMillis(expiresAt), fromNullMillis(revokeAt), migrated == 1
		out = append(out, s)
	}
	return out, rows.Err()
}
