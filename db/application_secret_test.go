package db

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
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
			if _, err := db.ResetSecret(context.Background(), tokenservice.SecretReset{AccountID: "acme", ClientID: "the-client", AnyVersion: true, Secret: testSecret("replacement"), Actor: testActor("cli"), Now: windowEnd}); err != nil {
				t.Fatal(err)
			}
		}},
		{"Delete", func(t *testing.T, db *DB) {
			if err := db.DeleteApplication(context.Background(), tokenservice.ApplicationDeletion{AccountID: "acme", ClientID: "the-client", AnyVersion: true}); err != nil {
				t.Fatal(err)
			}
		}},
		// Per credential: a rotation that revokes the secret at once, one
		// that keeps it (its window ends on its own), and the revocation
		// of the secret by an admin or a leak report inside its window.
		{"RotateRevokingAtOnce", func(t *testing.T, db *DB) {
			rotateAt(t, db, windowEnd, 0)
		}},
		{"RotateWithGrace", func(t *testing.T, db *DB) {
			rotateAt(t, db, windowEnd.Add(-time.Minute), time.Hour)
		}},
		{"RevokeInsideWindow", func(t *testing.T, db *DB) {
			at := windowEnd.Add(-time.Minute)
			app := rotateAt(t, db, at, time.Hour)
			old := app.Credentials[len(app.Credentials)-1].ID
			if _, err := db.RevokeCredential(context.Background(), tokenservice.CredentialRevocation{AccountID: "acme", ClientID: "the-client",
				CredentialID: old, AnyVersion: true, Reason: tokenservice.RevokedByCLI, Actor: testActor("cli"), Now: at}); err != nil {
				t.Fatal(err)
			}
			wantCiphertextGone(t, db, old)
		}},
		{"LeakReportInsideWindow", func(t *testing.T, db *DB) {
			if found, err := db.ReportLeak(context.Background(), tokenservice.LeakReport{Hash: []byte("hash"), Hint: "tss_…leak",
				Actor: testActor("leak-report"), Now: windowEnd.Add(-time.Minute)}); err != nil || !found {
				t.Fatalf("leak report: found %v, %v", found, err)
			}
			app, _, err := db.ApplicationByClientID(context.Background(), "the-client")
			if err != nil {
				t.Fatal(err)
			}
			wantCiphertextGone(t, db, app.Credentials[0].ID)
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
			if _, err := db.CreateApplication(ctx, tokenservice.NewApplication{
				AccountID: "acme", ClientID: "the-client", Name: "Holds the secret", Scopes: []tokenservice.ScopeGrant{rwIncident},
				Secret: tokenservice.StoredSecret{Hash: []byte("hash"), Ciphertext: ciphertext, RevealUntil: windowEnd},
				Actor:  testActor("admin@example.com"), Now: now,
			}); err != nil {
				t.Fatal(err)
			}
			wantOnlyOnOverflowPages(t, db, ciphertext)

			churn(t, db, rng, "during")
			if _, err := db.UpdateApplication(ctx, tokenservice.ApplicationUpdate{AccountID: "acme", ClientID: "the-client", Version: 1,
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
			if got, want := countRows(t, db, `SELECT count(*) FROM credentials c JOIN applications a ON a.id = c.application_id WHERE a.client_id = 'the-client' AND c.ciphertext IS NOT NULL`), 0; got != want {
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
			if err := db.DeleteApplication(ctx, tokenservice.ApplicationDeletion{AccountID: "acme", ClientID: clientID, AnyVersion: true}); err != nil {
				t.Fatal(err)
			}
		case 1:
			if _, err := db.ResetSecret(ctx, tokenservice.SecretReset{AccountID: "acme", ClientID: clientID, AnyVersion: true, Secret: testSecret(clientID + " again"), Actor: testActor("cli"), Now: now}); err != nil {
				t.Fatal(err)
			}
		default:
			name := fmt.Sprintf("%s %s", clientID, strings.Repeat("y", rng.IntN(1200)))
			if _, err := db.UpdateApplication(ctx, tokenservice.ApplicationUpdate{AccountID: "acme", ClientID: clientID,
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

// wantCiphertextGone fails unless the credential's encrypted copy was
// erased when it was revoked, before its window's end.
func wantCiphertextGone(t *testing.T, db *DB, credentialID string) {
	t.Helper()
	if n := countRows(t, db, `SELECT count(*) FROM credentials WHERE public_id = '`+credentialID+`' AND (ciphertext IS NOT NULL OR reveal_until IS NOT NULL)`); n != 0 {
		t.Errorf("the revoked credential still holds its encrypted copy")
	}
}

// rotateAt rotates the-client's secret at the moment given, the old one
// working for grace more.
func rotateAt(t *testing.T, db *DB, at time.Time, grace time.Duration) *tokenservice.Application {
	t.Helper()
	app, _, err := db.RotateSecret(context.Background(), tokenservice.SecretRotation{AccountID: "acme", ClientID: "the-client", AnyVersion: true,
		Secret: testSecret("rotated"), Grace: grace, Actor: testActor("cli"), Now: at})
	if err != nil {
		t.Fatal(err)
	}
	return app
}

// wantOnlyOnOverflowPages checks the storage layout EraseExpiredSecrets
// relies on: the ciphertext is never part of a b-tree page, whose cells
// SQLite copies around when it rebalances, only of overflow pages.
func wantOnlyOnOverflowPages(t *testing.T, db *DB, ciphertext []byte) {
	t.Helper()
	ctx := context.Background()
	rows, err := db.pool.QueryContext(ctx, `SELECT pgno, data FROM sqlite_dbpage`)
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
		if err := db.pool.QueryRowContext(ctx, `SELECT pagetype FROM dbstat WHERE pageno = ?`, pgno).Scan(&pageType); err != nil {
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

func TestResetSecret(t *testing.T) { forEachStore(t, testResetSecret) }

func testResetSecret(t *testing.T) {
	ctx := context.Background()
	later := now.Add(time.Hour)

	for _, tt := range []struct {
		name       string
		version    int
		anyVersion bool
	}{
		{"CurrentVersion", 1, false},
		{"AnyVersion", 0, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			db := openTestDB(t)
			mustCreate(t, db, "acme", "client-1", "Billing sync", readEmail)
			app, err := db.ResetSecret(ctx, tokenservice.SecretReset{AccountID: "acme", ClientID: "client-1", Version: tt.version, AnyVersion: tt.anyVersion,
				Secret: testSecret("new"), Actor: testActor("bob@acme.example"), Now: later})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := app.SecretGeneration, 2; got != want {
				t.Errorf("SecretGeneration = %d, want %d", got, want)
			}
			if got, want := app.Version, 2; got != want {
				t.Errorf("Version = %d, want %d", got, want)
			}
			if got, want := app.UpdatedBy, "bob@acme.example"; got != want {
				t.Errorf("UpdatedBy = %q, want %q", got, want)
			}
			_, hash, err := db.ApplicationByClientID(ctx, "client-1")
			if err != nil {
				t.Fatal(err)
			}
			if got, want := string(hash), "hash:new"; got != want {
				t.Errorf("hash = %q, want %q", got, want)
			}
		})
	}

	t.Run("StaleVersion", func(t *testing.T) {
		db := openTestDB(t)
		mustCreate(t, db, "acme", "client-1", "Billing sync")
		first, err := db.ResetSecret(ctx, tokenservice.SecretReset{AccountID: "acme", ClientID: "client-1", Version: 1, Secret: testSecret("first"), Actor: testActor("alice@acme.example"), Now: later})
		if err != nil {
			t.Fatal(err)
		}
		_, err = db.ResetSecret(ctx, tokenservice.SecretReset{AccountID: "acme", ClientID: "client-1", Version: 1, Secret: testSecret("second"), Actor: testActor("bob@acme.example"), Now: later})
		wantCode(t, err, tokenservice.ECONFLICT)

		after, hash, err := db.ApplicationByClientID(ctx, "client-1")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(after, first) {
			t.Errorf("a stale reset changed the application: %+v\nwant %+v", after, first)
		}
		if got, want := string(hash), "hash:first"; got != want {
			t.Errorf("hash = %q, want %q", got, want)
		}
	})

	t.Run("ByClientID", func(t *testing.T) {
		db := openTestDB(t)
		mustCreate(t, db, "globex", "client-1", "Billing sync")
		app, err := db.ResetSecret(ctx, tokenservice.SecretReset{ClientID: "client-1", AnyVersion: true, Secret: testSecret("cli"), Actor: testActor("cli"), Now: later})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := app.SecretGeneration, 2; got != want {
			t.Errorf("SecretGeneration = %d, want %d", got, want)
		}
		_, err = db.ResetSecret(ctx, tokenservice.SecretReset{ClientID: "client-2", AnyVersion: true, Secret: testSecret("cli"), Actor: testActor("cli"), Now: later})
		wantCode(t, err, tokenservice.ENOTFOUND)
	})

	t.Run("WithoutRevealWindow", func(t *testing.T) {
		db := openTestDB(t)
		mustCreate(t, db, "acme", "client-1", "Billing sync")
		app, err := db.ResetSecret(ctx, tokenservice.SecretReset{AccountID: "acme", ClientID: "client-1", AnyVersion: true, Secret: tokenservice.StoredSecret{Hash: []byte("h")}, Actor: testActor("cli"), Now: later})
		if err != nil {
			t.Fatal(err)
		}
		if !app.SecretRevealUntil.IsZero() {
			t.Errorf("SecretRevealUntil = %v, want zero", app.SecretRevealUntil)
		}
		_, _, err = db.SecretCiphertext(ctx, "acme", "client-1", tokenservice.ActionSecretRevealed, testActor("test"), later)
		wantCode(t, err, tokenservice.EGONE)
	})
}

func TestSecretCiphertext(t *testing.T) { forEachStore(t, testSecretCiphertext) }

func testSecretCiphertext(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	mustCreate(t, db, "acme", "client-1", "Billing sync")
	windowEnd := now.Add(15 * time.Minute)

	t.Run("InsideWindow", func(t *testing.T) {
		ct, gen, err := db.SecretCiphertext(ctx, "acme", "client-1", tokenservice.ActionSecretRevealed, testActor("test"), windowEnd.Add(-time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(ct), "ciphertext:secret of client-1"; got != want {
			t.Errorf("ciphertext = %q, want %q", got, want)
		}
		if got, want := gen, 1; got != want {
			t.Errorf("generation = %d, want %d", got, want)
		}
	})

	t.Run("WindowEnded", func(t *testing.T) {
		_, _, err := db.SecretCiphertext(ctx, "acme", "client-1", tokenservice.ActionSecretRevealed, testActor("test"), windowEnd)
		wantCode(t, err, tokenservice.EGONE)
		if got, want := tokenservice.ErrorMessage(err), "The client secret can no longer be viewed. Rotate or reset it to get a new one."; got != want {
			t.Errorf("message = %q, want %q", got, want)
		}
		if got, want := countRows(t, db, `SELECT count(*) FROM credentials
			WHERE ciphertext IS NOT NULL OR padding IS NOT NULL OR reveal_until IS NOT NULL`), 0; got != want {
			t.Errorf("rows still holding a ciphertext = %d, want %d", got, want)
		}
		// Even a clock going back does not bring it back.
		_, _, err = db.SecretCiphertext(ctx, "acme", "client-1", tokenservice.ActionSecretRevealed, testActor("test"), now)
		wantCode(t, err, tokenservice.EGONE)
	})

	t.Run("AfterReset", func(t *testing.T) {
		later := windowEnd.Add(time.Hour)
		s := testSecret("reset")
		s.RevealUntil = later.Add(15 * time.Minute)
		if _, err := db.ResetSecret(ctx, tokenservice.SecretReset{AccountID: "acme", ClientID: "client-1", AnyVersion: true, Secret: s, Actor: testActor("cli"), Now: later}); err != nil {
			t.Fatal(err)
		}
		ct, gen, err := db.SecretCiphertext(ctx, "acme", "client-1", tokenservice.ActionSecretRevealed, testActor("test"), later)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(ct), "ciphertext:reset"; got != want {
			t.Errorf("ciphertext = %q, want %q", got, want)
		}
		if got, want := gen, 2; got != want {
			t.Errorf("generation = %d, want %d", got, want)
		}
	})
}

func TestEraseExpiredSecrets(t *testing.T) { forEachStore(t, testEraseExpiredSecrets) }

func testEraseExpiredSecrets(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	mustCreate(t, db, "acme", "client-1", "Ends first")
	s := testSecret("later")
	s.RevealUntil = now.Add(time.Hour)
	if _, err := db.CreateApplication(ctx, tokenservice.NewApplication{AccountID: "acme", ClientID: "client-2",
		Name: "Ends later", Secret: s, Actor: testActor("cli"), Now: now}); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		name string
		at   time.Time
		want int
	}{
		{"NoneEnded", now.Add(15*time.Minute - time.Millisecond), 0},
		{"FirstEnded", now.Add(15 * time.Minute), 1},
		{"AlreadyErased", now.Add(30 * time.Minute), 0},
		{"SecondEnded", now.Add(2 * time.Hour), 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n, err := db.EraseExpiredSecrets(ctx, tt.at)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := n, tt.want; got != want {
				t.Errorf("erased = %d, want %d", got, want)
			}
		})
	}
	app, err := db.GetApplication(ctx, "acme", "client-1")
	if err != nil {
		t.Fatal(err)
	}
	if !app.SecretRevealUntil.IsZero() {
		t.Errorf("SecretRevealUntil = %v after erasing, want zero", app.SecretRevealUntil)
	}
}
