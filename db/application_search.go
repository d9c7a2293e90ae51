package db

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"tokenservice"
)

// maxSearchCandidates is how many applications (in all accounts) the
// trigram index may offer for a filter for ListApplications to use it: each
// is looked up, checked and sorted, and past this reading names is quicker.
const maxSearchCandidates = 8000

// maxListedCandidates is how many candidates searchable reads into a list,
// for a filter few names hold (the usual search for one application): the
// index is then asked once, and PostgreSQL plans the page's statement once.
const maxListedCandidates = 1000

// searchable reports whether ListApplications finds key by the trigram
// index: three characters or more, and at most maxCandidates candidates.
// Up to maxListed of them come back in listed (not nil, even when empty).
func (db *DB) searchable(ctx context.Context, q queryer, key string) (search bool, listed []int64, err error) {
	if _, ok := prefixEnd(key); utf8.RuneCountInString(key) < 3 || !ok {
		return false, nil, nil
	}
	if db.dialect.postgres {
		return db.searchablePostgres(ctx, q, key)
	}
	if db.maxListed <= db.maxCandidates {
		// Up to maxListed of them, and one more to know.
		listed, err := readIDs(q.QueryContext(ctx,
			`SELECT rowid FROM application_search WHERE application_search MATCH ?`+limitTo(db.maxListed+1),
			searchQuery(key)))
		if err != nil {
			return false, nil, fmt.Errorf("list candidates: %w", err)
		}
		if len(listed) <= db.maxListed {
			return true, listed, nil
		}
	}
	// More: counted in the index alone, up to one past the limit.
	var candidates int
	if err := q.QueryRowContext(ctx,
		`SELECT count(*) FROM (SELECT 1 FROM application_search WHERE application_search MATCH ?`+limitTo(db.maxCandidates+1)+`) AS candidates`,
		searchQuery(key),
	).Scan(&candidates); err != nil {
		return false, nil, fmt.Errorf("count candidates: %w", err)
	}
	return candidates <= db.maxCandidates, nil, nil
}

// searchablePostgres is searchable on PostgreSQL, whose pg_trgm candidates
// are the matches themselves: counting them would mean reading them, so
// the planner's estimate decides, and up to maxListed of them are listed.
func (db *DB) searchablePostgres(ctx context.Context, q queryer, key string) (search bool, listed []int64, err error) {
	pattern := likePattern(key)
	const matches = `FROM applications WHERE substr(name_lower, 2) LIKE ? ESCAPE '\' OR client_id ILIKE ? ESCAPE '\'`
	var plan []byte
	if err := q.QueryRowContext(ctx, `EXPLAIN (FORMAT JSON) SELECT 1 `+matches, pattern, pattern).Scan(&plan); err != nil {
		return false, nil, fmt.Errorf("estimate candidates: %w", err)
	}
	var estimate []struct {
		Plan struct {
			Rows float64 `json:"Plan Rows"`
		}
	}
	if err := json.Unmarshal(plan, &estimate); err != nil || len(estimate) != 1 {
		return false, nil, fmt.Errorf("estimate candidates: unexpected plan %s", plan)
	}
	rows := estimate[0].Plan.Rows
	if rows > float64(db.maxCandidates) || rows > float64(db.maxListed) {
		return rows <= float64(db.maxCandidates), nil, nil
	}
	// Up to maxListed of them, and one more to know, by a plan made for
	// this pattern: one made for any could read the whole table.
	listed, err = readIDs(q.QueryContext(ctx, `SELECT id `+matches+limitTo(db.maxListed+1),
		db.dialect.customPlan([]any{pattern, pattern})...))
	if err != nil {
		return false, nil, fmt.Errorf("list candidates: %w", err)
	}
	if len(listed) > db.maxListed {
		return true, nil, nil
	}
	return true, listed, nil
}

// readIDs reads the ids a query answered and closes its rows. The list is
// not nil, even when empty.
func readIDs(rows *sql.Rows, err error) ([]int64, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ids := make([]int64, 0, 16)
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, cmp.Or(rows.Err(), rows.Close())
}

// listSearch is a page by the trigram index for a searchable key, in o, an
// order by name (see listOrder.byName): the names that start with key, read
// in order from o's index, and the candidates that hold it elsewhere
// (rest), in one statement with the total.
func (db *DB) listSearch(ctx context.Context, q queryer, accountID, key string, o listOrder, listed []int64, after *cursor, limit int) (*listed, error) {
	end, _ := prefixEnd(key)
	if listed != nil && len(listed) == 0 {
		// Only names that start with key hold it (the usual search by the
		// start of a name): the page is their range of the name index, a
		// statement as simple as the unfiltered list's.
		return db.listScan(ctx, q, accountID, o, scanFilter{from: key, to: end}, after, limit, -1)
	}
	pattern := likePattern(key)
	starts := `account_id = ? AND name_lower >= ? AND name_lower < ?`
	startsArgs := []any{accountID, key, end}
	// name_lower holds Go's lower-casing already; LIKE folds ASCII case for
	// the client ID.
	restFrom, rest := "applications", `account_id = ? AND NOT (name_lower >= ? AND name_lower < ?)
				AND (substr(name_lower, 2) LIKE `+db.dialect.pattern+` ESCAPE '\' OR client_id `+db.dialect.like+` `+db.dialect.pattern+` ESCAPE '\')`
	restArgs := []any{accountID, key, end, pattern, pattern}
	if !db.dialect.postgres {
		// NOT INDEXED: the candidates are looked up by id, never found by
		// reading the account's names.
		restFrom = "applications NOT INDEXED"
	}
	switch {
	case listed != nil && db.dialect.postgres:
		rest = `id = ANY(?) AND ` + rest
		restArgs = append([]any{listed}, restArgs...)
	case listed != nil:
		ids, _ := json.Marshal(listed)
		rest = `id IN (SELECT value FROM json_each(?)) AND ` + rest
		restArgs = append([]any{string(ids)}, restArgs...)
	case !db.dialect.postgres:
		rest = `id IN (SELECT rowid FROM application_search WHERE application_search MATCH ?)
				AND ` + rest
		restArgs = append([]any{searchQuery(key)}, restArgs...)
	}
	// The page's names that start with key come after both the range's end
	// and the cursor: one bound, the later in o, so that the index range
	// starts there (given both, SQLite starts it at the range's). No client ID is "".
	startsPage, startsPageArgs := `account_id = ? AND `+o.key+` >= ? AND `+o.key+` < ?`, []any{accountID, key, end}
	restAfter, afterArgs := "", []any(nil)
	if after != nil {
		restAfter = ` WHERE ` + o.past()
		afterArgs = o.pastArgs(*after)
		switch {
		case !o.desc && after.Key >= key:
			startsPage = `account_id = ? AND ` + o.past() + ` AND ` + o.key + ` < ?`
			startsPageArgs = append(append([]any{accountID}, o.pastArgs(*after)...), end)
		case o.desc && after.Key < end:
			startsPage = `account_id = ? AND ` + o.past() + ` AND ` + o.key + ` >= ?`
			startsPageArgs = append(append([]any{accountID}, o.pastArgs(*after)...), key)
		}
	}
	args := slices.Concat(restArgs, startsArgs, startsPageArgs, afterArgs)
	if listed == nil {
		// The rest is found by the filter itself.
		args = db.dialect.customPlan(args)
	}
	// MATERIALIZED has PostgreSQL plan rest for all its rows, by the trigram
	// indexes; the count of the names that start with key is ordered only so
	// that PostgreSQL reads them in the name index, not the table.
	rows, err := q.QueryContext(ctx, `
		WITH rest AS MATERIALIZED (
			SELECT id, `+o.key+`, client_id FROM `+restFrom+`
			WHERE `+rest+`
		)
		SELECT `+listColumns+`, `+o.key+`, `+pageScopes+`,
			(SELECT count(*) FROM (SELECT 1 FROM applications WHERE `+starts+` ORDER BY account_id, name_lower`+limitTo(tokenservice.MaxListTotal+1)+`) AS starts)
				+ (SELECT count(*) FROM rest)
		FROM applications
		WHERE id IN (
			SELECT id FROM (
				SELECT id, `+o.key+`, client_id FROM applications
				WHERE `+startsPage+`
				ORDER BY `+o.by()+limitTo(limit+1)+`
			) AS starts
			UNION ALL
			SELECT id FROM (
				SELECT id, `+o.key+`, client_id FROM rest`+restAfter+`
				ORDER BY `+o.by()+limitTo(limit+1)+`
			) AS others
		)
		ORDER BY `+o.by()+limitTo(limit+1),
		args...)
	if err != nil {
		return nil, err
	}
	var total int
	l, err := scanPage(rows, limit, &total)
	if err != nil {
		return nil, err
	}
	if len(l.apps) == 0 && after != nil {
		// The cursor is past every match: no row to read the total from.
		first, err := db.listSearch(ctx, q, accountID, key, o, listed, nil, 1)
		if err != nil {
			return nil, err
		}
		total = first.total
	}
	l.total = min(total, tokenservice.MaxListTotal+1)
	return l, nil
}

// searchQuery is the FTS5 query of application_search for key (three
// characters or more): its trigrams at every third character and its last
// three, enough to find every holder; the LIKE then drops the few others.
func searchQuery(key string) string {
	r := []rune(key)
	var terms []string
	for i := 0; i < len(r); i += 3 {
		j := min(i, len(r)-3)
		terms = append(terms, `"`+strings.ReplaceAll(string(r[j:j+3]), `"`, `""`)+`"`)
	}
	return strings.Join(terms, " AND ")
}

// prefixEnd returns the least string above every string that starts with
// key, in the bytewise order both databases compare names in (UTF-8 orders
// bytes as it orders code points), or false when there is none.
func prefixEnd(key string) (string, bool) {
	r := []rune(key)
	for i := len(r) - 1; i >= 0; i-- {
		if r[i] < unicode.MaxRune {
			next := r[i] + 1
			if next == 0xD800 {
				next = 0xE000 // the surrogates are not characters: no text holds them
			}
			return string(append(r[:i], next)), true
		}
	}
	return "", false
}
