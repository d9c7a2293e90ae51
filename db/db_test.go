package db

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"tokenservice"
	"tokenservice/db/pgtest"
)

// now is the fixed clock of the tests, on a whole millisecond as stored.
var now = time.Date(2025, 3, 14, 9, 26, 53, 589_000_000, time.UTC)

// TestMain stops the PostgreSQL server the tests started, whatever they did.
func TestMain(m *testing.M) { pgtest.Main(m) }

// The kinds of store every store test runs on, as the names of its
// subtests. PostgreSQL is a real server (see pgtest): without one the
// PostgreSQL subtests fail, they are never skipped.
const (
	onSQLite   = "SQLite"
	onPostgres = "PostgreSQL"
)

// forEachStore runs test on SQLite and on PostgreSQL, as the subtests
// SQLite and PostgreSQL, inside which openTestDB and newTestURL give a
// store of that kind.
func forEachStore(t *testing.T, test func(t *testing.T)) {
	t.Helper()
	for _, kind := range []string{onSQLite, onPostgres} {
		t.Run(kind, test)
	}
}

// storeKind is the kind of store the test runs on: the kind its
// forEachStore subtest is named after; SQLite outside forEachStore.
func storeKind(tb testing.TB) string {
	if slices.Contains(strings.Split(tb.Name(), "/")[1:], onPostgres) {
		return onPostgres
	}
	return onSQLite
}

// newTestURL returns the database URL of a new, empty store of the test's
// kind: a file in a temporary directory, or a fresh PostgreSQL schema.
func newTestURL(tb testing.TB) string {
	tb.Helper()
	if storeKind(tb) == onPostgres {
		return pgtest.NewDatabase(tb)
	}
	return filepath.Join(tb.TempDir(), "tokenservice.db")
}

// openTestDB opens a fresh store of the test's kind and closes it when the
// test ends.
func openTestDB(tb testing.TB) *DB {
	tb.Helper()
	db, err := Open(context.Background(), newTestURL(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// mustCreate registers an application named name in account with a secret
// revealable for 15 minutes from now.
func mustCreate(tb testing.TB, db *DB, account, clientID, name string, scopes ...tokenservice.ScopeGrant) *tokenservice.Application {
	tb.Helper()
	app, err := db.CreateApplication(context.Background(), tokenservice.NewApplication{
		AccountID: account,
		ClientID:  clientID,
		Name:      name,
		Scopes:    scopes,
		Secret:    testSecret("secret of " + clientID),
		Actor:     testActor("admin@example.com"),
		Now:       now,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return app
}

// testSecret is a stored secret whose hash and ciphertext derive from label.
func testSecret(label string) tokenservice.StoredSecret {
	return tokenservice.StoredSecret{
		Hash:        []byte("hash:" + label),
		Ciphertext:  []byte("ciphertext:" + label),
		RevealUntil: now.Add(15 * time.Minute),
	}
}

// wantCode fails the test unless err carries the domain error code.
func wantCode(tb testing.TB, err error, code string) {
	tb.Helper()
	if got := tokenservice.ErrorCode(err); got != code {
		tb.Fatalf("error code = %q, want %q (err: %v)", got, code, err)
	}
}

func TestOpen(t *testing.T) { forEachStore(t, testOpen) }

func testOpen(t *testing.T) {
	ctx := context.Background()
	path := newTestURL(t)

	migrations, err := readMigrations(dialectOf(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(migrations) == 0 {
		t.Fatal("no embedded migrations")
	}
	appliedVersions := func(t *testing.T, db *DB) []int {
		t.Helper()
		rows, err := db.pool.QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []int
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			out = append(out, v)
		}
		return out
	}

	t.Run("MigrationsApplyOnce", func(t *testing.T) {
		db, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		mustCreate(t, db, "acme", "client-1", "Kept across reopen")
		if got, want := fmt.Sprint(appliedVersions(t, db)), fmt.Sprint(versions(migrations)); got != want {
			t.Errorf("applied = %s, want %s", got, want)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("ReopenIsIdempotent", func(t *testing.T) {
		for range 2 {
			db, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := fmt.Sprint(appliedVersions(t, db)), fmt.Sprint(versions(migrations)); got != want {
				t.Errorf("applied = %s, want %s", got, want)
			}
			if _, err := db.GetApplication(ctx, "acme", "client-1"); err != nil {
				t.Errorf("application lost on reopen: %v", err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
		}
	})

	if storeKind(t) == onPostgres {
		t.Run("WriteTransactionsHoldTheWriteLock", func(t *testing.T) {
			db := openTestDB(t)
			// Asked on another connection of the pool, while tx is open.
			heldBy := func(tx *txn) int {
				t.Helper()
				return countRows(t, db, `SELECT count(*) FROM pg_locks
					WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()`)
			}
			tx, err := db.pool.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := heldBy(tx); got != 1 {
				t.Errorf("advisory locks held during a write transaction = %d, want 1", got)
			}
			tx.Rollback()
			ro, err := db.pool.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			if got := heldBy(ro); got != 0 {
				t.Errorf("advisory locks held during a read-only transaction = %d, want 0", got)
			}
			ro.Rollback()
		})
		t.Run("Ping", func(t *testing.T) {
			if err := openTestDB(t).Ping(ctx); err != nil {
				t.Error(err)
			}
		})
		return
	}

	t.Run("PragmasOnEveryConnection", func(t *testing.T) {
		db := openTestDB(t)
		// Hold several connections at once so the pool has to open new ones.
		for i := range 3 {
			conn, err := db.pool.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			for _, tt := range []struct {
				pragma string
				want   string
			}{
				{"journal_mode", "wal"},
				{"foreign_keys", "1"},
				{"busy_timeout", "5000"},
				{"secure_delete", "1"},
				{"synchronous", "2"}, // FULL
			} {
				var got string
				if err := conn.QueryRowContext(ctx, "PRAGMA "+tt.pragma).Scan(&got); err != nil {
					t.Fatal(err)
				}
				if got != tt.want {
					t.Errorf("connection %d: PRAGMA %s = %s, want %s", i, tt.pragma, got, tt.want)
				}
			}
		}
	})

	t.Run("Ping", func(t *testing.T) {
		if err := openTestDB(t).Ping(ctx); err != nil {
			t.Error(err)
		}
	})
}

func versions(ms []migration) []int {
	var out []int
	for _, m := range ms {
		out = append(out, m.version)
	}
	return out
}

// TestOpenConcurrently: processes opening a new database at once (replicas
// starting together, the CLI next to the server) all succeed, and the
// migrations run once.
func TestOpenConcurrently(t *testing.T) { forEachStore(t, testOpenConcurrently) }

func testOpenConcurrently(t *testing.T) {
	path := newTestURL(t)
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			db, err := Open(context.Background(), path)
			if err == nil {
				err = db.Close()
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatalf("open: %v", err)
		}
	}
	db := openAt(t, path)
	if got, want := countRows(t, db, `SELECT count(*) FROM schema_migrations`), len(mustReadMigrations(t, db.dialect)); got != want {
		t.Fatalf("%d migrations recorded, want %d", got, want)
	}
}

func openAt(t *testing.T, path string) *DB {
	t.Helper()
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustReadMigrations(t *testing.T, d *dialect) []migration {
	t.Helper()
	ms, err := readMigrations(d)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// dialectOf is the dialect of the store at databaseURL.
func dialectOf(databaseURL string) *dialect {
	if IsPostgres(databaseURL) {
		return postgresDialect
	}
	return sqliteDialect
}

// testActor is a person making a change in a test.
func testActor(email string) tokenservice.Actor {
	return tokenservice.Actor{Subject: "sub-" + email, Email: email, Address: "192.0.2.1", UserAgent: "test"}
}
