package db

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tokenservice"
)

// TestBackup and TestRestore are SQLite only: backup and restore copy a
// SQLite file (PostgreSQL is backed up with pg_dump; see
// TestBackupRefusesPostgres).
func TestBackup(t *testing.T) {
	ctx := context.Background()

	t.Run("CopiesEveryApplication", func(t *testing.T) {
		db := openTestDB(t)
		for i := range 5 {
			mustCreate(t, db, "acme", fmt.Sprintf("client-%d", i), fmt.Sprintf("App %d", i), readEmail, rwIncident)
		}
		path := filepath.Join(t.TempDir(), "backup.db")
		info, err := db.Backup(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := info.Applications, 5; got != want {
			t.Errorf("Applications = %d, want %d", got, want)
		}
		if st, err := os.Stat(path); err != nil || st.Size() != info.Size {
			t.Errorf("backup file: %v, size %d, want %d", err, st.Size(), info.Size)
		} else if got, want := st.Mode().Perm(), os.FileMode(0o600); got != want {
			t.Errorf("backup mode = %v, want %v", got, want)
		}
		if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
			t.Errorf("the backup's directory holds %d files, want the backup alone: %v", len(entries), entries)
		}
		copy := openAt(t, path)
		for i := range 5 {
			id := fmt.Sprintf("client-%d", i)
			want, _ := db.GetApplication(ctx, "acme", id)
			want.SecretRevealUntil = time.Time{} // the backup closes the window
			for i := range want.Credentials {
				want.Credentials[i].RevealUntil = time.Time{}
			}
			got, err := copy.GetApplication(ctx, "acme", id)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("%s in the backup = %+v, %v\nwant %+v", id, got, err, want)
			}
		}
	})

	// A backup outlives the reveal window: it holds no secret that can be
	// viewed, not even encrypted, in any page of its file, yet every secret
	// still verifies.
	t.Run("ClosesRevealWindows", func(t *testing.T) {
		source := filepath.Join(t.TempDir(), "tokenservice.db")
		db := openAt(t, source)
		ciphertext := recognisableCiphertext(rand.New(rand.NewPCG(6, 6)))
		for i := range 20 {
			mustCreate(t, db, "acme", fmt.Sprintf("before-%02d", i), fmt.Sprintf("Before %d", i), readEmail)
		}
		if _, err := db.CreateApplication(ctx, tokenservice.NewApplication{
			AccountID: "acme", ClientID: "the-client", Name: "Holds the secret", Scopes: []tokenservice.ScopeGrant{rwIncident},
			Secret: tokenservice.StoredSecret{Hash: []byte("the hash"), Ciphertext: ciphertext, RevealUntil: now.Add(15 * time.Minute)},
			Actor:  testActor("admin@example.com"), Now: now,
		}); err != nil {
			t.Fatal(err)
		}
		if err := db.checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
		if !fileContains(t, source, ciphertext) {
			t.Fatal("the database does not hold the ciphertext: the test proves nothing")
		}

		backups := t.TempDir()
		path := filepath.Join(backups, "backup.db")
		// Were the process killed before the windows are closed, nothing it
		// left next to the backups may hold the ciphertext.
		afterBackupCopy = func() {
			entries, err := os.ReadDir(backups)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				wantNoCopy(t, filepath.Join(backups, e.Name()), ciphertext, "in the backup directory mid-way ("+e.Name()+")")
			}
		}
		t.Cleanup(func() { afterBackupCopy = nil })
		info, err := db.Backup(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := info.ClosedWindows, 21; got != want {
			t.Errorf("ClosedWindows = %d, want %d", got, want)
		}
		wantNoCopy(t, path, ciphertext, "in the backup")
		copy := openAt(t, path)
		if got, want := countRows(t, copy, `SELECT count(*) FROM credentials
			WHERE ciphertext IS NOT NULL OR padding IS NOT NULL OR reveal_until IS NOT NULL`), 0; got != want {
			t.Errorf("applications with a reveal window in the backup = %d, want %d", got, want)
		}
		_, _, err = copy.SecretCiphertext(ctx, "acme", "the-client", tokenservice.ActionSecretRevealed, testActor("test"), now)
		wantCode(t, err, tokenservice.EGONE)
		if c, err := copy.Client(ctx, "the-client"); err != nil || string(c.Secrets[0].Hash) != "the hash" {
			t.Errorf("the secret's hash in the backup = %v, want it kept", err)
		}
		if _, _, err := db.SecretCiphertext(ctx, "acme", "the-client", tokenservice.ActionSecretRevealed, testActor("test"), now); err != nil {
			t.Errorf("the running database's window closed too: %v", err)
		}
	})

	t.Run("NeverOverwrites", func(t *testing.T) {
		db := openTestDB(t)
		path := filepath.Join(t.TempDir(), "backup.db")
		if err := os.WriteFile(path, []byte("precious"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := db.Backup(ctx, path)
		wantCode(t, err, tokenservice.ECONFLICT)
		if !strings.Contains(tokenservice.ErrorMessage(err), "already exists") {
			t.Errorf("message %q does not say the file exists", tokenservice.ErrorMessage(err))
		}
		if b, _ := os.ReadFile(path); string(b) != "precious" {
			t.Errorf("the existing file now holds %q", b)
		}
		if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
			t.Errorf("a refused backup left files behind: %v", entries)
		}
	})

	// Backups taken while writers commit hold every application committed
	// before they began, each with all its scopes.
	t.Run("ConsistentUnderWrites", func(t *testing.T) {
		db := openTestDB(t)
		var acked atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					_, err := db.CreateApplication(ctx, tokenservice.NewApplication{AccountID: "acme", ClientID: fmt.Sprintf("w%d-%d", w, i),
						Name: "App", Scopes: []tokenservice.ScopeGrant{readEmail, rwIncident}, Secret: testSecret("s"), Actor: testActor("a"), Now: now})
					if err != nil {
						t.Error(err)
						return
					}
					acked.Add(1)
				}
			}()
		}
		dir := t.TempDir()
		for i := range 5 {
			time.Sleep(20 * time.Millisecond)
			before := int(acked.Load())
			path := filepath.Join(dir, fmt.Sprintf("backup-%d.db", i))
			info, err := db.Backup(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			if info.Applications < before {
				t.Errorf("backup %d has %d applications, but %d were committed before it began", i, info.Applications, before)
			}
			copy := openAt(t, path)
			if n := countRows(t, copy, `SELECT count(*) FROM applications a
				WHERE (SELECT count(*) FROM application_scopes s WHERE s.application_id = a.id) != 2`); n != 0 {
				t.Errorf("backup %d has %d applications without both their scopes", i, n)
			}
		}
		close(stop)
		wg.Wait()
	})
}

// TestBackupFileDoesNotMigrate: the backup command copies the database as
// it is; a binary that knows newer migrations does not apply them to a
// running server's database.
func TestBackupFileDoesNotMigrate(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tokenservice.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, db, "acme", "client-1", "Before the newest migration")
	// Make it look as if the newest migration were not applied yet.
	latest, err := latestMigration()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.pool.ExecContext(ctx, `DELETE FROM schema_migrations WHERE version = ?`, latest); err != nil {
		t.Fatal(err)
	}
	db.Close()

	dest := filepath.Join(t.TempDir(), "backup.db")
	info, err := BackupFile(ctx, path, dest)
	if err != nil {
		t.Fatal(err)
	}
	if info.Applications != 1 || info.SchemaVersion != latest-1 {
		t.Errorf("backup = %+v, want 1 application at schema version %d", info, latest-1)
	}
	check, err := openFile(path, "")
	if err != nil {
		t.Fatal(err)
	}
	defer check.Close()
	var n int
	if err := check.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, latest).Scan(&n); err != nil || n != 0 {
		t.Errorf("the backup migrated the database it copied (%d, %v)", n, err)
	}
	if _, err := BackupFile(ctx, filepath.Join(t.TempDir(), "missing.db"), filepath.Join(t.TempDir(), "x.db")); err == nil {
		t.Error("a backup of a missing database succeeded")
	}
}
