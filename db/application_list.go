package db

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"tokenservice"
)

// ListApplications returns a page of the account's applications in the
// order opt.Sort, paged by keyset forwards (After) or backwards (Before) so
// that a deep page costs what the first does; a bad cursor is EINVALID.
// docs/store-notes.md tells how a filter is found.
func (db *DB) ListApplications(ctx context.Context, accountID string, opt tokenservice.ListOptions) (*tokenservice.ApplicationPage, error) {
	limit := opt.Limit
	if limit <= 0 {
		limit = tokenservice.DefaultListLimit
	} else if limit > tokenservice.MaxListLimit {
		limit = tokenservice.MaxListLimit
	}
	ord, ok := listOrders[opt.Sort]
	if !ok {
		return nil, fmt.Errorf("db: list applications: %w", tokenservice.Errorf(tokenservice.EINVALID, "Unknown order %q.", opt.Sort))
	}

	if strings.ContainsRune(opt.Filter, 0) {
		// SQLite's LIKE ends a pattern at a NUL, so "x\x00" would match what
		// ends in "x", and PostgreSQL's text refuses a NUL; no name or client
		// ID contains one, so nothing matches.
		return &tokenservice.ApplicationPage{}, nil
	}
	if !opt.ExpiringBy.IsZero() {
		return db.listExpiring(ctx, accountID, opt, ord, limit)
	}
	var (
		from     *cursor
		backward bool
	)
	for _, s := range []string{opt.After, opt.Before} {
		if s == "" {
			continue
		}
		c, err := decodeCursor(s, opt.Sort)
		if err != nil {
			return nil, fmt.Errorf("db: list applications: %w", err)
		}
		from, backward = &c, s == opt.Before
		break
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
	run := ord
	if backward {
		// The page before the cursor is the one after it in the reverse order.
		run = ord.reversed()
	}
	l, err := db.listOrdered(ctx, q, accountID, key, run, from, limit)
	if err != nil {
		return nil, fmt.Errorf("db: list applications: %w", err)
	}
	if backward && !l.more {
		// Back at the start: the first page, whole.
		opt.Before = ""
		return db.ListApplications(ctx, accountID, opt)
	}
	page := &tokenservice.ApplicationPage{Applications: l.apps, Total: l.total}
	hasPrev, hasNext := from != nil, l.more
	if backward {
		slices.Reverse(page.Applications)
		slices.Reverse(l.keys)
		page.Offset = max(from.Offset-len(l.apps), 0)
		hasPrev, hasNext = true, true
	} else if from != nil {
		page.Offset = from.Offset
	}
	if n := len(l.keys); n > 0 {
		// The cursors carry the position: Prev its first row's, Next the
		// next page's.
		first, last := l.keys[0], l.keys[n-1]
		first.Sort, first.Offset = opt.Sort, page.Offset
		last.Sort, last.Offset = opt.Sort, page.Offset+n
		if hasPrev {
			page.Prev = encodeCursor(first)
		}
		if hasNext {
			page.Next = encodeCursor(last)
		}
	}
	return page, nil
}

// listOrdered is a page of the applications holding key (all for "") in
// the order o after the cursor, with the total of the matches.
func (db *DB) listOrdered(ctx context.Context, q queryer, accountID, key string, o listOrder, after *cursor, limit int) (*listed, error) {
	switch {
	case key == "":
		return db.listScan(ctx, q, accountID, o, scanFilter{}, after, limit, -1)
	case o.byName(key):
		return db.listNamed(ctx, q, accountID, key, o, after, limit)
	}
	// Another order: the filter's machinery counts the matches in name
	// order; few are sorted here, many found by reading the order's index.
	named, err := db.listNamed(ctx, q, accountID, key, byNameLower, nil, 1)
	if err != nil {
		return nil, err
	}
	if named.total <= maxSortedInGo {
		if named.more {
			if named, err = db.listNamed(ctx, q, accountID, key, byNameLower, nil, maxSortedInGo); err != nil {
				return nil, err
			}
		}
		return sortedWindow(named.apps, o, after, limit), nil
	}
	return db.listScan(ctx, q, accountID, o, scanFilter{pattern: likePattern(key)}, after, limit, named.total)
}

// maxSortedInGo is how many matches of a filter listOrdered sorts itself for
// an order other than the name's; past it, the order's index is read with
// the filter, matches being at least that common.
const maxSortedInGo = 200

// listNamed is a page of the applications holding key (not "") in o, an
// order by name in which key's prefix is a range (see listOrder.byName).
func (db *DB) listNamed(ctx context.Context, q queryer, accountID, key string, o listOrder, after *cursor, limit int) (*listed, error) {
	search, names, err := db.searchable(ctx, q, key)
	if err != nil {
		return nil, err
	}
	// The page and its total come from one statement, so they agree; on
	// PostgreSQL the candidates listed before it may be a moment older.
	if search {
		return db.listSearch(ctx, q, accountID, key, o, names, after, limit)
	}
	return db.listScan(ctx, q, accountID, o, scanFilter{pattern: likePattern(key)}, after, limit, -1)
}

// scanFilter is what listScan lists: the names from from (inclusive) to to
// (exclusive, "" for no end) of the order's key, a name (see
// listOrder.byName), and of them, when pattern is not "", those whose name
// or client ID is LIKE it.
type scanFilter struct {
	from, to string
	pattern  string
}

// listScan is a page by reading the account's applications in the order's
// index. A range is counted in the page's own statement; a pattern's count
// may read every name, so it waits until the first page does not hold every
// match, unless known (total >= 0).
func (db *DB) listScan(ctx context.Context, q queryer, accountID string, o listOrder, f scanFilter, after *cursor, limit, total int) (*listed, error) {
	filter, filterArgs := `account_id = ?`, []any{accountID}
	if f.pattern != "" {
		// name_lower holds Go's lower-casing; LIKE folds ASCII case for the client ID.
		filter += ` AND (name_lower ` + db.dialect.like + ` ` + db.dialect.pattern + ` ESCAPE '\' OR client_id ` + db.dialect.like + ` ` + db.dialect.pattern + ` ESCAPE '\')`
		filterArgs = append(filterArgs, f.pattern, f.pattern)
	}
	count, countArgs := filter, filterArgs
	if f.from != "" {
		count += ` AND name_lower >= ? AND name_lower < ?`
		countArgs = append(slices.Clone(countArgs), f.from, f.to)
	}
	// The page starts after the cursor or at the range's end, whichever
	// comes later in the order: one bound there, so that the index range
	// starts at it (given both, SQLite starts it at the first). No client ID is "".
	where, args := filter, slices.Clone(filterArgs)
	useCursor := after != nil
	if after != nil && f.from != "" {
		useCursor = (!o.desc && after.Key >= f.from) || (o.desc && after.Key < f.to)
	}
	if useCursor {
		where += ` AND ` + o.past()
		args = append(args, o.pastArgs(*after)...)
	}
	if f.from != "" {
		if o.desc || !useCursor {
			where += ` AND ` + o.key + ` >= ?`
			args = append(args, f.from)
		}
		if !o.desc || !useCursor {
			where += ` AND ` + o.key + ` < ?`
			args = append(args, f.to)
		}
	}
	counted := ""
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
		`SELECT `+listColumns+`, `+o.key+`, `+pageScopes+counted+` FROM applications
		WHERE `+where+`
		ORDER BY `+o.by()+limitTo(limit+1),
		args...)
	if err != nil {
		return nil, err
	}
	l, err := scanPage(rows, limit, extra...)
	if err != nil {
		return nil, err
	}
	switch {
	case after == nil && !l.more:
		// The first page holds every match.
		l.total = len(l.apps)
		return l, nil
	case total >= 0 && (counted == "" || len(l.apps) > 0):
		l.total = total
		return l, nil
	}
	if err := q.QueryRowContext(ctx,
		`SELECT count(*) FROM (SELECT 1 FROM applications WHERE `+count+limitTo(tokenservice.MaxListTotal+1)+`) AS matches`,
		countArgs...,
	).Scan(&l.total); err != nil {
		return nil, fmt.Errorf("count: %w", err)
	}
	return l, nil
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
// the order's key, pageScopes, then extra's columns) and whether another
// row follows. It closes rows.
func scanPage(rows *sql.Rows, limit int, extra ...any) (*listed, error) {
	defer rows.Close()
	var (
		key    any
		scopes sql.NullString
	)
	extra = append([]any{&key, &scopes}, extra...)
	l := &listed{total: -1}
	for rows.Next() {
		app, err := scanApplication(rows, extra...)
		if err != nil {
			return nil, err
		}
		if len(l.apps) == limit {
			l.more = true
			break
		}
		if app.Scopes, err = parsePageScopes(scopes); err != nil {
			return nil, fmt.Errorf("application %s: %w", app.ClientID, err)
		}
		c := cursor{ClientID: app.ClientID}
		c.setKey(key)
		l.apps = append(l.apps, app)
		l.keys = append(l.keys, c)
	}
	return l, rows.Err()
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
