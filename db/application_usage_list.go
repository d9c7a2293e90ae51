package db

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"tokenservice"
)

// listByUse returns a page of the account's applications for the list's
// other views: least recently used first (never used before all), or only
// those with a secret that expires by opt.ExpiringBy. It pages by offset:
// these views are for finding a few applications, not for walking them all.
func (db *DB) listByUse(ctx context.Context, accountID string, opt tokenservice.ListOptions, limit int) (*tokenservice.ApplicationPage, error) {
	offset := 0
	if opt.After != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(opt.After, "o"))
		if err != nil || !strings.HasPrefix(opt.After, "o") || n < 0 {
			return nil, fmt.Errorf("db: list applications: %w", tokenservice.Errorf(tokenservice.EINVALID, "The page link is not valid."))
		}
		offset = n
	}
	where, args := `account_id = ?`, []any{accountID}
	if key := nameKey(opt.Filter); key != "" {
		where += ` AND (name_lower ` + db.dialect.like + ` ? ESCAPE '\' OR client_id ` + db.dialect.like + ` ? ESCAPE '\')`
		args = append(args, likePattern(key), likePattern(key))
	}
	if !opt.ExpiringBy.IsZero() {
		where += ` AND id IN (` + expiringApplications + `)`
		args = append(args, millis(opt.ExpiringBy))
	}
	order := `name_lower, client_id`
	if opt.Sort == tokenservice.SortLastUsed {
		order = `coalesce(last_used_at, 0), ` + order
	}
	rows, err := db.pool.QueryContext(ctx,
		`SELECT `+listColumns+`, name_lower, `+pageScopes+` FROM applications
		WHERE `+where+` ORDER BY `+order+limitTo(limit+1)+` OFFSET `+strconv.Itoa(offset), args...)
	if err != nil {
		return nil, fmt.Errorf("db: list applications: %w", err)
	}
	page, err := scanPage(rows, limit)
	if err != nil {
		return nil, fmt.Errorf("db: list applications: %w", err)
	}
	page.Next = ""
	if len(page.Applications) == limit {
		var more int
		if err := db.pool.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM applications WHERE `+where+` ORDER BY `+order+limitTo(1)+` OFFSET `+strconv.Itoa(offset+limit)+`) AS more`, args...).Scan(&more); err != nil {
			return nil, fmt.Errorf("db: list applications: %w", err)
		}
		if more > 0 {
			page.Next = "o" + strconv.Itoa(offset+limit)
		}
	}
	if err := db.pool.QueryRowContext(ctx,
		`SELECT count(*) FROM (SELECT 1 FROM applications WHERE `+where+limitTo(tokenservice.MaxListTotal+1)+`) AS matches`,
		args...).Scan(&page.Total); err != nil {
		return nil, fmt.Errorf("db: list applications: %w", err)
	}
	return page, nil
}

// expiringApplications selects the ids of applications with a secret that
// is not revoked and expires by its one argument, or has expired: it stays
// until an admin revokes it or rotates the secret.
const expiringApplications = `SELECT application_id FROM credentials
	WHERE expires_at IS NOT NULL AND revoked_at IS NULL AND expires_at <= ?`

// CountExpiring counts the account's applications with a secret that
// expires by the time given, for the Applications list's warning.
func (db *DB) CountExpiring(ctx context.Context, accountID string, by time.Time) (int, error) {
	// From the few secrets that expire by then (credentials_expires_at) to
	// their applications, never through every application of the account.
	var n int
	if err := db.pool.QueryRowContext(ctx, `
		SELECT count(DISTINCT c.application_id) FROM credentials c CROSS JOIN applications a
		WHERE c.expires_at IS NOT NULL AND c.revoked_at IS NULL AND c.expires_at <= ?
			AND a.id = c.application_id AND a.account_id = ?`,
		millis(by), accountID).Scan(&n); err != nil {
		return 0, fmt.Errorf("db: count expiring: %w", err)
	}
	return n, nil
}
