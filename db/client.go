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

// clientQuery is queryClient's query, prepared at Open.
const clientQuery = `
	SELECT a.id, a.account_id, a.secret_hash, a.secret_generation, s.scope_key, s.access
	FROM applications a LEFT JOIN application_scopes s ON s.application_id = a.id
	WHERE a.client_id = ?
	ORDER BY s.scope_key`

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
		if err := rows.Scan(&next.ApplicationID, &next.AccountID, &next.SecretHash, &next.SecretGeneration, &key, &access); err != nil {
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
	return c, nil
}
