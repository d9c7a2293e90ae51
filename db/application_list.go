package db

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"tokenservice"
)

// ListApplications returns a page of the account's applications in name
// order, paged by keyset so that a deep page costs what the first does; a
// bad cursor is EINVALID. docs/store-notes.md tells how a filter is found.
func (db *DB) ListApplications(ctx context.Context, accountID string, opt tokenservice.ListOptions) (*tokenservice.ApplicationPage, error) {
	limit := opt.Limit
	if limit <= 0 {
		limit = tokenservice.DefaultListLimit
	} else if limit > tokenservice.MaxListLimit {
		limit = tokenservice.MaxListLimit
	}

	if strings.ContainsRune(opt.Filter, 0) {
		// SQLite's LIKE ends a pattern at a NUL, so "x\x00" would match what
		// ends in "x", and PostgreSQL's text refuses a NUL; no name or client
		// ID contains one, so nothing matches.
		return &tokenservice.ApplicationPage{}, nil
	}
	if opt.Sort == tokenservice.SortLastUsed || !opt.ExpiringBy.IsZero() {
		return db.listByUse(ctx, accountID, opt, limit)
	}
	var after *cursor
	if opt.After != "" {
		c, err := decodeCursor(opt.After)
		if err != nil {
			return nil, fmt.Errorf("db: list applications: %w", err)
		}
		after = &c
	}

	key := nameKey(opt.Filter)
	var q queryer = db.pool
	if !db.dialect.postgres && key != "" {
		// On SQLite the filter's statements share a read transaction, and
		// so a snapshot, for next to nothing. On PostgreSQL, where a
		// transaction costs two round trips more, each has its own.
		tx, err := db.pool.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			return nil, fmt.Errorf("db: list applications: %w", err)
		}
		defer tx.Rollback()
		q = tx
	}
	search, listed, err := db.searchable(ctx, q, key)
	if err != nil {
		return nil, fmt.Errorf("db: list applications: %w", err)
	}
	// The page and its total come from one statement, so they agree; on
	// PostgreSQL the candidates listed before it may be a moment older.
	var page *tokenservice.ApplicationPage
	if search {
		page, err = db.listSearch(ctx, q, accountID, key, listed, after, limit)
	} else {
		page, err = db.listScan(ctx, q, accountID, scanFilter{pattern: likePattern(key)}, after, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("db: list applications: %w", err)
	}
	return page, nil
}

// scanFilter is what listScan lists: the names from from (inclusive) to to
// (exclusive, "" for no end) of the name index, and of them, when pattern is
// not "", those whose name or client ID is LIKE it.
type scanFilter struct {
	from, to string
	pattern  string
}

// listScan is ListApplications by reading the account's names in order. A
// range is counted in the page's own statement; a pattern's count may read
// every name, so it waits until the first page does not hold every match.
func (db *DB) listScan(ctx context.Context, q queryer, accountID string, f scanFilter, after *cursor, limit int) (*tokenservice.ApplicationPage, error) {
	filter, filterArgs := `account_id = ?`, []any{accountID}
	if f.to != "" {
		filter += ` AND name_lower < ?`
		filterArgs = append(filterArgs, f.to)
	}
	if f.pattern != "" {
		// name_lower holds Go's lower-casing; LIKE folds ASCII case for the client ID.
		filter += ` AND (name_lower ` + db.dialect.like + ` ` + db.dialect.pattern + ` ESCAPE '\' OR client_id ` + db.dialect.like + ` ` + db.dialect.pattern + ` ESCAPE '\')`
		filterArgs = append(filterArgs, f.pattern, f.pattern)
	}
	count, countArgs := filter, filterArgs
	if f.from != "" {
		count += ` AND name_lower >= ?`
		countArgs = append(slices.Clone(countArgs), f.from)
	}
	// The page starts after the cursor or at from: one lower bound, the
	// later, so that the index range starts there (given both, SQLite
	// starts it at the first). No client ID is "".
	where, args := filter, slices.Clone(filterArgs)
	switch {
	case after != nil && after.NameLower >= f.from:
		where += ` AND (name_lower, client_id) > (?, ?)`
		args = append(args, after.NameLower, after.ClientID)
	case f.from != "":
		where += ` AND name_lower >= ?`
		args = append(args, f.from)
	}
	counted, total := "", 0
	var extra []any
	if f.pattern == "" {
		order := ""
		if f.from != "" {
			// So that PostgreSQL reads a filter's range in the name index,
			// as listSearch's count of the names that start with key.
			order = ` ORDER BY account_id, name_lower`
		}
		counted = `, (SELECT count(*) FROM (SELECT 1 FROM applications WHERE ` + count + order + limitTo(tokenservice.MaxListTotal+1) + `) AS matches)`
		args = append(slices.Clone(countArgs), args...)
		extra = append(extra, &total)
	} else {
		args, countArgs = db.dialect.customPlan(args), db.dialect.customPlan(countArgs)
	}
	rows, err := q.QueryContext(ctx,
		`SELECT `+listColumns+`, name_lower, `+pageScopes+counted+` FROM applications
		WHERE `+where+`
		ORDER BY name_lower, client_id`+limitTo(limit+1),
		args...)
	if err != nil {
		return nil, err
	}
	page, err := scanPage(rows, limit, extra...)
	if err != nil {
		return nil, err
	}
	switch {
	case after == nil && page.Next == "":
		// The first page holds every match.
		page.Total = len(page.Applications)
		return page, nil
	case counted != "" && len(page.Applications) > 0:
		page.Total = total
		return page, nil
	}
	if err := q.QueryRowContext(ctx,
		`SELECT count(*) FROM (SELECT 1 FROM applications WHERE `+count+limitTo(tokenservice.MaxListTotal+1)+`) AS matches`,
		countArgs...,
	).Scan(&page.Total); err != nil {
		return nil, fmt.Errorf("count: %w", err)
	}
	return page, nil
}

// pageScopes is an application's scopes as one column of the list, "key
// access" pairs joined by commas (neither holds either: see scope.Catalogue),
// so that they cost no statement of their own. Go sorts them once read.
const pageScopes = `(SELECT string_agg(scope_key || ' ' || access, ',')
	FROM application_scopes WHERE application_id = applications.id)`

// parsePageScopes reads a pageScopes column, sorted by key.
func parsePageScopes(s sql.NullString) ([]tokenservice.ScopeGrant, error) {
	if !s.Valid {
		return nil, nil
	}
	var grants []tokenservice.ScopeGrant
	for pair := range strings.SplitSeq(s.String, ",") {
		key, access, ok := strings.Cut(pair, " ")
		if !ok {
			return nil, fmt.Errorf("scopes: unexpected %q", pair)
		}
		grants = append(grants, tokenservice.ScopeGrant{Key: key, Access: tokenservice.Access(access)})
	}
	slices.SortFunc(grants, func(a, b tokenservice.ScopeGrant) int { return strings.Compare(a.Key, b.Key) })
	return grants, nil
}

// scanPage reads up to limit applications of rows (applicationColumns,
// name_lower, pageScopes, then extra's columns), and the next page's cursor
// when there is another row. It closes rows.
func scanPage(rows *sql.Rows, limit int, extra ...any) (*tokenservice.ApplicationPage, error) {
	defer rows.Close()
	var (
		nameLower string
		scopes    sql.NullString
	)
	extra = append([]any{&nameLower, &scopes}, extra...)
	page := &tokenservice.ApplicationPage{}
	var last cursor
	for rows.Next() {
		app, err := scanApplication(rows, extra...)
		if err != nil {
			return nil, err
		}
		if len(page.Applications) == limit {
			page.Next = encodeCursor(last)
			break
		}
		if app.Scopes, err = parsePageScopes(scopes); err != nil {
			return nil, fmt.Errorf("application %s: %w", app.ClientID, err)
		}
		page.Applications = append(page.Applications, app)
		last = cursor{NameLower: nameLower, ClientID: app.ClientID}
	}
	return page, rows.Err()
}

// cursor is the sort key of the last application of a page.
type cursor struct {
	NameLower string `json:"n"`
	ClientID  string `json:"c"`
}

func encodeCursor(c cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.ClientID == "" {
		return cursor{}, tokenservice.Errorf(tokenservice.EINVALID, "This page link is not valid. Start again from the first page.")
	}
	return c, nil
}

// likePattern is the LIKE pattern of what holds key, "" for no key.
func likePattern(key string) string {
	if key == "" {
		return ""
	}
	return "%" + escapeLike(key) + "%"
}

// escapeLike makes s match itself inside a LIKE pattern with ESCAPE '\'.
func escapeLike(s string) string { return likeEscaper.Replace(s) }

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
