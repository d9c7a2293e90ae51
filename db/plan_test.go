package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"

	"tokenservice"
)

// TestHotPathQueriesUseIndexes proves that no query of the hot paths grows
// with an account's size: every table is read through an index (SQLite's
// SEARCH, PostgreSQL's Index or Index Only Scan), never scanned whole, and
// nothing is sorted that an index does not already give in order.
//
// The queries are not copied here: the test calls the store's own methods
// for each path (the token endpoint, the Applications list and its filter,
// Details, Activity, sessions, signing keys) through a connection that
// records every statement the driver is given, with its arguments, and then
// asks the database for the plan of each, on a store with several accounts
// of applications and events. A new query on one of these paths is checked
// without anyone adding it here.
//
// SQLite's plans are taken as the product runs it, without ANALYZE (it never
// runs it); PostgreSQL's after ANALYZE, as autovacuum leaves a live
// database.
func TestHotPathQueriesUseIndexes(t *testing.T) { forEachStore(t, testHotPathQueriesUseIndexes) }

func testHotPathQueriesUseIndexes(t *testing.T) {
	ctx := context.Background()
	dbURL := newTestURL(t)
	db, err := Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := seedPlanFixture(t, db)
	traced, log := openTracedStore(t, db, dbURL)

	paths := hotPaths(f)
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			log.reset()
			if err := p.run(ctx, traced); err != nil {
				t.Fatal(err)
			}
			queries := log.take()
			if len(queries) == 0 {
				t.Fatal("no query recorded: the path no longer reaches the database through the store under test")
			}
			for _, q := range queries {
				plan, bad := planProblems(t, db, q, p.sortsOK != "")
				if bad != "" {
					t.Errorf("%s\n%s", bad, q.query)
				} else {
					t.Logf("%s\n%s", strings.TrimSpace(q.query), plan)
				}
			}
		})
	}

	// The test is only worth something if it fails without the indexes:
	// drop the ones the Applications list pages by, one per order, and
	// expect every list path to be refused.
	t.Run("FailsWithoutTheListIndex", func(t *testing.T) {
		for _, index := range []string{"applications_account_name", "applications_account_name_key", "applications_account_created", "applications_account_last_used"} {
			if _, err := db.pool.ExecContext(ctx, `DROP INDEX `+index); err != nil {
				t.Fatal(err)
			}
		}
		if db.dialect.postgres {
			if _, err := db.pool.ExecContext(ctx, `ANALYZE applications`); err != nil {
				t.Fatal(err)
			}
		}
		for _, p := range paths {
			if !strings.HasPrefix(p.name, "ApplicationsList") {
				continue
			}
			log.reset()
			if err := p.run(ctx, traced); err != nil {
				t.Fatal(err)
			}
			caught := false
			for _, q := range log.take() {
				if _, bad := planProblems(t, db, q, p.sortsOK != ""); bad != "" {
					t.Logf("caught:\n%s", bad)
					caught = true
				}
			}
			if !caught {
				t.Errorf("%s: every plan passes without the list's indexes", p.name)
			}
		}
	})
}

// planFixture is what the seeded store holds that the paths ask for.
type planFixture struct {
	account    string
	clientID   string // an application of account
	nextCursor string // the list's second page
	// cursors are, per order of the list but the default, the Next and
	// Prev of its second page.
	cursors    map[string][2]string
	filter     string // the start of some of account's application names
	rare       string // matches one of them
	clientPart string // part of the client ID of a few of them
	common     string // matches every application: more candidates than maxSearchCandidates
	short      string // two characters
	actor      string // a subject in account's trail
	sessionID  string // the id hash of a live session
	jti        string // a revoked token's id
}

// searchSorts is why the trigram way of the Applications filter may sort:
// it sorts the candidates the trigram index gave (at most
// maxSearchCandidates) and one page of applications.
const searchSorts = "sorts the trigram index's candidates and a page"

// hotPath is one request the service serves all the time, as the store
// calls it makes.
type hotPath struct {
	name string
	run  func(ctx context.Context, db *DB) error
	// sortsOK says why the path may sort what it reads through an index;
	// "" for none.
	sortsOK string
}

// hotPaths are the store calls of each hot path, as the handlers make
// them (see handlers/applications.go, activity.go, oauth.go and the
// session store).
func hotPaths(f planFixture) []hotPath {
	now := now.Add(time.Minute)
	events := func(filters ...tokenservice.EventFilter) func(ctx context.Context, db *DB) error {
		return func(ctx context.Context, db *DB) error {
			for _, ef := range filters {
				if _, err := db.ListEvents(ctx, f.account, ef); err != nil {
					return err
				}
			}
			_, err := db.EventActors(ctx, f.account)
			return err
		}
	}
	list := func(opt tokenservice.ListOptions) func(ctx context.Context, db *DB) error {
		return func(ctx context.Context, db *DB) error {
			_, err := db.ListApplications(ctx, f.account, opt)
			return err
		}
	}
	return []hotPath{
		{name: "TokenEndpoint", run: func(ctx context.Context, db *DB) error {
			_, err := db.Client(ctx, f.clientID)
			return err
		}},
		{name: "Introspection", run: func(ctx context.Context, db *DB) error {
			_, err := db.TokenRevoked(ctx, f.jti)
			return err
		}},
		{name: "SigningKeys", run: func(ctx context.Context, db *DB) error {
			_, err := db.SigningKeys(ctx)
			return err
		}},
		{name: "Session", run: func(ctx context.Context, db *DB) error {
			data, err := db.LoadSession(ctx, f.sessionID, now)
			if err != nil {
				return err
			}
			return db.UpdateSession(ctx, f.sessionID, data, now.Add(time.Hour), now)
		}},
		{name: "ApplicationsListFirstPage", run: list(tokenservice.ListOptions{Limit: 50})},
		{name: "ApplicationsListNextPage", run: list(tokenservice.ListOptions{Limit: 50, After: f.nextCursor})},
		// A filter of three characters or more that few applications hold
		// is found by the trigram index (see ListApplications): the names
		// that start with it in order, the few others looked up and sorted.
		{name: "ApplicationsListFilter", run: list(tokenservice.ListOptions{Limit: 50, Filter: f.filter}), sortsOK: searchSorts},
		{name: "ApplicationsListFilterNextPage", run: list(tokenservice.ListOptions{Limit: 50, Filter: f.filter, After: f.nextCursor}), sortsOK: searchSorts},
		{name: "ApplicationsListRareFilter", run: list(tokenservice.ListOptions{Limit: 50, Filter: f.rare}), sortsOK: searchSorts},
		{name: "ApplicationsListClientIDFilter", run: list(tokenservice.ListOptions{Limit: 50, Filter: f.clientPart}), sortsOK: searchSorts},
		// A filter that most names hold, or of one or two characters, is
		// matched against the account's names in order.
		{name: "ApplicationsListCommonFilter", run: list(tokenservice.ListOptions{Limit: 50, Filter: f.common})},
		{name: "ApplicationsListCommonFilterNextPage", run: list(tokenservice.ListOptions{Limit: 50, Filter: f.common, After: f.nextCursor})},
		{name: "ApplicationsListShortFilter", run: list(tokenservice.ListOptions{Limit: 50, Filter: f.short})},
		// Every other order pages by keyset in an index of its own, forwards
		// and backwards; a filter is counted by the name's machinery.
		{name: "ApplicationsListOrders", run: func(ctx context.Context, db *DB) error {
			for sort, c := range f.cursors {
				for _, opt := range []tokenservice.ListOptions{{}, {After: c[0]}, {Before: c[1]}, {Filter: f.short}, {Filter: f.common, After: c[0]}} {
					opt.Limit, opt.Sort = 50, sort
					if _, err := db.ListApplications(ctx, f.account, opt); err != nil {
						return err
					}
				}
			}
			return nil
		}},
		{name: "ApplicationsListOrdersFilter", run: func(ctx context.Context, db *DB) error {
			for sort, c := range f.cursors {
				for _, opt := range []tokenservice.ListOptions{{Filter: f.filter}, {Filter: f.rare}, {Filter: f.filter, After: c[0]}} {
					opt.Limit, opt.Sort = 50, sort
					if _, err := db.ListApplications(ctx, f.account, opt); err != nil {
						return err
					}
				}
			}
			return nil
		}, sortsOK: searchSorts},
		{name: "ExpiringSecretsCount", run: func(ctx context.Context, db *DB) error {
			_, err := db.CountExpiring(ctx, f.account, time.Now().Add(tokenservice.ExpiryWarning))
			return err
		}},
		{name: "Details", run: func(ctx context.Context, db *DB) error {
			if _, err := db.GetApplication(ctx, f.account, f.clientID); err != nil {
				return err
			}
			_, _, err := db.TokenUsage(ctx, f.account, f.clientID, now)
			return err
		}},
		{name: "Activity", run: events(tokenservice.EventFilter{}, tokenservice.EventFilter{Before: 500}, tokenservice.EventFilter{After: 500})},
		{name: "ActivityFiltered", run: events(
			tokenservice.EventFilter{Action: tokenservice.ActionRenamed},
			tokenservice.EventFilter{Actor: f.actor},
			tokenservice.EventFilter{Action: tokenservice.ActionRenamed, Actor: f.actor, Before: 500},
		)},
		{name: "ApplicationActivity", run: func(ctx context.Context, db *DB) error {
			if _, err := db.ApplicationNameInTrail(ctx, f.account, f.clientID); err != nil {
				return err
			}
			return events(tokenservice.EventFilter{ClientID: f.clientID}, tokenservice.EventFilter{ClientID: f.clientID, Before: 500})(ctx, db)
		}},
		{name: "ActivityTimeRange", run: events(
			tokenservice.EventFilter{From: now.Add(-15 * time.Minute)},
			tokenservice.EventFilter{From: now.Add(-24 * time.Hour), To: now.Add(-time.Hour), Before: 500},
			tokenservice.EventFilter{To: now.Add(-time.Hour), Action: tokenservice.ActionRenamed},
			tokenservice.EventFilter{From: now.Add(-7 * 24 * time.Hour), ClientID: f.clientID},
		)},
	}
}

// Sizes of the fixture: enough rows that PostgreSQL's planner, which knows
// the table sizes, would rather scan a table than use a useless index, and
// several accounts so that an index on the account narrows something.
const (
	planAccounts     = 16
	planApps         = 2000 // per account
	planEvents       = 5000 // per account
	planSessions     = 2000
	planRevoked      = 2000
	planSigningKeys  = 3
	planScopesPerApp = 2
	planPeople       = 5000 // in other accounts' trails
)

// seedPlanFixture fills db with planAccounts accounts of applications,
// scopes, token counters, events and sessions, in a few set-based
// statements, and returns what the paths ask for.
func seedPlanFixture(t *testing.T, db *DB) planFixture {
	t.Helper()
	ctx := context.Background()
	f := planFixture{account: "acct0", filter: "app 01", rare: "app 01999", clientPart: "t0-0199", common: "pp 0", short: "01",
		actor: "sub-1", sessionID: "session-7", jti: "jti-7"}
	tx, err := db.pool.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	series := func(n int) string {
		return fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < %d) `, n-1)
	}
	ms := millis(now)
	// Arguments whose type PostgreSQL cannot infer from a SELECT list.
	blob, big := "?", "CAST(? AS BIGINT)"
	if db.dialect.postgres {
		blob = "CAST(? AS BYTEA)"
	}
	exec := func(query string, args ...any) {
		t.Helper()
		if _, err := tx.ExecContext(ctx, query, args...); err != nil {
			t.Fatalf("seed: %v\n%s", err, query)
		}
	}
	// Applications "app 00000" … of account acctN, client IDs acctN-00000 …
	pad := func(expr string) string { return `substr('0000' || CAST(` + expr + ` AS TEXT), -5, 5)` }
	if db.dialect.postgres {
		pad = func(expr string) string { return `lpad(CAST(` + expr + ` AS TEXT), 5, '0')` }
	}
	for a := range planAccounts {
		acct := fmt.Sprintf("acct%d", a)
		exec(series(planApps)+`
			INSERT INTO applications (account_id, client_id, name, name_lower, secret_generation,
				version, created_at, created_by, updated_at, updated_by)
			SELECT ?, ? || `+pad("i")+`, 'App ' || `+pad("i")+`, 'app ' || `+pad("i")+`, 1, 1, `+big+` + (i * 7919) % 2000, 'seed', `+big+`, 'seed' FROM n`,
			acct, acct+"-", ms, ms)
		exec(series(planEvents)+`
			INSERT INTO events (account_id, at, action, actor_subject, actor_email, address, user_agent,
				client_id, application_name, details)
			SELECT ?, `+big+` + i, CASE i % 3 WHEN 0 THEN 'created' WHEN 1 THEN 'renamed' ELSE 'secret_reset' END,
				'sub-' || CAST(i % 5 AS TEXT), 'user' || CAST(i % 5 AS TEXT) || '@example.com', '192.0.2.1', 'test',
				? || `+pad(fmt.Sprintf("i %% %d", planApps))+`, 'App', '{}' FROM n`,
			acct, ms, acct+"-")
		exec(series(5)+`INSERT INTO event_actors (account_id, subject, email, last_at)
			SELECT ?, 'sub-' || CAST(i AS TEXT), 'user' || CAST(i AS TEXT) || '@example.com', `+big+` FROM n`, acct, ms)
	}
	// The people of many more accounts: a table of one account's few rows
	// is one PostgreSQL would rightly read whole.
	exec(series(planPeople)+`INSERT INTO event_actors (account_id, subject, email, last_at)
		SELECT 'other' || CAST(i / 5 AS TEXT), 'sub-' || CAST(i % 5 AS TEXT), 'user@example.com', `+big+` FROM n`, ms)
	exec(series(planScopesPerApp) + `
		INSERT INTO application_scopes (application_id, scope_key, access)
		SELECT a.id, 'scope-' || CAST(n.i AS TEXT), 'read' FROM applications a, n`)
	exec(`INSERT INTO credentials (application_id, public_id, kind, secret_hash, hint, migrated, rotated, created_at, created_by)
		SELECT id, '0000000001', 'client_secret', `+blob+`, '', 0, 0, `+big+`, 'seed' FROM applications`, []byte("hash"), ms)
	exec(`INSERT INTO token_usage (application_id, hour, tokens) SELECT id, `+big+`, 1 FROM applications`, now.Unix()/3600)
	exec(`INSERT INTO token_last_issued (application_id, issued_at) SELECT id, `+big+` FROM applications`, ms)
	// Last use as the token counts write it: some never.
	exec(`UPDATE applications SET last_used_at = `+big+` + (id * 31) % 5000 WHERE id % 4 <> 0`, ms)
	if err := fillNameKeys(ctx, tx); err != nil {
		t.Fatal(err)
	}
	exec(series(planSessions)+`INSERT INTO sessions (id_hash, data, created_at, expires_at)
		SELECT 'session-' || CAST(i AS TEXT), `+blob+`, `+big+`, `+big+` FROM n`, []byte("{}"), ms, ms+3_600_000)
	exec(series(planRevoked)+`INSERT INTO revoked_tokens (jti, account_id, expires_at)
		SELECT 'jti-' || CAST(i AS TEXT), 'acct0', `+big+` FROM n`, ms+3_600_000)
	exec(series(planSigningKeys)+`INSERT INTO signing_keys (kid, algorithm, private_key, created_at, retired_at, max_token_ttl)
		SELECT 'kid-' || CAST(i AS TEXT), 'ES256', `+blob+`, `+big+` + i, CASE WHEN i < 2 THEN `+big+` + i END, 3600000 FROM n`,
		[]byte("sealed"), ms, ms)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if db.dialect.postgres {
		if _, err := db.pool.ExecContext(ctx, `ANALYZE`); err != nil {
			t.Fatal(err)
		}
	}

	f.clientID = f.account + "-00042"
	page, err := db.ListApplications(ctx, f.account, tokenservice.ListOptions{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	if page.Next == "" || len(page.Applications) != 50 {
		t.Fatalf("seed: first page has %d applications and next %q", len(page.Applications), page.Next)
	}
	f.nextCursor = page.Next
	f.cursors = map[string][2]string{}
	for _, sort := range []string{tokenservice.SortNameDesc, tokenservice.SortCreated, tokenservice.SortCreatedDesc, tokenservice.SortLastUsed, tokenservice.SortLastUsedDesc} {
		first, err := db.ListApplications(ctx, f.account, tokenservice.ListOptions{Limit: 50, Sort: sort})
		if err != nil {
			t.Fatal(err)
		}
		second, err := db.ListApplications(ctx, f.account, tokenservice.ListOptions{Limit: 50, Sort: sort, After: first.Next})
		if err != nil {
			t.Fatal(err)
		}
		f.cursors[sort] = [2]string{second.Next, second.Prev}
	}
	return f
}

// planAllowed are the tables a hot path may read whole, and why that does
// not grow with anything an account does.
var planAllowed = map[string]string{
	// Every stored key, read once a second by the keyring: the current key
	// and the retired ones whose tokens may be unexpired, pruned by the
	// sweeper. A handful of rows, whatever the number of applications.
	"signing_keys": "a handful of keys",
	// PostgreSQL's change counter of the client cache: one row, always.
	"client_changes": "one row",
}

// planGrowing are the tables whose rows per account grow with its use: a
// sort may take their rows only when it has them by a unique key (the
// token endpoint's one application). Sorting the rows of the other tables
// a hot path reads is sorting what a page bounds: one page's applications'
// scopes, the account's people (event_actors), the signing keys.
var planGrowing = []string{"applications", "events"}

// planProblems returns the plan of q and what is wrong with it, or "".
// sortsOK lets the plan sort rows it reads through an index (see hotPath).
func planProblems(t *testing.T, db *DB, q recordedQuery, sortsOK bool) (plan, problems string) {
	t.Helper()
	switch strings.ToUpper(strings.Fields(q.query)[0]) {
	case "PRAGMA", "SET", "EXPLAIN":
		// No table: the client cache's change mark, the Applications
		// filter's planner setting and its estimate of the candidates.
		return "", ""
	}
	var bad []string
	if db.dialect.postgres {
		plan = postgresPlan(t, db, q)
		bad = postgresProblems(plan, sortsOK)
	} else {
		plan = sqlitePlan(t, db, q)
		bad = sqliteProblems(plan, q.query, sqliteTables(t, db), sortsOK)
	}
	if len(bad) == 0 {
		return plan, ""
	}
	return plan, strings.Join(bad, "\n") + "\nplan:\n" + plan
}

// sqliteRead matches a plan line that reads a table: SCAN reads it (or an
// index of it) from one end to the other, SEARCH seeks into an index. A
// SCAN of a subquery's result (a CO-ROUTINE) reads what the subquery's own
// lines bounded, and is not a table.
var sqliteRead = regexp.MustCompile(`^(SCAN|SEARCH) (\w+)`)

// sqliteMatch matches the SCAN of an FTS5 table that answers a MATCH
// (index string "M…"): it reads the matching entries of its index, not the
// table.
var sqliteMatch = regexp.MustCompile(`^SCAN \w+ VIRTUAL TABLE INDEX \d+:M`)

// sqliteUnique matches a SEARCH that finds at most one row.
var sqliteUnique = regexp.MustCompile(`USING (INTEGER PRIMARY KEY \(rowid=\?\)|(COVERING )?INDEX sqlite_autoindex_applications_1 \(client_id=\?\))`)

func sqliteProblems(plan, query string, tables map[string]bool, sortsOK bool) []string {
	var bad []string
	sorts := strings.Contains(plan, "TEMP B-TREE")
	for _, line := range strings.Split(strings.TrimSpace(plan), "\n") {
		m := sqliteRead.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		table := tableOf(query, m[2])
		if !tables[table] {
			continue
		}
		if m[1] == "SCAN" && planAllowed[table] == "" && !sqliteMatch.MatchString(line) {
			bad = append(bad, "reads a whole table: "+line)
		}
		if sorts && !sortsOK && slices.Contains(planGrowing, table) && !sqliteUnique.MatchString(line) {
			bad = append(bad, "sorts rows no index orders: "+line)
		}
	}
	return bad
}

// tableOf resolves an alias of query ("applications a") to its table.
func tableOf(query, name string) string {
	m := regexp.MustCompile(`(?i)\b(\w+)\s+(?:AS\s+)?` + regexp.QuoteMeta(name) + `\b`).FindStringSubmatch(query)
	if m != nil && !slices.Contains([]string{"FROM", "JOIN", "SELECT", "INTO", "UPDATE", "ON", "BY", "AND", "OR", "WHERE"}, strings.ToUpper(m[1])) {
		return m[1]
	}
	return name
}

func sqliteTables(t *testing.T, db *DB) map[string]bool {
	t.Helper()
	rows, err := db.pool.DB.Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		out[name] = true
	}
	return out
}

// sqlitePlan is EXPLAIN QUERY PLAN of the recorded query with its
// arguments, one line per step.
func sqlitePlan(t *testing.T, db *DB, q recordedQuery) string {
	t.Helper()
	rows, err := db.pool.DB.Query(`EXPLAIN QUERY PLAN `+q.query, q.args...)
	if err != nil {
		t.Fatalf("explain: %v\n%s", err, q.query)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		b.WriteString(detail + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// postgresPlan is EXPLAIN of the recorded query with its arguments.
func postgresPlan(t *testing.T, db *DB, q recordedQuery) string {
	t.Helper()
	rows, err := db.pool.DB.Query(`EXPLAIN `+q.query, q.args...)
	if err != nil {
		t.Fatalf("explain: %v\n%s", err, q.query)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		b.WriteString(line + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// postgresRead matches a plan node that reads a table, with the index it
// goes through: "Seq Scan on t", "Index Scan using i on t", "Bitmap Heap
// Scan on t" (whose Bitmap Index Scan child names the index).
var postgresRead = regexp.MustCompile(`(Seq Scan|Index Only Scan|Index Scan|Index Scan Backward|Bitmap Heap Scan)(?: using (\w+))? on (\w+)`)

// postgresUnique are the indexes that find at most one row of a growing table.
var postgresUnique = []string{"applications_client_id_key", "applications_pkey", "events_pkey"}

func postgresProblems(plan string, sortsOK bool) []string {
	var bad []string
	sorts := regexp.MustCompile(`(?m)^\s*(->\s+)?(Incremental )?Sort\b`).MatchString(plan)
	for _, line := range strings.Split(strings.TrimSpace(plan), "\n") {
		m := postgresRead.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		node, index, table := m[1], m[2], m[3]
		if node == "Seq Scan" && planAllowed[table] == "" {
			bad = append(bad, "reads a whole table: "+strings.TrimSpace(line))
		}
		if sorts && !sortsOK && slices.Contains(planGrowing, table) && !slices.Contains(postgresUnique, index) {
			bad = append(bad, "sorts rows no index orders: "+strings.TrimSpace(line))
		}
	}
	return bad
}

// recordedQuery is a statement as the driver was given it: after the
// dialect's rebinding, with its arguments.
type recordedQuery struct {
	query string
	args  []any
}

func (q recordedQuery) String() string { return q.query }

// queryLog collects the statements of a traced store.
type queryLog struct {
	mu      sync.Mutex
	queries []recordedQuery
}

func (l *queryLog) record(query string, args []driver.NamedValue) {
	l.mu.Lock()
	defer l.mu.Unlock()
	q := recordedQuery{query: query}
	for _, a := range args {
		q.args = append(q.args, a.Value)
	}
	l.queries = append(l.queries, q)
}

func (l *queryLog) reset() {
	l.mu.Lock()
	l.queries = nil
	l.mu.Unlock()
}

func (l *queryLog) take() []recordedQuery {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.queries
	l.queries = nil
	return out
}

// openTracedStore opens a second store on db's database whose connections
// record every statement into the returned log. It is built as Open builds
// one, the same SQL reaching the same driver, only through the recorder.
func openTracedStore(t *testing.T, db *DB, dbURL string) (*DB, *queryLog) {
	t.Helper()
	ctx := context.Background()
	log := &queryLog{}
	var (
		drv driver.Driver
		dsn string
	)
	if db.dialect.postgres {
		drv, dsn = stdlib.GetDefaultDriver(), dbURL
	} else {
		q := url.Values{"_pragma": pragmas, "_txlock": {"immediate"}}
		drv, dsn = &sqlite.Driver{}, dbURL+"?"+q.Encode()
	}
	sqldb := sql.OpenDB(tracingConnector{drv: drv, dsn: dsn, log: log})
	t.Cleanup(func() { sqldb.Close() })
	traced := &DB{pool: pool{DB: sqldb, dialect: db.dialect}, dialect: db.dialect, pageSize: db.pageSize, maxCandidates: db.maxCandidates, maxListed: db.maxListed}
	var err error
	if traced.clientStmt, err = traced.pool.PrepareContext(ctx, clientQuery); err != nil {
		t.Fatal(err)
	}
	if traced.clientSecretsStmt, err = traced.pool.PrepareContext(ctx, clientSecretsQuery); err != nil {
		t.Fatal(err)
	}
	if db.dialect.postgres {
		traced.clientCache, err = newCounterCache(ctx, traced.pool)
	} else {
		traced.clientCache, err = newClientCache(ctx, sqldb, dbURL)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(traced.clientCache.close)
	return traced, log
}

// tracingConnector opens connections of drv that record their statements.
type tracingConnector struct {
	drv driver.Driver
	dsn string
	log *queryLog
}

func (c tracingConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &tracingConn{Conn: conn, log: c.log}, nil
}

func (c tracingConnector) Driver() driver.Driver { return c.drv }

// tracingConn records the statements it runs or prepares and passes
// everything to the driver's connection.
type tracingConn struct {
	driver.Conn
	log *queryLog
}

func (c *tracingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := c.Conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	c.log.record(query, args)
	return q.QueryContext(ctx, query, args)
}

func (c *tracingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	e, ok := c.Conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	c.log.record(query, args)
	return e.ExecContext(ctx, query, args)
}

func (c *tracingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	var (
		s   driver.Stmt
		err error
	)
	if p, ok := c.Conn.(driver.ConnPrepareContext); ok {
		s, err = p.PrepareContext(ctx, query)
	} else {
		s, err = c.Conn.Prepare(query)
	}
	if err != nil {
		return nil, err
	}
	return &tracingStmt{Stmt: s, query: query, log: c.log}, nil
}

func (c *tracingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if b, ok := c.Conn.(driver.ConnBeginTx); ok {
		return b.BeginTx(ctx, opts)
	}
	return c.Conn.Begin() //nolint:staticcheck // the fallback database/sql itself uses
}

func (c *tracingConn) CheckNamedValue(v *driver.NamedValue) error {
	if n, ok := c.Conn.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(v)
	}
	return driver.ErrSkip
}

func (c *tracingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

// tracingStmt records each run of a prepared statement with its arguments.
type tracingStmt struct {
	driver.Stmt
	query string
	log   *queryLog
}

func (s *tracingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	s.log.record(s.query, args)
	if q, ok := s.Stmt.(driver.StmtQueryContext); ok {
		return q.QueryContext(ctx, args)
	}
	return nil, fmt.Errorf("tracing: %T has no QueryContext", s.Stmt)
}

func (s *tracingStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	s.log.record(s.query, args)
	if e, ok := s.Stmt.(driver.StmtExecContext); ok {
		return e.ExecContext(ctx, args)
	}
	return nil, fmt.Errorf("tracing: %T has no ExecContext", s.Stmt)
}

func (s *tracingStmt) CheckNamedValue(v *driver.NamedValue) error {
	if n, ok := s.Stmt.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(v)
	}
	return driver.ErrSkip
}
