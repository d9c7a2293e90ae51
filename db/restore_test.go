package db

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"tokenservice"
)

// writeApps opens the database at path, creates the applications ids and
// closes it again.
func writeApps(t *testing.T, path string, ids ...string) {
	t.Helper()
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		mustCreate(t, db, "acme", id, "App "+id, readEmail)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// appIDs are the Client IDs in the database at path, read without Open.
func appIDs(t *testing.T, path string) []string {
	t.Helper()
	sqldb, err := openFile(path, "mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer sqldb.Close()
	rows, err := sqldb.Query(`SELECT client_id FROM applications ORDER BY client_id`)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		rows.Scan(&id)
		out = append(out, id)
	}
	return out
}

// backupOf writes a backup of a new database holding the applications ids.
func backupOf(t *testing.T, ids ...string) string {
	t.Helper()
	dir := t.TempDir()
	writeApps(t, filepath.Join(dir, "source.db"), ids...)
	db := openAt(t, filepath.Join(dir, "source.db"))
	path := filepath.Join(dir, "backup.db")
	if _, err := db.Backup(context.Background(), path); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRestore(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

	t.Run("ReplacesAndKeepsThePrevious", func(t *testing.T) {
		backup := backupOf(t, "a", "b")
		target := filepath.Join(t.TempDir(), "tokenservice.db")
		writeApps(t, target, "c")
		info, err := Restore(ctx, backup, target, RestoreOptions{Now: at})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := info.Applications, 2; got != want {
			t.Errorf("Applications = %d, want %d", got, want)
		}
		if got, want := info.Previous, target+".before-restore-20250304T050607Z"; got != want {
			t.Errorf("Previous = %q, want %q", got, want)
		}
		if got, want := appIDs(t, target), []string{"a", "b"}; !reflect.DeepEqual(got, want) {
			t.Errorf("restored applications = %v, want %v", got, want)
		}
		if got, want := appIDs(t, info.Previous), []string{"c"}; !reflect.DeepEqual(got, want) {
			t.Errorf("kept applications = %v, want %v", got, want)
		}
		if got, want := openAt(t, target).Ping(ctx), error(nil); got != want {
			t.Errorf("the restored database does not open: %v", got)
		}
	})

	t.Run("IntoAnEmptyDataDir", func(t *testing.T) {
		backup := backupOf(t, "a")
		target := filepath.Join(t.TempDir(), "tokenservice.db")
		info, err := Restore(ctx, backup, target, RestoreOptions{Now: at})
		if err != nil {
			t.Fatal(err)
		}
		if info.Previous != "" {
			t.Errorf("Previous = %q, want none", info.Previous)
		}
		if got, want := appIDs(t, target), []string{"a"}; !reflect.DeepEqual(got, want) {
			t.Errorf("restored applications = %v, want %v", got, want)
		}
	})

	// A server killed with SIGKILL leaves commits in the -wal file. They
	// belong to the database being replaced: kept with it, and never
	// replayed onto the restored one.
	t.Run("AfterACrash", func(t *testing.T) {
		backup := backupOf(t, "a", "b")
		live := filepath.Join(t.TempDir(), "live.db")
		db := openAt(t, live)
		db.pool.Exec(`PRAGMA wal_autocheckpoint = 0`)
		mustCreate(t, db, "acme", "c", "C", readEmail)
		// The files as the killed process left them.
		target := filepath.Join(t.TempDir(), "tokenservice.db")
		for _, suffix := range []string{"", "-wal"} {
			b, err := os.ReadFile(live + suffix)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(target+suffix, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if st, _ := os.Stat(target + "-wal"); st == nil || st.Size() == 0 {
			t.Fatal("the crashed database has no WAL to test with")
		}
		info, err := Restore(ctx, backup, target, RestoreOptions{Now: at})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(target + "-wal"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a -wal file is left next to the restored database: %v", err)
		}
		if got, want := appIDs(t, target), []string{"a", "b"}; !reflect.DeepEqual(got, want) {
			t.Errorf("restored applications = %v, want %v", got, want)
		}
		if got, want := appIDs(t, info.Previous), []string{"c"}; !reflect.DeepEqual(got, want) {
			t.Errorf("kept applications = %v, want %v (the commit in the WAL)", got, want)
		}
		if ok := integrityOK(t, target); !ok {
			t.Error("the restored database fails the integrity check")
		}
	})

	t.Run("RefusesWhileInUse", func(t *testing.T) {
		backup := backupOf(t, "a")
		target := filepath.Join(t.TempDir(), "tokenservice.db")
		writeApps(t, target, "c")
		db := openAt(t, target) // as a running server has it
		_, err := Restore(ctx, backup, target, RestoreOptions{Now: at})
		if !errors.Is(err, ErrInUse) {
			t.Fatalf("err = %v, want ErrInUse", err)
		}
		if _, err := db.GetApplication(ctx, "acme", "c"); err != nil {
			t.Errorf("the database in use changed: %v", err)
		}
		wantNoLeftovers(t, filepath.Dir(target))
	})

	t.Run("RefusesBadBackups", func(t *testing.T) {
		tests := []struct {
			name  string
			make  func(t *testing.T) string
			about string
		}{
			{"NotSQLite", func(t *testing.T) string {
				path := filepath.Join(t.TempDir(), "notes.txt")
				os.WriteFile(path, bytes.Repeat([]byte("not a database "), 500), 0o600)
				return path
			}, "not a SQLite database"},
			{"Empty", func(t *testing.T) string {
				path := filepath.Join(t.TempDir(), "empty.db")
				os.WriteFile(path, nil, 0o600)
				return path
			}, "no schema_migrations"},
			{"NoMigrationsTable", func(t *testing.T) string {
				path := filepath.Join(t.TempDir(), "other.db")
				sqldb, _ := openFile(path, "")
				sqldb.Exec(`CREATE TABLE applications (id INTEGER)`)
				sqldb.Close()
				return path
			}, "no schema_migrations"},
			{"NewerSchema", func(t *testing.T) string {
				path := backupOf(t, "a")
				sqldb, _ := openFile(path, "")
				sqldb.Exec(`INSERT INTO schema_migrations VALUES (9999, 0)`)
				sqldb.Close()
				return path
			}, "newer tokenservice"},
			{"Corrupt", func(t *testing.T) string {
				path := backupOf(t, "a", "b", "c")
				b, _ := os.ReadFile(path)
				for i := 4096; i < len(b); i += 4096 {
					copy(b[i:i+8], bytes.Repeat([]byte{0xff}, 8)) // every b-tree page header
				}
				os.WriteFile(path, b, 0o600)
				return path
			}, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				backup := tt.make(t)
				target := filepath.Join(t.TempDir(), "tokenservice.db")
				writeApps(t, target, "c")
				_, err := Restore(ctx, backup, target, RestoreOptions{Now: at})
				if err == nil {
					t.Fatal("restored")
				}
				if tt.about != "" && !strings.Contains(tokenservice.ErrorMessage(err), tt.about) {
					t.Errorf("message %q does not say %q", tokenservice.ErrorMessage(err), tt.about)
				}
				if got, want := appIDs(t, target), []string{"c"}; !reflect.DeepEqual(got, want) {
					t.Errorf("applications after a refused restore = %v, want %v", got, want)
				}
				wantNoLeftovers(t, filepath.Dir(target))
			})
		}
	})

	// The restored database and the one kept aside hold no secret that can
	// be viewed, also when the backup came from a version that kept them.
	t.Run("ClosesRevealWindows", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 7))
		withWindow := func(t *testing.T, path, clientID string) []byte {
			t.Helper()
			ciphertext := recognisableCiphertext(rng)
			writeApps(t, path, clientID+"-neighbour")
			db, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.CreateApplication(ctx, tokenservice.NewApplication{
				AccountID: "acme", ClientID: clientID, Name: "Holds the secret", Scopes: []tokenservice.ScopeGrant{rwIncident},
				Secret: tokenservice.StoredSecret{Hash: []byte("the hash"), Ciphertext: ciphertext, RevealUntil: now.Add(15 * time.Minute)},
				Actor:  testActor("admin@example.com"), Now: now,
			}); err != nil {
				t.Fatal(err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			if !fileContains(t, path, ciphertext) {
				t.Fatalf("%s does not hold the ciphertext: the test proves nothing", path)
			}
			return ciphertext
		}
		// A copy of a stopped server's database is what older versions'
		// backups were: every window open.
		backup := filepath.Join(t.TempDir(), "old-backup.db")
		inBackup := withWindow(t, backup, "backed-up")
		target := filepath.Join(t.TempDir(), "tokenservice.db")
		inCurrent := withWindow(t, target, "current")

		info, err := Restore(ctx, backup, target, RestoreOptions{Now: at})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := info.ClosedWindows, 2; got != want {
			t.Errorf("ClosedWindows = %d, want %d", got, want)
		}
		if info.PreviousOpen != nil {
			t.Errorf("PreviousOpen = %v, want nil", info.PreviousOpen)
		}
		wantNoCopy(t, target, inBackup, "restored")
		wantNoCopy(t, info.Previous, inCurrent, "kept aside")
		for _, c := range []struct{ path, clientID string }{{target, "backed-up"}, {info.Previous, "current"}} {
			db := openAt(t, c.path)
			_, _, err := db.SecretCiphertext(ctx, "acme", c.clientID, tokenservice.ActionSecretRevealed, testActor("test"), now)
			wantCode(t, err, tokenservice.EGONE)
			if cl, err := db.Client(ctx, c.clientID); err != nil || string(cl.Secrets[0].Hash) != "the hash" {
				t.Errorf("the secret's hash in %s = %v, want it kept", filepath.Base(c.path), err)
			}
		}
	})

	// A damaged database is what a restore replaces: that its windows
	// cannot be closed does not stop it, and is said.
	t.Run("ReplacesADamagedDatabase", func(t *testing.T) {
		backup := backupOf(t, "a")
		target := filepath.Join(t.TempDir(), "tokenservice.db")
		writeApps(t, target, "c", "d", "e")
		sqldb, err := openFile(target, "mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		var root, pageSize int
		err = sqldb.QueryRow(`SELECT rootpage FROM sqlite_schema WHERE name = 'credentials'`).Scan(&root)
		if err == nil {
			err = sqldb.QueryRow(`PRAGMA page_size`).Scan(&pageSize)
		}
		sqldb.Close()
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(target)
		if err != nil {
			t.Fatal(err)
		}
		header := (root - 1) * pageSize
		copy(b[header:header+8], bytes.Repeat([]byte{0xff}, 8)) // the credentials table's b-tree page header
		if err := os.WriteFile(target, b, 0o600); err != nil {
			t.Fatal(err)
		}
		info, err := Restore(ctx, backup, target, RestoreOptions{Now: at})
		if err != nil {
			t.Fatal(err)
		}
		if info.PreviousOpen == nil {
			t.Error("PreviousOpen = nil, want why the damaged database's windows stayed open")
		}
		if got, want := appIDs(t, target), []string{"a"}; !reflect.DeepEqual(got, want) {
			t.Errorf("restored applications = %v, want %v", got, want)
		}
	})

	t.Run("CheckStopsIt", func(t *testing.T) {
		backup := backupOf(t, "a")
		target := filepath.Join(t.TempDir(), "tokenservice.db")
		writeApps(t, target, "c")
		refused := errors.New("wrong server key")
		_, err := Restore(ctx, backup, target, RestoreOptions{Now: at, Check: func(ctx context.Context, copy *DB) error {
			if _, err := copy.GetApplication(ctx, "acme", "a"); err != nil {
				t.Errorf("Check does not see the backup: %v", err)
			}
			return refused
		}})
		if !errors.Is(err, refused) {
			t.Fatalf("err = %v, want the Check's", err)
		}
		if got, want := appIDs(t, target), []string{"c"}; !reflect.DeepEqual(got, want) {
			t.Errorf("applications after a refused restore = %v, want %v", got, want)
		}
		wantNoLeftovers(t, filepath.Dir(target))
	})
}

func integrityOK(t *testing.T, path string) bool {
	t.Helper()
	sqldb, err := openFile(path, "mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer sqldb.Close()
	var result string
	if err := sqldb.QueryRow(`PRAGMA integrity_check`).Scan(&result); err != nil {
		t.Fatal(err)
	}
	return result == "ok"
}

// wantNoLeftovers fails unless dir holds no temporary copy and no kept
// database: what a refused restore must leave.
func wantNoLeftovers(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") || strings.Contains(e.Name(), "before-restore") {
			t.Errorf("a refused restore left %s", e.Name())
		}
	}
}
