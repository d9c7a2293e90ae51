package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"tokenservice/db"
	"tokenservice/token"
)

const backupUsage = `usage: tokenservice backup [flags] FILE

Writes a consistent copy of the database to FILE while the server runs (it
reads one snapshot and never blocks the server). FILE must not exist.
Client Secrets still in their reveal window are in the copy only as their
hashes: they keep working, but cannot be viewed from it.
The copy does not contain the server key: back up <data-dir>/server.key (or
your --server-key) separately; without it the backup's client secrets and
signing keys cannot be used. SQLite only: back up a PostgreSQL database with
pg_dump.
The store flags (--data-dir, --database-url, --server-key) and their
TOKENSERVICE_* variables are the server's.`

const restoreUsage = `usage: tokenservice restore [flags] FILE

Puts the backup FILE in place of the database. Stop the server first: restore
refuses while any process has the database open. The backup is checked
(SQLite integrity, schema version, and that the server key decrypts its
signing keys) before anything changes; the replaced database is kept as
<database>.before-restore-<time>. Both start with every reveal window
closed: their Client Secrets keep working, but cannot be viewed. SQLite
only: restore a PostgreSQL database with pg_restore.
The store flags (--data-dir, --database-url, --server-key) and their
TOKENSERVICE_* variables are the server's.`

// runBackup writes a backup of the store to the file named by its argument.
func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, file, err := parseFileCommand("backup", backupUsage, args, stderr)
	if err != nil || file == "" {
		return err
	}
	if db.IsPostgres(cfg.DatabaseURL) {
		return fmt.Errorf("backup: %w", db.ErrBackupPostgres)
	}
	if _, err := os.Stat(cfg.DataDir); err != nil {
		return fmt.Errorf("data dir %s: %w (check --data-dir)", cfg.DataDir, err)
	}
	// The database as it is, without migrating it: a newer binary must not
	// change a running server's database.
	info, err := db.BackupFile(ctx, cfg.DatabaseURL, file)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Wrote %s (%d bytes): %d applications, %d events, schema version %d.\n",
		info.Path, info.Size, info.Applications, info.Events, info.SchemaVersion)
	if info.ClosedWindows > 0 {
		fmt.Fprintf(stdout, "%d Client Secrets still in their reveal window are in it only as their hashes: they keep working, but cannot be viewed from it.\n", info.ClosedWindows)
	}
	fmt.Fprintf(stdout, "Keep the server key (%s) safe too, apart from the backup: without it the backup's secrets are useless.\n", keyWhere(cfg))
	return nil
}

// runRestore puts a backup in place of the store's database.
func runRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, file, err := parseFileCommand("restore", restoreUsage, args, stderr)
	if err != nil || file == "" {
		return err
	}
	if db.IsPostgres(cfg.DatabaseURL) {
		return fmt.Errorf("restore: %w", db.ErrBackupPostgres)
	}
	if _, err := os.Stat(cfg.DataDir); err != nil {
		return fmt.Errorf("data dir %s: %w (check --data-dir)", cfg.DataDir, err)
	}
	// The backup is only of use under the key it was made with: never let a
	// restore go on to a server that would generate a new one.
	if _, err := os.Stat(serverKeyPath(cfg)); cfg.ServerKey == "" && err != nil {
		return fmt.Errorf("no server key: %s does not exist; put back the server key the backup was made under (or pass --server-key)", serverKeyPath(cfg))
	}
	serverKey, err := loadServerKey(cfg)
	if err != nil {
		return err
	}
	var signingKeys int
	info, err := db.Restore(ctx, file, cfg.DatabaseURL, db.RestoreOptions{
		Now: time.Now(),
		Check: func(ctx context.Context, copy *db.DB) error {
			kr, err := token.NewKeyring(copy, serverKey, cfg.TokenTTL)
			if err != nil {
				return err
			}
			keys, err := kr.Published(ctx)
			if err != nil {
				return fmt.Errorf("restore: %s was made under another server key (%w); restore with the server key it was made under", file, err)
			}
			signingKeys = len(keys)
			return nil
		},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Restored %s into %s: %d applications, %d events, schema version %d.\n",
		file, cfg.DatabaseURL, info.Applications, info.Events, info.SchemaVersion)
	if signingKeys > 0 {
		fmt.Fprintf(stdout, "The server key (%s) decrypts its %d signing keys.\n", keyWhere(cfg), signingKeys)
	} else {
		fmt.Fprintf(stdout, "The backup has no signing key yet, so the server key (%s) could not be checked against it.\n", keyWhere(cfg))
	}
	if info.ClosedWindows > 0 {
		fmt.Fprintf(stdout, "Closed the reveal windows of %d Client Secrets the backup held encrypted: they keep working, but cannot be viewed.\n", info.ClosedWindows)
	}
	if info.Previous != "" {
		fmt.Fprintf(stdout, "The replaced database is kept as %s; delete it once the restored service works.\n", info.Previous)
	}
	if info.PreviousOpen != nil {
		fmt.Fprintf(stderr, "tokenservice: warning: %v: %s may still hold Client Secrets that can be viewed with the server key; delete it once the restored service works.\n", info.PreviousOpen, info.Previous)
	}
	return nil
}

// parseFileCommand reads the store flags and the one FILE argument of
// backup and restore. A "" file with no error means help was shown.
func parseFileCommand(name, usage string, args []string, stderr io.Writer) (Config, string, error) {
	cfg := defaultConfig()
	fs := newFlagSet("tokenservice "+name, stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, usage); fs.PrintDefaults() }
	cfg.storeFlags(fs)
	if err := parse(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, "", nil
		}
		return cfg, "", err
	}
	switch {
	case fs.NArg() == 0:
		fmt.Fprintln(stderr, usage)
		return cfg, "", fmt.Errorf("%s: missing FILE", name)
	case fs.NArg() > 1:
		return cfg, "", fmt.Errorf("%s: unexpected argument %q (flags go before FILE)", name, fs.Arg(1))
	}
	if err := cfg.Validate(); err != nil {
		return cfg, "", err
	}
	warnPermissions(cfg, stderr)
	return cfg, fs.Arg(0), nil
}

// keyWhere names where the server key of cfg comes from.
func keyWhere(cfg Config) string {
	if cfg.ServerKey != "" {
		return "--server-key"
	}
	return serverKeyPath(cfg)
}
