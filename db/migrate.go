package db

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFS embed.FS

// migration is one numbered file of migrations/sqlite or migrations/postgres.
type migration struct {
	version int
	name    string
}

// migrate applies the migrations not yet recorded, each in one transaction
// with its record, so a failed one leaves no trace. Processes opening a new
// database together queue on the write lock; SQLite's BUSY is retried.
func (db *DB) migrate(ctx context.Context) error {
	for attempt := 0; ; attempt++ {
		err := db.migrateOnce(ctx)
		if err == nil || !isBusy(err) || attempt == 50 {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(10+attempt*10) * time.Millisecond):
		}
	}
}

func (db *DB) migrateOnce(ctx context.Context) error {
	tx, err := db.pool.BeginTx(ctx, nil) // waits for the write lock
	if err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, db.dialect.migrationsTable); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	migrations, err := readMigrations(db.dialect)
	if err != nil {
		return err
	}
	for _, m := range migrations {
		if err := db.applyMigration(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// readMigrations lists the embedded migrations of the dialect by version.
// Names must start with their version number: 0001_init.sql.
func readMigrations(d *dialect) ([]migration, error) {
	dir := "migrations/sqlite"
	if d.postgres {
		dir = "migrations/postgres"
	}
	names, err := fs.Glob(migrationFS, dir+"/*.sql")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	var out []migration
	seen := make(map[int]string)
	for _, name := range names {
		base := path.Base(name)
		num, _, _ := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive version number", base)
		}
		if prev, ok := seen[v]; ok {
			return nil, fmt.Errorf("migrations %s and %s have the same version", prev, base)
		}
		seen[v] = base
		out = append(out, migration{version: v, name: name})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// applyMigration runs m unless it is recorded already. The check runs inside
// the write transaction, so two processes opening the same new database
// apply it once.
func (db *DB) applyMigration(ctx context.Context, m migration) error {
	tx, err := db.pool.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migration %d: %w", m.version, err)
	}
	defer tx.Rollback()

	var applied bool
	if err := tx.QueryRowContext(ctx,
		`SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?)`, m.version,
	).Scan(&applied); err != nil {
		return fmt.Errorf("migration %d: %w", m.version, err)
	} else if applied {
		return nil
	}

	script, err := migrationFS.ReadFile(m.name)
	if err != nil {
		return fmt.Errorf("migration %d: %w", m.version, err)
	}
	// As it is: a script is several statements, and no placeholders.
	if _, err := tx.Tx.ExecContext(ctx, string(script)); err != nil {
		return fmt.Errorf("migration %d (%s): %w", m.version, path.Base(m.name), err)
	}
	if step := migrationSteps[m.version]; step != nil {
		if err := step(ctx, tx); err != nil {
			return fmt.Errorf("migration %d (%s): %w", m.version, path.Base(m.name), err)
		}
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
		m.version, millis(time.Now()),
	); err != nil {
		return fmt.Errorf("migration %d: record: %w", m.version, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migration %d: commit: %w", m.version, err)
	}
	return nil
}

// migrationSteps are the parts of migrations that SQL cannot do, run after
// the script of their version in its transaction.
var migrationSteps = map[int]func(context.Context, *txn) error{
	8: fillNameKeys,
}

// fillNameKeys writes the natural sort key (NameSortKey) of every existing
// application, which migration 8 adds empty.
func fillNameKeys(ctx context.Context, tx *txn) error {
	type named struct {
		id   int64
		name string
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, name FROM applications`)
	if err != nil {
		return fmt.Errorf("name keys: %w", err)
	}
	var apps []named
	for rows.Next() {
		var a named
		if err := rows.Scan(&a.id, &a.name); err != nil {
			rows.Close()
			return fmt.Errorf("name keys: %w", err)
		}
		apps = append(apps, a)
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("name keys: %w", err)
	}
	stmt, err := tx.PrepareContext(ctx, tx.dialect.rebind(`UPDATE applications SET name_key = ? WHERE id = ?`))
	if err != nil {
		return fmt.Errorf("name keys: %w", err)
	}
	defer stmt.Close()
	for _, a := range apps {
		if _, err := stmt.ExecContext(ctx, NameSortKey(a.name), a.id); err != nil {
			return fmt.Errorf("name keys: %w", err)
		}
	}
	return nil
}
