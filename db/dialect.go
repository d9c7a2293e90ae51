package db

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect is everything the store's SQL does differently on SQLite and on
// PostgreSQL. The queries are written once, for SQLite, with ? placeholders;
// the few fragments that differ come from here.
type dialect struct {
	postgres bool

	// like is the operator of the applications filter: SQLite's LIKE folds
	// ASCII case, PostgreSQL's ILIKE does the same under COLLATE "C".
	like string
	// pattern is the SQL of a bound LIKE pattern: an expression, because
	// given a bare parameter SQLite prepares the statement again at its first
	// step to see whether an index could serve the LIKE (ours never can).
	pattern string
	// greatest is the scalar maximum of two values.
	greatest string
	// padding is the SQL of the secret's padding from its length argument
	// (see EraseExpiredSecrets): a zeroblob on SQLite; on PostgreSQL, which
	// has no such file layout to arrange, the argument itself, always NULL.
	padding string
	// migrationsTable creates the table of applied migrations.
	migrationsTable string
}

var (
	sqliteDialect = &dialect{
		like:     "LIKE",
		pattern:  "(? || '')",
		greatest: "max",
		padding:  "zeroblob(?)",
		migrationsTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			applied_at INTEGER NOT NULL
		)`,
	}
	postgresDialect = &dialect{
		postgres: true,
		like:     "ILIKE",
		pattern:  "?",
		greatest: "greatest",
		padding:  "CAST(? AS BYTEA)",
		migrationsTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			applied_at BIGINT  NOT NULL
		)`,
	}
)

// customPlan is the arguments of a statement whose best plan depends on them
// (a LIKE pattern): PostgreSQL then runs it unnamed and plans it for them each
// time, where a prepared one would soon settle on one generic plan.
func (d *dialect) customPlan(args []any) []any {
	if !d.postgres {
		return args
	}
	return append([]any{pgx.QueryExecModeExec}, args...)
}

// IsPostgres reports whether the database URL names a PostgreSQL database
// (postgres:// or postgresql://) rather than a SQLite file.
func IsPostgres(databaseURL string) bool {
	return strings.HasPrefix(databaseURL, "postgres://") || strings.HasPrefix(databaseURL, "postgresql://")
}

// Redacted is databaseURL fit for a log or a message: a PostgreSQL URL
// without its password.
func Redacted(databaseURL string) string {
	if !IsPostgres(databaseURL) {
		return databaseURL
	}
	u, err := url.Parse(databaseURL)
	if err != nil {
		return "postgres://(a URL that does not parse)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// rebind turns the ? placeholders of query into PostgreSQL's $1, $2, …,
// leaving quoted text alone.
func (d *dialect) rebind(query string) string {
	if !d.postgres || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n, quote := 0, byte(0)
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// indexedBy names the index SQLite must read table by; PostgreSQL's
// planner is left to choose.
func (d *dialect) indexedBy(table, index string) string {
	if d.postgres {
		return table
	}
	return table + " INDEXED BY " + index
}

// limitTo is a LIMIT clause of n rows, the number written into the statement:
// with a bound LIMIT, SQLite prepares the statement again at its first step,
// on every run, even when it is kept prepared.
func limitTo(n int) string {
	return " LIMIT " + strconv.Itoa(n)
}

// queryer is what reads need from *sql.DB and *sql.Tx.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// execer is what writes need from *sql.Tx.
type execer interface {
	queryer
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// writeLock is the key of the PostgreSQL advisory lock every write
// transaction takes first (see pool.BeginTx): "tokensrv" in ASCII.
const writeLock = 0x746f6b656e737276

// pool is the connection pool with the dialect applied: ? placeholders work
// on both databases, and write transactions are serialised on both.
type pool struct {
	*sql.DB
	dialect *dialect
}

func (p pool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return p.DB.QueryContext(ctx, p.dialect.rebind(query), args...)
}

func (p pool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return p.DB.QueryRowContext(ctx, p.dialect.rebind(query), args...)
}

func (p pool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return p.DB.ExecContext(ctx, p.dialect.rebind(query), args...)
}

func (p pool) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return p.DB.PrepareContext(ctx, p.dialect.rebind(query))
}

// BeginTx begins a transaction. A write one holds the write lock throughout
// (BEGIN IMMEDIATE; advisory lock writeLock), so the version and form-key
// checks and migrations see every earlier write; a read-only one, one snapshot.
func (p pool) BeginTx(ctx context.Context, opts *sql.TxOptions) (*txn, error) {
	readOnly := opts != nil && opts.ReadOnly
	if p.dialect.postgres && readOnly {
		opts = &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}
	}
	tx, err := p.DB.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	if p.dialect.postgres && !readOnly {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(writeLock)); err != nil {
			tx.Rollback()
			return nil, err
		}
	}
	return &txn{Tx: tx, dialect: p.dialect}, nil
}

// txn is a transaction with the dialect applied.
type txn struct {
	*sql.Tx
	dialect *dialect
}

func (t *txn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.Tx.QueryContext(ctx, t.dialect.rebind(query), args...)
}

func (t *txn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return t.Tx.QueryRowContext(ctx, t.dialect.rebind(query), args...)
}

func (t *txn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.Tx.ExecContext(ctx, t.dialect.rebind(query), args...)
}

func (t *txn) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return t.Tx.PrepareContext(ctx, t.dialect.rebind(query))
}

// isBusy reports whether err is SQLite answering that the database is locked.
func isBusy(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code()&0xff == sqlite3.SQLITE_BUSY || e.Code()&0xff == sqlite3.SQLITE_LOCKED
}

// isUniqueViolation reports whether err is the database refusing a
// duplicate key: SQLite's constraint error or PostgreSQL's unique_violation
// (SQLSTATE 23505).
func isUniqueViolation(err error) bool {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
