package db

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"tokenservice"
)

func TestFormKey(t *testing.T) { forEachStore(t, testFormKey) }

func testFormKey(t *testing.T) {
	ctx := context.Background()

	t.Run("CreateTwice", func(t *testing.T) {
		db := openTestDB(t)
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			created []string
			dups    []string
		)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				app, err := db.CreateApplication(ctx, tokenservice.NewApplication{AccountID: "acme", ClientID: fmt.Sprintf("client-%d", i), Name: "Double click",
					Secret: testSecret(fmt.Sprint(i)), Actor: testActor("a@acme.example"), FormKey: "form-1", Now: now})
				var dup *tokenservice.DuplicateError
				mu.Lock()
				defer mu.Unlock()
				if errors.As(err, &dup) {
					dups = append(dups, dup.ClientID)
				} else if err != nil {
					t.Error(err)
				} else {
					created = append(created, app.ClientID)
				}
			}()
		}
		wg.Wait()
		if len(created) != 1 || len(dups) != 7 {
			t.Fatalf("created %v, duplicates %v; want one application and seven duplicates", created, dups)
		}
		for _, d := range dups {
			if d != created[0] {
				t.Errorf("a duplicate names %s, want %s", d, created[0])
			}
		}
		if n := countRows(t, db, `SELECT count(*) FROM applications`); n != 1 {
			t.Errorf("applications = %d, want 1", n)
		}
		// The same key in another account is another form.
		if _, err := db.CreateApplication(ctx, tokenservice.NewApplication{AccountID: "globex", ClientID: "client-g", Name: "Other", Secret: testSecret("g"),
			Actor: testActor("a@globex.example"), FormKey: "form-1", Now: now}); err != nil {
			t.Errorf("globex with acme's form key: %v", err)
		}
		if id, ok, err := db.FormSubmitted(ctx, "acme", "form-1"); err != nil || !ok || id != created[0] {
			t.Errorf("FormSubmitted = %q, %v, %v", id, ok, err)
		}
		if _, ok, _ := db.FormSubmitted(ctx, "acme", "form-2"); ok {
			t.Error("an unused form key counts as submitted")
		}
	})

	t.Run("ResetAndEditTwice", func(t *testing.T) {
		db := openTestDB(t)
		app := mustCreate(t, db, "acme", "client-1", "Billing", readEmail)
		reset := tokenservice.SecretReset{AccountID: "acme", ClientID: "client-1", Version: app.Version, Secret: testSecret("new"), Actor: testActor("a@acme.example"), FormKey: "reset-1", Now: now}
		first, err := db.ResetSecret(ctx, reset)
		if err != nil {
			t.Fatal(err)
		}
		reset.Secret = testSecret("newer")
		_, err = db.ResetSecret(ctx, reset)
		var dup *tokenservice.DuplicateError
		if !errors.As(err, &dup) {
			t.Fatalf("second post of the reset form: %v, want a tokenservice.DuplicateError", err)
		}
		c, err := db.Client(ctx, "client-1")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(c.Secrets[0].Hash, []byte("hash:new")) || c.SecretGeneration != first.SecretGeneration {
			t.Errorf("the second post reset again: generation %d, hash %q", c.SecretGeneration, c.Secrets[0].Hash)
		}
		edit := tokenservice.ApplicationUpdate{AccountID: "acme", ClientID: "client-1", Version: first.Version, Name: "Renamed", Actor: testActor("a@acme.example"), FormKey: "edit-1", Now: now}
		if _, err := db.UpdateApplication(ctx, edit); err != nil {
			t.Fatal(err)
		}
		if _, err := db.UpdateApplication(ctx, edit); !errors.As(err, &dup) {
			t.Errorf("second post of the edit form: %v, want a tokenservice.DuplicateError, not a conflict", err)
		}
		del := tokenservice.ApplicationDeletion{AccountID: "acme", ClientID: "client-1", Version: first.Version + 1, Actor: testActor("a@acme.example"), FormKey: "delete-1", Now: now}
		if err := db.DeleteApplication(ctx, del); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteApplication(ctx, del); !errors.As(err, &dup) {
			t.Errorf("second post of the delete form: %v, want a tokenservice.DuplicateError", err)
		}
	})

	t.Run("BadKeysAreNotRecorded", func(t *testing.T) {
		db := openTestDB(t)
		for i, key := range []string{strings.Repeat("k", MaxFormKey+1), "a b", "ключ", "x\x00y"} {
			for range 2 {
				if _, err := db.CreateApplication(ctx, tokenservice.NewApplication{AccountID: "acme", ClientID: fmt.Sprintf("c-%d-%d", i, countRows(t, db, `SELECT count(*) FROM applications`)),
					Name: "Odd key", Secret: testSecret("x"), Actor: testActor("a@acme.example"), FormKey: key, Now: now}); err != nil {
					t.Fatalf("key %q: %v", key, err)
				}
			}
		}
		if n := countRows(t, db, `SELECT count(*) FROM events WHERE form_key IS NOT NULL`); n != 0 {
			t.Errorf("%d invalid form keys were recorded", n)
		}
	})
}
