package db

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"tokenservice"
)

// ErrInUse is Restore's answer while another process (a running server, an
// operator command) has the database open.
var ErrInUse = tokenservice.Errorf(tokenservice.ECONFLICT,
	"the database is in use by a running server or another tokenservice command: stop it first, then restore")

// RestoreOptions are Restore's optional parts.
type RestoreOptions struct {
	// Now names the file the replaced database is kept as.
	Now time.Time
	// Check, when set, runs on the copy about to be put in place, opened as
	// the server will open it; an error stops the restore before anything is
	// replaced (the CLI checks that the server key decrypts the signing keys).
	Check func(ctx context.Context, copy *DB) error
}

// RestoreInfo says what Restore did.
type RestoreInfo struct {
	BackupInfo
	// Previous is where the replaced database was kept; "" when there was
	// none.
	Previous string
	// PreviousOpen says why the reveal windows of the replaced database
	// could not be closed, so that Previous may hold secrets that can be
	// viewed; nil when they were. A damaged database does not stop a restore.
	PreviousOpen error
}

// Restore puts a checked copy of the backup, its reveal windows closed, in
// place of the database at dbPath, kept as <db>.before-restore-<time>. It is
// ErrInUse while any process has the database open: stop the server first.
func Restore(ctx context.Context, backupPath, dbPath string, opts RestoreOptions) (*RestoreInfo, error) {
	if IsPostgres(dbPath) {
		return nil, ErrBackupPostgres
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	tmp, err := createTemp(dbPath)
	if err != nil {
		return nil, fmt.Errorf("db: restore: %w", err)
	}
	defer func() {
		os.Remove(tmp)
		os.Remove(tmp + "-wal")
		os.Remove(tmp + "-shm")
	}()
	if err := copyFile(backupPath, tmp); err != nil {
		return nil, fmt.Errorf("db: restore: %w", err)
	}
	info, err := inspect(ctx, tmp, backupPath)
	if err != nil {
		return nil, err
	}
	info.Path = backupPath
	if info.ClosedWindows, err = closeRevealWindows(ctx, tmp); err != nil {
		return nil, fmt.Errorf("db: restore: %w", err)
	}
	if opts.Check != nil {
		copy, err := Open(ctx, tmp)
		if err != nil {
			return nil, fmt.Errorf("db: restore: open the copy: %w", err)
		}
		err = opts.Check(ctx, copy)
		if cerr := copy.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
	}
	if err := syncFile(tmp); err != nil {
		return nil, fmt.Errorf("db: restore: %w", err)
	}

	out := &RestoreInfo{BackupInfo: *info}
	if _, err := os.Lstat(dbPath); err == nil {
		if out.PreviousOpen, err = quiesce(ctx, dbPath); err != nil {
			return nil, err
		}
		if out.Previous, err = keepPrevious(dbPath, opts.Now); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("db: restore: %w", err)
	}
	// A -shm file left next to the database indexes the old WAL; the next
	// server rebuilds it, but only if it is not there to be trusted.
	if err := os.Remove(dbPath + "-shm"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("db: restore: %w", err)
	}
	if err := os.Rename(tmp, dbPath); err != nil {
		return nil, fmt.Errorf("db: restore: %w", err)
	}
	if err := syncDir(filepath.Dir(dbPath)); err != nil {
		return nil, fmt.Errorf("db: restore: %w", err)
	}
	return out, nil
}

// quiesce makes sure no other process has the database at path open, closes
// its reveal windows (windowsErr says why it could not) and moves its WAL
// into the file, so that no -wal is left to replay onto a restore.
func quiesce(ctx context.Context, path string) (windowsErr, err error) {
	sqldb, err := openFile(path, "_pragma=busy_timeout(200)&_pragma=locking_mode(EXCLUSIVE)&_pragma=secure_delete(ON)")
	if err != nil {
		return nil, fmt.Errorf("db: restore: open %s: %w", path, err)
	}
	defer sqldb.Close()
	sqldb.SetMaxOpenConns(1)
	var mode string
	if err := sqldb.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		if isBusy(err) {
			return nil, ErrInUse
		}
		return nil, fmt.Errorf("db: restore: read %s: %w", path, err)
	}
	// Take the lock for certain: a write transaction in exclusive mode
	// keeps it until the connection closes.
	if _, err := sqldb.ExecContext(ctx, `BEGIN EXCLUSIVE; COMMIT`); err != nil {
		if isBusy(err) {
			return nil, ErrInUse
		}
		return nil, fmt.Errorf("db: restore: lock %s: %w", path, err)
	}
	query, err := closeWindowsQuery(ctx, sqldb)
	if err == nil && query != "" {
		_, err = sqldb.ExecContext(ctx, query)
	}
	if err != nil {
		windowsErr = fmt.Errorf("close the reveal windows of %s: %w", path, err)
	}
	if mode == "wal" {
		var busy, logFrames, checkpointed int
		if err := sqldb.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &checkpointed); err != nil {
			return nil, fmt.Errorf("db: restore: checkpoint %s: %w", path, err)
		} else if busy != 0 {
			return nil, ErrInUse
		}
	}
	if err := sqldb.Close(); err != nil {
		return nil, fmt.Errorf("db: restore: close %s: %w", path, err)
	}
	// Closing the last connection removed the WAL; one still holding
	// frames would be replayed onto the restored database.
	if st, err := os.Stat(path + "-wal"); err == nil && st.Size() > 0 {
		return nil, ErrInUse
	} else if err == nil {
		os.Remove(path + "-wal")
	}
	return windowsErr, nil
}

// keepPrevious hard-links the database at path to
// <path>.before-restore-<now> and returns that name.
func keepPrevious(path string, now time.Time) (string, error) {
	base := path + ".before-restore-" + now.UTC().Format("20060102T150405Z")
	for n := 1; ; n++ {
		name := base
		if n > 1 {
			name += "-" + strconv.Itoa(n)
		}
		err := os.Link(path, name)
		if err == nil {
			return name, syncDir(filepath.Dir(path))
		}
		if !errors.Is(err, fs.ErrExist) || n == 100 {
			return "", fmt.Errorf("db: restore: keep the current database: %w", err)
		}
	}
}

// copyFile copies src into the existing file dst and syncs it.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
