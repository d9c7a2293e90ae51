package db

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"modernc.org/sqlite"
)

// openCaching opens a one-connection pool through the statement cache and
// returns it with that connection's cache.
func openCaching(t *testing.T) (*sql.DB, func() *cachingConn) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cache.db")
	sqldb := sql.OpenDB(cachingConnector{drv: &sqlite.Driver{}, dsn: path})
	t.Cleanup(func() { sqldb.Close() })
	sqldb.SetMaxOpenConns(1)
	ctx := context.Background()
	for _, q := range []string{
		`CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`,
		`INSERT INTO t (v) VALUES ('a'), ('b'), ('c')`,
	} {
		if _, err := sqldb.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	conn := func() *cachingConn {
		c, err := sqldb.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var cc *cachingConn
		c.Raw(func(dc any) error { cc = dc.(*cachingConn); return nil })
		return cc
	}
	return sqldb, conn
}

func values(t *testing.T, rows *sql.Rows) string {
	t.Helper()
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, ",")
}

// TestStatementCache: a query is prepared once and run again from its
// statement with new arguments; a query run again while its first rows are
// open gets a statement of its own; the cache stops growing at its bound;
// an EXPLAIN describes the schema as it is now.
func TestStatementCache(t *testing.T) {
	ctx := context.Background()
	sqldb, conn := openCaching(t)
	const q = `SELECT v FROM t WHERE id >= ? ORDER BY id`

	for _, tt := range []struct {
		from int
		want string
	}{{1, "a,b,c"}, {2, "b,c"}, {3, "c"}} {
		rows, err := sqldb.QueryContext(ctx, q, tt.from)
		if err != nil {
			t.Fatal(err)
		}
		if got := values(t, rows); got != tt.want {
			t.Errorf("from %d: %q, want %q", tt.from, got, tt.want)
		}
	}
	c := conn()
	if s, ok := c.stmts[q]; !ok || s.busy {
		t.Fatalf("after three runs, the statement is cached %v, busy", ok)
	}
	prepared := c.stmts[q].stmt

	t.Run("BusyStatement", func(t *testing.T) {
		tx, err := sqldb.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		outer, err := tx.QueryContext(ctx, q, 1)
		if err != nil {
			t.Fatal(err)
		}
		var first []string
		for outer.Next() {
			var v string
			if err := outer.Scan(&v); err != nil {
				t.Fatal(err)
			}
			first = append(first, v)
			// The same text while outer's rows are open: another statement.
			inner, err := tx.QueryContext(ctx, q, 3)
			if err != nil {
				t.Fatal(err)
			}
			if got := values(t, inner); got != "c" {
				t.Errorf("inner run: %q, want %q", got, "c")
			}
		}
		if err := outer.Close(); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(first, ","); got != "a,b,c" {
			t.Errorf("outer run: %q, want a,b,c", got)
		}
		if c.stmts[q].stmt != prepared || c.stmts[q].busy {
			t.Error("the cached statement was replaced or left busy")
		}
	})

	t.Run("Bound", func(t *testing.T) {
		for i := range maxCachedStmts + 10 {
			var n int
			if err := sqldb.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(*) + %d FROM t`, i)).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 3+i {
				t.Fatalf("query %d: %d, want %d", i, n, 3+i)
			}
		}
		if got := len(c.stmts); got != maxCachedStmts {
			t.Errorf("%d statements cached, want the bound %d", got, maxCachedStmts)
		}
	})
}
