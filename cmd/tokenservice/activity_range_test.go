package main

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"tokenservice/secret"
)

// TestActivityRefusedAttempts: what a person was refused — a read-only
// member's change, another account's application, an unknown Client ID —
// is in their own account's trail, with what they tried and why, once a
// minute; the other account's trail never hears of it.
func TestActivityRefusedAttempts(t *testing.T) {
	t.Parallel()
	m := newMain(t)
	admin := signIn(t, m, "admin@acme.example")
	id := admin.createApp("Billing sync", defaultScopes)
	globex := signIn(t, m, "admin@globex.example")
	globexID := globex.createApp("Globex payroll", defaultScopes)
	viewer := signIn(t, m, "viewer@acme.example")
	viewer.get("/applications") // the CSRF token of a page a viewer sees

	for range 3 { // a retried refusal is one event
		if p := viewer.post("/applications/"+id+"/reset", url.Values{}); p.status != http.StatusForbidden {
			t.Fatalf("viewer reset = %d, want 403", p.status)
		}
	}
	if p := viewer.getRaw("/applications/"+globexID, nil); p.status != http.StatusNotFound {
		t.Fatalf("viewer GET globex's application = %d, want 404", p.status)
	}
	missing := secret.NewClientID()
	if p := admin.getRaw("/applications/"+missing+"/edit", nil); p.status != http.StatusNotFound {
		t.Fatalf("admin GET an unknown application = %d, want 404", p.status)
	}
	// Not refusals of a person: a missing page, a static file, health.
	admin.getRaw("/no-such-page", nil)
	admin.getRaw("/static/no-such-file.css", nil)
	admin.getRaw("/healthz", nil)

	page := admin.get("/activity?action=access.refused")
	rows := activityRows(t, page.body)
	want := []struct{ who, what string }{
		{"admin@acme.example", "Refused: admin@acme.example tried to edit an application (GET /applications/" + missing + "/edit)Reason: not found in the account"},
		{"viewer@acme.example", "Refused: viewer@acme.example tried to open an application (GET /applications/" + globexID + ")Reason: not found in the account"},
		{"viewer@acme.example", "Refused: viewer@acme.example tried to reset a client secret (POST /applications/" + id + "/reset)Reason: read-only access"},
	}
	if len(rows) != len(want) {
		t.Fatalf("refused events = %+v, want %d", rows, len(want))
	}
	for i, w := range want {
		if rows[i].who != w.who || !strings.HasPrefix(rows[i].what, "Access refused") || !strings.Contains(rows[i].what, w.what) {
			t.Errorf("event %d = %+v, want %s: %s", i, rows[i], w.who, w.what)
		}
		if rows[i].app != "—" {
			t.Errorf("event %d names an application: %q", i, rows[i].app)
		}
	}
	if !strings.Contains(page.body, `<option value="access.refused" selected>Access refused</option>`) {
		t.Error("the action filter does not offer Access refused")
	}

	// The other account's trail has nothing of acme's people, and acme's
	// nothing of globex's application.
	p := globex.get("/activity/export?format=jsonl")
	if strings.Contains(p.body, "access.refused") || strings.Contains(p.body, "viewer@acme.example") {
		t.Errorf("globex's trail holds acme's refusals:\n%s", p.body)
	}
	p = admin.get("/activity/export?format=jsonl&action=access.refused")
	if strings.Contains(p.body, "Globex payroll") {
		t.Error("acme's trail names globex's application")
	}
	var refused []struct {
		Action  string `json:"action"`
		Refused struct {
			Method, Path, Reason string
		} `json:"refused"`
	}
	for _, line := range strings.Split(strings.TrimSpace(p.body), "\n") {
		var e struct {
			Action  string `json:"action"`
			Refused struct {
				Method, Path, Reason string
			} `json:"refused"`
		}
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		refused = append(refused, e)
	}
	if len(refused) != 3 || refused[2].Refused.Method != "POST" || refused[2].Refused.Path != "/applications/"+id+"/reset" || refused[2].Refused.Reason != "read_only" {
		t.Errorf("exported refusals = %+v", refused)
	}
	csvPage := admin.get("/activity/export?format=csv&action=access.refused")
	if !strings.Contains(csvPage.body, "Reason: read-only access") {
		t.Errorf("the CSV does not describe the refusal:\n%s", csvPage.body)
	}
}

// TestActivityTimeRangeAndApplication: the time range and the application
// field narrow the account's trail, are kept in the page's links and
// exports, and bad values say so instead of showing events.
func TestActivityTimeRangeAndApplication(t *testing.T) {
	t.Parallel()
	// The trail is made as time goes by: three days ago, two hours ago and
	// now, a sign-in each time (the provider's sessions last less).
	clock := &testClock{}
	clock.advance(-3 * 24 * time.Hour)
	m := newMain(t, clock.configure())
	then := signIn(t, m, "admin@acme.example")
	billing := then.createApp("Billing sync", defaultScopes)
	rename(t, then, billing, "Billing old")
	clock.advance(3*24*time.Hour - 2*time.Hour)
	then = signIn(t, m, "admin@acme.example")
	rename(t, then, billing, "Billing yesterday")
	crm := then.createApp("CRM import", defaultScopes)
	rename(t, then, crm, "CRM yesterday")
	clock.advance(2 * time.Hour)
	admin := signIn(t, m, "admin@acme.example")
	rename(t, admin, billing, "Billing sync")
	now := clock.now()
	names := func(body string) []string {
		var out []string
		for _, line := range strings.Split(strings.TrimSpace(body), "\n") {
			var e struct {
				Application string `json:"application"`
			}
			if err := json.Unmarshal([]byte(line), &e); err == nil && strings.Contains(line, "application.renamed") {
				out = append(out, e.Application)
			}
		}
		return out
	}

	t.Run("LastHour", func(t *testing.T) {
		p := admin.get("/activity?range=1h&action=application.renamed")
		if rows := activityRows(t, p.body); len(rows) != 1 || !strings.Contains(rows[0].app, "Billing sync") {
			t.Errorf("the last hour shows %+v", rows)
		}
		if !hasTestID(t, p.body, "activity-range") {
			t.Error("the page does not say which times it shows")
		}
		if !strings.Contains(p.body, "range=1h") || !strings.Contains(p.body, `<option value="1h" selected>`) {
			t.Error("the range is not kept in the page")
		}
	})

	t.Run("Last24HoursExport", func(t *testing.T) {
		p := admin.get("/activity/export?format=jsonl&range=24h")
		if got := names(p.body); strings.Join(got, ",") != "Billing sync,CRM yesterday,Billing yesterday" {
			t.Errorf("the last 24 hours export %q", got)
		}
	})

	t.Run("CustomRangeInTheViewersZone", func(t *testing.T) {
		loc, _ := time.LoadLocation("Asia/Tokyo")
		from, to := now.Add(-4*24*time.Hour).In(loc), now.Add(-24*time.Hour).In(loc)
		q := url.Values{"range": {"custom"}, "from": {from.Format("2006-01-02T15:04")}, "to": {to.Format("2006-01-02T15:04")}, "tz": {"Asia/Tokyo"}}
		p := admin.get("/activity?" + q.Encode())
		var got []string
		for _, r := range activityRows(t, p.body) {
			got = append(got, actionOf(r)+" "+r.app)
		}
		if strings.Join(got, "; ") != "Application renamed Billing old"+billing+"; Application created Billing sync"+billing+"; Signed in —" {
			t.Errorf("the custom range shows %q", got)
		}
		if got := testIDText(t, p.body, "activity-range"); !strings.Contains(got, from.UTC().Format("15:04 UTC")) {
			t.Errorf("the range's summary %q does not say its start in UTC", got)
		}
	})

	t.Run("ApplicationByClientIDAndName", func(t *testing.T) {
		for _, field := range []string{billing, "billing sync"} {
			p := admin.get("/activity?" + url.Values{"application": {field}, "range": {"24h"}}.Encode())
			rows := activityRows(t, p.body)
			if len(rows) == 0 {
				t.Fatalf("application %q: no events", field)
			}
			for _, r := range rows {
				if !strings.Contains(r.app, billing) {
					t.Errorf("application %q shows %+v", field, r)
				}
			}
			csvURL := ""
			for _, a := range findAll(parseHTML(t, p.body), func(n *html.Node) bool {
				return n.Data == "a" && strings.HasPrefix(attr(n, "href"), "/activity/export?")
			}) {
				if strings.Contains(attr(a, "href"), "format=csv") {
					csvURL = attr(a, "href")
				}
			}
			if !strings.Contains(csvURL, "application="+billing) || !strings.Contains(csvURL, "range=24h") {
				t.Fatalf("the CSV link %q does not carry the filter", csvURL)
			}
			export := admin.get(csvURL)
			body, ok := strings.CutPrefix(export.body, "\uFEFF")
			if !ok {
				t.Error("the CSV has no byte order mark")
			}
			records, err := csv.NewReader(strings.NewReader(body)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range records[1:] {
				if r[4] != billing || r[5] == "Billing old" || r[5] == "Billing sync" && r[1] == "application.created" {
					t.Errorf("the export of %q holds %q", field, r)
				}
			}
			if len(records) < 3 {
				t.Errorf("the export of %q has %d events", field, len(records)-1)
			}
		}
	})

	t.Run("ApplicationPage", func(t *testing.T) {
		// The application's own page takes the range; its path, not an
		// application field, says which application.
		p := admin.get("/applications/" + billing + "/activity?range=24h&application=" + crm)
		var got []string
		for _, r := range activityRows(t, p.body) {
			got = append(got, r.what)
		}
		if len(got) != 2 || !strings.Contains(got[0], "to “Billing sync”") || !strings.Contains(got[1], "to “Billing yesterday”") {
			t.Errorf("the application's last 24 hours = %q", got)
		}
		if strings.Contains(p.body, `value="access.refused"`) {
			t.Error("an application's page offers refused attempts, which name no application")
		}
	})

	t.Run("Suggestions", func(t *testing.T) {
		p := admin.get("/activity/applications?application=bill")
		if !strings.Contains(p.body, `<option value="`+billing+`">Billing sync</option>`) || strings.Contains(p.body, crm) {
			t.Errorf("suggestions = %s", p.body)
		}
	})

	t.Run("BadValues", func(t *testing.T) {
		for query, want := range map[string]string{
			"range=custom&from=2026-12-03T17:00&to=2026-12-03T09:00": "not after its start",
			"range=custom&from=tomorrow":                             "not a date and time",
			"range=custom&from=2026-12-03T17:00&tz=Nowhere/Else":     "time zone",
			"application=No+such+app":                                "No application in your account is called",
		} {
			p := admin.getRaw("/activity?"+query, nil)
			if p.status != http.StatusUnprocessableEntity || !strings.Contains(testIDText(t, p.body, "activity-problem"), want) {
				t.Errorf("%s = %d, want 422 saying %q", query, p.status, want)
			}
			if len(activityRows(t, p.body)) != 0 {
				t.Errorf("%s shows events", query)
			}
			if e := admin.getRaw("/activity/export?format=csv&"+query, nil); e.status != http.StatusUnprocessableEntity || strings.Contains(e.body, "application.renamed") {
				t.Errorf("export %s = %d, want 422", query, e.status)
			}
		}
		// A stale link's unknown range is all time, as the other filters do.
		if p := admin.get("/activity?range=fortnight"); p.status != http.StatusOK || len(activityRows(t, p.body)) < 3 {
			t.Errorf("an unknown range = %d", p.status)
		}
	})
}

// rename renames the application id through its Edit form.
func rename(t *testing.T, c *client, id, name string) {
	t.Helper()
	edit := appForm(t, c.get("/applications/"+id+"/edit").body)
	edit.values.Set("name", name)
	if p := c.post("/applications/"+id, edit.values); p.status != http.StatusSeeOther {
		t.Fatalf("rename to %q = %d\n%s", name, p.status, p.body)
	}
}
