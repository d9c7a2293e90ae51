package db

import (
	"context"
	"encoding/base64"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"tokenservice"
)

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
		app := mustCreate(t, db, "acme", fmt.Sprintf("acme-%03d", 249-i), name, readEmail)
		app.Credentials, app.SecretRevealUntil = nil, time.Time{} // the list reads neither
		want = append(want, app)
	}
	for i := range 5 {
		mustCreate(t, db, "globex", fmt.Sprintf("globex-%d", i), "alpha globex")
	}
	slices.SortFunc(want, func(a, b *tokenservice.Application) int {
		if c := strings.Compare(NameSortKey(a.Name), NameSortKey(b.Name)); c != 0 {
			return c
		}
		return strings.Compare(a.ClientID, b.ClientID)
	})

	t.Run("WalkAllPages", func(t *testing.T) {
		var got []*tokenservice.Application
		seen := make(map[string]bool)
		after := ""
		for pages := 1; ; pages++ {
			page, err := db.ListApplications(ctx, "acme", tokenservice.ListOptions{After: after, Limit: 40})
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
				page, err := db.ListApplications(ctx, "acme", tokenservice.ListOptions{Filter: tt.filter, Limit: 200})
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
		page, err := db.ListApplications(ctx, "acme", tokenservice.ListOptions{Filter: filter, Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Applications) != 0 || page.Total != 0 {
			t.Fatalf("filter %q listed %d applications (Total %d), want none", filter, len(page.Applications), page.Total)
		}
	})

	t.Run("FilterWithCursor", func(t *testing.T) {
		first, err := db.ListApplications(ctx, "acme", tokenservice.ListOptions{Filter: "a", Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		second, err := db.ListApplications(ctx, "acme", tokenservice.ListOptions{Filter: "a", Limit: 10, After: first.Next})
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
		page, err := db.ListApplications(ctx, "acme", tokenservice.ListOptions{})
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
			page, err := db.ListApplications(ctx, "scoped", tokenservice.ListOptions{Filter: filter})
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
			{0, tokenservice.DefaultListLimit},
			{-1, tokenservice.DefaultListLimit},
			{7, 7},
			{1000, tokenservice.MaxListLimit},
		} {
			page, err := db.ListApplications(ctx, "acme", tokenservice.ListOptions{Limit: tt.limit})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(page.Applications), tt.want; got != want {
				t.Errorf("Limit %d: listed %d, want %d", tt.limit, got, want)
			}
		}
	})

	t.Run("EmptyAccount", func(t *testing.T) {
		page, err := db.ListApplications(ctx, "initech", tokenservice.ListOptions{})
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
				_, err := db.ListApplications(ctx, "acme", tokenservice.ListOptions{After: tt.after})
				wantCode(t, err, tokenservice.EINVALID)
			})
		}
	})
}

func TestListApplicationsTotalCapped(t *testing.T) { forEachStore(t, testListApplicationsTotalCapped) }

func testListApplicationsTotalCapped(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	seedApplications(t, db, "acme", tokenservice.MaxListTotal+50)

	page, err := db.ListApplications(ctx, "acme", tokenservice.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := page.Total, tokenservice.MaxListTotal+1; got != want {
		t.Errorf("Total = %d, want %d (more than tokenservice.MaxListTotal)", got, want)
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

	middle := cursor{Offset: n / 2}
	if err := db.pool.QueryRowContext(ctx, `SELECT name_key, client_id FROM applications
		WHERE account_id = 'acme' ORDER BY name_key, client_id LIMIT 1 OFFSET ?`, n/2,
	).Scan(&middle.Key, &middle.ClientID); err != nil {
		b.Fatal(err)
	}

	for _, bb := range []struct {
		name string
		opt  tokenservice.ListOptions
	}{
		{"FirstPage", tokenservice.ListOptions{}},
		{"DeepPage", tokenservice.ListOptions{After: encodeCursor(middle)}},
		{"FilterMany", tokenservice.ListOptions{Filter: "billing"}},
		{"FilterOne", tokenservice.ListOptions{Filter: "acme-0077777"}},
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
	tx, err := db.pool.BeginTx(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	insertApp, err := tx.PrepareContext(ctx, `INSERT INTO applications (
		account_id, client_id, name, name_lower, name_key, secret_generation, version,
		created_at, created_by, updated_at, updated_by, last_used_at
	) VALUES (?, ?, ?, ?, ?, 1, 1, ?, 'seed', ?, 'seed', ?) RETURNING id`)
	if err != nil {
		tb.Fatal(err)
	}
	insertScope, err := tx.PrepareContext(ctx,
		`INSERT INTO application_scopes (application_id, scope_key, access) VALUES (?, ?, ?)`)
	if err != nil {
		tb.Fatal(err)
	}
	insertSecret, err := tx.PrepareContext(ctx, `INSERT INTO credentials (
		application_id, public_id, kind, secret_hash, hint, migrated, rotated, created_at, created_by
	) VALUES (?, '0000000001', 'client_secret', ?, '', 0, 0, ?, 'seed')`)
	if err != nil {
		tb.Fatal(err)
	}
	products := []string{"Billing", "CRM", "Data warehouse", "Helpdesk", "Incident bot", "Mail archive", "SIEM"}
	hash := make([]byte, 32)
	for i := range n {
		name := fmt.Sprintf("%s %s %d", products[i%len(products)], []string{"export", "sync", "import"}[i%3], i*7919%n)
		var id int64
		if err := insertApp.QueryRowContext(ctx,
			account, fmt.Sprintf("%s-%07d", account, i), name, nameKey(name), NameSortKey(name),
			millis(now)+int64(i*104729%n), millis(now), lastUsed(i),
		).Scan(&id); err != nil {
			tb.Fatal(err)
		}
		if _, err := insertSecret.ExecContext(ctx, id, hash, millis(now)); err != nil {
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

// lastUsed is the last use of the i-th seeded application: never for one
// in three.
func lastUsed(i int) any {
	if i%3 == 0 {
		return nil
	}
	return millis(now) + int64(i*7%1000)
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
	slices.SortStableFunc(want, func(a, b string) int { return strings.Compare(NameSortKey(a), NameSortKey(b)) })
	var got []string
	after := ""
	for {
		page, err := db.ListApplications(ctx, "acme", tokenservice.ListOptions{After: after, Limit: 3})
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
