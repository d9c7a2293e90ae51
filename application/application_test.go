package application_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"tokenservice"
	"tokenservice/application"
	"tokenservice/db"
	"tokenservice/scope"
	"tokenservice/secret"
)

// now is the fixed clock of the tests, on a whole millisecond as stored.
var now = time.Date(2025, 3, 14, 9, 26, 53, 589_000_000, time.UTC)

// The principals of the tests: acme's admin and viewer, an admin of
// another account, and the operator CLI.
var (
	admin = tokenservice.MemberPrincipal(
		&tokenservice.User{Subject: "sub-admin", Email: "admin@acme.example", AccountID: "acme", Admin: true},
		tokenservice.Actor{Subject: "sub-admin", Email: "admin@acme.example"})
	viewer = tokenservice.MemberPrincipal(
		&tokenservice.User{Subject: "sub-viewer", Email: "viewer@acme.example", AccountID: "acme"},
		tokenservice.Actor{Subject: "sub-viewer", Email: "viewer@acme.example"})
	outsider = tokenservice.MemberPrincipal(
		&tokenservice.User{Subject: "sub-outsider", Email: "admin@globex.example", AccountID: "globex", Admin: true},
		tokenservice.Actor{Subject: "sub-outsider", Email: "admin@globex.example"})
	operator = tokenservice.CLIPrincipal
)

// fixture is the service over a fresh SQLite store, with the default scope
// catalogue and real secret keys.
type fixture struct {
	store *db.DB
	keys  *secret.Keys
	svc   *application.Service
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	store, err := db.Open(context.Background(), filepath.Join(t.TempDir(), "tokenservice.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	keys, err := secret.NewKeys(bytes.Repeat([]byte{7}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	svc := application.NewService(store, scope.Default(), keys, 15*time.Minute, func() time.Time { return now })
	return &fixture{store: store, keys: keys, svc: svc}
}

// input is a valid name and choice of access.
func input(name string) tokenservice.ApplicationInput {
	return tokenservice.ApplicationInput{Name: name, Access: map[string]tokenservice.Access{
		"forensics:account": tokenservice.AccessRead,
	}}
}

// create registers an application in acme as its admin and returns it with
// its secret.
func (f *fixture) create(t *testing.T, name string) (*tokenservice.Application, string) {
	t.Helper()
	app, plaintext, err := f.svc.CreateApplication(context.Background(), admin,
		tokenservice.CreateApplicationInput{ApplicationInput: input(name)})
	if err != nil {
		t.Fatalf("create %q: %v", name, err)
	}
	return app, plaintext
}

// snapshot describes an account's applications (name, version, secret) and
// the length of its trail, for the tests that a refused change leaves all
// of it as it was.
func (f *fixture) snapshot(t *testing.T, account string) string {
	t.Helper()
	ctx := context.Background()
	page, err := f.store.ListApplications(ctx, account, tokenservice.ListOptions{Limit: tokenservice.MaxListLimit})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, a := range page.Applications {
		_, hash, err := f.store.ApplicationByClientID(ctx, a.ClientID)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %q v%d g%d %x %v\n", a.ClientID, a.Name, a.Version, a.SecretGeneration, hash, a.Scopes)
	}
	events, err := f.store.ListEvents(ctx, account, tokenservice.EventFilter{Limit: tokenservice.MaxEventLimit})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "%d events\n", len(events.Events))
	return b.String()
}

// verifies reports whether plaintext is the application's current secret,
// as the token endpoint checks it.
func (f *fixture) verifies(t *testing.T, clientID, plaintext string) bool {
	t.Helper()
	_, hash, err := f.store.ApplicationByClientID(context.Background(), clientID)
	if err != nil {
		t.Fatal(err)
	}
	return f.keys.Verify(plaintext, hash)
}

// wantCode fails the test unless err carries the domain error code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := tokenservice.ErrorCode(err); got != code {
		t.Fatalf("error code = %q, want %q (err: %v)", got, code, err)
	}
}

// change is one operation on an existing application, as p asks for it
// against version.
type change struct {
	name string
	do   func(s *application.Service, p tokenservice.Principal, clientID string, version int) error
}

// changes are every operation on an existing application.
var changes = []change{
	{"Update", func(s *application.Service, p tokenservice.Principal, clientID string, version int) error {
		_, err := s.UpdateApplication(context.Background(), p, tokenservice.UpdateApplicationInput{
			ClientID: clientID, Version: version, ApplicationInput: input("Renamed")})
		return err
	}},
	{"ResetSecret", func(s *application.Service, p tokenservice.Principal, clientID string, version int) error {
		_, _, err := s.ResetSecret(context.Background(), p, tokenservice.ApplicationChange{ClientID: clientID, Version: version})
		return err
	}},
	{"Delete", func(s *application.Service, p tokenservice.Principal, clientID string, version int) error {
		_, err := s.DeleteApplication(context.Background(), p, tokenservice.ApplicationChange{ClientID: clientID, Version: version})
		return err
	}},
	{"RevealSecret", func(s *application.Service, p tokenservice.Principal, clientID string, _ int) error {
		_, err := s.RevealSecret(context.Background(), p, clientID)
		return err
	}},
	{"CopySecret", func(s *application.Service, p tokenservice.Principal, clientID string, _ int) error {
		_, err := s.CopySecret(context.Background(), p, clientID)
		return err
	}},
}

// changesOf picks the changes named.
func changesOf(names ...string) []change {
	var out []change
	for _, c := range changes {
		if slices.Contains(names, c.name) {
			out = append(out, c)
		}
	}
	return out
}

func TestViewerIsForbidden(t *testing.T) {
	create := change{"Create", func(s *application.Service, p tokenservice.Principal, _ string, _ int) error {
		_, _, err := s.CreateApplication(context.Background(), p, tokenservice.CreateApplicationInput{ApplicationInput: input("New")})
		return err
	}}
	for _, c := range append([]change{create}, changes...) {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			app, _ := f.create(t, "Billing sync")
			before := f.snapshot(t, "acme")

			err := c.do(f.svc, viewer, app.ClientID, app.Version)
			wantCode(t, err, tokenservice.EFORBIDDEN)
			if got, want := f.snapshot(t, "acme"), before; got != want {
				t.Errorf("after a refused %s the account is\n%s\nwant\n%s", c.name, got, want)
			}
		})
	}
}

// An application of another account must answer exactly as a missing one
// does, so a member cannot learn which client IDs exist elsewhere; with no
// version too, so that the version check cannot tell them apart either.
func TestAnotherAccountsApplicationIsNotFound(t *testing.T) {
	for _, c := range changes {
		for _, version := range []string{"Current", "None"} {
			t.Run(c.name+"/"+version+"Version", func(t *testing.T) {
				f := newFixture(t)
				app, _ := f.create(t, "Billing sync")
				v := app.Version
				if version == "None" {
					v = 0
				}
				before := f.snapshot(t, "acme")

				other := c.do(f.svc, outsider, app.ClientID, v)
				wantCode(t, other, tokenservice.ENOTFOUND)
				missing := c.do(f.svc, outsider, secret.NewClientID(), v)
				wantCode(t, missing, tokenservice.ENOTFOUND)
				if got, want := tokenservice.ErrorMessage(other), tokenservice.ErrorMessage(missing); got != want {
					t.Errorf("another account's application says %q, a missing one %q", got, want)
				}
				if got, want := f.snapshot(t, "acme"), before; got != want {
					t.Errorf("after another account's %s the account is\n%s\nwant\n%s", c.name, got, want)
				}
			})
		}
	}
}

// A member's reset or deletion must name the version the admin confirmed:
// a form stripped of it would act on whatever was saved meanwhile.
func TestMemberNeedsVersion(t *testing.T) {
	for _, c := range changesOf("ResetSecret", "Delete") {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			app, _ := f.create(t, "Billing sync")
			before := f.snapshot(t, "acme")

			wantCode(t, c.do(f.svc, admin, app.ClientID, 0), tokenservice.EINVALID)
			if got, want := f.snapshot(t, "acme"), before; got != want {
				t.Errorf("after a %s without a version the account is\n%s\nwant\n%s", c.name, got, want)
			}
		})
	}
}

// The operator CLI shows no version, acts in any account and so checks none.
func TestOperatorNeedsNoVersion(t *testing.T) {
	t.Run("ResetSecret", func(t *testing.T) {
		f := newFixture(t)
		app, old := f.create(t, "Billing sync")
		got, plaintext, err := f.svc.ResetSecret(context.Background(), operator, tokenservice.ApplicationChange{ClientID: app.ClientID})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := got.SecretGeneration, app.SecretGeneration+1; got != want {
			t.Errorf("secret generation = %d, want %d", got, want)
		}
		if !f.verifies(t, app.ClientID, plaintext) {
			t.Error("the new secret does not verify")
		}
		if f.verifies(t, app.ClientID, old) {
			t.Error("the old secret still verifies")
		}
	})
	t.Run("Delete", func(t *testing.T) {
		f := newFixture(t)
		app, _ := f.create(t, "Billing sync")
		got, err := f.svc.DeleteApplication(context.Background(), operator, tokenservice.ApplicationChange{ClientID: app.ClientID})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := got.ClientID, app.ClientID; got != want {
			t.Errorf("deleted client ID = %q, want %q", got, want)
		}
		_, err = f.store.GetApplication(context.Background(), "acme", app.ClientID)
		wantCode(t, err, tokenservice.ENOTFOUND)
	})
	t.Run("CreateInAnyAccount", func(t *testing.T) {
		f := newFixture(t)
		app, _, err := f.svc.CreateApplication(context.Background(), operator,
			tokenservice.CreateApplicationInput{AccountID: "globex", ApplicationInput: input("Billing sync")})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := app.AccountID, "globex"; got != want {
			t.Errorf("account = %q, want %q", got, want)
		}
	})
}

// An edit made against a version someone has saved over must not overwrite
// their work.
func TestStaleVersionIsConflict(t *testing.T) {
	for _, c := range changesOf("Update", "ResetSecret", "Delete") {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			app, _ := f.create(t, "Billing sync")
			if _, err := f.svc.UpdateApplication(context.Background(), admin, tokenservice.UpdateApplicationInput{
				ClientID: app.ClientID, Version: app.Version, ApplicationInput: input("Saved meanwhile")}); err != nil {
				t.Fatal(err)
			}
			before := f.snapshot(t, "acme")

			wantCode(t, c.do(f.svc, admin, app.ClientID, app.Version), tokenservice.ECONFLICT)
			if got, want := f.snapshot(t, "acme"), before; got != want {
				t.Errorf("after a stale %s the account is\n%s\nwant\n%s", c.name, got, want)
			}
		})
	}
}

func TestInvalidInput(t *testing.T) {
	tests := []struct {
		name   string
		in     tokenservice.ApplicationInput
		fields map[string]string // field → a part of its message
	}{
		{"NameRequired", tokenservice.ApplicationInput{Name: "  "},
			map[string]string{"name": "Enter an application name"}},
		{"NameWithZeroWidthSpace", tokenservice.ApplicationInput{Name: "Billing\u200Bsync"},
			map[string]string{"name": "U+200B"}},
		{"UnknownScope", tokenservice.ApplicationInput{Name: "Billing sync",
			Access: map[string]tokenservice.Access{"payroll:account": tokenservice.AccessRead}},
			map[string]string{"scope.payroll:account": "does not exist"}},
		{"AccessNotOffered", tokenservice.ApplicationInput{Name: "Billing sync",
			Access: map[string]tokenservice.Access{"ess:account": tokenservice.AccessReadWrite}},
			map[string]string{"scope.ess:account": "does not offer"}},
		{"EveryFieldAtOnce", tokenservice.ApplicationInput{Name: "",
			Access: map[string]tokenservice.Access{
				"payroll:account": tokenservice.AccessRead, "ess:account": tokenservice.AccessReadWrite}},
			map[string]string{"name": "", "scope.payroll:account": "", "scope.ess:account": ""}},
	}
	// checkFields fails the test unless err is EINVALID with a message for
	// exactly the fields of want.
	checkFields := func(t *testing.T, err error, want map[string]string) {
		t.Helper()
		wantCode(t, err, tokenservice.EINVALID)
		e, ok := errors.AsType[*tokenservice.Error](err)
		if !ok {
			t.Fatalf("err = %v, want a *tokenservice.Error", err)
		}
		for field, part := range want {
			if msg, ok := e.Fields[field]; !ok || !strings.Contains(msg, part) {
				t.Errorf("field %q says %q, want a message with %q", field, msg, part)
			}
		}
		if got, want := len(e.Fields), len(want); got != want {
			t.Errorf("fields = %v, want %d of them", e.Fields, want)
		}
	}
	for _, tt := range tests {
		t.Run("Create/"+tt.name, func(t *testing.T) {
			f := newFixture(t)
			before := f.snapshot(t, "acme")
			_, _, err := f.svc.CreateApplication(context.Background(), admin, tokenservice.CreateApplicationInput{ApplicationInput: tt.in})
			checkFields(t, err, tt.fields)
			if got, want := f.snapshot(t, "acme"), before; got != want {
				t.Errorf("after an invalid create the account is\n%s\nwant\n%s", got, want)
			}
		})
		t.Run("Update/"+tt.name, func(t *testing.T) {
			f := newFixture(t)
			app, _ := f.create(t, "Billing sync")
			before := f.snapshot(t, "acme")
			_, err := f.svc.UpdateApplication(context.Background(), admin, tokenservice.UpdateApplicationInput{
				ClientID: app.ClientID, Version: app.Version, ApplicationInput: tt.in})
			checkFields(t, err, tt.fields)
			if got, want := f.snapshot(t, "acme"), before; got != want {
				t.Errorf("after an invalid update the account is\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestCreateReturnsSecret(t *testing.T) {
	f := newFixture(t)
	app, plaintext := f.create(t, "Billing sync")
	if !secret.WellFormed(plaintext) {
		t.Errorf("secret %q is not well formed", plaintext)
	}
	if !f.verifies(t, app.ClientID, plaintext) {
		t.Error("the secret does not verify against the stored hash")
	}
	if got, want := app.SecretGeneration, 1; got != want {
		t.Errorf("secret generation = %d, want %d", got, want)
	}
	revealed, err := f.svc.RevealSecret(context.Background(), admin, app.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := revealed, plaintext; got != want {
		t.Errorf("revealed secret = %q, want the one create returned, %q", got, want)
	}
}

func TestResetReplacesSecret(t *testing.T) {
	f := newFixture(t)
	app, old := f.create(t, "Billing sync")
	reset, plaintext, err := f.svc.ResetSecret(context.Background(), admin,
		tokenservice.ApplicationChange{ClientID: app.ClientID, Version: app.Version})
	if err != nil {
		t.Fatal(err)
	}
	if plaintext == old || !secret.WellFormed(plaintext) {
		t.Errorf("new secret = %q, want a well-formed secret other than %q", plaintext, old)
	}
	if !f.verifies(t, app.ClientID, plaintext) {
		t.Error("the new secret does not verify")
	}
	if f.verifies(t, app.ClientID, old) {
		t.Error("the old secret still verifies")
	}
	if got, want := reset.SecretGeneration, 2; got != want {
		t.Errorf("secret generation = %d, want %d", got, want)
	}
}

// A form posted twice (a double click, a resubmitted page) changes once and
// the second post learns which application the first changed.
func TestFormPostedTwiceChangesOnce(t *testing.T) {
	const key = "form-0123456789"
	tests := []struct {
		name string
		// post posts the form against app as it was before the first post
		// and returns the client ID it changed.
		post func(f *fixture, app *tokenservice.Application) (string, error)
	}{
		{"Create", func(f *fixture, _ *tokenservice.Application) (string, error) {
			created, _, err := f.svc.CreateApplication(context.Background(), admin,
				tokenservice.CreateApplicationInput{ApplicationInput: input("Posted twice"), FormKey: key})
			if err != nil {
				return "", err
			}
			return created.ClientID, nil
		}},
		{"Update", func(f *fixture, app *tokenservice.Application) (string, error) {
			_, err := f.svc.UpdateApplication(context.Background(), admin, tokenservice.UpdateApplicationInput{
				ClientID: app.ClientID, Version: app.Version, ApplicationInput: input("Posted twice"), FormKey: key})
			return app.ClientID, err
		}},
		{"ResetSecret", func(f *fixture, app *tokenservice.Application) (string, error) {
			_, _, err := f.svc.ResetSecret(context.Background(), admin,
				tokenservice.ApplicationChange{ClientID: app.ClientID, Version: app.Version, FormKey: key})
			return app.ClientID, err
		}},
		{"Delete", func(f *fixture, app *tokenservice.Application) (string, error) {
			_, err := f.svc.DeleteApplication(context.Background(), admin,
				tokenservice.ApplicationChange{ClientID: app.ClientID, Version: app.Version, FormKey: key})
			return app.ClientID, err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			app, _ := f.create(t, "Billing sync")
			changed, err := tt.post(f, app)
			if err != nil {
				t.Fatalf("first post: %v", err)
			}
			after := f.snapshot(t, "acme")

			_, err = tt.post(f, app)
			dup, ok := errors.AsType[*tokenservice.DuplicateError](err)
			if !ok {
				t.Fatalf("second post: err = %v, want a *tokenservice.DuplicateError", err)
			}
			if got, want := dup.ClientID, changed; got != want {
				t.Errorf("the duplicate names %q, want %q, the application the first post changed", got, want)
			}
			if got, want := f.snapshot(t, "acme"), after; got != want {
				t.Errorf("after the second post the account is\n%s\nwant it as the first left it\n%s", got, want)
			}
		})
	}
}

// TestSameNameWarns: a name another application of the account has,
// whatever its case, is refused with the field "same_name" and changes
// nothing, until the admin confirms that very name; renaming to it warns
// the same, and another account's names do not count.
func TestSameNameWarns(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	first, _ := f.create(t, "App 1")
	before := f.snapshot(t, "acme")

	for _, name := range []string{"App 1", "  app 1 ", "APP 1"} {
		_, _, err := f.svc.CreateApplication(ctx, admin, tokenservice.CreateApplicationInput{ApplicationInput: input(name)})
		e, ok := errors.AsType[*tokenservice.Error](err)
		if !ok || e.Code != tokenservice.EINVALID || !strings.Contains(e.Fields["same_name"], "“App 1” already exists") {
			t.Fatalf("create %q: err = %v, want the same-name warning", name, err)
		}
	}
	if got := f.snapshot(t, "acme"); got != before {
		t.Errorf("a warned create changed the account:\n%s\nwant\n%s", got, before)
	}

	// Confirmed for another name: still warned.
	in := input("app 1")
	in.ConfirmedName = "App 2"
	if _, _, err := f.svc.CreateApplication(ctx, admin, tokenservice.CreateApplicationInput{ApplicationInput: in}); tokenservice.ErrorCode(err) != tokenservice.EINVALID {
		t.Fatalf("confirmed another name: err = %v, want EINVALID", err)
	}
	in.ConfirmedName = "app 1"
	if _, _, err := f.svc.CreateApplication(ctx, admin, tokenservice.CreateApplicationInput{ApplicationInput: in}); err != nil {
		t.Fatalf("confirmed: %v", err)
	}

	// Another account may have the name.
	if _, _, err := f.svc.CreateApplication(ctx, outsider, tokenservice.CreateApplicationInput{ApplicationInput: input("App 1")}); err != nil {
		t.Errorf("another account: %v", err)
	}

	third, _ := f.create(t, "Billing")
	rename := tokenservice.UpdateApplicationInput{ClientID: third.ClientID, Version: third.Version, ApplicationInput: input("APP 1")}
	if _, err := f.svc.UpdateApplication(ctx, admin, rename); tokenservice.ErrorCode(err) != tokenservice.EINVALID {
		t.Fatalf("rename to a taken name: err = %v, want EINVALID", err)
	}
	rename.ConfirmedName = "APP 1"
	if _, err := f.svc.UpdateApplication(ctx, admin, rename); err != nil {
		t.Fatalf("confirmed rename: %v", err)
	}
	// Keeping one's own name (two share it now) is no new warning.
	keep := tokenservice.UpdateApplicationInput{ClientID: first.ClientID, Version: first.Version, ApplicationInput: input("App 1")}
	keep.Access = map[string]tokenservice.Access{"forensics:account": tokenservice.AccessReadWrite}
	if _, err := f.svc.UpdateApplication(ctx, admin, keep); err != nil {
		t.Errorf("edit keeping the name: %v", err)
	}
}
