package db

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"tokenservice"
)

// TestMigrationsAgree: SQLite's and PostgreSQL's migrations have the same
// versions and names and, applied, give the same tables with the same
// columns (and which may be NULL), primary keys, unique constraints and
// indexes (by name, table, columns, uniqueness and whether partial). What
// the schemas do with it is the store tests' business: every one of them
// runs on both.
func TestMigrationsAgree(t *testing.T) {
	var files [2][]string
	for i, d := range []*dialect{sqliteDialect, postgresDialect} {
		ms, err := readMigrations(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			files[i] = append(files[i], path.Base(m.name))
		}
	}
	if !reflect.DeepEqual(files[0], files[1]) {
		t.Fatalf("migrations differ:\n    sqlite   %v\n    postgres %v", files[0], files[1])
	}

	ctx := context.Background()
	sqlite, err := Open(ctx, newTestURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer sqlite.Close()
	postgres, err := Open(ctx, newTestURL(&postgresTB{t}))
	if err != nil {
		t.Fatal(err)
	}
	defer postgres.Close()

	got, want := postgresSchema(t, postgres), sqliteSchema(t, sqlite)
	// PostgreSQL's own: the client cache's change counter (SQLite reads its
	// WAL index instead).
	delete(got, "table client_changes")
	delete(got, "unique client_changes")
	// The trigram index of the Applications filter: an FTS5 table on SQLite,
	// with the tables FTS5 keeps it in; two pg_trgm indexes of applications
	// on PostgreSQL.
	for k := range want {
		if _, table, _ := strings.Cut(k, " "); strings.HasPrefix(table, "application_search") {
			delete(want, k)
		}
	}
	delete(got, "index application_search_name")
	delete(got, "index application_search_client")
	for _, k := range sortedKeys(want) {
		if got[k] != want[k] {
			t.Errorf("%s:\n    sqlite   %s\n    postgres %s", k, want[k], got[k])
		}
	}
	for _, k := range sortedKeys(got) {
		if _, ok := want[k]; !ok {
			t.Errorf("%s only on PostgreSQL: %s", k, got[k])
		}
	}
}

// postgresTB is a test whose newTestURL gives a PostgreSQL database.
type postgresTB struct{ *testing.T }

func (p *postgresTB) Name() string { return p.T.Name() + "/" + onPostgres }

func sortedKeys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// sqliteSchema describes the SQLite store's schema: "table T" is its
// columns (with NOT NULL) and primary key, "unique T" its unique
// constraints, "index I" an index.
func sqliteSchema(t *testing.T, db *DB) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, table := range queryStrings(t, db, `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`) {
		cols := queryStrings(t, db, `SELECT name || CASE WHEN "notnull" OR pk > 0 THEN ' NOT NULL' ELSE '' END FROM pragma_table_info(?) ORDER BY cid`, table)
		pk := queryStrings(t, db, `SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk`, table)
		out["table "+table] = fmt.Sprintf("%s; primary key (%s)", strings.Join(cols, ", "), strings.Join(pk, ", "))
		var uniques []string
		for _, idx := range queryStrings(t, db, `SELECT name FROM pragma_index_list(?) WHERE origin = 'u' ORDER BY name`, table) {
			uniques = append(uniques, "("+strings.Join(queryStrings(t, db, `SELECT name FROM pragma_index_info(?) ORDER BY seqno`, idx), ", ")+")")
		}
		slices.Sort(uniques)
		out["unique "+table] = strings.Join(uniques, " ")
		for _, idx := range queryStrings(t, db, `SELECT name || ' ' || "unique" || ' ' || partial FROM pragma_index_list(?) WHERE origin = 'c'`, table) {
			var name, unique, partial string
			fmt.Sscan(idx, &name, &unique, &partial)
			// An expression (the list's last use) has no name: both sides say "expression".
			cols := queryStrings(t, db, `SELECT coalesce(name, 'expression') FROM pragma_index_info(?) ORDER BY seqno`, name)
			out["index "+name] = fmt.Sprintf("on %s (%s) unique %v partial %v", table, strings.Join(cols, ", "), unique == "1", partial == "1")
		}
	}
	return out
}

// postgresSchema describes the PostgreSQL store's schema as sqliteSchema
// does SQLite's.
func postgresSchema(t *testing.T, db *DB) map[string]string {
	t.Helper()
	out := map[string]string{}
	tables := queryStrings(t, db, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`)
	for _, table := range tables {
		cols := queryStrings(t, db, `SELECT column_name || CASE WHEN is_nullable = 'NO' THEN ' NOT NULL' ELSE '' END
			FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position`, table)
		pk := queryStrings(t, db, `SELECT a.attname FROM pg_constraint c
			JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
			WHERE c.conrelid = to_regclass(?) AND c.contype = 'p'
			ORDER BY array_position(c.conkey, a.attnum)`, table)
		out["table "+table] = fmt.Sprintf("%s; primary key (%s)", strings.Join(cols, ", "), strings.Join(pk, ", "))
		uniques := queryStrings(t, db, `SELECT '(' || string_agg(a.attname, ', ' ORDER BY array_position(c.conkey, a.attnum)) || ')'
			FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
			WHERE c.conrelid = to_regclass(?) AND c.contype = 'u' GROUP BY c.oid ORDER BY 1`, table)
		out["unique "+table] = strings.Join(uniques, " ")
	}
	rows, err := db.pool.QueryContext(context.Background(), `
		SELECT i.relname, t.relname, x.indisunique, x.indpred IS NOT NULL,
			array_to_string(ARRAY(SELECT CASE WHEN x.indkey[k - 1] = 0 THEN 'expression' ELSE pg_get_indexdef(x.indexrelid, k, true) END
				FROM generate_series(1, x.indnatts) k ORDER BY k), ', ')
		FROM pg_index x
		JOIN pg_class i ON i.oid = x.indexrelid
		JOIN pg_class t ON t.oid = x.indrelid
		WHERE t.relnamespace = current_schema()::regnamespace
			AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, table, cols string
		var unique, partial bool
		if err := rows.Scan(&name, &table, &unique, &partial, &cols); err != nil {
			t.Fatal(err)
		}
		out["index "+name] = fmt.Sprintf("on %s (%s) unique %v partial %v", table, cols, unique, partial)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func queryStrings(t *testing.T, db *DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.pool.QueryContext(context.Background(), query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRebind(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`WHERE a = ? AND b IN (?, ?)`, `WHERE a = $1 AND b IN ($2, $3)`},
		{`WHERE name LIKE ? ESCAPE '\' OR x = '?' OR "?" = ?`, `WHERE name LIKE $1 ESCAPE '\' OR x = '?' OR "?" = $2`},
	} {
		if got := postgresDialect.rebind(tt.in); got != tt.want {
			t.Errorf("rebind(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := sqliteDialect.rebind(tt.in); got != tt.in {
			t.Errorf("SQLite rebind(%q) = %q, want it unchanged", tt.in, got)
		}
	}
}

// TestErasedSecretUnreadable is, on PostgreSQL, what
// TestErasedSecretLeavesNoCopyInFiles is on SQLite: once the reveal window
// has ended and the sweep (or a late read, a reset, a delete) has erased
// the ciphertext, no row of any table of the store holds it. PostgreSQL
// keeps the old row version's bytes in its files until VACUUM reuses the
// space and in its WAL until it is recycled, which SQL cannot reach: the
// promise about the files themselves is SQLite's alone.
func TestErasedSecretUnreadable(t *testing.T) {
	windowEnd := now.Add(15 * time.Minute)
	for _, tt := range []struct {
		name  string
		erase func(t *testing.T, db *DB)
	}{
		{"Sweep", func(t *testing.T, db *DB) {}},
		{"ReadAfterWindow", func(t *testing.T, db *DB) {
			_, _, err := db.SecretCiphertext(context.Background(), "acme", "the-client", tokenservice.ActionSecretRevealed, testActor("test"), windowEnd)
			wantCode(t, err, tokenservice.EGONE)
		}},
		{"Reset", func(t *testing.T, db *DB) {
			if _, err := db.ResetSecret(context.Background(), tokenservice.SecretReset{AccountID: "acme", ClientID: "the-client", AnyVersion: true, Secret: testSecret("replacement"), Actor: testActor("cli"), Now: windowEnd}); err != nil {
				t.Fatal(err)
			}
		}},
		{"Delete", func(t *testing.T, db *DB) {
			if err := db.DeleteApplication(context.Background(), tokenservice.ApplicationDeletion{AccountID: "acme", ClientID: "the-client", AnyVersion: true}); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			forEachStore(t, func(t *testing.T) {
				ctx := context.Background()
				db := openTestDB(t)
				ciphertext := []byte("TEST-CIPHERTEXT:" + strings.Repeat("\x9c\x01", 24))
				if _, err := db.CreateApplication(ctx, tokenservice.NewApplication{
					AccountID: "acme", ClientID: "the-client", Name: "Holds the secret", Scopes: []tokenservice.ScopeGrant{rwIncident},
					Secret: tokenservice.StoredSecret{Hash: []byte("hash"), Ciphertext: ciphertext, RevealUntil: windowEnd},
					Actor:  testActor("admin@example.com"), Now: now,
				}); err != nil {
					t.Fatal(err)
				}
				if !storeHolds(t, db, ciphertext) {
					t.Fatal("before erasing, no row holds the ciphertext: the test proves nothing")
				}
				tt.erase(t, db)
				if _, err := db.EraseExpiredSecrets(ctx, windowEnd); err != nil {
					t.Fatal(err)
				}
				if storeHolds(t, db, ciphertext) {
					t.Error("after erasing, a row still holds the ciphertext")
				}
			})
		})
	}
}

// storeHolds reports whether any column of any row of any table of the
// store holds b.
func storeHolds(t *testing.T, db *DB, b []byte) bool {
	t.Helper()
	tables := `SELECT name FROM sqlite_schema WHERE type = 'table'`
	if db.dialect.postgres {
		tables = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
	}
	for _, table := range queryStrings(t, db, tables) {
		rows, err := db.pool.QueryContext(context.Background(), `SELECT * FROM `+table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				if bs, ok := v.([]byte); ok && bytes.Contains(bs, b) {
					rows.Close()
					return true
				}
			}
		}
		rows.Close()
	}
	return false
}

// TestBackupRefusesPostgres: backup and restore are SQLite's; on a
// PostgreSQL store they say to use pg_dump, and change nothing.
func TestBackupRefusesPostgres(t *testing.T) {
	url := newTestURL(&postgresTB{t})
	db, err := Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	backup := t.TempDir() + "/backup.db"
	if _, err := db.Backup(context.Background(), backup); !errors.Is(err, ErrBackupPostgres) || !strings.Contains(err.Error(), "pg_dump") {
		t.Errorf("Backup = %v, want ErrBackupPostgres naming pg_dump", err)
	}
	if _, err := Restore(context.Background(), backup, url, RestoreOptions{}); !errors.Is(err, ErrBackupPostgres) {
		t.Errorf("Restore = %v, want ErrBackupPostgres", err)
	}
}

func TestRedacted(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"data/tokenservice.db", "data/tokenservice.db"},
		{"postgres://ts:s3cret@db.example.com:5432/tokenservice?sslmode=require", "postgres://ts:xxxxx@db.example.com:5432/tokenservice?sslmode=require"},
		{"postgresql://db.example.com/tokenservice?password=s3cret&user=ts", "postgresql://db.example.com/tokenservice?password=xxxxx&user=ts"},
	} {
		if got := Redacted(tt.in); got != tt.want {
			t.Errorf("Redacted(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
