package db

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"tokenservice"
)

// TestListApplicationsFilter: both ways ListApplications finds a filter
// (the trigram index, and reading names in order) list exactly what a
// plain Go filter over every application gives, in order, page after page,
// with the same total: for filters of every length, with LIKE's special
// characters, quotes, non-ASCII letters and mixed case, in names and in
// client IDs, and never another account's applications.
func TestListApplicationsFilter(t *testing.T) { forEachStore(t, testListApplicationsFilter) }

func testListApplicationsFilter(t *testing.T) {
	db := openTestDB(t)
	names := []string{
		"Alpha", "alpha alpha", "ALPHA beta", "Beta alpha", "gamma", "Alphabet soup",
		"Éclair", "éclair au café", "ÜBER", "über alles", "Straße", "STRASSE",
		"日本語のアプリ", "アプリ 日本", `Quote "this"`, `"quoted"`, "100% sure", "50%_off",
		"under_score", `back\slash`, `C:\Temp\x`, "İstanbul", "istanbul", "Kelvin \u212a",
		"SIEM export", "SIEM Export – EU", "export SIEM", "xsiem", "a b c", "ab", "abc", "zeta",
	}
	clientIDs := []string{"ACME-Upper-01", "clé-01", "CLÉ-02", "cid-alpha", `quote"cid`, "pct%cid", "under_cid", `back\cid`}
	var apps []*tokenservice.Application
	for i, name := range names {
		clientID := fmt.Sprintf("acme-%03d", i)
		if i < len(clientIDs) {
			clientID = clientIDs[i]
		}
		apps = append(apps, mustCreate(t, db, "acme", clientID, name))
		// The same names in another account, which must never show.
		mustCreate(t, db, "globex", fmt.Sprintf("globex-%03d", i), name)
	}
	sortApplications(apps)

	filters := []string{
		// One and two characters: never the trigram index.
		"a", "A", "é", "%", "_", `\`, `"`, "al", "AL", "é ", "日本", "%_", `\s`, `""`, "-0",
		// Three and more, in names.
		"alp", "ALPHA", "alpha alpha", "lpha", "pha a", "beta", "éclair", "ÉCLAIR", "café", "über", "ÜBER",
		"straße", "STRASSE", "日本語", "アプリ", `"this"`, `quote "`, "100%", "0%_", "_sc", `\sl`, `c:\te`,
		"istanbul", "İSTANBUL", "kelvin k", "siem", "SIEM EXPORT", "export", "xsi", "a b", "b c", "abc",
		"alpha alpha alpha", "nothing like it",
		// In client IDs: ASCII letters match whatever their case, others only as they are.
		"upper-0", "UPPER-01", "clé", "CLÉ", "cid-al", `e"ci`, "t%ci", "r_ci", `k\ci`, "acme-0", "globex",
	}
	for _, way := range []struct {
		name          string
		maxCandidates int
		maxListed     int
	}{
		{"Scan", -1, maxListedCandidates}, // no filter is searchable
		// Every filter of three characters or more is, its candidates
		// listed first on SQLite, or asked for in the page's statement.
		{"Search", 1 << 30, maxListedCandidates},
		{"SearchUnlisted", 1 << 30, -1},
	} {
		t.Run(way.name, func(t *testing.T) {
			db.maxCandidates, db.maxListed = way.maxCandidates, way.maxListed
			t.Cleanup(func() { db.maxCandidates, db.maxListed = maxSearchCandidates, maxListedCandidates })
			for _, filter := range filters {
				t.Run(fmt.Sprintf("%q", filter), func(t *testing.T) {
					wantListed(t, db, "acme", filter, matching(apps, filter))
				})
			}
		})
	}
}

// TestListApplicationsFilterSeesChanges: the trigram index follows every
// change at once: a new application, a rename, a deletion.
func TestListApplicationsFilterSeesChanges(t *testing.T) {
	forEachStore(t, testListApplicationsFilterSeesChanges)
}

func testListApplicationsFilterSeesChanges(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	db.maxCandidates = 1 << 30 // the trigram index for every filter it can answer
	mustCreate(t, db, "acme", "client-1", "Billing sync")
	mustCreate(t, db, "acme", "client-2", "Helpdesk sync")
	listed := func(filter string) []string {
		t.Helper()
		page, err := db.ListApplications(ctx, "acme", tokenservice.ListOptions{Filter: filter})
		if err != nil {
			t.Fatal(err)
		}
		return clientIDs(page.Applications)
	}

	if got, want := listed("sync"), []string{"client-1", "client-2"}; !slices.Equal(got, want) {
		t.Errorf("sync: listed %v, want %v", got, want)
	}
	if _, err := db.UpdateApplication(ctx, tokenservice.ApplicationUpdate{AccountID: "acme", ClientID: "client-1", Version: 1,
		Name: "Billing export", Actor: testActor("alice@acme.example"), Now: now}); err != nil {
		t.Fatal(err)
	}
	if got, want := listed("sync"), []string{"client-2"}; !slices.Equal(got, want) {
		t.Errorf("sync after the rename: listed %v, want %v", got, want)
	}
	if got, want := listed("export"), []string{"client-1"}; !slices.Equal(got, want) {
		t.Errorf("export after the rename: listed %v, want %v", got, want)
	}
	if got, want := listed("lling exp"), []string{"client-1"}; !slices.Equal(got, want) {
		t.Errorf("lling exp after the rename: listed %v, want %v", got, want)
	}
	if err := db.DeleteApplication(ctx, tokenservice.ApplicationDeletion{AccountID: "acme", ClientID: "client-2", AnyVersion: true}); err != nil {
		t.Fatal(err)
	}
	if got := listed("sync"); len(got) != 0 {
		t.Errorf("sync after the deletion: listed %v, want none", got)
	}
	if got := listed("ent-2"); len(got) != 0 {
		t.Errorf("ent-2 after the deletion: listed %v, want none", got)
	}
	mustCreate(t, db, "acme", "client-3", "Another sync")
	if got, want := listed("sync"), []string{"client-3"}; !slices.Equal(got, want) {
		t.Errorf("sync after a new application: listed %v, want %v", got, want)
	}
}

// TestListApplicationsFilterWay: a filter of three characters or more that
// at most maxSearchCandidates applications may hold is found by the trigram
// index, any other by reading names in order, and each way lists what a Go
// filter does.
func TestListApplicationsFilterWay(t *testing.T) { forEachStore(t, testListApplicationsFilterWay) }

func testListApplicationsFilterWay(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	var apps []*tokenservice.Application
	for i := range 40 {
		apps = append(apps, mustCreate(t, db, "acme", fmt.Sprintf("acme-%02d", i), fmt.Sprintf("Nightly billing export %02d", i)))
	}
	apps = append(apps, mustCreate(t, db, "acme", "acme-rare", "SIEM import"))
	// Every "Nightly billing export" holds the trigrams of "export
	// billing", not the filter itself; this one does, and SQLite's index
	// offers it last.
	apps = append(apps, mustCreate(t, db, "acme", "acme-last", "SIEM export billing"))
	sortApplications(apps)
	if db.dialect.postgres {
		// PostgreSQL estimates the candidates from its statistics.
		if _, err := db.pool.ExecContext(ctx, `ANALYZE applications`); err != nil {
			t.Fatal(err)
		}
	}
	db.maxCandidates = 10
	t.Cleanup(func() { db.maxCandidates = maxSearchCandidates })

	for _, tt := range []struct {
		filter string
		search bool
		anyWay bool // the route is the planner's guess on PostgreSQL
	}{
		{"export", false, false},  // all 41 hold it
		{"siem imp", true, false}, // one does
		{"nowhere", true, false},
		{"ex", false, false}, // too short for trigrams
		// 41 candidates on SQLite, though 40 of them hold only its trigrams.
		{"export billing", false, db.dialect.postgres},
	} {
		t.Run(tt.filter, func(t *testing.T) {
			search, _, err := db.searchable(ctx, db.pool, nameKey(tt.filter))
			if err != nil {
				t.Fatal(err)
			}
			if search != tt.search && !tt.anyWay {
				t.Errorf("searchable = %v, want %v", search, tt.search)
			}
			wantListed(t, db, "acme", tt.filter, matching(apps, tt.filter))
		})
	}
}

func TestPrefixEnd(t *testing.T) {
	for _, tt := range []struct {
		key, want string
		ok        bool
	}{
		{"abc", "abd", true},
		{"é", "ê", true},
		{"a\U0010FFFF", "b", true},
		{"\uD7FF", "\uE000", true},
		{"\U0010FFFF", "", false},
	} {
		got, ok := prefixEnd(tt.key)
		if got != tt.want || ok != tt.ok {
			t.Errorf("prefixEnd(%q) = %q, %v; want %q, %v", tt.key, got, ok, tt.want, tt.ok)
		}
	}
}

func TestSearchQuery(t *testing.T) {
	for _, tt := range []struct{ key, want string }{
		{"abc", `"abc"`},
		{"siem", `"sie" AND "iem"`},
		{"export", `"exp" AND "ort"`},
		{"billing", `"bil" AND "lin" AND "ing"`},
		{`a"b"c`, `"a""b" AND "b""c"`},
		{"日本語の", `"日本語" AND "本語の"`},
	} {
		if got := searchQuery(tt.key); got != tt.want {
			t.Errorf("searchQuery(%q) = %s, want %s", tt.key, got, tt.want)
		}
	}
}

// matching is the applications of apps (in list order) that filter
// matches: the lower-cased name holds the lower-cased filter, or the client
// ID holds it with ASCII letters compared without case, as LIKE (SQLite) and
// ILIKE under COLLATE "C" (PostgreSQL) compare.
func matching(apps []*tokenservice.Application, filter string) []string {
	key := nameKey(filter)
	var out []string
	for _, a := range apps {
		if strings.Contains(nameKey(a.Name), key) || strings.Contains(asciiLower(a.ClientID), asciiLower(key)) {
			out = append(out, a.ClientID)
		}
	}
	return out
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// sortApplications puts apps in list order: lower-cased name, then client ID.
func sortApplications(apps []*tokenservice.Application) {
	slices.SortFunc(apps, func(a, b *tokenservice.Application) int {
		if c := strings.Compare(NameSortKey(a.Name), NameSortKey(b.Name)); c != 0 {
			return c
		}
		return strings.Compare(a.ClientID, b.ClientID)
	})
}

// wantListed checks that the account's list filtered by filter holds want
// (client IDs in list order) on one page and, three at a time, page after
// page, with the total on every page; and that a page asked for after the
// last match is empty, with the same total.
func wantListed(t *testing.T, db *DB, account, filter string, want []string) {
	t.Helper()
	ctx := context.Background()
	page, err := db.ListApplications(ctx, account, tokenservice.ListOptions{Filter: filter, Limit: tokenservice.MaxListLimit})
	if err != nil {
		t.Fatal(err)
	}
	if got := clientIDs(page.Applications); !slices.Equal(got, want) {
		t.Errorf("listed %q, want %q", got, want)
	}
	if page.Total != len(want) {
		t.Errorf("Total = %d, want %d", page.Total, len(want))
	}

	// A cursor before every name, as a hand-made link may carry, lists
	// from the first match.
	page, err = db.ListApplications(ctx, account, tokenservice.ListOptions{Filter: filter, Limit: tokenservice.MaxListLimit,
		After: encodeCursor(cursor{Key: "\x01", ClientID: "x"})})
	if err != nil {
		t.Fatal(err)
	}
	if got := clientIDs(page.Applications); !slices.Equal(got, want) {
		t.Errorf("after a cursor before every name: listed %q, want %q", got, want)
	}

	var got []string
	after := ""
	for pages := 1; ; pages++ {
		page, err := db.ListApplications(ctx, account, tokenservice.ListOptions{Filter: filter, After: after, Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != len(want) {
			t.Errorf("page %d: Total = %d, want %d", pages, page.Total, len(want))
		}
		got = append(got, clientIDs(page.Applications)...)
		if page.Next == "" || pages > len(want) {
			break
		}
		after = page.Next
	}
	if !slices.Equal(got, want) {
		t.Errorf("paged through %q, want %q", got, want)
	}

	if len(want) > 0 {
		last, err := db.GetApplication(ctx, account, want[len(want)-1])
		if err != nil {
			t.Fatal(err)
		}
		page, err := db.ListApplications(ctx, account, tokenservice.ListOptions{Filter: filter,
			After: encodeCursor(cursor{Key: NameSortKey(last.Name), ClientID: last.ClientID})})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Applications) != 0 || page.Next != "" || page.Total != len(want) {
			t.Errorf("after the last match: listed %q, next %q, Total %d; want none, \"\", %d",
				clientIDs(page.Applications), page.Next, page.Total, len(want))
		}
	}
}
