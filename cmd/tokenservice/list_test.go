package main

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// TestListSortAndPaging: the list sorts by each column (names naturally),
// keeps the sort with the filter in its links, says where a page is
// ("51–62 of 62") and pages back with Previous; bad sort and cursor values
// list from the start, never an error page.
func TestListSortAndPaging(t *testing.T) {
	t.Parallel()
	m := newMain(t)
	admin := signIn(t, m, "admin@acme.example")
	var ids []string
	for i := 1; i <= 62; i++ {
		ids = append(ids, admin.createApp(fmt.Sprintf("App %d", i), nil))
	}

	first := admin.get("/applications")
	got := listedClientIDs(t, first.body)
	if len(got) != 50 || got[0] != ids[0] || got[1] != ids[1] || got[9] != ids[9] {
		t.Fatalf("first page by name starts %v, want App 1, App 2 … App 10 in natural order", got[:10])
	}
	if r := testIDText(t, first.body, "range"); r != "1–50 of 62" {
		t.Errorf("range = %q, want 1–50 of 62", r)
	}
	next := linkHref(t, first.body, "next")
	if next == "" {
		t.Fatal("no Next page link")
	}
	second := admin.get(next)
	if r := testIDText(t, second.body, "range"); r != "51–62 of 62" {
		t.Errorf("range = %q, want 51–62 of 62", r)
	}
	if got := listedClientIDs(t, second.body); !slices.Equal(got, ids[50:]) {
		t.Errorf("second page = %v, want %v", got, ids[50:])
	}
	prev := linkHref(t, second.body, "prev")
	if prev == "" {
		t.Fatal("no Previous page link")
	}
	back := admin.get(prev)
	if got := listedClientIDs(t, back.body); !slices.Equal(got, listedClientIDs(t, first.body)) {
		t.Errorf("Previous page differs from the first")
	}

	t.Run("SortByColumns", func(t *testing.T) {
		p := admin.get("/applications?sort=-name")
		if got := listedClientIDs(t, p.body); len(got) == 0 || got[0] != ids[61] || got[1] != ids[60] {
			t.Errorf("Z to A starts with %v, want App 62, App 61", got)
		}
		if !strings.Contains(p.body, `aria-sort="descending"`) {
			t.Error("Z to A: no column says aria-sort descending")
		}
		for _, sort := range []string{"created", "-created", "last_used", "-last_used"} {
			p := admin.get("/applications?sort=" + sort)
			if got := listedClientIDs(t, p.body); len(got) != 50 {
				t.Errorf("sort %s listed %d, want 50", sort, len(got))
			}
			if !strings.Contains(p.body, `aria-sort="`) {
				t.Errorf("sort %s: no column says aria-sort", sort)
			}
		}
	})

	t.Run("SortKeptWithFilter", func(t *testing.T) {
		p := admin.get("/applications?q=app+1&sort=-created")
		got := listedClientIDs(t, p.body)
		// App 1, App 10 … App 19: newest first is App 19.
		if len(got) != 11 || got[0] != ids[18] {
			t.Errorf("filter and sort listed %v", got)
		}
		if link := linkByTestID(t, p.body, "sort-Name"); !strings.Contains(link, "q=app+1") {
			t.Errorf("the Name header's link %q drops the filter", link)
		}
	})

	t.Run("BadValuesListFromTheStart", func(t *testing.T) {
		for _, path := range []string{
			"/applications?sort=size",
			"/applications?sort=%00",
			"/applications?after=not-a-cursor",
			"/applications?before=eyJjIjoieCJ9",
			"/applications?sort=created&after=" + url.QueryEscape(strings.TrimPrefix(next, "/applications?after=")),
			"/applications?view=expiring&after=x",
		} {
			p := admin.get(path)
			if p.status != http.StatusOK {
				t.Errorf("%s = %d, want 200", path, p.status)
				continue
			}
			if strings.Contains(p.body, "goroutine") || strings.Contains(p.body, "error-page") {
				t.Errorf("%s: an error page", path)
			}
			got := listedClientIDs(t, p.body)
			if !strings.Contains(path, "expiring") && (len(got) == 0 || !strings.Contains(path, "sort=") && got[0] != ids[0]) {
				t.Errorf("%s: not the list from the start: %v", path, got)
			}
		}
	})
}

// TestListHighlightsNewApplication: after Add, the next list shows the new
// application above the table and marks its row, once; another account's
// list never does.
func TestListHighlightsNewApplication(t *testing.T) {
	t.Parallel()
	m := newMain(t)
	admin := signIn(t, m, "admin@acme.example")
	for i := range 3 {
		admin.createApp(fmt.Sprintf("Zeta %d", i), nil)
	}
	id := admin.createApp("Alpha new", nil)
	admin.get("/applications/" + id)
	p := admin.get("/applications")
	if got := testIDText(t, p.body, "just-added"); !strings.Contains(got, "Alpha new") {
		t.Errorf("just-added = %q, want the new application", got)
	}
	if !strings.Contains(p.body, `data-client-id="`+id+`" class="is-new"`) {
		t.Error("the new application's row is not marked")
	}
	if p := admin.get("/applications"); testIDText(t, p.body, "just-added") != "" {
		t.Error("highlighted again on the next visit")
	}
}

// TestDuplicateNameWarning: Add with a name the account has already warns
// and saves nothing; posting the warned form again registers it.
func TestDuplicateNameWarning(t *testing.T) {
	t.Parallel()
	m := newMain(t)
	admin := signIn(t, m, "admin@acme.example")
	admin.createApp("App 1", nil)
	admin.get("/applications/new")
	p := admin.post("/applications", url.Values{"name": {"app 1"}})
	if p.status != http.StatusUnprocessableEntity {
		t.Fatalf("same name = %d, want 422", p.status)
	}
	if got := testIDText(t, p.body, "same-name-warning"); !strings.Contains(got, "“App 1” already exists") {
		t.Fatalf("warning = %q", got)
	}
	if n := countApps(t, m, "acme"); n != 1 {
		t.Errorf("applications = %d after the warning, want 1", n)
	}
	p = admin.post("/applications", url.Values{"name": {"app 1"}, "confirmed_name": {"app 1"}, "_form": {formKeyOf(p.body)}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("confirmed = %d, want 303", p.status)
	}
	if n := countApps(t, m, "acme"); n != 2 {
		t.Errorf("applications = %d after confirming, want 2", n)
	}
}

// linkHref is the href of the page's link with the rel.
func linkHref(t *testing.T, body, rel string) string {
	t.Helper()
	for _, n := range findAll(parseHTML(t, body), func(n *html.Node) bool { return n.Data == "a" && attr(n, "rel") == rel }) {
		return attr(n, "href")
	}
	return ""
}

// linkByTestID is the href of the link with the data-testid.
func linkByTestID(t *testing.T, body, id string) string {
	t.Helper()
	for _, n := range byTestID(t, body, id) {
		return attr(n, "href")
	}
	return ""
}

// formKeyOf is the form's submission id (the _form field).
func formKeyOf(body string) string {
	i := strings.Index(body, `name="_form" value="`)
	if i < 0 {
		return ""
	}
	rest := body[i+len(`name="_form" value="`):]
	return rest[:strings.IndexByte(rest, '"')]
}
