package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"tokenservice"
)

// ApplicationNamed returns the account's oldest application whose name is
// name case-insensitively (as the list's filter folds it), other than the
// one with the client ID except; nil for none. It reads the name index.
func (db *DB) ApplicationNamed(ctx context.Context, accountID, name, except string) (*tokenservice.Application, error) {
	app, err := scanApplication(db.pool.QueryRowContext(ctx,
		`SELECT `+applicationColumns+` FROM applications
		WHERE account_id = ? AND name_lower = ? AND client_id <> ?
		ORDER BY created_at, client_id LIMIT 1`,
		accountID, nameKey(name), except))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("db: application named: %w", err)
	}
	return app, nil
}
