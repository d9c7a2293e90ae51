// Package db stores applications, the audit trail, sessions, signing keys and
// token counts in SQLite or, for replicas sharing one database, PostgreSQL;
// dialect.go holds what the two do differently, docs/store-notes.md the why.
//
// Every method that takes an account ID scopes its query by it, so another
// account's application is as missing as one that never existed.
package db

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"
)

// pragmas apply to every connection the pool opens. synchronous=FULL: writes
// are few, and a reset secret already copied must survive a power loss;
// secure_delete=ON: see EraseExpiredSecrets.
var pragmas = []string{
	"busy_timeout(5000)",
	"journal_mode(WAL)",
	"foreign_keys(ON)",
	"secure_delete(ON)",
	"synchronous(FULL)",
}

// DB is the token service's store.
type DB struct {
	pool    pool     // the connections, with the dialect applied
	dialect *dialect // what the SQL does differently on this database

	// clientStmt is clientQuery, the token endpoint's lookup (see Client),
	// prepared once: parsing it on every request costs more than running it.
	clientStmt        *sql.Stmt
	clientSecretsStmt *sql.Stmt // clientSecretsQuery, its second part
	// clientCache keeps what clientStmt read while the database is unchanged.
	clientCache *clientCache

	// pageSize is the database page size, the size of the padding that keeps
	// a secret's ciphertext on overflow pages (see EraseExpiredSecrets); 0
	// on PostgreSQL.
	pageSize int

	// maxCandidates and maxListed are maxSearchCandidates and
	// maxListedCandidates; the tests move them to make ListApplications
	// find a filter each way.
	maxCandidates, maxListed int
}

// Open opens the store at databaseURL, a PostgreSQL URL (postgres://… or
// postgresql://…) or the path of a SQLite file, creating the SQLite file if
// needed, and applies the migrations the database has not seen yet.
func Open(ctx context.Context, databaseURL string) (*DB, error) {
	if IsPostgres(databaseURL) {
		return openPostgres(ctx, databaseURL)
	}
	return openSQLite(ctx, databaseURL)
}

// openSQLite opens the SQLite database at path. Write transactions begin
// IMMEDIATE, so two writers queue on the busy timeout instead of one failing
// with SQLITE_BUSY when it upgrades a read lock.
func openSQLite(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, fmt.Errorf("db: open: path required")
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("db: open %q: path must not contain '?' or '#'", path)
	}
	// Only the service's user may read the file (secret hashes, encrypted
	// secrets, sessions); SQLite gives the -wal and -shm files the same mode.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("db: open %q: %w", path, err)
	}
	f.Close()
	q := url.Values{"_pragma": pragmas, "_txlock": {"immediate"}}
	sqldb := sql.OpenDB(cachingConnector{drv: &sqlite.Driver{}, dsn: path + "?" + q.Encode()})
	// Keep the connections: opening one (and applying the pragmas) costs
	// more than a query, and the token endpoint's readers run in parallel
	// under WAL. Writers queue on the busy timeout whatever the pool size.
	sqldb.SetMaxOpenConns(maxConns)
	sqldb.SetMaxIdleConns(maxConns)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	db := &DB{pool: pool{DB: sqldb, dialect: sqliteDialect}, dialect: sqliteDialect, maxCandidates: maxSearchCandidates, maxListed: maxListedCandidates}
	if err := db.migrate(ctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("db: open %q: %w", path, err)
	}
	if err := sqldb.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&db.pageSize); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("db: open %q: read page size: %w", path, err)
	}
	if db.clientStmt, err = sqldb.PrepareContext(ctx, clientQuery); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("db: open %q: prepare: %w", path, err)
	}
	if db.clientSecretsStmt, err = sqldb.PrepareContext(ctx, clientSecretsQuery); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("db: open %q: prepare: %w", path, err)
	}
	if db.clientCache, err = newClientCache(ctx, sqldb, path); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("db: open %q: client cache: %w", path, err)
	}
	return db, nil
}

// openPostgres opens the PostgreSQL database that replicas share: writes and
// migrations are serialised by an advisory lock (see pool.BeginTx), and the
// client cache follows a change counter the database keeps (see clientCache).
func openPostgres(ctx context.Context, databaseURL string) (*DB, error) {
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		// The parse error may quote the URL, password and all.
		return nil, fmt.Errorf("db: open postgres: the database URL does not parse")
	}
	where := fmt.Sprintf("postgres %s:%d/%s", cfg.Host, cfg.Port, cfg.Database)
	sqldb := stdlib.OpenDB(*cfg)
	sqldb.SetMaxOpenConns(maxConns)
	sqldb.SetMaxIdleConns(maxConns)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	db := &DB{pool: pool{DB: sqldb, dialect: postgresDialect}, dialect: postgresDialect, maxCandidates: maxSearchCandidates, maxListed: maxListedCandidates}
	if err := db.migrate(ctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("db: open %s: %w", where, err)
	}
	if db.clientStmt, err = db.pool.PrepareContext(ctx, clientQuery); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("db: open %s: prepare: %w", where, err)
	}
	if db.clientSecretsStmt, err = db.pool.PrepareContext(ctx, clientSecretsQuery); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("db: open %s: prepare: %w", where, err)
	}
	if db.clientCache, err = newCounterCache(ctx, db.pool); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("db: open %s: client cache: %w", where, err)
	}
	return db, nil
}

// maxConns bounds the connection pool: enough for every core to read at
// once with room for writers waiting on the write lock.
var maxConns = max(8, 2*runtime.GOMAXPROCS(0))

// Close closes the database. On SQLite the last connection to close
// checkpoints the WAL and removes the -wal and -shm files.
func (db *DB) Close() error {
	if db.clientCache != nil {
		db.clientCache.close()
	}
	if db.clientStmt != nil {
		db.clientStmt.Close()
	}
	if db.clientSecretsStmt != nil {
		db.clientSecretsStmt.Close()
	}
	if err := db.pool.Close(); err != nil {
		return fmt.Errorf("db: close: %w", err)
	}
	return nil
}

// Ping reports whether the database answers, for /readyz.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.pool.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("db: ping: %w", err)
	}
	return nil
}

// millis is how times are stored: unix milliseconds, UTC, a PostgreSQL
// bigint.
func millis(t time.Time) int64 {
	return t.UnixMilli()
}

// fromMillis is the inverse of millis.
func fromMillis(ms int64) time.Time {
	return time.UnixMilli(ms).UTC()
}

// fromNullMillis turns a NULL time into the zero time.
func fromNullMillis(ms sql.NullInt64) time.Time {
	if !ms.Valid {
		return time.Time{}
	}
	return fromMillis(ms.Int64)
}
