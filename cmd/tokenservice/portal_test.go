package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"tokenservice"
)

// TestRetiredScope: an operator replaces the catalogue and drops a scope
// that an application has. The application keeps it, marked retired, until
// an admin removes it; nobody can grant it anew.
func TestRetiredScope(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"app", "create", "--data-dir", dir, "--account", "acme", "--name", "Old app",
		"--scope", "forensics:account=read-write", "--scope", "ess:account=read", "--scope", "impersonation:account=read-write", "--json"}, &out, &errOut); err != nil {
		t.Fatalf("app create: %v\n%s", err, errOut.String())
	}
	var created struct {
		ClientID string `json:"client_id"`
	}
	if err := json.Unmarshal(out.Bytes(), &created); err != nil {
		t.Fatal(err)
	}
	id := created.ClientID

	catalogue := filepath.Join(t.TempDir(), "scopes.json")
	if err := os.WriteFile(catalogue, []byte(`{"scopes":[
		{"key":"ess:account","product":"Email Gateway Defense","resource":"Account","access":["read"]},
		{"key":"impersonation:account","product":"Impersonation Protection","resource":"Account","access":["read"]},
		{"key":"billing:invoices","product":"Billing","resource":"Invoices","access":["read","read-write"]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	m := newMain(t, func(m *Main) { m.Config.DataDir = dir; m.Config.ScopesFile = catalogue })
	admin := signIn(t, m, "admin@acme.example")

	details := admin.get("/applications/" + id)
	if !strings.Contains(details.body, "Retired") || !strings.Contains(details.body, "forensics:account:write") {
		t.Fatalf("details do not show the retired scope:\n%s", details.body)
	}

	edit := admin.get("/applications/" + id + "/edit")
	f := appForm(t, edit.body)
	if got, want := f.values.Get("scope.forensics:account"), "read-write"; got != want {
		t.Fatalf("retired scope preselected %q, want %q", got, want)
	}
	if !strings.Contains(edit.body, "Keep Read &amp; Write") {
		t.Fatalf("edit page offers no way to keep the retired scope:\n%s", edit.body)
	}

	t.Run("KeptOnSave", func(t *testing.T) {
		form := f.values
		form.Set("name", "Old app renamed")
		if p := admin.post("/applications/"+id, form); p.status != http.StatusSeeOther {
			t.Fatalf("save = %d, want 303\n%s", p.status, p.body)
		}
		app, _, _ := m.Store.ApplicationByClientID(context.Background(), id)
		if got, want := app.Grant("forensics:account"), tokenservice.AccessReadWrite; got != want {
			t.Fatalf("after save the retired scope is %q, want %q", got, want)
		}
		if got, want := app.Grant("impersonation:account"), tokenservice.AccessReadWrite; got != want {
			t.Fatalf("after save the access level the catalogue no longer offers is %q, want %q", got, want)
		}
	})

	t.Run("CannotChangeRetiredAccess", func(t *testing.T) {
		before := stateOf(t, m, id)
		f := appForm(t, admin.get("/applications/"+id+"/edit").body)
		f.values.Set("scope.forensics:account", "read")
		if p := admin.post("/applications/"+id, f.values); p.status != http.StatusUnprocessableEntity {
			t.Fatalf("narrowing a retired scope = %d, want 422", p.status)
		}
		assertUnchanged(t, m, id, before)
	})

	t.Run("NotGrantableToNewApplications", func(t *testing.T) {
		admin.get("/applications/new")
		p := admin.post("/applications", url.Values{"name": {"New app"}, "scope.forensics:account": {"read"}})
		if got, want := p.status, http.StatusUnprocessableEntity; got != want {
			t.Fatalf("granting a retired scope = %d, want %d", got, want)
		}
		if got, want := countApps(t, m, "acme"), 1; got != want {
			t.Fatalf("applications = %d, want %d", got, want)
		}
	})

	t.Run("Removed", func(t *testing.T) {
		f := appForm(t, admin.get("/applications/"+id+"/edit").body)
		f.values.Set("scope.forensics:account", "none")
		if p := admin.post("/applications/"+id, f.values); p.status != http.StatusSeeOther {
			t.Fatalf("removing the retired scope = %d, want 303\n%s", p.status, p.body)
		}
		app, _, _ := m.Store.ApplicationByClientID(context.Background(), id)
		if got := app.Grant("forensics:account"); got != tokenservice.AccessNone {
			t.Fatalf("after removal the retired scope is %q", got)
		}
		if strings.Contains(admin.get("/applications/"+id+"/edit").body, "forensics:account") {
			t.Fatal("the edit page still offers the removed retired scope")
		}
	})
}

// TestCLIRefusesNewServerKey: a CLI run against a store whose key it cannot
// find must fail rather than generate a new key.
func TestCLIRefusesNewServerKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	args := []string{"app", "create", "--data-dir", dir, "--account", "acme", "--name", "First", "--json"}
	if err := run(context.Background(), args, &out, &errOut); err != nil {
		t.Fatalf("first create: %v", err)
	}
	if err := os.Remove(filepath.Join(dir, "server.key")); err != nil {
		t.Fatal(err)
	}
	args[7] = "Second"
	if err := run(context.Background(), args, &out, &errOut); err == nil || !strings.Contains(err.Error(), "server key") {
		t.Fatalf("create without the server key: err = %v, want a server key error", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "server.key")); err == nil {
		t.Fatal("the CLI generated a new server key for an existing store")
	}
}

// TestDeleteAfterChange: a delete confirmed on a page opened before someone
// else changed the application deletes nothing.
func TestDeleteAfterChange(t *testing.T) {
	t.Parallel()
	m := newMain(t)
	admin := signIn(t, m, "admin@acme.example")
	id := admin.createApp("Contested", url.Values{"scope.ess:account": {"read"}})

	confirm := findForm(t, admin.get("/applications/"+id+"/delete").body, func(n *html.Node) bool {
		return strings.HasSuffix(attr(n, "action"), "/delete")
	})
	edit := appForm(t, admin.get("/applications/"+id+"/edit").body)
	edit.values.Set("name", "Contested, renamed")
	if p := admin.post("/applications/"+id, edit.values); p.status != http.StatusSeeOther {
		t.Fatalf("rename = %d", p.status)
	}

	p := admin.post("/applications/"+id+"/delete", confirm.values)
	if got, want := p.status, http.StatusSeeOther; got != want {
		t.Fatalf("stale delete = %d, want %d", got, want)
	}
	if got, want := p.header.Get("Location"), "/applications/"+id; got != want {
		t.Fatalf("stale delete went to %q, want %q", got, want)
	}
	if _, _, err := m.Store.ApplicationByClientID(context.Background(), id); err != nil {
		t.Fatalf("the application was deleted: %v", err)
	}
	if body := admin.get("/applications/" + id).body; !strings.Contains(body, "was not deleted") {
		t.Fatal("the details page does not say why nothing was deleted")
	}
}

// TestResetAndDeleteNeedVersion: a reset or delete posted without a usable
// version of the application (missing, empty, not a number, not positive)
// is refused and changes nothing, even after someone else's edit, where
// falling back to the current version would act on what nobody confirmed.
// With the stale version of the confirmation it is the usual conflict.
func TestResetAndDeleteNeedVersion(t *testing.T) {
	t.Parallel()
	m := newMain(t)
	admin := signIn(t, m, "admin@acme.example")
	other := signIn(t, m, "admin@acme.example") // a second admin session
	id := admin.createApp("Versioned", url.Values{"scope.ess:account": {"read"}})

	confirm := func(action string) form {
		return findForm(t, admin.get("/applications/"+id+"/"+action).body, func(n *html.Node) bool {
			return strings.HasSuffix(attr(n, "action"), "/"+action)
		})
	}
	reset, deletion := confirm("reset"), confirm("delete")
	edit := appForm(t, other.get("/applications/"+id+"/edit").body)
	edit.values.Set("name", "Versioned, renamed")
	if p := other.post("/applications/"+id, edit.values); p.status != http.StatusSeeOther {
		t.Fatalf("rename = %d", p.status)
	}
	before := stateOf(t, m, id)
	events := func() int {
		t.Helper()
		page, err := m.Store.ListEvents(context.Background(), "acme", tokenservice.EventFilter{ClientID: id})
		if err != nil {
			t.Fatal(err)
		}
		return len(page.Events)
	}
	trail := events()

	for _, action := range []struct {
		name string
		form form
	}{{"Reset", reset}, {"Delete", deletion}} {
		for _, tt := range []struct {
			name    string
			version []string // nil: no version field
		}{
			{"Missing", nil},
			{"Empty", []string{""}},
			{"NotANumber", []string{"two"}},
			{"Zero", []string{"0"}},
			{"Negative", []string{"-1"}},
		} {
			t.Run(action.name+tt.name, func(t *testing.T) {
				f := url.Values{}
				for k, v := range action.form.values {
					f[k] = v
				}
				f.Del("version")
				if tt.version != nil {
					f["version"] = tt.version
				}
				p := admin.post(action.form.action, f)
				if got, want := p.status, http.StatusUnprocessableEntity; got != want {
					t.Fatalf("status = %d, want %d (Location %q)", got, want, p.header.Get("Location"))
				}
				if msg := testIDText(t, p.body, "error-page"); !strings.Contains(msg, "out of date or incomplete") {
					t.Errorf("the refusal does not say what to do: %q", msg)
				}
				assertUnchanged(t, m, id, before)
				if got := events(); got != trail {
					t.Errorf("events = %d, want %d: a refused request was recorded", got, trail)
				}
			})
		}
		t.Run(action.name+"StaleVersion", func(t *testing.T) {
			p := admin.post(action.form.action, action.form.values)
			if got, want := p.status, http.StatusSeeOther; got != want {
				t.Fatalf("status = %d, want %d", got, want)
			}
			if got, want := p.header.Get("Location"), "/applications/"+id; got != want {
				t.Errorf("went to %q, want %q", got, want)
			}
			assertUnchanged(t, m, id, before)
			if got := events(); got != trail {
				t.Errorf("events = %d, want %d", got, trail)
			}
		})
	}
}

// TestGroupsClaim: the account and the admin role read from a list claim
// with a prefix, as with providers that only have groups, against the real
// bundled provider.
func TestGroupsClaim(t *testing.T) {
	t.Parallel()
	m := newMain(t, func(m *Main) {
		m.Config.OIDCScopes = "groups"
		m.Config.AccountClaim, m.Config.AccountPrefix = "groups", "account:"
		m.Config.RolesClaim, m.Config.AdminRole = "groups", "admins"
		m.Config.Regions = "us=https://us.tokens.example,uk=https://uk.tokens.example"
	})
	admin := signIn(t, m, "admin@globex.example")
	if !strings.Contains(admin.get("/applications").body, `href="https://uk.tokens.example"`) {
		t.Fatal("the region switcher does not link to the other region")
	}
	id := admin.createApp("Groups app", url.Values{"scope.ess:account": {"read"}})
	app, _, err := m.Store.ApplicationByClientID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := app.AccountID, "globex"; got != want {
		t.Fatalf("account from the groups claim = %q, want %q", got, want)
	}
	viewer := signIn(t, m, "viewer@acme.example")
	if p := viewer.get("/applications/new"); p.status != http.StatusForbidden {
		t.Fatalf("viewer GET /applications/new = %d, want 403", p.status)
	}
}

// TestDetailsTokenExample: the Details page names the token endpoint and
// the issuer, and its example request, run as written with the revealed
// secret, gets a token; the page then counts it.
func TestDetailsTokenExample(t *testing.T) {
	t.Parallel()
	m := newMain(t, func(m *Main) { m.Config.SweepInterval = 50 * time.Millisecond })
	admin := signIn(t, m, "admin@acme.example")
	id := admin.createApp("Example runner", url.Values{"scope.forensics:account": {"read-write"}})
	clientSecret := admin.reveal(id)

	details := admin.get("/applications/" + id)
	if got, want := testIDText(t, details.body, "token-url"), m.URL+"/oauth2/token"; got != want {
		t.Errorf("token endpoint = %q, want %q", got, want)
	}
	if got, want := testIDText(t, details.body, "issuer"), m.URL; got != want {
		t.Errorf("issuer = %q, want %q", got, want)
	}
	if got := testIDText(t, details.body, "last-token"); got != "Never" {
		t.Errorf("last token = %q before any token, want Never", got)
	}
	if got := testIDText(t, details.body, "tokens-last-day"); got != "0" {
		t.Errorf("tokens in the last 24 hours = %q, want 0", got)
	}

	// Run the example as a shell would: curl URL -u "ID:$CLIENT_SECRET"
	// -d grant_type=client_credentials --data-urlencode 'scope=…'.
	pre := byTestID(t, details.body, "example-curl")
	if len(pre) == 0 || pre[0].FirstChild == nil {
		t.Fatal("no example request")
	}
	example := pre[0].FirstChild.Data // as written, newlines and all
	if !strings.Contains(example, "# ") {
		t.Errorf("the example does not say how to ask for fewer scopes:\n%s", example)
	}
	var command []string
	for _, line := range strings.Split(example, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			command = append(command, line)
		}
	}
	args := shellWords(t, strings.ReplaceAll(strings.Join(command, "\n"), "$CLIENT_SECRET", clientSecret))
	if len(args) < 2 || args[0] != "curl" {
		t.Fatalf("example is not a curl command: %q", example)
	}
	endpoint, form, user, pass := args[1], url.Values{}, "", ""
	for i := 2; i < len(args); i++ {
		switch args[i] {
		case "-u":
			i++
			user, pass, _ = strings.Cut(args[i], ":")
		case "-d", "--data-urlencode":
			i++
			k, v, _ := strings.Cut(args[i], "=")
			form.Add(k, v)
		default:
			t.Fatalf("example has an argument the test does not know: %q", args[i])
		}
	}
	req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	req.SetBasicAuth(user, pass)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var tok struct {
		AccessToken string `json:"access_token"`
		Scope       string `json:"scope"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || res.StatusCode != http.StatusOK || tok.AccessToken == "" {
		t.Fatalf("example request %q = %d %s", args, res.StatusCode, body)
	}
	if got, want := tok.Scope, "forensics:account:read forensics:account:write"; got != want {
		t.Errorf("scope = %q, want %q", got, want)
	}

	deadline := time.Now().Add(5 * time.Second)
	for {
		details = admin.get("/applications/" + id)
		if testIDText(t, details.body, "tokens-last-day") == "1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the token was not counted: %q tokens, last %q",
				testIDText(t, details.body, "tokens-last-day"), testIDText(t, details.body, "last-token"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := testIDText(t, details.body, "last-token"); got == "Never" || !strings.HasSuffix(got, "UTC") {
		t.Errorf("last token = %q, want the time", got)
	}
}

// shellWords splits a command line the way sh would for the quoting the
// example uses: single and double quotes, backslash-newline continuations.
func shellWords(t *testing.T, s string) []string {
	t.Helper()
	s = strings.ReplaceAll(s, "\\\n", " ")
	var (
		words []string
		cur   strings.Builder
		quote rune
		in    bool
	)
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == ' ' || r == '\n' || r == '\t':
			if in && cur.String() != "\\" { // a continuation whose newline became a space
				words = append(words, cur.String())
			}
			cur.Reset()
			in = false
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		t.Fatalf("unbalanced quote in %q", s)
	}
	if in && cur.String() != "\\" {
		words = append(words, cur.String())
	}
	return words
}
