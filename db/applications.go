package db

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"tokenservice"
)

// NewApplication is what CreateApplication stores.
type NewApplication struct {
	AccountID string
	ClientID  string
	Name      string
	Scopes    []tokenservice.ScopeGrant // grants with AccessNone are not stored
	Secret    tokenservice.StoredSecret
	Actor     tokenservice.Actor
	FormKey   string // the form submission's id, so a second post is not a second application; "" for none
	Now       time.Time
}

// ApplicationUpdate is an edit of an application's name and scopes, made
// against the Version the editor saw.
type ApplicationUpdate struct {
	AccountID string
	ClientID  string
	Version   int
	Name      string
	Scopes    []tokenservice.ScopeGrant // the full new set; AccessNone grants are dropped
	Actor     tokenservice.Actor
	FormKey   string
	Now       time.Time
}

// SecretReset replaces an application's secret, made against the Version
// the admin confirmed.
type SecretReset struct {
	AccountID  string // "" for any account (the operator CLI)
	ClientID   string
	Version    int  // required unless AnyVersion
	AnyVersion bool // no version check: the operator CLI, which shows none
	Secret     tokenservice.StoredSecret
	Actor      tokenservice.Actor
	FormKey    string
	Now        time.Time
}

// Deletion deletes an application, made against the Version the admin
// confirmed.
type Deletion struct {
	AccountID  string // "" for any account (the operator CLI)
	ClientID   string
	Version    int  // required unless AnyVersion
	AnyVersion bool // no version check: the operator CLI, which shows none
	Actor      tokenservice.Actor
	FormKey    string
	Now        time.Time
}

// ListOptions selects a page of an account's applications.
type ListOptions struct {
	Filter string // case-insensitive substring of the name or the client ID; "" lists all
	After  string // the Next of the previous page; "" for the first page
	Limit  int    // page size: DefaultListLimit when 0 or less, at most MaxListLimit
}

// Page sizes of ListApplications.
const (
	DefaultListLimit = 50
	MaxListLimit     = 200
)

// MaxListTotal caps ApplicationPage.Total. Counting every match of a filter
// means reading the whole account's index, which for 100,000 applications
// costs more than the page itself; past this many the portal shows
// "1,000+" and nobody needs the exact number. (At 10,000 the count alone
// took 3 ms of a 3.4 ms first page with 100,000 applications.)
const MaxListTotal = 1000

// ApplicationPage is one page of an account's applications, ordered by
// lower-cased name, then client ID.
type ApplicationPage struct {
	Applications []*tokenservice.Application
	Next         string // cursor for ListOptions.After; "" on the last page
	// Total counts the applications matching the filter, up to MaxListTotal;
	// MaxListTotal+1 means "more than MaxListTotal".
	Total int
}

// errAppNotFound is the one answer for a missing application and for another
// account's: the two must be indistinguishable.
func errAppNotFound() error {
	return tokenservice.Errorf(tokenservice.ENOTFOUND, "Application not found.")
}

// errVersionConflict is what an edit made against a stale version gets.
func errVersionConflict() error {
	return tokenservice.Errorf(tokenservice.ECONFLICT,
		"This application was changed by someone else while you were editing it. Review the current values and try again.")
}

// versionToCheck is the version a reset or delete must match, 0 for none.
// Only AnyVersion skips the check: a missing version is refused, or a form
// stripped of it would act on whatever someone else saved meanwhile.
func versionToCheck(version int, anyVersion bool) (int, error) {
	switch {
	case anyVersion:
		return 0, nil
	case version <= 0:
		return 0, tokenservice.Errorf(tokenservice.EINVALID,
			"This form is out of date or incomplete, so nothing was changed. Open the application and try again.")
	}
	return version, nil
}

// errSecretGone is what asking for a secret after its reveal window gets.
func errSecretGone() error {
	return tokenservice.Errorf(tokenservice.EGONE,
		"The client secret can no longer be viewed. Reset it to get a new one.")
}

// applicationColumns are the columns scanApplication reads, in its order.
// The secret's hash and ciphertext are never among them.
const applicationColumns = `id, account_id, client_id, name, secret_generation, secret_reveal_until,
	version, created_at, created_by, updated_at, updated_by`

// scanApplication reads a row of applicationColumns, plus extra columns after them.
func scanApplication(row interface{ Scan(...any) error }, extra ...any) (*tokenservice.Application, error) {
	var (
		a                    tokenservice.Application
		revealUntil          sql.NullInt64
		createdAt, updatedAt int64
	)
	dest := append([]any{
		&a.ID, &a.AccountID, &a.ClientID, &a.Name, &a.SecretGeneration, &revealUntil,
		&a.Version, &createdAt, &a.CreatedBy, &updatedAt, &a.UpdatedBy,
	}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	a.SecretRevealUntil = fromNullMillis(revealUntil)
	a.CreatedAt = fromMillis(createdAt)
	a.UpdatedAt = fromMillis(updatedAt)
	return &a, nil
}

// queryer is what reads need from *sql.DB and *sql.Tx.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// CreateApplication registers an application at Version 1 with its first
// secret (SecretGeneration 1). A client ID that exists already is ECONFLICT.
func (db *DB) CreateApplication(ctx context.Context, n NewApplication) (*tokenservice.Application, error) {
	grants, err := storedGrants(n.Scopes)
	if err != nil {
		return nil, fmt.Errorf("db: create application: %w", err)
	}
	if n.AccountID == "" || n.ClientID == "" || strings.TrimSpace(n.Name) == "" {
		return nil, fmt.Errorf("db: create application: %w",
			tokenservice.Errorf(tokenservice.EINVALID, "An application needs an account, a client ID and a name."))
	}
	if len(n.Secret.Hash) == 0 {
		return nil, fmt.Errorf("db: create application: %w",
			tokenservice.Errorf(tokenservice.EINVALID, "An application needs a client secret."))
	}

	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("db: create application: %w", err)
	}
	defer tx.Rollback()
	if err := checkFormKey(ctx, tx, n.AccountID, n.FormKey); err != nil {
		return nil, fmt.Errorf("db: create application: %w", err)
	}

	now := millis(n.Now)
	ciphertext, padding, revealUntil := db.secretColumns(n.Secret)
	var id int64
	err = tx.QueryRowContext(ctx, `
		INSERT INTO applications (
			account_id, client_id, name, name_lower,
			secret_hash, secret_reveal_until, secret_generation, version,
			created_at, created_by, updated_at, updated_by,
			secret_padding, secret_ciphertext
		) VALUES (?, ?, ?, ?, ?, ?, 1, 1, ?, ?, ?, ?, `+db.d.padding+`, ?)
		RETURNING id`,
		n.AccountID, n.ClientID, n.Name, nameKey(n.Name),
		n.Secret.Hash, revealUntil,
		now, text(n.Actor.Name(), 255), now, text(n.Actor.Name(), 255),
		padding, ciphertext,
	).Scan(&id)
	if isUniqueViolation(err) {
		return nil, fmt.Errorf("db: create application: %w",
			tokenservice.Errorf(tokenservice.ECONFLICT, "An application with this client ID exists already."))
	} else if err != nil {
		return nil, fmt.Errorf("db: create application: %w", err)
	}
	if err := insertScopes(ctx, tx, id, grants); err != nil {
		return nil, fmt.Errorf("db: create application: %w", err)
	}
	app, err := applicationByID(ctx, tx, id)
	if err != nil {
		return nil, fmt.Errorf("db: create application: %w", err)
	}
	e := eventAt(app, tokenservice.ActionCreated, n.Actor, n.Now)
	e.Scopes = app.Scopes
	if err := recordEvent(ctx, tx, e, n.FormKey); err != nil {
		return nil, fmt.Errorf("db: create application: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("db: create application: %w", err)
	}
	return app, nil
}

// GetApplication returns the account's application with the client ID.
// Another account's application is ENOTFOUND, exactly like a missing one.
func (db *DB) GetApplication(ctx context.Context, accountID, clientID string) (*tokenservice.Application, error) {
	app, err := scanApplication(db.db.QueryRowContext(ctx,
		`SELECT `+applicationColumns+` FROM applications WHERE account_id = ? AND client_id = ?`,
		accountID, clientID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("db: get application: %w", errAppNotFound())
	} else if err != nil {
		return nil, fmt.Errorf("db: get application: %w", err)
	}
	if err := loadScopes(ctx, db.db, app); err != nil {
		return nil, fmt.Errorf("db: get application: %w", err)
	}
	return app, nil
}

// ApplicationByClientID returns the application with the client ID in any
// account, and the keyed hash of its current secret: the token endpoint
// verifies a client secret against it, and the operator CLI works across
// accounts.
func (db *DB) ApplicationByClientID(ctx context.Context, clientID string) (*tokenservice.Application, []byte, error) {
	var hash []byte
	app, err := scanApplication(db.db.QueryRowContext(ctx,
		`SELECT `+applicationColumns+`, secret_hash FROM applications WHERE client_id = ?`,
		clientID), &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, fmt.Errorf("db: application by client id: %w", errAppNotFound())
	} else if err != nil {
		return nil, nil, fmt.Errorf("db: application by client id: %w", err)
	}
	if err := loadScopes(ctx, db.db, app); err != nil {
		return nil, nil, fmt.Errorf("db: application by client id: %w", err)
	}
	return app, hash, nil
}

// ListApplications returns a page of the account's applications in name
// order. Paging is by keyset (the cursor holds the last row's sort key), so
// a deep page costs what the first one does, and rows added or removed
// between pages neither repeat nor vanish. A cursor that does not decode is
// EINVALID.
//
// A filter is found one of two ways, with the same result:
//   - By the trigram index (application_search on SQLite, two pg_trgm
//     indexes on PostgreSQL), for a filter of three characters or more for
//     which it offers at most maxSearchCandidates candidates (see
//     listSearch): the names that start with the filter are read in order
//     from the (account_id, name_lower, client_id) index, and the few
//     applications holding it elsewhere are looked up and sorted. Typing the
//     start of a name costs what a page does, however many names start
//     alike, and a rare filter never reads the account's other names.
//   - By reading the account's names in order in the (account_id,
//     name_lower, client_id) index, matching each, until the page is full
//     (see listScan): for a filter of one or two characters, which a
//     trigram index cannot answer, and for one held by so many applications
//     that the next names in order are the quicker way to a page.
//
// The sort keys compare bytewise on both databases (COLLATE "C" on
// PostgreSQL), so the order does not depend on the server's locale.
func (db *DB) ListApplications(ctx context.Context, accountID string, opt ListOptions) (*ApplicationPage, error) {
	limit := opt.Limit
	if limit <= 0 {
		limit = DefaultListLimit
	} else if limit > MaxListLimit {
		limit = MaxListLimit
	}

	if strings.ContainsRune(opt.Filter, 0) {
		// SQLite's LIKE ends a pattern at a NUL, so "x\x00" would match what
		// ends in "x", and PostgreSQL's text refuses a NUL; no name or client
		// ID contains one, so nothing matches.
		return &ApplicationPage{}, nil
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
	var q queryer = db.db
	if !db.d.postgres && key != "" {
		// On SQLite the filter's statements share a read transaction, and
		// so a snapshot, for next to nothing. On PostgreSQL, where a
		// transaction costs two round trips more, each has its own.
		tx, err := db.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
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
	// The page and its total come from one statement. On PostgreSQL, the
	// candidates listed before it may miss an application that came to
	// hold the filter in between, as if it had changed just after (each
	// candidate is checked again), and a count that needs a statement of
	// its own is a moment later than the page.
	var page *ApplicationPage
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

// maxSearchCandidates is how many applications the trigram index may offer
// for a filter (in all accounts) for ListApplications to take them from it.
// Each candidate is looked up, checked and sorted. Measured at 100,000
// applications on SQLite: the 6,700 candidates of "export" (which follows
// "SIEM" in one name in 15, so its matches sort together late in the list)
// took 27-41 ms that way against 66-115 ms reading names in order; a filter
// that 10,000 names hold spread through the list ("legal") took 60 ms that
// way against 6-15 ms in order.
const maxSearchCandidates = 8000

// maxListedCandidates is how many candidates of the trigram index
// ListApplications reads into a list at once (see searchable), for a
// filter that few names hold, the usual search for one application. On
// SQLite the index is then asked once instead of twice (each time 0.4-0.6
// ms for "siem" at 100,000 applications); a filter with more costs reading
// this many once more (about 0.5 ms, on pages of 10 ms and more). On
// PostgreSQL the page's statement is then the same for every filter,
// planned once, where it was planned for each (0.8 ms for "siem").
const maxListedCandidates = 1000

// searchable reports whether ListApplications finds the filter key by the
// trigram index: key has three characters or more (a trigram index knows
// nothing shorter), and the index offers at most maxCandidates candidates
// for it (see listSearch). When they are at most maxListed, listed holds
// them (not nil, even when empty), read from the index once for both the
// decision and the page.
func (db *DB) searchable(ctx context.Context, q queryer, key string) (search bool, listed []int64, err error) {
	if _, ok := prefixEnd(key); utf8.RuneCountInString(key) < 3 || !ok {
		return false, nil, nil
	}
	if db.d.postgres {
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

// searchablePostgres is searchable on PostgreSQL, whose candidates are the
// matches themselves, found by its pg_trgm indexes. It would have to read
// them to count them: the planner's estimate, from the statistics ANALYZE
// keeps, decides. When that is at most maxListed, they are listed.
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
	// this pattern: one made for any could read the whole table. (Given
	// many candidates, with the LIMIT, the planner reads the table in order
	// anyway: about 12 ms for the 10,000 holding "legal" at 100,000
	// applications, hence the estimate first.)
	listed, err = readIDs(q.QueryContext(ctx, `SELECT id `+matches+limitTo(db.maxListed+1),
		db.d.customPlan([]any{pattern, pattern})...))
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

// listSearch is ListApplications by the trigram index, for a key that is
// searchable; one statement gives the page and the total.
//
// The matches are the union of two sets. The names that start with key are
// the range from key to prefixEnd(key) of the (account_id, name_lower,
// client_id) index, in order: the page takes the first of them, the total
// counts them up to MaxListTotal+1. The others (rest) hold key after their
// name's first character (what the trigram index holds of a name) or in
// their client ID: the candidates listed by searchable, looked up and
// checked with LIKE, or, when there were too many to list, on SQLite those
// application_search gives, and on PostgreSQL the LIKE itself, which its
// pg_trgm indexes serve with a bitmap scan. There are at most about
// maxSearchCandidates of them, each read once for both the page and the
// total; MATERIALIZED has PostgreSQL plan rest for all its rows, by the
// trigram indexes, rather than walk the names in order hoping for an early
// page. The page's few applications are then read whole.
func (db *DB) listSearch(ctx context.Context, q queryer, accountID, key string, listed []int64, after *cursor, limit int) (*ApplicationPage, error) {
	end, _ := prefixEnd(key)
	if listed != nil && len(listed) == 0 {
		// Only names that start with key hold it (the usual search by the
		// start of a name): the page is their range of the name index, a
		// statement as simple as the unfiltered list's.
		return db.listScan(ctx, q, accountID, scanFilter{from: key, to: end}, after, limit)
	}
	pattern := likePattern(key)
	starts := `account_id = ? AND name_lower >= ? AND name_lower < ?`
	startsArgs := []any{accountID, key, end}
	// name_lower holds Go's lower-casing already; LIKE folds ASCII case for
	// the client ID.
	restFrom, rest := "applications", `account_id = ? AND NOT (name_lower >= ? AND name_lower < ?)
				AND (substr(name_lower, 2) LIKE `+db.d.pattern+` ESCAPE '\' OR client_id `+db.d.like+` `+db.d.pattern+` ESCAPE '\')`
	restArgs := []any{accountID, key, end, pattern, pattern}
	if !db.d.postgres {
		// NOT INDEXED: the candidates are looked up by id, never found by
		// reading the account's names.
		restFrom = "applications NOT INDEXED"
	}
	switch {
	case listed != nil && db.d.postgres:
		rest = `id = ANY(?) AND ` + rest
		restArgs = append([]any{listed}, restArgs...)
	case listed != nil:
		ids, _ := json.Marshal(listed)
		rest = `id IN (SELECT value FROM json_each(?)) AND ` + rest
		restArgs = append([]any{string(ids)}, restArgs...)
	case !db.d.postgres:
		rest = `id IN (SELECT rowid FROM application_search WHERE application_search MATCH ?)
				AND ` + rest
		restArgs = append([]any{searchQuery(key)}, restArgs...)
	}
	// The page's names that start with key come after both key and the
	// cursor: one lower bound, the later, so that the index range starts
	// there (given both, SQLite starts it at key). No client ID is "".
	from := cursor{NameLower: key}
	restAfter, afterArgs := "", []any(nil)
	if after != nil {
		restAfter = ` WHERE (name_lower, client_id) > (?, ?)`
		afterArgs = []any{after.NameLower, after.ClientID}
		if after.NameLower >= key {
			from = *after
		}
	}
	// The count of the names that start with key is ordered by the name
	// index only so that PostgreSQL reads it there: left free, its planner
	// scanned the table, expecting those names spread through it (4.5 ms
	// for "siem" at 100,000 applications, against a fraction of that).
	args := slices.Concat(restArgs, startsArgs, []any{accountID, from.NameLower, from.ClientID, end}, afterArgs)
	if listed == nil {
		// The rest is found by the filter itself.
		args = db.d.customPlan(args)
	}
	rows, err := q.QueryContext(ctx, `
		WITH rest AS MATERIALIZED (
			SELECT id, name_lower, client_id FROM `+restFrom+`
			WHERE `+rest+`
		)
		SELECT `+applicationColumns+`, name_lower, `+pageScopes+`,
			(SELECT count(*) FROM (SELECT 1 FROM applications WHERE `+starts+` ORDER BY account_id, name_lower`+limitTo(MaxListTotal+1)+`) AS starts)
				+ (SELECT count(*) FROM rest)
		FROM applications
		WHERE id IN (
			SELECT id FROM (
				SELECT id, name_lower, client_id FROM applications
				WHERE account_id = ? AND (name_lower, client_id) > (?, ?) AND name_lower < ?
				ORDER BY name_lower, client_id`+limitTo(limit+1)+`
			) AS starts
			UNION ALL
			SELECT id FROM (
				SELECT id, name_lower, client_id FROM rest`+restAfter+`
				ORDER BY name_lower, client_id`+limitTo(limit+1)+`
			) AS others
		)
		ORDER BY name_lower, client_id`+limitTo(limit+1),
		args...)
	if err != nil {
		return nil, err
	}
	var total int
	page, err := scanPage(rows, limit, &total)
	if err != nil {
		return nil, err
	}
	if len(page.Applications) == 0 && after != nil {
		// The cursor is past every match: no row to read the total from.
		first, err := db.listSearch(ctx, q, accountID, key, listed, nil, 1)
		if err != nil {
			return nil, err
		}
		total = first.Total
	}
	page.Total = min(total, MaxListTotal+1)
	return page, nil
}

// scanFilter is what listScan lists of an account's applications: the
// names from from (inclusive) to to (exclusive, "" for no end) of the name
// index, and of them, when pattern is not "", those whose name or client ID
// is LIKE it.
type scanFilter struct {
	from, to string
	pattern  string
}

// listScan is ListApplications by reading the account's names in order:
// no filter, a key that is not searchable (the names LIKE it), or one that
// only names starting with it hold (their range of the name index). A page
// of a range also counts the range, up to MaxListTotal+1 (reading as many
// entries of the name index), in its one statement, which needs no
// transaction of its own. With a pattern, counting may read every name: it
// is left for when the first page does not hold every match.
func (db *DB) listScan(ctx context.Context, q queryer, accountID string, f scanFilter, after *cursor, limit int) (*ApplicationPage, error) {
	filter, filterArgs := `account_id = ?`, []any{accountID}
	if f.to != "" {
		filter += ` AND name_lower < ?`
		filterArgs = append(filterArgs, f.to)
	}
	if f.pattern != "" {
		// name_lower holds Go's lower-casing; LIKE folds ASCII case for the client ID.
		filter += ` AND (name_lower ` + db.d.like + ` ` + db.d.pattern + ` ESCAPE '\' OR client_id ` + db.d.like + ` ` + db.d.pattern + ` ESCAPE '\')`
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
		counted = `, (SELECT count(*) FROM (SELECT 1 FROM applications WHERE ` + count + order + limitTo(MaxListTotal+1) + `) AS matches)`
		args = append(slices.Clone(countArgs), args...)
		extra = append(extra, &total)
	} else {
		args, countArgs = db.d.customPlan(args), db.d.customPlan(countArgs)
	}
	rows, err := q.QueryContext(ctx,
		`SELECT `+applicationColumns+`, name_lower, `+pageScopes+counted+` FROM applications
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
		`SELECT count(*) FROM (SELECT 1 FROM applications WHERE `+count+limitTo(MaxListTotal+1)+`) AS matches`,
		countArgs...,
	).Scan(&page.Total); err != nil {
		return nil, fmt.Errorf("count: %w", err)
	}
	return page, nil
}

// pageScopes is the column of an application's scopes in the list's
// statements: "key access" pairs, comma-separated (no key or access holds a
// space or a comma: see scope.Catalogue). Read with the page, the scopes
// cost no statement of their own (a query of 150 rows by application took a
// third of the list's time on SQLite, and a round trip on PostgreSQL).
// SQLite knows string_agg as group_concat. The pairs are sorted once read:
// an ORDER BY in the aggregate would have SQLite sort every application's.
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
// name_lower, pageScopes, then the columns extra are for), and the cursor
// of the next page when there is another row. It closes rows.
func scanPage(rows *sql.Rows, limit int, extra ...any) (*ApplicationPage, error) {
	defer rows.Close()
	var (
		nameLower string
		scopes    sql.NullString
	)
	extra = append([]any{&nameLower, &scopes}, extra...)
	page := &ApplicationPage{}
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

// searchQuery is the FTS5 query of application_search for key (three
// characters or more): the trigrams of key at every third character, and
// its last three. Every text that holds key holds them all; the few others
// that do fail the LIKE the candidates are checked with. Asking for every
// trigram of key would cost more in reading the index than looking up the
// few false candidates it would spare.
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

// nameKey is the sort and filter key of a name.
func nameKey(name string) string {
	return strings.ToLower(name)
}

// UpdateApplication saves an edit of the name and scopes, made against
// u.Version. If the application changed since (its version moved on), the
// edit is ECONFLICT and nothing changes, so one admin never silently
// overwrites another's work.
func (db *DB) UpdateApplication(ctx context.Context, u ApplicationUpdate) (*tokenservice.Application, error) {
	grants, err := storedGrants(u.Scopes)
	if err != nil {
		return nil, fmt.Errorf("db: update application: %w", err)
	}
	if strings.TrimSpace(u.Name) == "" {
		return nil, fmt.Errorf("db: update application: %w",
			tokenservice.Errorf(tokenservice.EINVALID, "An application needs a name."))
	}

	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("db: update application: %w", err)
	}
	defer tx.Rollback()
	if err := checkFormKey(ctx, tx, u.AccountID, u.FormKey); err != nil {
		return nil, fmt.Errorf("db: update application: %w", err)
	}
	before, err := scanApplication(tx.QueryRowContext(ctx,
		`SELECT `+applicationColumns+` FROM applications WHERE account_id = ? AND client_id = ?`, u.AccountID, u.ClientID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("db: update application: %w", errAppNotFound())
	} else if err != nil {
		return nil, fmt.Errorf("db: update application: %w", err)
	}
	if before.Version != u.Version {
		return nil, fmt.Errorf("db: update application: %w", errVersionConflict())
	}
	if err := loadScopes(ctx, tx, before); err != nil {
		return nil, fmt.Errorf("db: update application: %w", err)
	}
	if u.Name == before.Name && sameGrants(grants, before.Scopes) {
		// Nothing changed: no new version, no event; saving twice is harmless.
		return before, nil
	}

	var id int64
	err = tx.QueryRowContext(ctx, `
		UPDATE applications
		SET name = ?, name_lower = ?, version = version + 1, updated_at = ?, updated_by = ?
		WHERE account_id = ? AND client_id = ? AND version = ?
		RETURNING id`,
		u.Name, nameKey(u.Name), millis(u.Now), text(u.Actor.Name(), 255),
		u.AccountID, u.ClientID, u.Version,
	).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("db: update application: %w", missingOrConflict(ctx, tx, u.AccountID, u.ClientID))
	} else if err != nil {
		return nil, fmt.Errorf("db: update application: %w", err)
	}
	if !sameGrants(grants, before.Scopes) {
		if _, err := tx.ExecContext(ctx, `DELETE FROM application_scopes WHERE application_id = ?`, id); err != nil {
			return nil, fmt.Errorf("db: update application: %w", err)
		}
		if err := insertScopes(ctx, tx, id, grants); err != nil {
			return nil, fmt.Errorf("db: update application: %w", err)
		}
	}
	app, err := applicationByID(ctx, tx, id)
	if err != nil {
		return nil, fmt.Errorf("db: update application: %w", err)
	}
	// One event per kind of change; the form key goes on the first.
	formKey := u.FormKey
	if app.Name != before.Name {
		e := eventAt(app, tokenservice.ActionRenamed, u.Actor, u.Now)
		e.OldName = before.Name
		if err := recordEvent(ctx, tx, e, formKey); err != nil {
			return nil, fmt.Errorf("db: update application: %w", err)
		}
		formKey = ""
	}
	if !sameGrants(app.Scopes, before.Scopes) {
		e := eventAt(app, tokenservice.ActionScopesChanged, u.Actor, u.Now)
		e.OldScopes, e.Scopes = before.Scopes, app.Scopes
		if err := recordEvent(ctx, tx, e, formKey); err != nil {
			return nil, fmt.Errorf("db: update application: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("db: update application: %w", err)
	}
	return app, nil
}

// missingOrConflict tells why a versioned write matched no row: the
// application is not the account's (ENOTFOUND) or its version moved on
// (ECONFLICT).
func missingOrConflict(ctx context.Context, q queryer, accountID, clientID string) error {
	var version int
	err := q.QueryRowContext(ctx,
		`SELECT version FROM applications WHERE account_id = ? AND client_id = ?`,
		accountID, clientID).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		return errAppNotFound()
	} else if err != nil {
		return err
	}
	return errVersionConflict()
}

// ResetSecret replaces the application's secret with r.Secret at once: the
// old secret stops working, SecretGeneration and Version go up by one, and
// the trail records it. With an AccountID, another account's application is
// ENOTFOUND. The Version must match the application's (ECONFLICT otherwise)
// unless AnyVersion; without either the reset is EINVALID.
func (db *DB) ResetSecret(ctx context.Context, r SecretReset) (*tokenservice.Application, error) {
	if len(r.Secret.Hash) == 0 {
		return nil, fmt.Errorf("db: reset secret: %w", tokenservice.Errorf(tokenservice.EINVALID, "A client secret is required."))
	}
	version, err := versionToCheck(r.Version, r.AnyVersion)
	if err != nil {
		return nil, fmt.Errorf("db: reset secret: %w", err)
	}
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("db: reset secret: %w", err)
	}
	defer tx.Rollback()
	if err := checkFormKey(ctx, tx, r.AccountID, r.FormKey); err != nil {
		return nil, fmt.Errorf("db: reset secret: %w", err)
	}

	ciphertext, padding, revealUntil := db.secretColumns(r.Secret)
	var id int64
	err = tx.QueryRowContext(ctx, `
		UPDATE applications
		SET secret_hash = ?, secret_reveal_until = ?, secret_padding = `+db.d.padding+`, secret_ciphertext = ?,
			secret_generation = secret_generation + 1, version = version + 1,
			updated_at = ?, updated_by = ?
		WHERE client_id = ? AND (? = '' OR account_id = ?) AND (? = 0 OR version = ?)
		RETURNING id`,
		r.Secret.Hash, revealUntil, padding, ciphertext,
		millis(r.Now), text(r.Actor.Name(), 255),
		r.ClientID, r.AccountID, r.AccountID, version, version,
	).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		if r.AccountID == "" {
			return nil, fmt.Errorf("db: reset secret: %w", errAppNotFound())
		}
		return nil, fmt.Errorf("db: reset secret: %w", missingOrConflict(ctx, tx, r.AccountID, r.ClientID))
	} else if err != nil {
		return nil, fmt.Errorf("db: reset secret: %w", err)
	}
	app, err := applicationByID(ctx, tx, id)
	if err != nil {
		return nil, fmt.Errorf("db: reset secret: %w", err)
	}
	if err := recordEvent(ctx, tx, eventAt(app, tokenservice.ActionSecretReset, r.Actor, r.Now), r.FormKey); err != nil {
		return nil, fmt.Errorf("db: reset secret: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("db: reset secret: %w", err)
	}
	return app, nil
}

// secretColumns returns what the secret_ciphertext, secret_padding (the
// zeroblob length; none on PostgreSQL) and secret_reveal_until columns get
// for s. Without a ciphertext all three are NULL.
func (db *DB) secretColumns(s tokenservice.StoredSecret) (ciphertext []byte, padding any, revealUntil any) {
	if len(s.Ciphertext) == 0 || s.RevealUntil.IsZero() {
		return nil, nil, nil
	}
	if db.d.postgres {
		return s.Ciphertext, nil, millis(s.RevealUntil)
	}
	return s.Ciphertext, db.pageSize, millis(s.RevealUntil)
}

// DeleteApplication deletes the application with its scopes; its client
// secret stops working at once, and the trail records it. With an
// AccountID, another account's application is ENOTFOUND. The Version must
// match the application's (ECONFLICT otherwise, nothing deleted: the admin
// confirmed what they saw) unless AnyVersion; without either it is EINVALID.
func (db *DB) DeleteApplication(ctx context.Context, d Deletion) error {
	version, err := versionToCheck(d.Version, d.AnyVersion)
	if err != nil {
		return fmt.Errorf("db: delete application: %w", err)
	}
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("db: delete application: %w", err)
	}
	defer tx.Rollback()
	if err := checkFormKey(ctx, tx, d.AccountID, d.FormKey); err != nil {
		return fmt.Errorf("db: delete application: %w", err)
	}
	app := &tokenservice.Application{ClientID: d.ClientID}
	err = tx.QueryRowContext(ctx, `
		DELETE FROM applications
		WHERE client_id = ? AND (? = '' OR account_id = ?) AND (? = 0 OR version = ?)
		RETURNING account_id, name`,
		d.ClientID, d.AccountID, d.AccountID, version, version,
	).Scan(&app.AccountID, &app.Name)
	if errors.Is(err, sql.ErrNoRows) {
		if d.AccountID == "" {
			return fmt.Errorf("db: delete application: %w", errAppNotFound())
		}
		return fmt.Errorf("db: delete application: %w", missingOrConflict(ctx, tx, d.AccountID, d.ClientID))
	} else if err != nil {
		return fmt.Errorf("db: delete application: %w", err)
	}
	if err := recordEvent(ctx, tx, eventAt(app, tokenservice.ActionDeleted, d.Actor, d.Now), d.FormKey); err != nil {
		return fmt.Errorf("db: delete application: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("db: delete application: %w", err)
	}
	return nil
}

// SecretCiphertext returns the encrypted current secret of the account's
// application and its generation, while now is inside the reveal window, and
// records in the trail that actor saw it: action is ActionSecretRevealed or
// ActionSecretCopied. After the window it is EGONE, and the ciphertext is
// erased from the row right then, whether or not the sweep
// (EraseExpiredSecrets) has run yet: the server, not the page, ends the
// window.
func (db *DB) SecretCiphertext(ctx context.Context, accountID, clientID string, action tokenservice.Action, actor tokenservice.Actor, now time.Time) (ciphertext []byte, generation int, err error) {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("db: secret ciphertext: %w", err)
	}
	defer tx.Rollback()
	var (
		revealUntil sql.NullInt64
		extra       = []any{&ciphertext, &revealUntil}
	)
	app, err := scanApplication(tx.QueryRowContext(ctx,
		`SELECT `+applicationColumns+`, secret_ciphertext, secret_reveal_until
		FROM applications WHERE account_id = ? AND client_id = ?`,
		accountID, clientID), extra...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, fmt.Errorf("db: secret ciphertext: %w", errAppNotFound())
	} else if err != nil {
		return nil, 0, fmt.Errorf("db: secret ciphertext: %w", err)
	}
	if ciphertext != nil && revealUntil.Valid && millis(now) < revealUntil.Int64 {
		if err := recordEvent(ctx, tx, eventAt(app, action, actor, now), ""); err != nil {
			return nil, 0, fmt.Errorf("db: secret ciphertext: %w", err)
		}
		if err := tx.Commit(); err != nil {
			return nil, 0, fmt.Errorf("db: secret ciphertext: %w", err)
		}
		return ciphertext, app.SecretGeneration, nil
	}
	if ciphertext != nil {
		if _, err := tx.ExecContext(ctx, `
			UPDATE applications
			SET secret_ciphertext = NULL, secret_padding = NULL, secret_reveal_until = NULL
			WHERE id = ?`, app.ID); err != nil {
			return nil, 0, fmt.Errorf("db: secret ciphertext: erase: %w", err)
		}
		if err := tx.Commit(); err != nil {
			return nil, 0, fmt.Errorf("db: secret ciphertext: erase: %w", err)
		}
	}
	return nil, 0, fmt.Errorf("db: secret ciphertext: %w", errSecretGone())
}

// EraseExpiredSecrets erases the encrypted secret of every application whose
// reveal window ended at or before now, and returns how many it erased.
// cmd should run it about every minute.
//
// Erasing leaves no copy of the ciphertext in the database files:
//   - secure_delete=ON overwrites freed cells and pages with zeros;
//   - the ciphertext is stored behind a page-sized zero padding, so it lives
//     only on overflow pages. B-tree balancing copies the local part of
//     cells between pages and can leave stale copies in a page's unallocated
//     gap, which secure_delete does not clear; overflow pages are never
//     copied, only freed (and zeroed) when the row changes;
//   - PRAGMA wal_checkpoint(TRUNCATE) copies the zeroed pages into the main
//     file and truncates the -wal file, which held the earlier page images.
//
// The checkpoint runs on every call, also when nothing expired now, because
// SecretCiphertext may have erased a row since the last sweep. If readers
// keep the checkpoint from finishing within the busy timeout, the rows are
// erased but the error says so, and the next sweep tries again.
//
// On PostgreSQL the erased ciphertext is unreadable by any query at once,
// but the bytes stay in the dead row version until VACUUM reuses its space
// and in the WAL until it is recycled: the no-copy-in-the-files promise is
// SQLite's (see the README).
//
// Replicas may sweep at the same moment: the UPDATE of one waits for the
// other's row locks and then finds nothing left to erase, so each secret is
// erased, and counted, once.
func (db *DB) EraseExpiredSecrets(ctx context.Context, now time.Time) (int, error) {
	res, err := db.db.ExecContext(ctx, `
		UPDATE applications
		SET secret_ciphertext = NULL, secret_padding = NULL, secret_reveal_until = NULL
		WHERE secret_reveal_until IS NOT NULL AND secret_reveal_until <= ?`,
		millis(now))
	if err != nil {
		return 0, fmt.Errorf("db: erase expired secrets: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("db: erase expired secrets: %w", err)
	}
	if db.d.postgres {
		return int(n), nil
	}
	if err := db.checkpoint(ctx); err != nil {
		return int(n), fmt.Errorf("db: erase expired secrets: %w", err)
	}
	return int(n), nil
}

// checkpoint copies the WAL into the main file and truncates it to zero bytes.
func (db *DB) checkpoint(ctx context.Context) error {
	var busy, logFrames, checkpointed int
	if err := db.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &checkpointed); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if busy != 0 {
		return fmt.Errorf("checkpoint: blocked by readers (%d of %d frames copied)", checkpointed, logFrames)
	}
	return nil
}

// sameGrants reports whether two sets of grants without AccessNone, each key
// once, are the same, in whatever order.
func sameGrants(a, b []tokenservice.ScopeGrant) bool {
	if len(a) != len(b) {
		return false
	}
	access := make(map[string]tokenservice.Access, len(a))
	for _, g := range a {
		access[g.Key] = g.Access
	}
	for _, g := range b {
		if access[g.Key] != g.Access {
			return false
		}
	}
	return true
}

// storedGrants returns the grants to store: without AccessNone, each key
// once, each access known. Anything else is EINVALID.
func storedGrants(scopes []tokenservice.ScopeGrant) ([]tokenservice.ScopeGrant, error) {
	seen := make(map[string]bool, len(scopes))
	var out []tokenservice.ScopeGrant
	for _, g := range scopes {
		switch {
		case g.Key == "":
			return nil, tokenservice.Errorf(tokenservice.EINVALID, "A scope has no key.")
		case !g.Access.Valid():
			return nil, tokenservice.Errorf(tokenservice.EINVALID, "Scope %s has an unknown type of access.", g.Key)
		case seen[g.Key]:
			return nil, tokenservice.Errorf(tokenservice.EINVALID, "Scope %s is given twice.", g.Key)
		}
		seen[g.Key] = true
		if g.Access != tokenservice.AccessNone {
			out = append(out, g)
		}
	}
	return out, nil
}

func insertScopes(ctx context.Context, tx execer, applicationID int64, grants []tokenservice.ScopeGrant) error {
	for _, g := range grants {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO application_scopes (application_id, scope_key, access) VALUES (?, ?, ?)`,
			applicationID, g.Key, string(g.Access)); err != nil {
			return fmt.Errorf("scope %s: %w", g.Key, err)
		}
	}
	return nil
}

// applicationByID reads an application with its scopes, inside the
// transaction that just wrote it.
func applicationByID(ctx context.Context, q queryer, id int64) (*tokenservice.Application, error) {
	app, err := scanApplication(q.QueryRowContext(ctx,
		`SELECT `+applicationColumns+` FROM applications WHERE id = ?`, id))
	if err != nil {
		return nil, err
	}
	if err := loadScopes(ctx, q, app); err != nil {
		return nil, err
	}
	return app, nil
}

// loadScopes fills in the scopes of apps with one query, sorted by key.
func loadScopes(ctx context.Context, q queryer, apps ...*tokenservice.Application) error {
	if len(apps) == 0 {
		return nil
	}
	byID := make(map[int64]*tokenservice.Application, len(apps))
	args := make([]any, len(apps))
	for i, a := range apps {
		byID[a.ID] = a
		args[i] = a.ID
	}
	rows, err := q.QueryContext(ctx, `
		SELECT application_id, scope_key, access FROM application_scopes
		WHERE application_id IN (?`+strings.Repeat(`, ?`, len(apps)-1)+`)
		ORDER BY application_id, scope_key`, args...)
	if err != nil {
		return fmt.Errorf("load scopes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id     int64
			key    string
			access string
		)
		if err := rows.Scan(&id, &key, &access); err != nil {
			return fmt.Errorf("load scopes: %w", err)
		}
		a := byID[id]
		a.Scopes = append(a.Scopes, tokenservice.ScopeGrant{Key: key, Access: tokenservice.Access(access)})
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load scopes: %w", err)
	}
	return nil
}
