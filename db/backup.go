package db

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	"tokenservice"
)

// ErrBackupPostgres is Backup's and Restore's answer for a PostgreSQL store.
var ErrBackupPostgres = tokenservice.Errorf(tokenservice.EINVALID,
	"backup and restore work on a SQLite database file; back up PostgreSQL with pg_dump "+
		"(e.g. pg_dump --format=custom --file=tokenservice.dump \"$DATABASE_URL\") and restore with pg_restore, "+
		"and keep the server key apart from the dump")

// BackupInfo describes a database file: one Backup wrote, or one Inspect read.
type BackupInfo struct {
	Path          string
	Size          int64
	SchemaVersion int // the newest migration the file has
	Applications  int
	Events        int // 0 in files from before the audit trail
	// ClosedWindows counts the reveal windows Backup or Restore closed in
	// the copy: those secrets verify but can no longer be viewed.
	ClosedWindows int
}

// Backup writes a consistent copy of the running database to a new file at
// path, complete and durable or absent, with every reveal window closed. It
// uses VACUUM INTO, one snapshot, where cp can tear the file from its WAL.
func (db *DB) Backup(ctx context.Context, path string) (*BackupInfo, error) {
	if db.dialect.postgres {
		return nil, ErrBackupPostgres
	}
	return backup(ctx, db.pool.DB, path)
}

// BackupFile is Backup of the SQLite database at dbPath, opened only for
// the copy: unlike Open it applies no migration, so a newer binary backing
// up a running server's database never changes it.
func BackupFile(ctx context.Context, dbPath, path string) (*BackupInfo, error) {
	if IsPostgres(dbPath) {
		return nil, ErrBackupPostgres
	}
	if _, err := os.Stat(dbPath); err != nil {
		return nil, fmt.Errorf("db: backup: %w", err)
	}
	sqldb, err := openFile(dbPath, "_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, fmt.Errorf("db: backup: open %s: %w", dbPath, err)
	}
	defer sqldb.Close()
	return backup(ctx, sqldb, path)
}

// afterBackupCopy, when a test sets it, runs while the copy still holds the
// encrypted secrets: the moment a crash would leave them behind.
var afterBackupCopy func()

func backup(ctx context.Context, sqldb *sql.DB, path string) (*BackupInfo, error) {
	if err := refuseExisting(path); err != nil {
		return nil, err
	}
	// The copy is made and its reveal windows closed beside the database, which holds the
	// same ciphertext anyway: a crash in between leaves none of it next to the backups.
	var source string
	if err := sqldb.QueryRowContext(ctx, `SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&source); err != nil {
		return nil, fmt.Errorf("db: backup: find the database file: %w", err)
	}
	scratch, err := createTemp(filepath.Join(filepath.Dir(source), "backup"))
	if err != nil {
		return nil, fmt.Errorf("db: backup: %w", err)
	}
	defer os.Remove(scratch)
	// VACUUM INTO takes a file that is absent or empty; the empty one made
	// above gives the copy the mode 0600 of the database itself.
	if _, err := sqldb.ExecContext(ctx, `VACUUM INTO ?`, scratch); err != nil {
		return nil, fmt.Errorf("db: backup: vacuum into %s: %w", scratch, err)
	}
	if afterBackupCopy != nil {
		afterBackupCopy()
	}
	closed, err := closeRevealWindows(ctx, scratch)
	if err != nil {
		return nil, fmt.Errorf("db: backup: %w", err)
	}
	tmp, err := createTemp(path)
	if err != nil {
		return nil, fmt.Errorf("db: backup: %w", err)
	}
	defer os.Remove(tmp)
	if err := copyFile(scratch, tmp); err != nil {
		return nil, fmt.Errorf("db: backup: %w", err)
	}
	info, err := Inspect(ctx, tmp)
	if err != nil {
		return nil, fmt.Errorf("db: backup: the copy does not check out: %w", err)
	}
	info.ClosedWindows = closed
	if err := linkNew(tmp, path); err != nil {
		return nil, err
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("db: backup: %w", err)
	}
	info.Path = path
	return info, nil
}

// Inspect checks that the file at path is a complete token service database
// this binary can use (integrity, tables, no newer migration), reading the
// file alone: a -wal file next to it is ignored, as a restore ignores it.
func Inspect(ctx context.Context, path string) (*BackupInfo, error) {
	return inspect(ctx, path, path)
}

// inspect checks the file at path, naming it name in its messages.
func inspect(ctx context.Context, path, name string) (*BackupInfo, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("db: inspect: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, tokenservice.Errorf(tokenservice.EINVALID, "%s is not a file", name)
	}
	sqldb, err := openFile(path, "mode=ro&immutable=1")
	if err != nil {
		return nil, fmt.Errorf("db: inspect %s: %w", path, err)
	}
	defer sqldb.Close()
	invalid := func(format string, args ...any) error {
		return tokenservice.Errorf(tokenservice.EINVALID, "%s is not a usable Token Service backup: "+format, append([]any{name}, args...)...)
	}

	var result string
	if err := sqldb.QueryRowContext(ctx, `PRAGMA integrity_check(1)`).Scan(&result); err != nil {
		return nil, invalid("not a SQLite database (%v)", err)
	} else if result != "ok" {
		return nil, invalid("the integrity check failed: %s", result)
	}
	var tables int
	if err := sqldb.QueryRowContext(ctx,
		`SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN ('schema_migrations', 'applications')`,
	).Scan(&tables); err != nil {
		return nil, invalid("%v", err)
	} else if tables != 2 {
		return nil, invalid("it has no schema_migrations or applications table")
	}
	info := &BackupInfo{Path: path, Size: st.Size()}
	if err := sqldb.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&info.SchemaVersion); err != nil {
		return nil, invalid("%v", err)
	}
	known, err := latestMigration()
	if err != nil {
		return nil, err
	}
	if info.SchemaVersion > known {
		return nil, invalid("it was made by a newer tokenservice (schema version %d; this binary knows up to %d): restore it with that version", info.SchemaVersion, known)
	}
	if err := sqldb.QueryRowContext(ctx, `SELECT count(*) FROM applications`).Scan(&info.Applications); err != nil {
		return nil, invalid("%v", err)
	}
	var hasEvents bool
	if err := sqldb.QueryRowContext(ctx,
		`SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'events')`,
	).Scan(&hasEvents); err != nil {
		return nil, invalid("%v", err)
	}
	if hasEvents {
		if err := sqldb.QueryRowContext(ctx, `SELECT count(*) FROM events`).Scan(&info.Events); err != nil {
			return nil, invalid("%v", err)
		}
	}
	return info, nil
}

// closeEveryRevealWindow erases every encrypted secret and ends its reveal
// window, keeping the hash.
const closeEveryRevealWindow = `
	UPDATE credentials
	SET ciphertext = NULL, padding = NULL, reveal_until = NULL
	WHERE ciphertext IS NOT NULL OR padding IS NOT NULL OR reveal_until IS NOT NULL`

// closeEveryRevealWindowBefore6 is closeEveryRevealWindow for a file of a
// release before credentials (migration 6), which restore may be given.
const closeEveryRevealWindowBefore6 = `
	UPDATE applications
	SET secret_ciphertext = NULL, secret_padding = NULL, secret_reveal_until = NULL
	WHERE secret_ciphertext IS NOT NULL OR secret_padding IS NOT NULL OR secret_reveal_until IS NOT NULL`

// closeWindowsQuery returns the statement that closes every reveal window
// of an open SQLite file, by its schema; "" for a file without applications.
func closeWindowsQuery(ctx context.Context, q queryer) (string, error) {
	var credentials, applications int
	if err := q.QueryRowContext(ctx, `
		SELECT (SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'credentials'),
			(SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'applications')`,
	).Scan(&credentials, &applications); err != nil {
		return "", err
	}
	switch {
	case credentials > 0:
		return closeEveryRevealWindow, nil
	case applications > 0:
		return closeEveryRevealWindowBefore6, nil
	}
	return "", nil
}

// closeRevealWindows erases every encrypted secret in the file at path, which
// no other process has open, and returns how many: a copy outlives the window.
// secure_delete and an in-memory journal leave no copy of the erased pages.
func closeRevealWindows(ctx context.Context, path string) (int, error) {
	sqldb, err := openFile(path, "_pragma=secure_delete(ON)&_pragma=journal_mode(MEMORY)&_pragma=temp_store(MEMORY)")
	if err != nil {
		return 0, fmt.Errorf("close reveal windows: open %s: %w", path, err)
	}
	defer sqldb.Close()
	sqldb.SetMaxOpenConns(1)
	query, err := closeWindowsQuery(ctx, sqldb)
	if err != nil || query == "" {
		return 0, err
	}
	res, err := sqldb.ExecContext(ctx, query)
	if err != nil {
		return 0, fmt.Errorf("close reveal windows of %s: %w", path, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("close reveal windows of %s: %w", path, err)
	}
	if err := sqldb.Close(); err != nil {
		return 0, fmt.Errorf("close reveal windows: close %s: %w", path, err)
	}
	return int(n), nil
}

// refuseExisting answers a conflict when path exists.
func refuseExisting(path string) error {
	if _, err := os.Lstat(path); err == nil {
		return tokenservice.Errorf(tokenservice.ECONFLICT, "%s already exists: a backup never overwrites a file; choose a new name", path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("db: backup: %w", err)
	}
	return nil
}

// linkNew gives the file tmp the name path unless path exists (a link,
// unlike a rename, never replaces one), then drops the name tmp.
func linkNew(tmp, path string) error {
	err := os.Link(tmp, path)
	if errors.Is(err, fs.ErrExist) {
		return refuseExisting(path)
	}
	if err != nil {
		// A file system without hard links: check, then rename.
		if err := refuseExisting(path); err != nil {
			return err
		}
		if err := os.Rename(tmp, path); err != nil {
			return fmt.Errorf("db: backup: %w", err)
		}
		return nil
	}
	if err := os.Remove(tmp); err != nil {
		return fmt.Errorf("db: backup: %w", err)
	}
	return nil
}

// createTemp creates an empty file of mode 0600 with a temporary name next
// to path, on the same file system, so renaming it to path is atomic.
func createTemp(path string) (string, error) {
	b := make([]byte, 8)
	rand.Read(b)
	name := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp-"+hex.EncodeToString(b))
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	return name, f.Close()
}

// syncFile flushes the file at path to stable storage.
func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncDir makes the names created or renamed in dir durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// openFile opens the SQLite file at path with the URI parameters query,
// outside Open: without the migrations and the pool's pragmas.
func openFile(path, query string) (*sql.DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	u := url.URL{Scheme: "file", OmitHost: true, Path: abs, RawQuery: query}
	return sql.Open("sqlite", u.String())
}

// latestMigration is the newest schema version this binary knows.
func latestMigration() (int, error) {
	ms, err := readMigrations(sqliteDialect)
	if err != nil {
		return 0, err
	}
	if len(ms) == 0 {
		return 0, nil
	}
	return ms[len(ms)-1].version, nil
}
