package db

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"tokenservice"
)

func TestNameSortKey(t *testing.T) {
	for _, tt := range []struct {
		name, want string
	}{
		{"App", "app"},
		{"App 2", "app 0012"},
		{"App 10", "app 00210"},
		{"App 007", "app 0017"},         // leading zeros are not value
		{"App 0", "app 0010"},           // zero stays a number
		{"App 000", "app 0010"},         //
		{"v1.10.2", "v0011.00210.0012"}, // every run on its own
		{"12345678901234567890123", "02312345678901234567890123"}, // past any integer type
		{"App ٣", "app ٣"}, // Arabic-Indic digits stay text
		{"App ３", "app ３"}, // and full-width ones
		{"ÉCLAIR 9", "éclair 0019"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := NameSortKey(tt.name); got != tt.want {
				t.Errorf("NameSortKey(%q) = %q, want %q", tt.name, got, tt.want)
			}
		})
	}

	// The order the keys give, bytewise, as both databases compare them.
	names := []string{"App 10", "app 2", "App 1", "App 02", "App 1a", "App 1 b", "App", "App 100", "App 99",
		"v1.10", "v1.9", "b", "A 12345678901234567890", "A 9", "App ٣", "App 3"}
	slices.SortStableFunc(names, func(a, b string) int { return strings.Compare(NameSortKey(a), NameSortKey(b)) })
	want := []string{"A 9", "A 12345678901234567890", "App", "App 1", "App 1 b", "App 1a", "app 2", "App 02", "App 3",
		"App 10", "App 99", "App 100", "App ٣", "b", "v1.9", "v1.10"}
	if !slices.Equal(names, want) {
		t.Errorf("order:\n got %q\nwant %q", names, want)
	}
}

// TestListApplicationsOrders: every order walks the whole list by keyset,
// forwards and then backwards from the last page, in the order a plain Go
// sort gives, each row once, with the position of each page, with and
// without a filter (of each of the filter's ways).
func TestListApplicationsOrders(t *testing.T) { forEachStore(t, testListApplicationsOrders) }

func testListApplicationsOrders(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	var apps []*tokenservice.Application
	for i := range 37 {
		name := fmt.Sprintf("App %d", i%23)
		if i%5 == 0 {
			name = fmt.Sprintf("siem export %d", i)
		}
		app := mustCreate(t, db, "acme", fmt.Sprintf("acme-%02d", (i*11)%37), name)
		apps = append(apps, app)
	}
	mustCreate(t, db, "globex", "globex-1", "App 1")
	// Creation times and last use apart, some never used, two at the same time.
	for i, a := range apps {
		created := now.Add(time.Duration((i*17)%37) * time.Minute)
		var used any
		if i%4 != 0 {
			used = millis(now.Add(time.Duration((i*7)%11) * time.Hour))
		}
		if _, err := db.pool.ExecContext(ctx, `UPDATE applications SET created_at = ?, last_used_at = ? WHERE client_id = ?`,
			millis(created), used, a.ClientID); err != nil {
			t.Fatal(err)
		}
		a.CreatedAt = fromMillis(millis(created))
		if used != nil {
			a.LastUsedAt = fromMillis(used.(int64))
		}
	}

	for sort, o := range listOrders {
		for _, filter := range []string{"", "ap", "app 1", "siem", "acme-1"} {
			t.Run(fmt.Sprintf("%s/%q", cmpOr(sort, "name"), filter), func(t *testing.T) {
				var want []string
				matching := slices.Clone(apps)
				matching = slices.DeleteFunc(matching, func(a *tokenservice.Application) bool {
					return !strings.Contains(nameKey(a.Name), filter) && !strings.Contains(strings.ToLower(a.ClientID), filter)
				})
				slices.SortFunc(matching, func(a, b *tokenservice.Application) int { return o.compare(o.keyOf(a), o.keyOf(b)) })
				want = clientIDs(matching)

				var got []string
				var pages []*tokenservice.ApplicationPage
				opt := tokenservice.ListOptions{Sort: sort, Filter: filter, Limit: 4}
				for {
					page, err := db.ListApplications(ctx, "acme", opt)
					if err != nil {
						t.Fatal(err)
					}
					if page.Offset != len(got) {
						t.Errorf("page %d: Offset = %d, want %d", len(pages)+1, page.Offset, len(got))
					}
					if page.Total != len(want) {
						t.Errorf("page %d: Total = %d, want %d", len(pages)+1, page.Total, len(want))
					}
					if (page.Prev == "") != (len(pages) == 0) {
						t.Errorf("page %d: Prev = %q", len(pages)+1, page.Prev)
					}
					got = append(got, clientIDs(page.Applications)...)
					pages = append(pages, page)
					if page.Next == "" || len(pages) > 20 {
						break
					}
					opt.After = page.Next
				}
				if !slices.Equal(got, want) {
					t.Fatalf("forwards:\n got %q\nwant %q", got, want)
				}

				// Back from the last page by each page's Prev, to the first.
				opt.After = ""
				for i := len(pages) - 1; i > 0; i-- {
					opt.Before = pages[i].Prev
					page, err := db.ListApplications(ctx, "acme", opt)
					if err != nil {
						t.Fatal(err)
					}
					if g, w := clientIDs(page.Applications), clientIDs(pages[i-1].Applications); !slices.Equal(g, w) {
						t.Errorf("back from page %d: got %q, want %q", i+1, g, w)
					}
					if page.Offset != pages[i-1].Offset || page.Total != len(want) {
						t.Errorf("back from page %d: Offset %d Total %d, want %d and %d", i+1, page.Offset, page.Total, pages[i-1].Offset, len(want))
					}
					if page.Next != pages[i-1].Next || page.Prev != pages[i-1].Prev {
						t.Errorf("back from page %d: links differ from the page's own", i+1)
					}
				}
			})
		}
	}

	t.Run("CursorOfAnotherOrder", func(t *testing.T) {
		page, err := db.ListApplications(ctx, "acme", tokenservice.ListOptions{Limit: 4})
		if err != nil {
			t.Fatal(err)
		}
		_, err = db.ListApplications(ctx, "acme", tokenservice.ListOptions{Limit: 4, Sort: tokenservice.SortCreated, After: page.Next})
		wantCode(t, err, tokenservice.EINVALID)
		_, err = db.ListApplications(ctx, "acme", tokenservice.ListOptions{Sort: "size"})
		wantCode(t, err, tokenservice.EINVALID)
	})
}

func cmpOr(s, or string) string {
	if s == "" {
		return or
	}
	return s
}

// TestMigrationFillsNameKeys: a database from before migration 8 gets the
// natural key of every application's name when it is opened.
func TestMigrationFillsNameKeys(t *testing.T) { forEachStore(t, testMigrationFillsNameKeys) }

func testMigrationFillsNameKeys(t *testing.T) {
	ctx := context.Background()
	url := newTestURL(t)
	db, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"App 10", "App 2", "Zeta", "app 1"} {
		mustCreate(t, db, "acme", fmt.Sprintf("acme-%d", i), name)
	}
	// Back to version 7: no name_key, no indexes of the orders.
	for _, stmt := range []string{
		`DROP INDEX applications_account_name_key`, `DROP INDEX applications_account_created`,
		`DROP INDEX applications_account_last_used`, `ALTER TABLE applications DROP COLUMN name_key`,
		`DELETE FROM schema_migrations WHERE version = 8`,
	} {
		if _, err := db.pool.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	db.Close()

	db, err = Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	page, err := db.ListApplications(ctx, "acme", tokenservice.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range page.Applications {
		names = append(names, a.Name)
	}
	if got, want := names, []string{"app 1", "App 2", "App 10", "Zeta"}; !slices.Equal(got, want) {
		t.Errorf("after the migration: %q, want %q", got, want)
	}
}
