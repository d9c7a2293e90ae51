package db

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"tokenservice"
)

var (
	readEmail  = tokenservice.ScopeGrant{Key: "ess:account", Access: tokenservice.AccessRead}
	rwIncident = tokenservice.ScopeGrant{Key: "forensics:account", Access: tokenservice.AccessReadWrite}
	noReports  = tokenservice.ScopeGrant{Key: "reporting:account", Access: tokenservice.AccessNone}
)

func TestCreateApplication(t *testing.T) { forEachStore(t, testCreateApplication) }

func testCreateApplication(t *testing.T) {
	ctx := context.Background()

	t.Run("StoresWhatWasGiven", func(t *testing.T) {
		db := openTestDB(t)
		app := mustCreate(t, db, "acme", "client-1", "Billing sync", rwIncident, noReports, readEmail)

		if got, want := app.Version, 1; got != want {
			t.Errorf("Version = %d, want %d", got, want)
		}
		if got, want := app.SecretGeneration, 1; got != want {
			t.Errorf("SecretGeneration = %d, want %d", got, want)
		}
		if got, want := app.Scopes, []tokenservice.ScopeGrant{readEmail, rwIncident}; !reflect.DeepEqual(got, want) {
			t.Errorf("Scopes = %v, want %v (AccessNone dropped, sorted by key)", got, want)
		}
		if got, want := app.CreatedAt, now; !got.Equal(want) {
			t.Errorf("CreatedAt = %v, want %v", got, want)
		}
		if got, want := app.SecretRevealUntil, now.Add(15*time.Minute); !got.Equal(want) {
			t.Errorf("SecretRevealUntil = %v, want %v", got, want)
		}
		if got, want := app.CreatedBy, "admin@example.com"; got != want {
			t.Errorf("CreatedBy = %q, want %q", got, want)
		}

		got, err := db.GetApplication(ctx, "acme", "client-1")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, app) {
			t.Errorf("GetApplication = %+v\nwant %+v", got, app)
		}
	})

	t.Run("DuplicateClientID", func(t *testing.T) {
		db := openTestDB(t)
		mustCreate(t, db, "acme", "client-1", "First")
		_, err := db.CreateApplication(ctx, NewApplication{
			AccountID: "globex", ClientID: "client-1", Name: "Second",
			Secret: testSecret("second"), Actor: testActor("cli"), Now: now,
		})
		wantCode(t, err, tokenservice.ECONFLICT)
	})

	for _, tt := range []struct {
		name   string
		scopes []tokenservice.ScopeGrant
		app    NewApplication
	}{
		{name: "ScopeWithoutKey", scopes: []tokenservice.ScopeGrant{{Access: tokenservice.AccessRead}}},
		{name: "UnknownAccess", scopes: []tokenservice.ScopeGrant{{Key: "ess:account", Access: "admin"}}},
		{name: "ScopeTwice", scopes: []tokenservice.ScopeGrant{readEmail, {Key: readEmail.Key, Access: tokenservice.AccessReadWrite}}},
		{name: "NoName", app: NewApplication{Name: " "}},
		{name: "NoSecretHash", app: NewApplication{Secret: tokenservice.StoredSecret{}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			db := openTestDB(t)
			n := NewApplication{AccountID: "acme", ClientID: "client-1", Name: "App", Scopes: tt.scopes,
				Secret: testSecret("x"), Actor: testActor("cli"), Now: now}
			if tt.app.Name != "" {
				n.Name = tt.app.Name
			}
			if tt.name == "NoSecretHash" {
				n.Secret = tt.app.Secret
			}
			_, err := db.CreateApplication(ctx, n)
			wantCode(t, err, tokenservice.EINVALID)
			_, err = db.GetApplication(ctx, "acme", "client-1")
			wantCode(t, err, tokenservice.ENOTFOUND)
		})
	}
}

func TestApplicationByClientID(t *testing.T) { forEachStore(t, testApplicationByClientID) }

func testApplicationByClientID(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	created := mustCreate(t, db, "acme", "client-1", "Billing sync", readEmail)

	t.Run("AnyAccount", func(t *testing.T) {
		app, hash, err := db.ApplicationByClientID(ctx, "client-1")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(app, created) {
			t.Errorf("app = %+v\nwant %+v", app, created)
		}
		if got, want := string(hash), "hash:secret of client-1"; got != want {
			t.Errorf("hash = %q, want %q", got, want)
		}
	})

	t.Run("Missing", func(t *testing.T) {
		_, _, err := db.ApplicationByClientID(ctx, "client-2")
		wantCode(t, err, tokenservice.ENOTFOUND)
	})
}

// TestOtherAccount checks that every account-scoped method treats another
// account's application exactly like a missing one, and changes nothing.
func TestOtherAccount(t *testing.T) { forEachStore(t, testOtherAccount) }

func testOtherAccount(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	theirs := mustCreate(t, db, "globex", "their-client", "Their app", readEmail)

	for _, tt := range []struct {
		name string
		do   func(clientID string) error
	}{
		{"Get", func(c string) error { _, err := db.GetApplication(ctx, "acme", c); return err }},
		{"Update", func(c string) error {
			_, err := db.UpdateApplication(ctx, ApplicationUpdate{AccountID: "acme", ClientID: c, Version: 1,
				Name: "Mine now", Actor: testActor("mallory@acme.example"), Now: now})
			return err
		}},
		{"ResetSecret", func(c string) error {
			_, err := db.ResetSecret(ctx, SecretReset{AccountID: "acme", ClientID: c, Version: 1, Secret: testSecret("mallory"), Actor: testActor("mallory@acme.example"), Now: now})
			return err
		}},
		{"ResetSecretAnyVersion", func(c string) error {
			_, err := db.ResetSecret(ctx, SecretReset{AccountID: "acme", ClientID: c, AnyVersion: true, Secret: testSecret("mallory"), Actor: testActor("mallory@acme.example"), Now: now})
			return err
		}},
		{"SecretCiphertext", func(c string) error {
			_, _, err := db.SecretCiphertext(ctx, "acme", c, tokenservice.ActionSecretRevealed, testActor("test"), now)
			return err
		}},
		{"Delete", func(c string) error {
			return db.DeleteApplication(ctx, Deletion{AccountID: "acme", ClientID: c, AnyVersion: true})
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, clientID := range []string{"their-client", "no-such-client"} {
				err := tt.do(clientID)
				wantCode(t, err, tokenservice.ENOTFOUND)
				if got, want := tokenservice.ErrorMessage(err), "Application not found."; got != want {
					t.Errorf("%s: message = %q, want %q", clientID, got, want)
				}
			}
			after, err := db.GetApplication(ctx, "globex", "their-client")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(after, theirs) {
				t.Errorf("their application changed: %+v\nwas %+v", after, theirs)
			}
		})
	}
}

func TestUpdateApplication(t *testing.T) { forEachStore(t, testUpdateApplication) }

func testUpdateApplication(t *testing.T) {
	ctx := context.Background()

	t.Run("Saves", func(t *testing.T) {
		db := openTestDB(t)
		mustCreate(t, db, "acme", "client-1", "Billing sync", readEmail)
		later := now.Add(time.Hour)
		app, err := db.UpdateApplication(ctx, ApplicationUpdate{
			AccountID: "acme", ClientID: "client-1", Version: 1,
			Name: "Billing export", Scopes: []tokenservice.ScopeGrant{rwIncident, noReports},
			Actor: testActor("bob@acme.example"), Now: later,
		})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := app.Version, 2; got != want {
			t.Errorf("Version = %d, want %d", got, want)
		}
		if got, want := app.Name, "Billing export"; got != want {
			t.Errorf("Name = %q, want %q", got, want)
		}
		if got, want := app.Scopes, []tokenservice.ScopeGrant{rwIncident}; !reflect.DeepEqual(got, want) {
			t.Errorf("Scopes = %v, want %v", got, want)
		}
		if got, want := app.UpdatedBy, "bob@acme.example"; got != want {
			t.Errorf("UpdatedBy = %q, want %q", got, want)
		}
		if got, want := app.UpdatedAt, later; !got.Equal(want) {
			t.Errorf("UpdatedAt = %v, want %v", got, want)
		}
		if got, want := app.SecretGeneration, 1; got != want {
			t.Errorf("SecretGeneration = %d, want %d (an edit keeps the secret)", got, want)
		}
		got, err := db.GetApplication(ctx, "acme", "client-1")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, app) {
			t.Errorf("GetApplication = %+v\nwant %+v", got, app)
		}
	})

	t.Run("StaleVersion", func(t *testing.T) {
		db := openTestDB(t)
		mustCreate(t, db, "acme", "client-1", "Billing sync", readEmail)
		edit := ApplicationUpdate{AccountID: "acme", ClientID: "client-1", Version: 1,
			Name: "First edit", Scopes: []tokenservice.ScopeGrant{readEmail}, Actor: testActor("alice@acme.example"), Now: now}
		first, err := db.UpdateApplication(ctx, edit)
		if err != nil {
			t.Fatal(err)
		}

		edit.Name, edit.Scopes, edit.Actor = "Second edit", []tokenservice.ScopeGrant{rwIncident}, testActor("bob@acme.example")
		_, err = db.UpdateApplication(ctx, edit)
		wantCode(t, err, tokenservice.ECONFLICT)
		if got := tokenservice.ErrorMessage(err); !strings.HasPrefix(got, "This application was changed by someone else") {
			t.Errorf("message = %q", got)
		}

		after, err := db.GetApplication(ctx, "acme", "client-1")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(after, first) {
			t.Errorf("a stale edit changed the application: %+v\nwant %+v", after, first)
		}
	})

	t.Run("EmptyName", func(t *testing.T) {
		db := openTestDB(t)
		mustCreate(t, db, "acme", "client-1", "Billing sync")
		_, err := db.UpdateApplication(ctx, ApplicationUpdate{AccountID: "acme", ClientID: "client-1", Version: 1, Name: "", Now: now})
		wantCode(t, err, tokenservice.EINVALID)
	})
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
			app, err := db.ResetSecret(ctx, SecretReset{AccountID: "acme", ClientID: "client-1", Version: tt.version, AnyVersion: tt.anyVersion,
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
		first, err := db.ResetSecret(ctx, SecretReset{AccountID: "acme", ClientID: "client-1", Version: 1, Secret: testSecret("first"), Actor: testActor("alice@acme.example"), Now: later})
		if err != nil {
			t.Fatal(err)
		}
		_, err = db.ResetSecret(ctx, SecretReset{AccountID: "acme", ClientID: "client-1", Version: 1, Secret: testSecret("second"), Actor: testActor("bob@acme.example"), Now: later})
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
		app, err := db.ResetSecret(ctx, SecretReset{ClientID: "client-1", AnyVersion: true, Secret: testSecret("cli"), Actor: testActor("cli"), Now: later})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := app.SecretGeneration, 2; got != want {
			t.Errorf("SecretGeneration = %d, want %d", got, want)
		}
		_, err = db.ResetSecret(ctx, SecretReset{ClientID: "client-2", AnyVersion: true, Secret: testSecret("cli"), Actor: testActor("cli"), Now: later})
		wantCode(t, err, tokenservice.ENOTFOUND)
	})

	t.Run("WithoutRevealWindow", func(t *testing.T) {
		db := openTestDB(t)
		mustCreate(t, db, "acme", "client-1", "Billing sync")
		app, err := db.ResetSecret(ctx, SecretReset{AccountID: "acme", ClientID: "client-1", AnyVersion: true, Secret: tokenservice.StoredSecret{Hash: []byte("h")}, Actor: testActor("cli"), Now: later})
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

func TestDeleteApplication(t *testing.T) { forEachStore(t, testDeleteApplication) }

func testDeleteApplication(t *testing.T) {
	ctx := context.Background()

	for _, tt := range []struct {
		name   string
		delete func(db *DB) error
	}{
		{"InAccount", func(db *DB) error {
			return db.DeleteApplication(ctx, Deletion{AccountID: "acme", ClientID: "client-1", AnyVersion: true})
		}},
		{"InAccountAtVersion", func(db *DB) error {
			return db.DeleteApplication(ctx, Deletion{AccountID: "acme", ClientID: "client-1", Version: 1})
		}},
		{"ByClientID", func(db *DB) error { return db.DeleteApplication(ctx, Deletion{ClientID: "client-1", AnyVersion: true}) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			db := openTestDB(t)
			mustCreate(t, db, "acme", "client-1", "Billing sync", readEmail, rwIncident)
			mustCreate(t, db, "acme", "client-2", "Kept", readEmail)
			if err := tt.delete(db); err != nil {
				t.Fatal(err)
			}
			_, _, err := db.ApplicationByClientID(ctx, "client-1")
			wantCode(t, err, tokenservice.ENOTFOUND)
			if got, want := countRows(t, db, `SELECT count(*) FROM application_scopes`), 1; got != want {
				t.Errorf("scope rows = %d, want %d (the deleted application's go with it)", got, want)
			}
			wantCode(t, tt.delete(db), tokenservice.ENOTFOUND)
		})
	}
}

func TestDeleteApplicationStaleVersion(t *testing.T) {
	forEachStore(t, testDeleteApplicationStaleVersion)
}

func testDeleteApplicationStaleVersion(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	mustCreate(t, db, "acme", "client-1", "Billing sync", readEmail)
	if _, err := db.UpdateApplication(ctx, ApplicationUpdate{AccountID: "acme", ClientID: "client-1", Version: 1,
		Name: "Renamed", Actor: testActor("b@acme.example"), Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, db.DeleteApplication(ctx, Deletion{AccountID: "acme", ClientID: "client-1", Version: 1}), tokenservice.ECONFLICT)
	if _, _, err := db.ApplicationByClientID(ctx, "client-1"); err != nil {
		t.Fatalf("a delete at a stale version deleted the application: %v", err)
	}
	wantCode(t, db.DeleteApplication(ctx, Deletion{AccountID: "globex", ClientID: "client-1", Version: 2}), tokenservice.ENOTFOUND)
	if err := db.DeleteApplication(ctx, Deletion{AccountID: "acme", ClientID: "client-1", Version: 2}); err != nil {
		t.Fatal(err)
	}
}

func TestUnversionedResetAndDelete(t *testing.T) { forEachStore(t, testUnversionedResetAndDelete) }

// A reset or delete without a version is refused, not made unchecked: only
// AnyVersion, which the operator CLI sets, skips the check.
func testUnversionedResetAndDelete(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	mustCreate(t, db, "acme", "client-1", "Billing sync", readEmail)
	before, hash, err := db.ApplicationByClientID(ctx, "client-1")
	if err != nil {
		t.Fatal(err)
	}
	events := countRows(t, db, `SELECT count(*) FROM events`)

	for _, v := range []struct {
		name    string
		version int
	}{{"Zero", 0}, {"Negative", -1}} {
		version := v.version
		for _, tt := range []struct {
			name string
			do   func() error
		}{
			{"Reset", func() error {
				_, err := db.ResetSecret(ctx, SecretReset{AccountID: "acme", ClientID: "client-1", Version: version, Secret: testSecret("new"), Actor: testActor("bob@acme.example"), Now: now})
				return err
			}},
			{"ResetAnyAccount", func() error {
				_, err := db.ResetSecret(ctx, SecretReset{ClientID: "client-1", Version: version, Secret: testSecret("new"), Actor: testActor("bob@acme.example"), Now: now})
				return err
			}},
			{"Delete", func() error {
				return db.DeleteApplication(ctx, Deletion{AccountID: "acme", ClientID: "client-1", Version: version, Actor: testActor("bob@acme.example"), Now: now})
			}},
			{"DeleteAnyAccount", func() error {
				return db.DeleteApplication(ctx, Deletion{ClientID: "client-1", Version: version, Actor: testActor("bob@acme.example"), Now: now})
			}},
		} {
			t.Run(tt.name+v.name, func(t *testing.T) {
				err := tt.do()
				wantCode(t, err, tokenservice.EINVALID)
				if msg := tokenservice.ErrorMessage(err); !strings.Contains(msg, "try again") {
					t.Errorf("message = %q, want one that says what to do", msg)
				}
				after, afterHash, err := db.ApplicationByClientID(ctx, "client-1")
				if err != nil {
					t.Fatalf("the application is gone: %v", err)
				}
				if !reflect.DeepEqual(after, before) || !bytes.Equal(afterHash, hash) {
					t.Errorf("the application changed: %+v\nwant %+v", after, before)
				}
				if got := countRows(t, db, `SELECT count(*) FROM events`); got != events {
					t.Errorf("events = %d, want %d", got, events)
				}
			})
		}
	}
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
		if got, want := tokenservice.ErrorMessage(err), "The client secret can no longer be viewed. Reset it to get a new one."; got != want {
			t.Errorf("message = %q, want %q", got, want)
		}
		if got, want := countRows(t, db, `SELECT count(*) FROM applications
			WHERE secret_ciphertext IS NOT NULL OR secret_padding IS NOT NULL OR secret_reveal_until IS NOT NULL`), 0; got != want {
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
		if _, err := db.ResetSecret(ctx, SecretReset{AccountID: "acme", ClientID: "client-1", AnyVersion: true, Secret: s, Actor: testActor("cli"), Now: later}); err != nil {
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
	if _, err := db.CreateApplication(ctx, NewApplication{AccountID: "acme", ClientID: "client-2",
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

func TestListApplications(t *testing.T) { forEachStore(t, testListApplications) }

func testListApplications(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)

	// 250 applications whose names sort differently with and without case
	// folding, two with the same name (client ID breaks the tie), and another
	// account's applications that must never show.
	words := []string{"alpha", "Beta", "gamma", "DELTA", "epsilon", "Zeta", "eta"}
	var want []*tokenservice.Application
	for i := range 250 {
		name := fmt.Sprintf("%s %03d", words[i%len(words)], i*7%250)
		if i == 249 {
			name = want[0].Name
		}
		want = append(want, mustCreate(t, db, "acme", fmt.Sprintf("acme-%03d", 249-i), name, readEmail))
	}
	for i := range 5 {
		mustCreate(t, db, "globex", fmt.Sprintf("globex-%d", i), "alpha globex")
	}
	slices.SortFunc(want, func(a, b *tokenservice.Application) int {
		if c := strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)); c != 0 {
			return c
		}
		return strings.Compare(a.ClientID, b.ClientID)
	})

	t.Run("WalkAllPages", func(t *testing.T) {
		var got []*tokenservice.Application
		seen := make(map[string]bool)
		after := ""
		for pages := 1; ; pages++ {
			page, err := db.ListApplications(ctx, "acme", ListOptions{After: after, Limit: 40})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := page.Total, 250; got != want {
				t.Errorf("page %d: Total = %d, want %d", pages, got, want)
			}
			for _, app := range page.Applications {
				if seen[app.ClientID] {
					t.Errorf("page %d: %s listed twice", pages, app.ClientID)
				}
				seen[app.ClientID] = true
			}
			got = append(got, page.Applications...)
			if page.Next == "" {
				if got, want := pages, 7; got != want {
					t.Errorf("pages = %d, want %d", got, want)
				}
				break
			}
			after = page.Next
		}
		if !reflect.DeepEqual(clientIDs(got), clientIDs(want)) {
			t.Errorf("order:\n got %v\nwant %v", clientIDs(got), clientIDs(want))
		}
		if !reflect.DeepEqual(got, want) {
			t.Error("listed applications differ from the created ones")
		}
	})

	t.Run("Filter", func(t *testing.T) {
		for _, tt := range []struct {
			filter string
			want   func(*tokenservice.Application) bool
		}{
			{"beta", func(a *tokenservice.Application) bool { return strings.HasPrefix(a.Name, "Beta") }},
			{"DELTA 0", func(a *tokenservice.Application) bool { return strings.HasPrefix(a.Name, "DELTA 0") }},
			{"ACME-10", func(a *tokenservice.Application) bool { return strings.HasPrefix(a.ClientID, "acme-10") }},
			{"%", func(*tokenservice.Application) bool { return false }},
			{"_", func(*tokenservice.Application) bool { return false }},
			{"globex", func(*tokenservice.Application) bool { return false }},
		} {
			t.Run(tt.filter, func(t *testing.T) {
				var wantIDs []string
				for _, a := range want {
					if tt.want(a) {
						wantIDs = append(wantIDs, a.ClientID)
					}
				}
				page, err := db.ListApplications(ctx, "acme", ListOptions{Filter: tt.filter, Limit: 200})
				if err != nil {
					t.Fatal(err)
				}
				if got, want := fmt.Sprint(clientIDs(page.Applications)), fmt.Sprint(wantIDs); got != want {
					t.Errorf("listed %s, want %s", got, want)
				}
				if got, want := page.Total, len(wantIDs); got != want {
					t.Errorf("Total = %d, want %d", got, want)
				}
			})
		}
	})

	t.Run("FilterWithNUL", func(t *testing.T) {
		// SQLite's LIKE would end the pattern at the NUL and match every
		// name ending in what precedes it.
		name := want[0].Name
		filter := strings.ToLower(name[len(name)-3:]) + "\x00"
		page, err := db.ListApplications(ctx, "acme", ListOptions{Filter: filter, Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Applications) != 0 || page.Total != 0 {
			t.Fatalf("filter %q listed %d applications (Total %d), want none", filter, len(page.Applications), page.Total)
		}
	})

	t.Run("FilterWithCursor", func(t *testing.T) {
		first, err := db.ListApplications(ctx, "acme", ListOptions{Filter: "a", Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		second, err := db.ListApplications(ctx, "acme", ListOptions{Filter: "a", Limit: 10, After: first.Next})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := second.Total, first.Total; got != want {
			t.Errorf("Total on page 2 = %d, want %d", got, want)
		}
		if slices.Contains(clientIDs(second.Applications), first.Applications[9].ClientID) {
			t.Error("page 2 repeats page 1")
		}
	})

	t.Run("ScopesLoaded", func(t *testing.T) {
		page, err := db.ListApplications(ctx, "acme", ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, app := range page.Applications {
			if got, want := app.Scopes, []tokenservice.ScopeGrant{readEmail}; !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: Scopes = %v, want %v", app.ClientID, got, want)
			}
		}
	})

	t.Run("ScopesInKeyOrder", func(t *testing.T) {
		// Granted out of order, read in key order, as Details reads them,
		// whichever way the list finds the application.
		granted := []tokenservice.ScopeGrant{rwIncident, readEmail, {Key: "dlp:account", Access: tokenservice.AccessRead}}
		app := mustCreate(t, db, "scoped", "scoped-1", "Three scopes", granted...)
		want := []tokenservice.ScopeGrant{granted[2], readEmail, rwIncident}
		if !reflect.DeepEqual(app.Scopes, want) {
			t.Fatalf("created with %v, want %v", app.Scopes, want)
		}
		for _, filter := range []string{"", "th", "three"} {
			page, err := db.ListApplications(ctx, "scoped", ListOptions{Filter: filter})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Applications) != 1 || !reflect.DeepEqual(page.Applications[0].Scopes, want) {
				t.Errorf("filter %q: listed %+v, want one with %v", filter, page.Applications, want)
			}
		}
	})

	t.Run("Limit", func(t *testing.T) {
		for _, tt := range []struct {
			limit, want int
		}{
			{0, DefaultListLimit},
			{-1, DefaultListLimit},
			{7, 7},
			{1000, MaxListLimit},
		} {
			page, err := db.ListApplications(ctx, "acme", ListOptions{Limit: tt.limit})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(page.Applications), tt.want; got != want {
				t.Errorf("Limit %d: listed %d, want %d", tt.limit, got, want)
			}
		}
	})

	t.Run("EmptyAccount", func(t *testing.T) {
		page, err := db.ListApplications(ctx, "initech", ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Applications) != 0 || page.Next != "" || page.Total != 0 {
			t.Errorf("page = %+v, want empty", page)
		}
	})

	t.Run("MalformedCursor", func(t *testing.T) {
		for _, tt := range []struct {
			name, after string
		}{
			{"NotBase64", "not a cursor!"},
			{"NotJSON", base64.RawURLEncoding.EncodeToString([]byte("hello"))},
			{"NoClientID", base64.RawURLEncoding.EncodeToString([]byte(`{"n":"alpha"}`))},
		} {
			t.Run(tt.name, func(t *testing.T) {
				_, err := db.ListApplications(ctx, "acme", ListOptions{After: tt.after})
				wantCode(t, err, tokenservice.EINVALID)
			})
		}
	})
}

func TestListApplicationsTotalCapped(t *testing.T) { forEachStore(t, testListApplicationsTotalCapped) }

func testListApplicationsTotalCapped(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	seedApplications(t, db, "acme", MaxListTotal+50)

	page, err := db.ListApplications(ctx, "acme", ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := page.Total, MaxListTotal+1; got != want {
		t.Errorf("Total = %d, want %d (more than MaxListTotal)", got, want)
	}
}

// BenchmarkListApplications lists pages of one account holding 100,000
// applications: the first page, a page halfway through (by cursor), a
// filter matching many (the start of one name in 7), and a filter
// matching one (a client ID).
func BenchmarkListApplications(b *testing.B) {
	ctx := context.Background()
	db := openTestDB(b)
	const n = 100_000
	seedApplications(b, db, "acme", n)
	seedApplications(b, db, "globex", 1000)

	var middle cursor
	if err := db.db.QueryRowContext(ctx, `SELECT name_lower, client_id FROM applications
		WHERE account_id = 'acme' ORDER BY name_lower, client_id LIMIT 1 OFFSET ?`, n/2,
	).Scan(&middle.NameLower, &middle.ClientID); err != nil {
		b.Fatal(err)
	}

	for _, bb := range []struct {
		name string
		opt  ListOptions
	}{
		{"FirstPage", ListOptions{}},
		{"DeepPage", ListOptions{After: encodeCursor(middle)}},
		{"FilterMany", ListOptions{Filter: "billing"}},
		{"FilterOne", ListOptions{Filter: "acme-0077777"}},
	} {
		b.Run(bb.name, func(b *testing.B) {
			for b.Loop() {
				page, err := db.ListApplications(ctx, "acme", bb.opt)
				if err != nil {
					b.Fatal(err)
				}
				if len(page.Applications) == 0 {
					b.Fatal("empty page")
				}
			}
		})
	}
}

// seedApplications inserts n applications with two scopes each into
// account, in one transaction, straight in SQL: fixtures of 100,000 take
// seconds this way.
func seedApplications(tb testing.TB, db *DB, account string, n int) {
	tb.Helper()
	ctx := context.Background()
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	insertApp, err := tx.PrepareContext(ctx, `INSERT INTO applications (
		account_id, client_id, name, name_lower, secret_hash, secret_generation, version,
		created_at, created_by, updated_at, updated_by
	) VALUES (?, ?, ?, ?, ?, 1, 1, ?, 'seed', ?, 'seed') RETURNING id`)
	if err != nil {
		tb.Fatal(err)
	}
	insertScope, err := tx.PrepareContext(ctx,
		`INSERT INTO application_scopes (application_id, scope_key, access) VALUES (?, ?, ?)`)
	if err != nil {
		tb.Fatal(err)
	}
	products := []string{"Billing", "CRM", "Data warehouse", "Helpdesk", "Incident bot", "Mail archive", "SIEM"}
	hash := make([]byte, 32)
	for i := range n {
		name := fmt.Sprintf("%s %s %d", products[i%len(products)], []string{"export", "sync", "import"}[i%3], i*7919%n)
		var id int64
		if err := insertApp.QueryRowContext(ctx,
			account, fmt.Sprintf("%s-%07d", account, i), name, nameKey(name), hash, millis(now), millis(now),
		).Scan(&id); err != nil {
			tb.Fatal(err)
		}
		for _, g := range []tokenservice.ScopeGrant{readEmail, rwIncident} {
			if _, err := insertScope.ExecContext(ctx, id, g.Key, string(g.Access)); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
}

func clientIDs(apps []*tokenservice.Application) []string {
	var out []string
	for _, a := range apps {
		out = append(out, a.ClientID)
	}
	return out
}

func countRows(tb testing.TB, db *DB, query string, args ...any) int {
	tb.Helper()
	var n int
	if err := db.db.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil && err != sql.ErrNoRows {
		tb.Fatal(err)
	}
	return n
}

// TestListApplicationsOrderIsBytewise: names sort by the bytes of their
// lower-cased form, whatever the database's locale (an ICU one in the
// PostgreSQL tests, which would put "éclair" next to "eclair" and "~tilde"
// first), so that keyset paging, which compares the same way, neither
// repeats nor skips.
func TestListApplicationsOrderIsBytewise(t *testing.T) {
	forEachStore(t, testListApplicationsOrderIsBytewise)
}

func testListApplicationsOrderIsBytewise(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	names := []string{"zeta", "Éclair", "~tilde", "eclair", "alpha", "_under", "Zulu", "émile", "a-b", "ab", "a b", "Ab"}
	for i, name := range names {
		mustCreate(t, db, "acme", fmt.Sprintf("client-%02d", i), name)
	}
	want := slices.Clone(names)
	slices.SortStableFunc(want, func(a, b string) int { return strings.Compare(nameKey(a), nameKey(b)) })
	var got []string
	after := ""
	for {
		page, err := db.ListApplications(ctx, "acme", ListOptions{After: after, Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page.Applications {
			got = append(got, a.Name)
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("order:\n got %q\nwant %q", got, want)
	}
}
