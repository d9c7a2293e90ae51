package db

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"tokenservice"
)

// now is the fixed clock of the tests, on a whole millisecond as stored.
var now = time.Date(2025, 3, 14, 9, 26, 53, 589_000_000, time.UTC)

// openTestDB opens a fresh database in a temporary directory and closes it
// when the test ends.
func openTestDB(tb testing.TB) *DB {
	tb.Helper()
	db, err := Open(context.Background(), filepath.Join(tb.TempDir(), "tokenservice.db"))
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
	app, err := db.CreateApplication(context.Background(), NewApplication{
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

func TestOpen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tokenservice.db")

	migrations, err := readMigrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(migrations) == 0 {
		t.Fatal("no embedded migrations")
	}
	appliedVersions := func(t *testing.T, db *DB) []int {
		t.Helper()
		rows, err := db.db.QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
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

	t.Run("PragmasOnEveryConnection", func(t *testing.T) {
		db := openTestDB(t)
		// Hold several connections at once so the pool has to open new ones.
		for i := range 3 {
			conn, err := db.db.Conn(ctx)
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
func TestOpenConcurrently(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokenservice.db")
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
	if got, want := countRows(t, db, `SELECT count(*) FROM schema_migrations`), len(mustReadMigrations(t)); got != want {
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

func mustReadMigrations(t *testing.T) []migration {
	t.Helper()
	ms, err := readMigrations()
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// testActor is a person making a change in a test.
func testActor(email string) tokenservice.Actor {
	return tokenservice.Actor{Subject: "sub-" + email, Email: email, Address: "192.0.2.1", UserAgent: "test"}
}
