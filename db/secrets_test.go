package db

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tokenservice"
)

// TestErasedSecretLeavesNoCopyInFiles is the promise of the reveal window:
// once it ends and the sweep has run, the encrypted secret exists nowhere in
// the database files, not in the main file, not in the -wal, not in the
// -shm; not even after other writes have moved pages around meanwhile.
//
// SQLite only: it reads SQLite's files and page layout, and PostgreSQL
// keeps old row versions in its files until VACUUM; TestErasedSecretUnreadable
// is what both promise.
func TestErasedSecretLeavesNoCopyInFiles(t *testing.T) {
	windowEnd := now.Add(15 * time.Minute)

	for _, tt := range []struct {
		name  string
		erase func(t *testing.T, db *DB) // makes the ciphertext go away at windowEnd
	}{
		{"Sweep", func(t *testing.T, db *DB) {}},
		{"ReadAfterWindow", func(t *testing.T, db *DB) {
			_, _, err := db.SecretCiphertext(context.Background(), "acme", "the-client", tokenservice.ActionSecretRevealed, testActor("test"), windowEnd)
			wantCode(t, err, tokenservice.EGONE)
		}},
		{"Reset", func(t *testing.T, db *DB) {
			if _, err := db.ResetSecret(context.Background(), SecretReset{AccountID: "acme", ClientID: "the-client", AnyVersion: true, Secret: testSecret("replacement"), Actor: testActor("cli"), Now: windowEnd}); err != nil {
				t.Fatal(err)
			}
		}},
		{"Delete", func(t *testing.T, db *DB) {
			if err := db.DeleteApplication(context.Background(), Deletion{AccountID: "acme", ClientID: "the-client", AnyVersion: true}); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "tokenservice.db")
			db, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			rng := rand.New(rand.NewPCG(42, uint64(len(tt.name))))
			ciphertext := recognisableCiphertext(rng)

			for i := range 20 {
				mustCreate(t, db, "acme", fmt.Sprintf("before-%02d", i), fmt.Sprintf("Before %d", i), readEmail)
			}
			if _, err := db.CreateApplication(ctx, NewApplication{
				AccountID: "acme", ClientID: "the-client", Name: "Holds the secret", Scopes: []tokenservice.ScopeGrant{rwIncident},
				Secret: tokenservice.StoredSecret{Hash: []byte("hash"), Ciphertext: ciphertext, RevealUntil: windowEnd},
				Actor:  testActor("admin@example.com"), Now: now,
			}); err != nil {
				t.Fatal(err)
			}
			wantOnlyOnOverflowPages(t, db, ciphertext)

			churn(t, db, rng, "during")
			if _, err := db.UpdateApplication(ctx, ApplicationUpdate{AccountID: "acme", ClientID: "the-client", Version: 1,
				Name: "Holds the secret, renamed " + strings.Repeat("x", 500), Actor: testActor("bob@acme.example"), Now: now}); err != nil {
				t.Fatal(err)
			}
			if got, _, err := db.SecretCiphertext(ctx, "acme", "the-client", tokenservice.ActionSecretRevealed, testActor("test"), windowEnd.Add(-time.Second)); err != nil {
				t.Fatal(err)
			} else if !bytes.Equal(got, ciphertext) {
				t.Fatal("ciphertext read back differs")
			}
			wantOnlyOnOverflowPages(t, db, ciphertext)
			if err := db.checkpoint(ctx); err != nil {
				t.Fatal(err)
			}
			if !fileContains(t, path, ciphertext) {
				t.Fatal("before erasing, the main file does not hold the ciphertext: the test proves nothing")
			}
			churn(t, db, rng, "more")

			tt.erase(t, db)
			if _, err := db.EraseExpiredSecrets(ctx, windowEnd); err != nil {
				t.Fatal(err)
			}
			if got, want := countRows(t, db, `SELECT count(*) FROM applications WHERE client_id = 'the-client' AND secret_ciphertext IS NOT NULL`), 0; got != want {
				t.Errorf("rows with the ciphertext = %d, want %d", got, want)
			}
			wantNoCopy(t, path, ciphertext, "after the sweep")
			if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() != 0 {
				t.Errorf("-wal holds %d bytes after the sweep, want 0", fi.Size())
			}

			churn(t, db, rng, "after")
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			wantNoCopy(t, path, ciphertext, "after closing")
		})
	}
}

// recognisableCiphertext is random, so any 16 bytes of it found in a file
// can only be a copy, with a marker in front for a human with a hex dump.
func recognisableCiphertext(rng *rand.Rand) []byte {
	b := []byte("TEST-CIPHERTEXT:")
	for range 64 {
		b = append(b, byte(rng.UintN(256)))
	}
	return b
}

// churn writes the kinds of changes that make SQLite split, merge and
// rebuild pages: inserts, updates that grow and shrink rows next to the
// secret's, deletes, other secrets, sessions.
func churn(t *testing.T, db *DB, rng *rand.Rand, prefix string) {
	t.Helper()
	ctx := context.Background()
	for i := range 150 {
		mustCreate(t, db, "acme", fmt.Sprintf("%s-%03d", prefix, i), fmt.Sprintf("%s %d", prefix, i), readEmail, rwIncident)
	}
	for range 200 {
		clientID := fmt.Sprintf("before-%02d", rng.IntN(20))
		if rng.IntN(2) == 0 {
			clientID = fmt.Sprintf("%s-%03d", prefix, rng.IntN(150))
		}
		app, err := db.GetApplication(ctx, "acme", clientID)
		if tokenservice.ErrorCode(err) == tokenservice.ENOTFOUND {
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		switch rng.IntN(4) {
		case 0:
			if err := db.DeleteApplication(ctx, Deletion{AccountID: "acme", ClientID: clientID, AnyVersion: true}); err != nil {
				t.Fatal(err)
			}
		case 1:
			if _, err := db.ResetSecret(ctx, SecretReset{AccountID: "acme", ClientID: clientID, AnyVersion: true, Secret: testSecret(clientID + " again"), Actor: testActor("cli"), Now: now}); err != nil {
				t.Fatal(err)
			}
		default:
			name := fmt.Sprintf("%s %s", clientID, strings.Repeat("y", rng.IntN(1200)))
			if _, err := db.UpdateApplication(ctx, ApplicationUpdate{AccountID: "acme", ClientID: clientID,
				Version: app.Version, Name: name, Actor: testActor("carol@acme.example"), Now: now}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := range 20 {
		if err := db.SaveSession(ctx, fmt.Sprintf("%s-session-%d", prefix, i), bytes.Repeat([]byte{'s'}, 300), now.Add(time.Hour), now); err != nil {
			t.Fatal(err)
		}
	}
}

// wantOnlyOnOverflowPages checks the storage layout EraseExpiredSecrets
// relies on: the ciphertext is never part of a b-tree page, whose cells
// SQLite copies around when it rebalances, only of overflow pages.
func wantOnlyOnOverflowPages(t *testing.T, db *DB, ciphertext []byte) {
	t.Helper()
	ctx := context.Background()
	rows, err := db.db.QueryContext(ctx, `SELECT pgno, data FROM sqlite_dbpage`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var pages []int
	for rows.Next() {
		var (
			pgno int
			data []byte
		)
		if err := rows.Scan(&pgno, &data); err != nil {
			t.Fatal(err)
		}
		if containsAnyPart(data, ciphertext) {
			pages = append(pages, pgno)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if len(pages) == 0 {
		t.Fatal("ciphertext found on no page")
	}
	for _, pgno := range pages {
		var pageType string
		if err := db.db.QueryRowContext(ctx, `SELECT pagetype FROM dbstat WHERE pageno = ?`, pgno).Scan(&pageType); err != nil {
			t.Fatal(err)
		}
		if pageType != "overflow" {
			t.Errorf("page %d holding the ciphertext is a %s page, want overflow", pgno, pageType)
		}
	}
}

// wantNoCopy fails if any 16 bytes of the ciphertext occur in the database
// file or its -wal or -shm file.
func wantNoCopy(t *testing.T, path string, ciphertext []byte, when string) {
	t.Helper()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		data, err := os.ReadFile(path + suffix)
		if errors.Is(err, os.ErrNotExist) {
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		if containsAnyPart(data, ciphertext) {
			t.Errorf("%s: %s holds (part of) the ciphertext", when, filepath.Base(path+suffix))
		}
	}
}

func fileContains(t *testing.T, path string, b []byte) bool {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Contains(data, b)
}

// containsAnyPart reports whether data holds any 16-byte run of b.
func containsAnyPart(data, b []byte) bool {
	for i := 0; i+16 <= len(b); i++ {
		if bytes.Contains(data, b[i:i+16]) {
			return true
		}
	}
	return false
}
