package db

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// The numbers an operator watches (see handlers' metrics). Each is one
// aggregate query in plain SQL that PostgreSQL runs as it is; none is run
// per scrape, the sweeper refreshes them.

// AccountSize is how many accounts have exactly Applications applications.
type AccountSize struct {
	Applications int64
	Accounts     int64
}

// AccountSizes counts the accounts by their number of applications, one row
// per number, smallest first: few rows however many accounts, for the caller
// to bucket. An account without applications is not counted.
func (db *DB) AccountSizes(ctx context.Context) ([]AccountSize, error) {
	rows, err := db.pool.QueryContext(ctx, `
		SELECT per_account.applications, COUNT(*)
		FROM (SELECT COUNT(*) AS applications FROM applications GROUP BY account_id) AS per_account
		GROUP BY per_account.applications
		ORDER BY per_account.applications`)
	if err != nil {
		return nil, fmt.Errorf("db: account sizes: %w", err)
	}
	defer rows.Close()
	var out []AccountSize
	for rows.Next() {
		var s AccountSize
		if err := rows.Scan(&s.Applications, &s.Accounts); err != nil {
			return nil, fmt.Errorf("db: account sizes: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("db: account sizes: %w", err)
	}
	return out, nil
}

// OpenRevealWindows counts the secrets that can
// still be viewed at now (the sweeper erases ended windows, but may not
// have run yet, so the time is compared, not the column's presence).
func (db *DB) OpenRevealWindows(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	if err := db.pool.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM credentials WHERE reveal_until > ?`, millis(now)).Scan(&n); err != nil {
		return 0, fmt.Errorf("db: open reveal windows: %w", err)
	}
	return n, nil
}

// PoolStats are the connection pool's numbers: open, in use, idle, and how
// often and how long queries waited for a connection.
func (db *DB) PoolStats() sql.DBStats { return db.pool.Stats() }
