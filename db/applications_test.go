package db

import (
	"bytes"
	"context"
	"database/sql"
	"reflect"
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
		_, err := db.CreateApplication(ctx, tokenservice.NewApplication{
			AccountID: "globex", ClientID: "client-1", Name: "Second",
			Secret: testSecret("second"), Actor: testActor("cli"), Now: now,
		})
		wantCode(t, err, tokenservice.ECONFLICT)
	})

	for _, tt := range []struct {
		name   string
		scopes []tokenservice.ScopeGrant
		app    tokenservice.NewApplication
	}{
		{name: "ScopeWithoutKey", scopes: []tokenservice.ScopeGrant{{Access: tokenservice.AccessRead}}},
		{name: "UnknownAccess", scopes: []tokenservice.ScopeGrant{{Key: "ess:account", Access: "admin"}}},
		{name: "ScopeTwice", scopes: []tokenservice.ScopeGrant{readEmail, {Key: readEmail.Key, Access: tokenservice.AccessReadWrite}}},
		{name: "NoName", app: tokenservice.NewApplication{Name: " "}},
		{name: "NoSecretHash", app: tokenservice.NewApplication{Secret: tokenservice.StoredSecret{}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			db := openTestDB(t)
			n := tokenservice.NewApplication{AccountID: "acme", ClientID: "client-1", Name: "App", Scopes: tt.scopes,
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
			_, err := db.UpdateApplication(ctx, tokenservice.ApplicationUpdate{AccountID: "acme", ClientID: c, Version: 1,
				Name: "Mine now", Actor: testActor("mallory@acme.example"), Now: now})
			return err
		}},
		{"ResetSecret", func(c string) error {
			_, err := db.ResetSecret(ctx, tokenservice.SecretReset{AccountID: "acme", ClientID: c, Version: 1, Secret: testSecret("mallory"), Actor: testActor("mallory@acme.example"), Now: now})
			return err
		}},
		{"ResetSecretAnyVersion", func(c string) error {
			_, err := db.ResetSecret(ctx, tokenservice.SecretReset{AccountID: "acme", ClientID: c, AnyVersion: true, Secret: testSecret("mallory"), Actor: testActor("mallory@acme.example"), Now: now})
			return err
		}},
		{"SecretCiphertext", func(c string) error {
			_, _, err := db.SecretCiphertext(ctx, "acme", c, tokenservice.ActionSecretRevealed, testActor("test"), now)
			return err
		}},
		{"Delete", func(c string) error {
			return db.DeleteApplication(ctx, tokenservice.ApplicationDeletion{AccountID: "acme", ClientID: c, AnyVersion: true})
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
		app, err := db.UpdateApplication(ctx, tokenservice.ApplicationUpdate{
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
		edit := tokenservice.ApplicationUpdate{AccountID: "acme", ClientID: "client-1", Version: 1,
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
		_, err := db.UpdateApplication(ctx, tokenservice.ApplicationUpdate{AccountID: "acme", ClientID: "client-1", Version: 1, Name: "", Now: now})
		wantCode(t, err, tokenservice.EINVALID)
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
			return db.DeleteApplication(ctx, tokenservice.ApplicationDeletion{AccountID: "acme", ClientID: "client-1", AnyVersion: true})
		}},
		{"InAccountAtVersion", func(db *DB) error {
			return db.DeleteApplication(ctx, tokenservice.ApplicationDeletion{AccountID: "acme", ClientID: "client-1", Version: 1})
		}},
		{"ByClientID", func(db *DB) error {
			return db.DeleteApplication(ctx, tokenservice.ApplicationDeletion{ClientID: "client-1", AnyVersion: true})
		}},
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
	if _, err := db.UpdateApplication(ctx, tokenservice.ApplicationUpdate{AccountID: "acme", ClientID: "client-1", Version: 1,
		Name: "Renamed", Actor: testActor("b@acme.example"), Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, db.DeleteApplication(ctx, tokenservice.ApplicationDeletion{AccountID: "acme", ClientID: "client-1", Version: 1}), tokenservice.ECONFLICT)
	if _, _, err := db.ApplicationByClientID(ctx, "client-1"); err != nil {
		t.Fatalf("a delete at a stale version deleted the application: %v", err)
	}
	wantCode(t, db.DeleteApplication(ctx, tokenservice.ApplicationDeletion{AccountID: "globex", ClientID: "client-1", Version: 2}), tokenservice.ENOTFOUND)
	if err := db.DeleteApplication(ctx, tokenservice.ApplicationDeletion{AccountID: "acme", ClientID: "client-1", Version: 2}); err != nil {
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
				_, err := db.ResetSecret(ctx, tokenservice.SecretReset{AccountID: "acme", ClientID: "client-1", Version: version, Secret: testSecret("new"), Actor: testActor("bob@acme.example"), Now: now})
				return err
			}},
			{"ResetAnyAccount", func() error {
				_, err := db.ResetSecret(ctx, tokenservice.SecretReset{ClientID: "client-1", Version: version, Secret: testSecret("new"), Actor: testActor("bob@acme.example"), Now: now})
				return err
			}},
			{"Delete", func() error {
				return db.DeleteApplication(ctx, tokenservice.ApplicationDeletion{AccountID: "acme", ClientID: "client-1", Version: version, Actor: testActor("bob@acme.example"), Now: now})
			}},
			{"DeleteAnyAccount", func() error {
				return db.DeleteApplication(ctx, tokenservice.ApplicationDeletion{ClientID: "client-1", Version: version, Actor: testActor("bob@acme.example"), Now: now})
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
	if err := db.pool.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil && err != sql.ErrNoRows {
		tb.Fatal(err)
	}
	return n
}
