package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tokenservice"
	"tokenservice/db"
	"tokenservice/secret"
)

func TestAssembleReport(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{
		"growth.md": "## Growth\n\n![chart](bench/growth.png)\n",
		"token.md":  "## Token endpoint\n\nnumbers\n",
		"extra.md":  "## Something else\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	frags, err := readFragments(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range frags {
		names = append(names, f.name)
	}
	if got, want := strings.Join(names, ","), "token,growth,extra"; got != want {
		t.Errorf("fragment order = %s, want %s (known parts first, in the report's order)", got, want)
	}
	md := assemble(stamp{commit: "`abc`", date: "2026-01-01 00:00 UTC", cpuModel: "Test CPU", cpus: 2, goVersion: "go1.26"}, frags)
	for _, want := range []string{
		"| commit | `abc` |", "| CPU | Test CPU |", "`go tool task bench`",
		"| Token endpoint | [below](#token-endpoint) |",
		"| Footprint | not measured in this run (`loadgen compare` wrote no docs/bench/footprint.md) |",
		"| extra | [below](#something-else) |",
		"\n## Token endpoint\n\nnumbers\n\n## Growth\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if i, j := strings.Index(md, "## Growth"), strings.Index(md, "## Something else"); i < 0 || j < i {
		t.Errorf("unknown fragments come after the known ones:\n%s", md)
	}
}

func TestSeedSQLite(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	key, err := dataDirServerKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "tokenservice.db")
	apps, err := Seed(ctx, SeedOptions{DatabaseURL: path, ServerKey: key, Apps: 25, Events: 300, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(apps), 25; got != want {
		t.Fatalf("%d credentials, want %d", got, want)
	}
	store, err := db.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	keys, err := secret.NewKeys(key)
	if err != nil {
		t.Fatal(err)
	}
	// What the token endpoint reads: the seeded secret verifies, the scopes
	// are the ones returned.
	for _, a := range []createdApp{apps[0], apps[24]} {
		c, err := store.Client(ctx, a.ClientID)
		if err != nil {
			t.Fatal(err)
		}
		if !keys.Verify(a.ClientSecret, c.Secrets[0].Hash) {
			t.Errorf("%s: the seeded secret does not verify", a.ClientID)
		}
		if got, want := strings.Join(c.OAuthScopes(), " "), strings.Join(a.Scopes, " "); got != want || got == "" {
			t.Errorf("%s: scopes %q, want %q", a.ClientID, got, want)
		}
	}
	page, err := store.ListApplications(ctx, "acme", tokenservice.ListOptions{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(page.Applications), 25; got != want {
		t.Errorf("the account lists %d applications, want %d", got, want)
	}
	events, err := store.ListEvents(ctx, "acme", tokenservice.EventFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(events.Events), 300; got != want {
		t.Errorf("%d events, want %d", got, want)
	}
	created := 0
	for i, e := range events.Events {
		if e.Action == "application.created" {
			created++
		}
		if i > 0 && e.At.After(events.Events[i-1].At) {
			t.Fatalf("events are not newest first by id and time at %d", i)
		}
	}
	if created != 25 {
		t.Errorf("%d creation events, want one per application (25)", created)
	}
	actors, err := store.EventActors(ctx, "acme")
	if err != nil || len(actors) == 0 {
		t.Errorf("event actors: %v, %v", actors, err)
	}
}
