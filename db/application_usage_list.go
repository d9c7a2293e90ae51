package db

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"tokenservice"
)

// listExpiring returns a page of the account's applications with a secret
// that expires by opt.ExpiringBy, in the order o. It pages by offset
// ("o<n>" cursors): this view is for finding a few applications, not for
// walking them all.
func (db *DB) listExpiring(ctx context.Context, accountID string, opt tokenservice.ListOptions, o listOrder, limit int) (*tokenservice.ApplicationPage, error) {
	offset := 0
	for _, s := range []string{opt.After, opt.Before} {
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimPrefix(s, "o"))
		if err != nil || !strings.HasPrefix(s, "o") || n < 0 {
			return nil, fmt.Errorf("db: list applications: %w", tokenservice.Errorf(tokenservice.EINVALID, "The page link is not valid."))
		}
		offset = n
		if s == opt.Before {
			offset = max(n-limit, 0)
		}
		break
	}
	where, args := `account_id = ? AND id IN (`+expiringApplications+`)`, []any{accountID, millis(opt.ExpiringBy)}
	if key := nameKey(opt.Filter); key != "" {
		where += ` AND (name_lower ` + db.dialect.like + ` ? ESCAPE '\' OR client_id ` + db.dialect.like + ` ? ESCAPE '\')`
		args = append(args, likePattern(key), likePattern(key))
	}
	rows, err := db.pool.QueryContext(ctx,
		`SELECT `+listColumns+`, `+o.key+`, `+pageScopes+` FROM applications
		WHERE `+where+` ORDER BY `+o.by()+limitTo(limit+1)+` OFFSET `+strconv.Itoa(offset), args...)
	if err != nil {
		return nil, fmt.Errorf("db: list applications: %w", err)
	}
	l, err := scanPage(rows, limit)
	if err != nil {
		return nil, fmt.Errorf("db: list applications: %w", err)
	}
	page := &tokenservice.ApplicationPage{Applications: l.apps, Offset: offset}
	if l.more {
		page.Next = "o" + strconv.Itoa(offset+limit)
	}
	if offset > 0 {
		page.Prev = "o" + strconv.Itoa(offset)
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
