package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"

	"tokenservice"
	"tokenservice/secret"
)

// activityRow is one event as the Activity page shows it.
type activityRow struct {
	id, when, who, what, app, from string
}

func activityRows(t *testing.T, body string) []activityRow {
	t.Helper()
	var out []activityRow
	for _, tr := range findAll(parseHTML(t, body), func(n *html.Node) bool { return n.Data == "tr" && hasAttr(n, "data-event-id") }) {
		cells := map[string]string{}
		for _, td := range findAll(tr, func(n *html.Node) bool { return n.Data == "td" }) {
			cells[attr(td, "data-label")] = strings.Join(strings.Fields(textOf(td)), " ")
		}
		out = append(out, activityRow{id: attr(tr, "data-event-id"), when: cells["When"], who: cells["Who"], what: cells["What"], app: cells["Application"], from: cells["From"]})
	}
	return out
}

// actionOf is the label at the start of a What cell.
func actionOf(r activityRow) string {
	for _, a := range tokenservice.Actions {
		if strings.HasPrefix(r.what, a.Label()) {
			return a.Label()
		}
	}
	return r.what
}

func actionsOf(rows []activityRow) []string {
	var out []string
	for _, r := range rows {
		out = append(out, actionOf(r))
	}
	return out
}

func TestActivity(t *testing.T) {
	t.Parallel()
	m := newMain(t)
	admin := signIn(t, m, "admin@acme.example")
	const name = `Billing <script>alert(1)</script>`
	id := admin.createApp(name, url.Values{"scope.forensics:account": {"read-write"}})
	plaintext := admin.reveal(id)
	if p := admin.copySecret(id); p.status != http.StatusOK || p.body != plaintext {
		t.Fatalf("copy = %d", p.status)
	}
	edit := appForm(t, admin.get("/applications/"+id+"/edit").body)
	edit.values.Set("name", "=HYPERLINK(\"http://evil.example\")")
	edit.values.Set("scope.forensics:account", "read")
	if p := admin.post("/applications/"+id, edit.values); p.status != http.StatusSeeOther {
		t.Fatalf("save = %d\n%s", p.status, p.body)
	}
	reset := findForm(t, admin.get("/applications/"+id+"/reset").body, func(n *html.Node) bool { return strings.HasSuffix(attr(n, "action"), "/reset") })
	if p := admin.post("/applications/"+id+"/reset", reset.values); p.status != http.StatusSeeOther {
		t.Fatalf("reset = %d", p.status)
	}
	newSecret := admin.reveal(id)
	del := findForm(t, admin.get("/applications/"+id+"/delete").body, func(n *html.Node) bool { return strings.HasSuffix(attr(n, "action"), "/delete") })
	if p := admin.post("/applications/"+id+"/delete", del.values); p.status != http.StatusSeeOther {
		t.Fatalf("delete = %d", p.status)
	}
	other := signIn(t, m, "admin@acme.example")
	if p := other.post("/auth/logout", nil); p.status != http.StatusSeeOther {
		t.Fatalf("logout = %d", p.status)
	}
	secrets := []string{plaintext, newSecret}

	p := admin.get("/activity")
	if p.status != http.StatusOK {
		t.Fatalf("activity = %d", p.status)
	}
	rows := activityRows(t, p.body)
	want := []string{"Signed out", "Signed in", "Application deleted", "Client secret shown", "Client secret reset",
		"Scopes changed", "Application renamed", "Client secret copied", "Client secret shown", "Application created", "Signed in"}
	if got := actionsOf(rows); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("activity, newest first:\n got %q\nwant %q", got, want)
	}
	for _, r := range rows {
		if r.who != "admin@acme.example" || !strings.Contains(r.from, "127.0.0.1") || !strings.Contains(r.from, "Go-http-client") || r.when == "" {
			t.Errorf("row %+v: want who, when, address and user agent", r)
		}
	}
	for i, want := range map[int]string{
		6: "Renamed from “" + name + "” to “=HYPERLINK(\"http://evil.example\")”",
		5: "Incident Response (forensics:account): Read & Write → Read",
		9: "Incident Response (forensics:account): Read & Write",
	} {
		if !strings.Contains(rows[i].what, want) {
			t.Errorf("row %d = %q, want it to say %q", i, rows[i].what, want)
		}
	}
	if rows[9].app != name+id || rows[1].app != "—" {
		t.Errorf("application cells: %q, %q", rows[9].app, rows[1].app)
	}
	if strings.Contains(p.body, "<script>alert(1)") {
		t.Error("a name is rendered as markup")
	}
	for _, s := range secrets {
		if strings.Contains(p.body, s) {
			t.Errorf("the activity page shows a secret (%.8s…)", s)
		}
	}
	if secretPattern.MatchString(p.body) {
		t.Error("the activity page shows a client secret")
	}

	t.Run("Filters", func(t *testing.T) {
		rows := activityRows(t, admin.get("/activity?action=secret.revealed").body)
		if got := actionsOf(rows); strings.Join(got, "|") != "Client secret shown|Client secret shown" {
			t.Errorf("reveals = %q", got)
		}
		signIn(t, m, "viewer@acme.example")
		doc := parseHTML(t, admin.get("/activity").body)
		subject := ""
		for _, o := range findAll(doc, func(n *html.Node) bool { return n.Data == "option" }) {
			if textOf(o) == "viewer@acme.example" {
				subject = attr(o, "value")
			}
		}
		if subject == "" {
			t.Fatal("the person filter does not offer viewer@acme.example")
		}
		rows = activityRows(t, admin.get("/activity?actor="+url.QueryEscape(subject)).body)
		if len(rows) != 1 || rows[0].who != "viewer@acme.example" || actionOf(rows[0]) != "Signed in" {
			t.Errorf("the viewer's events = %+v", rows)
		}
		rows = activityRows(t, admin.get("/activity?action=session.signed_in&actor="+url.QueryEscape(subject)).body)
		if len(rows) != 1 {
			t.Errorf("two filters: %d rows, want 1", len(rows))
		}
		p := admin.get("/activity?action=nonsense&before=x&actor=%00")
		if p.status != http.StatusOK || len(activityRows(t, p.body)) < 10 {
			t.Errorf("bad filter values: %d with %d rows, want the whole trail", p.status, len(activityRows(t, p.body)))
		}
	})

	t.Run("OneApplication", func(t *testing.T) {
		p := admin.get("/applications/" + id + "/activity")
		if p.status != http.StatusOK {
			t.Fatalf("a deleted application's activity = %d", p.status)
		}
		rows := activityRows(t, p.body)
		if len(rows) != 8 || actionOf(rows[0]) != "Application deleted" || actionOf(rows[7]) != "Application created" {
			t.Errorf("the application's events = %q", actionsOf(rows))
		}
		if !strings.Contains(p.body, "(deleted)") {
			t.Error("the page does not say the application is deleted")
		}
	})

	t.Run("ExportCSV", func(t *testing.T) {
		p := admin.get("/activity/export?format=csv")
		if p.status != http.StatusOK || !strings.HasPrefix(p.header.Get("Content-Type"), "text/csv") || !strings.Contains(p.header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("export = %d %q %q", p.status, p.header.Get("Content-Type"), p.header.Get("Content-Disposition"))
		}
		// A UTF-8 byte order mark first, for the spreadsheets that guess.
		body, ok := strings.CutPrefix(p.body, "\uFEFF")
		if !ok {
			t.Errorf("the CSV does not start with a byte order mark: %q", p.body[:min(len(p.body), 8)])
		}
		records, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := strings.Join(records[0], ","), "time,action,actor_email,actor_subject,client_id,application,details,address,user_agent"; got != want {
			t.Errorf("header = %s", got)
		}
		if got := len(records) - 1; got < len(rows) {
			t.Errorf("exported %d events, the page shows %d", got, len(rows))
		}
		for _, r := range records[1:] {
			for _, cell := range r {
				if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
					t.Errorf("cell %q would start a spreadsheet formula", cell)
				}
			}
			if _, err := time.Parse(time.RFC3339Nano, r[0]); err != nil {
				t.Errorf("time %q: %v", r[0], err)
			}
		}
		if !strings.Contains(p.body, `'=HYPERLINK`) {
			t.Error("the formula-like name is not neutralised in the CSV")
		}
		for _, s := range secrets {
			if strings.Contains(p.body, s) {
				t.Errorf("the CSV holds a secret (%.8s…)", s)
			}
		}
	})

	t.Run("ExportJSONLines", func(t *testing.T) {
		p := admin.get("/activity/export?format=jsonl&application=" + id)
		if p.status != http.StatusOK {
			t.Fatalf("export = %d", p.status)
		}
		var actions []string
		sc := bufio.NewScanner(strings.NewReader(p.body))
		for sc.Scan() {
			var e struct {
				Action   string `json:"action"`
				ClientID string `json:"client_id"`
				Actor    struct {
					Email   string `json:"email"`
					Address string `json:"address"`
				} `json:"actor"`
			}
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				t.Fatalf("line %q: %v", sc.Text(), err)
			}
			if e.ClientID != id || e.Actor.Email != "admin@acme.example" || e.Actor.Address != "127.0.0.1" {
				t.Errorf("line %s", sc.Text())
			}
			actions = append(actions, e.Action)
		}
		if len(actions) != 8 || actions[0] != "application.deleted" {
			t.Errorf("actions = %v", actions)
		}
		if strings.Contains(p.body, "<script>") {
			t.Error("the JSON lines hold unescaped markup")
		}
		for _, s := range secrets {
			if strings.Contains(p.body, s) {
				t.Errorf("the JSON lines hold a secret (%.8s…)", s)
			}
		}
	})

	t.Run("Paging", func(t *testing.T) {
		for i := range 120 {
			if err := m.Store.RecordEvent(context.Background(), &tokenservice.Event{AccountID: "acme", At: time.Now(), Action: tokenservice.ActionSignedIn,
				Actor: tokenservice.Actor{Subject: "bulk", Email: fmt.Sprintf("bulk%d@acme.example", i)}}); err != nil {
				t.Fatal(err)
			}
		}
		seen := map[string]bool{}
		path, pages := "/activity", 0
		for path != "" {
			p := admin.get(path)
			pages++
			for _, r := range activityRows(t, p.body) {
				if seen[r.id] {
					t.Fatalf("event %s on two pages", r.id)
				}
				seen[r.id] = true
			}
			path = ""
			for _, a := range findAll(parseHTML(t, p.body), func(n *html.Node) bool { return n.Data == "a" && attr(n, "rel") == "next" }) {
				path = attr(a, "href")
			}
		}
		if total := len(rows) + 1 + 120; len(seen) < total || pages != (len(seen)+49)/50 {
			t.Errorf("paged through %d events in %d pages, want at least %d", len(seen), pages, total)
		}
	})

	t.Run("ReadOnlyMember", func(t *testing.T) {
		viewer := signIn(t, m, "viewer@acme.example")
		for _, path := range []string{"/activity", "/activity/export?format=csv", "/applications/" + id + "/activity"} {
			if p := viewer.getRaw(path, nil); p.status != http.StatusForbidden {
				t.Errorf("viewer GET %s = %d, want 403", path, p.status)
			}
		}
		if hasLink(t, viewer.get("/applications").body, "/activity") {
			t.Error("a read-only member is offered Activity")
		}
	})

	t.Run("OtherAccount", func(t *testing.T) {
		globex := signIn(t, m, "admin@globex.example")
		missing := secret.NewClientID()
		for _, path := range []string{"/applications/%s/activity", "/activity/export?format=csv&application=%s"} {
			p, q := globex.getRaw(fmt.Sprintf(path, id), nil), globex.getRaw(fmt.Sprintf(path, missing), nil)
			if p.status != http.StatusNotFound || q.status != http.StatusNotFound || normalize(p.body) != normalize(q.body) {
				t.Errorf("%s: acme's application %d, a missing one %d; want the same 404", path, p.status, q.status)
			}
		}
		p := globex.get("/activity")
		for _, r := range activityRows(t, p.body) {
			if r.who != "admin@globex.example" {
				t.Errorf("globex's activity shows %+v", r)
			}
		}
		p = globex.get("/activity/export?format=jsonl")
		if strings.Contains(p.body, "acme") {
			t.Error("globex's export holds acme's events")
		}
	})
}

// TestDoubleSubmit: every form posted twice, one after the other and at
// once, makes its change once, and the second post lands where the first
// did instead of on an error.
func TestDoubleSubmit(t *testing.T) {
	t.Parallel()
	m := newMain(t)
	admin := signIn(t, m, "admin@acme.example")

	postTwice := func(path string, f url.Values) (*page, *page) {
		var a, b *page
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); a = admin.post(path, f) }()
		go func() { defer wg.Done(); b = admin.post(path, f) }()
		wg.Wait()
		return a, b
	}

	add := appForm(t, admin.get("/applications/new").body)
	if add.values.Get("_form") == "" {
		t.Fatal("the Add form has no submission id")
	}
	add.values.Set("name", "Double click")
	a, b := postTwice("/applications", add.values)
	c := admin.post("/applications", add.values) // and once more, later
	loc := a.header.Get("Location")
	for _, p := range []*page{a, b, c} {
		if p.status != http.StatusSeeOther || p.header.Get("Location") != loc {
			t.Fatalf("add posted thrice: %d %q, want 303 to %q", p.status, p.header.Get("Location"), loc)
		}
	}
	if n := countApps(t, m, "acme"); n != 1 {
		t.Fatalf("applications = %d, want 1", n)
	}
	id := clientIDPath.FindStringSubmatch(loc)[1]
	before := stateOf(t, m, id)

	edit := appForm(t, admin.get("/applications/"+id+"/edit").body)
	edit.values.Set("name", "Double save")
	a, b = postTwice("/applications/"+id, edit.values)
	for _, p := range []*page{a, b} {
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/applications/"+id {
			t.Errorf("save posted twice: %d %q, want 303 to the details (not a conflict)\n%s", p.status, p.header.Get("Location"), p.body)
		}
	}
	if got := stateOf(t, m, id); got.Name != "Double save" || got.Version != before.Version+1 {
		t.Errorf("after two saves: %+v, want one new version", got)
	}

	confirm := func(action string) url.Values {
		return findForm(t, admin.get("/applications/"+id+"/"+action).body, func(n *html.Node) bool { return strings.HasSuffix(attr(n, "action"), "/"+action) }).values
	}
	gen := stateOf(t, m, id).Generation
	a, b = postTwice("/applications/"+id+"/reset", confirm("reset"))
	for _, p := range []*page{a, b} {
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/applications/"+id {
			t.Errorf("reset posted twice: %d %q", p.status, p.header.Get("Location"))
		}
	}
	if got := stateOf(t, m, id).Generation; got != gen+1 {
		t.Errorf("secret generation %d → %d, want one reset", gen, got)
	}
	if !strings.Contains(admin.get("/applications/"+id).body, "Show") {
		t.Error("after the double reset the new secret cannot be shown")
	}

	deletion := confirm("delete")
	a, b = postTwice("/applications/"+id+"/delete", deletion)
	c = admin.post("/applications/"+id+"/delete", deletion) // after it is gone
	for _, p := range []*page{a, b, c} {
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/applications" {
			t.Errorf("delete posted twice: %d %q, want 303 to the list", p.status, p.header.Get("Location"))
		}
	}

	rows := activityRows(t, admin.get("/applications/"+id+"/activity").body)
	if got, want := strings.Join(actionsOf(rows), "|"), "Application deleted|Client secret reset|Application renamed|Application created"; got != want {
		t.Errorf("trail = %s, want %s", got, want)
	}
}

// TestActivityAddress: the trail records the connection's address, and the
// X-Forwarded-For client only when the connection is from a proxy listed in
// --trusted-proxies.
func TestActivityAddress(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, trusted, want string
	}{
		{"NoProxyTrusted", "", "127.0.0.1"},
		{"OtherProxyTrusted", "127.0.0.9", "127.0.0.1"},
		{"ThroughTrustedProxy", "127.0.0.0/8", "203.0.113.9"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := newMain(t, func(m *Main) { m.Config.TrustedProxies = tt.trusted })
			admin := signIn(t, m, "admin@acme.example")
			admin.get("/applications/new")
			p := admin.request(http.MethodPost, "/applications", url.Values{"name": {"Forwarded"}, "_csrf": {admin.csrf}},
				http.Header{"X-Forwarded-For": {"203.0.113.9"}, "User-Agent": {"Proxy test agent/1.0"}}, false)
			if p.status != http.StatusSeeOther {
				t.Fatalf("create = %d", p.status)
			}
			rows := activityRows(t, admin.get("/activity?action=application.created").body)
			if len(rows) != 1 || rows[0].from != tt.want+"Proxy test agent/1.0" {
				t.Errorf("recorded from %+v, want %s and the user agent", rows, tt.want)
			}
		})
	}
}

// TestEditConflictShowsChanges: the loser of two edits gets the form back
// with their own input, told what the other admin changed meanwhile, and
// nothing of theirs is saved until they save again.
func TestEditConflictShowsChanges(t *testing.T) {
	t.Parallel()
	m := newMain(t)
	alice := signIn(t, m, "admin@acme.example")
	bob := signIn(t, m, "admin@acme.example")
	id := alice.createApp("Shared app", url.Values{"scope.forensics:account": {"read"}})

	mine := appForm(t, alice.get("/applications/"+id+"/edit").body)
	theirs := appForm(t, bob.get("/applications/"+id+"/edit").body)
	theirs.values.Set("name", "Renamed by Bob")
	if p := bob.post("/applications/"+id, theirs.values); p.status != http.StatusSeeOther {
		t.Fatalf("bob's save = %d", p.status)
	}
	reset := findForm(t, bob.get("/applications/"+id+"/reset").body, func(n *html.Node) bool { return strings.HasSuffix(attr(n, "action"), "/reset") })
	if p := bob.post("/applications/"+id+"/reset", reset.values); p.status != http.StatusSeeOther {
		t.Fatalf("bob's reset = %d", p.status)
	}
	bob.reveal(id) // a view, not a change: not listed
	before := stateOf(t, m, id)

	mine.values.Set("name", "Alice's name")
	mine.values.Set("scope.forensics:account", "read-write")
	p := alice.post("/applications/"+id, mine.values)
	if p.status != http.StatusConflict {
		t.Fatalf("alice's stale save = %d, want 409", p.status)
	}
	assertUnchanged(t, m, id, before)
	changes := byTestID(t, p.body, "conflict-changes")
	if len(changes) != 1 {
		t.Fatalf("the conflict does not list the changes:\n%s", p.body)
	}
	text := strings.Join(strings.Fields(textOf(changes[0])), " ")
	for _, want := range []string{"Client secret reset by admin@acme.example", "Application renamed by admin@acme.example", "Renamed from “Shared app” to “Renamed by Bob”"} {
		if !strings.Contains(text, want) {
			t.Errorf("changes %q lack %q", text, want)
		}
	}
	if strings.Contains(text, "shown") {
		t.Errorf("a view of the secret is listed as a change: %q", text)
	}
	again := appForm(t, p.body)
	if again.values.Get("name") != "Alice's name" || again.values.Get("scope.forensics:account") != "read-write" {
		t.Errorf("alice's input is lost: %v", again.values)
	}
	// Saving again, now against what she has seen, goes through.
	if p := alice.post("/applications/"+id, again.values); p.status != http.StatusSeeOther {
		t.Fatalf("alice's second save = %d", p.status)
	}
	if got := stateOf(t, m, id); got.Name != "Alice's name" {
		t.Errorf("name = %q", got.Name)
	}
}

// TestEditConflictLinksToMoreChanges: past the first 20 changes since the
// form was opened, the conflict says there are more and links to the
// application's activity, where they all are.
func TestEditConflictLinksToMoreChanges(t *testing.T) {
	t.Parallel()
	m := newMain(t)
	alice := signIn(t, m, "admin@acme.example")
	bob := signIn(t, m, "admin@acme.example")
	id := alice.createApp("Busy app", nil)

	mine := appForm(t, alice.get("/applications/"+id+"/edit").body)
	for i := range 21 {
		theirs := appForm(t, bob.get("/applications/"+id+"/edit").body)
		theirs.values.Set("name", fmt.Sprintf("Busy app %d", i))
		if p := bob.post("/applications/"+id, theirs.values); p.status != http.StatusSeeOther {
			t.Fatalf("bob's save %d = %d", i, p.status)
		}
	}
	mine.values.Set("name", "Alice's name")
	p := alice.post("/applications/"+id, mine.values)
	if p.status != http.StatusConflict {
		t.Fatalf("alice's stale save = %d, want 409", p.status)
	}
	items := 0
	for _, ul := range byTestID(t, p.body, "conflict-changes") {
		for c := ul.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == html.ElementNode && c.Data == "li" {
				items++
			}
		}
	}
	if items != 20 {
		t.Errorf("%d changes listed, want the first 20", items)
	}
	more := byTestID(t, p.body, "conflict-more")
	if len(more) != 1 {
		t.Fatalf("no link to the other changes:\n%s", p.body)
	}
	var href string
	for n := range more[0].Descendants() {
		if n.Type == html.ElementNode && n.Data == "a" {
			href = attr(n, "href")
		}
	}
	if want := "/applications/" + id + "/activity"; href != want {
		t.Errorf("link to %q, want %q", href, want)
	}

	// With 20 or fewer changes there is no such line.
	mine = appForm(t, p.body)
	theirs := appForm(t, bob.get("/applications/"+id+"/edit").body)
	theirs.values.Set("name", "One more")
	bob.post("/applications/"+id, theirs.values)
	if p := alice.post("/applications/"+id, mine.values); p.status != http.StatusConflict || len(byTestID(t, p.body, "conflict-more")) != 0 {
		t.Errorf("one change since: status %d, 'more' shown %v", p.status, len(byTestID(t, p.body, "conflict-more")) != 0)
	}
}
