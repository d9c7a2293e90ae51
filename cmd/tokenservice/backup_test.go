package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/html"

	"tokenservice"
	"tokenservice/db"
)

// serverOn starts the whole service on the data directory dir, keeping what
// is there (database, server key), and returns it with the function that
// stops it; the test's cleanup stops it if the test did not.
func serverOn(t *testing.T, dir string) (*Main, func()) {
	t.Helper()
	m := NewMain()
	m.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	m.Config.Addr = "127.0.0.1:0"
	m.Config.BCCAddr = "127.0.0.1:0"
	m.Config.DataDir = dir
	if err := m.Open(context.Background()); err != nil {
		t.Fatalf("open: %v", err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			if err := m.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return m, stop
}

// tryRequest is client.request for goroutines other than the test's: it
// returns what went wrong instead of failing the test.
func (c *client) tryRequest(method, path string, form url.Values) (*page, error) {
	var body io.Reader
	if form != nil {
		f := url.Values{"_csrf": {c.csrf}}
		for k, v := range form {
			f[k] = v
		}
		body = strings.NewReader(f.Encode())
	}
	req, err := http.NewRequest(method, c.abs(path), body)
	if err != nil {
		return nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.noFollow.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	p := &page{status: resp.StatusCode, header: resp.Header, body: string(b), url: resp.Request.URL}
	if tok := csrfToken(p.body); tok != "" {
		c.csrf = tok
	}
	return p, nil
}

// inputValue is the value of the first input named name on the page, "" if
// none; unlike findForm it never stops the test.
func inputValue(body, name string) string {
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		return ""
	}
	for _, n := range findAll(doc, func(n *html.Node) bool { return n.Data == "input" && attr(n, "name") == name }) {
		return attr(n, "value")
	}
	return ""
}

// cliFails runs the tokenservice binary with args, which must fail, and
// returns what it wrote to standard error.
func cliFails(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), tokenserviceBinary(t), args...)
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "TOKENSERVICE_") })
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err == nil {
		t.Fatalf("tokenservice %s succeeded, want it refused:\n%s", strings.Join(args, " "), stdout.String())
	}
	return stderr.String()
}

// allEvents is the whole audit trail of account, by event ID.
func allEvents(t *testing.T, store *db.DB, account string) map[int64]*tokenservice.Event {
	t.Helper()
	out := map[int64]*tokenservice.Event{}
	f := tokenservice.EventFilter{Limit: tokenservice.MaxEventLimit}
	for {
		page, err := store.ListEvents(context.Background(), account, f)
		if err != nil {
			t.Fatalf("list events: %v", err)
		}
		for _, e := range page.Events {
			out[e.ID] = e
		}
		if page.Older == 0 {
			return out
		}
		f.Before = page.Older
	}
}

// appSnapshot is what a restore must bring back of an application.
type appSnapshot struct {
	Name   string
	Scopes string
}

func snapshotOf(t *testing.T, store *db.DB, id string) appSnapshot {
	t.Helper()
	app, err := store.GetApplication(context.Background(), "acme", id)
	if err != nil {
		t.Fatalf("application %s: %v", id, err)
	}
	return appSnapshot{Name: app.Name, Scopes: strings.Join(app.OAuthScopes(), " ")}
}

// TestBackupRestore backs the database up with the CLI while the portal and
// the token endpoint are busy, damages it, restores the backup with the CLI
// and finds everything that was there at backup time: applications with
// their scopes, the audit trail, client secrets that still get tokens, and
// access tokens that still verify.
func TestBackupRestore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	m, stop := serverOn(t, dir)
	hc := clientFrom(t, "127.0.0.1")
	admin := signIn(t, m, "admin@acme.example")

	// Applications made before the load: through the portal and the CLI.
	scopeSets := []url.Values{
		defaultScopes,
		{"scope.reporting:reports": {"read"}},
		{"scope.forensics:account": {"read"}, "scope.archiving:messages": {"read-write"}},
	}
	var stable []string
	for i := range 12 {
		stable = append(stable, admin.createApp(fmt.Sprintf("Portal app %02d", i), scopeSets[i%len(scopeSets)]))
	}
	var cliApps []appJSON
	for i := range 4 {
		app := createAppProcess(t, m, "acme", fmt.Sprintf("CLI app %d", i), "forensics:account=read-write", "ess:account=read")
		cliApps = append(cliApps, app)
		stable = append(stable, app.ClientID)
	}
	before := map[string]appSnapshot{}
	for _, id := range stable {
		before[id] = snapshotOf(t, m.Store, id)
	}
	var tokens []string
	for _, app := range cliApps {
		tokens = append(tokens, grant(t, hc, m, app, "forensics:account:write").AccessToken)
	}

	// The load: an admin adding applications, another editing one, and
	// clients getting tokens, until the backup is done.
	var (
		mu      sync.Mutex
		created []string // acknowledged by a 303 to the new application
		stopped atomic.Bool
		wg      sync.WaitGroup
		issued  atomic.Int64
	)
	adder, editor := signIn(t, m, "admin@acme.example"), signIn(t, m, "admin@acme.example")
	edited := admin.createApp("Edited under load", defaultScopes)
	wg.Add(3)
	go func() {
		defer wg.Done()
		for i := 0; !stopped.Load(); i++ {
			if _, err := adder.tryRequest(http.MethodGet, "/applications/new", nil); err != nil {
				t.Errorf("add page: %v", err)
				return
			}
			p, err := adder.tryRequest(http.MethodPost, "/applications", url.Values{"name": {fmt.Sprintf("Load app %03d", i)}, "scope.ess:account": {"read"}})
			if err != nil || p.status != http.StatusSeeOther {
				t.Errorf("add under load: %v %v", p, err)
				return
			}
			if sm := clientIDPath.FindStringSubmatch(p.header.Get("Location")); sm != nil {
				mu.Lock()
				created = append(created, sm[1])
				mu.Unlock()
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; !stopped.Load(); i++ {
			p, err := editor.tryRequest(http.MethodGet, "/applications/"+edited+"/edit", nil)
			if err != nil || p.status != http.StatusOK {
				t.Errorf("edit page under load: %v %v", p, err)
				return
			}
			version := inputValue(p.body, "version")
			access := []string{"read", "read-write"}[i%2]
			p, err = editor.tryRequest(http.MethodPost, "/applications/"+edited, url.Values{"version": {version},
				"name": {fmt.Sprintf("Edited under load %d", i)}, "scope.forensics:account": {access}})
			if err != nil || p.status != http.StatusSeeOther {
				t.Errorf("edit under load: %v %v", p, err)
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; !stopped.Load(); i++ {
			app := cliApps[i%len(cliApps)]
			req, _ := http.NewRequest(http.MethodPost, m.URL+"/oauth2/token", strings.NewReader(grantForm("").Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Authorization", basic(app.ClientID, app.ClientSecret))
			resp, err := hc.Do(req)
			if err != nil {
				t.Errorf("token under load: %v", err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("token under load = %d", resp.StatusCode)
				return
			}
			issued.Add(1)
		}
	}()
	waitFor(5*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(created) >= 5 && issued.Load() >= 20 })

	// Everything acknowledged before the backup starts must be in it.
	mu.Lock()
	atBackup := slices.Clone(created)
	mu.Unlock()
	atBackup = append(atBackup, stable...)
	atBackup = append(atBackup, edited)
	eventsAtBackup := allEvents(t, m.Store, "acme")
	backup := filepath.Join(t.TempDir(), "tokenservice-backup.db")
	issuedAtBackup := issued.Load()
	out := cliProcess(t, "backup", "--data-dir", dir, backup)
	mu.Lock()
	t.Logf("while the backup process ran: %d applications added, %d tokens issued", len(created)-(len(atBackup)-len(stable)-1), issued.Load()-issuedAtBackup)
	mu.Unlock()
	time.Sleep(100 * time.Millisecond) // the load goes on after the backup, too
	stopped.Store(true)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	info, err := db.Inspect(context.Background(), backup)
	if err != nil {
		t.Fatalf("the backup does not check out: %v", err)
	}
	for _, want := range []string{backup, fmt.Sprintf("%d bytes", info.Size), fmt.Sprintf("%d applications", info.Applications)} {
		if !strings.Contains(out, want) {
			t.Errorf("backup printed %q, want it to say %q", out, want)
		}
	}
	if info.Applications < len(atBackup) {
		t.Errorf("the backup has %d applications, want at least the %d acknowledged before it began", info.Applications, len(atBackup))
	}
	t.Run("NeverOverwrites", func(t *testing.T) {
		size := info.Size
		msg := cliFails(t, "backup", "--data-dir", dir, backup)
		if !strings.Contains(msg, "already exists") {
			t.Errorf("a second backup to the same file said %q, want that it exists", msg)
		}
		if st, err := os.Stat(backup); err != nil || st.Size() != size {
			t.Errorf("the existing backup changed: %v", err)
		}
	})

	// Damage: delete applications, replace a secret, add one.
	stop()
	for _, id := range stable[:3] {
		cliProcess(t, "app", "delete", "--data-dir", dir, "--client-id", id)
	}
	cliProcess(t, "app", "delete", "--data-dir", dir, "--client-id", cliApps[0].ClientID)
	newSecret := resetSecretProcess(t, &Main{Config: Config{DataDir: dir}}, cliApps[1].ClientID)
	late := createAppProcess(t, &Main{Config: Config{DataDir: dir}}, "acme", "Made after the backup")

	t.Run("RefusedWhileServerRuns", func(t *testing.T) {
		_, stop := serverOn(t, dir)
		defer stop()
		msg := cliFails(t, "restore", "--data-dir", dir, backup)
		if !strings.Contains(msg, "in use") || !strings.Contains(msg, "stop it") {
			t.Errorf("restore while the server runs said %q, want that the database is in use", msg)
		}
	})
	if matches, _ := filepath.Glob(filepath.Join(dir, "*before-restore*")); len(matches) != 0 {
		t.Fatalf("a refused restore left %v", matches)
	}

	out = cliProcess(t, "restore", "--data-dir", dir, backup)
	if !strings.Contains(out, "Restored") || !strings.Contains(out, "before-restore-") {
		t.Errorf("restore printed %q, want what it restored and where the old database is kept", out)
	}
	kept, _ := filepath.Glob(filepath.Join(dir, "tokenservice.db.before-restore-*"))
	if len(kept) != 1 {
		t.Fatalf("kept databases = %v, want one", kept)
	}

	m2, _ := serverOn(t, dir)
	ctx := context.Background()
	t.Run("Applications", func(t *testing.T) {
		for _, id := range atBackup {
			if _, err := m2.Store.GetApplication(ctx, "acme", id); err != nil {
				t.Errorf("application %s, acknowledged before the backup: %v", id, err)
			}
		}
		for id, want := range before {
			if got := snapshotOf(t, m2.Store, id); got != want {
				t.Errorf("application %s = %+v, want %+v", id, got, want)
			}
		}
		if _, err := m2.Store.GetApplication(ctx, "acme", late.ClientID); tokenservice.ErrorCode(err) != tokenservice.ENOTFOUND {
			t.Errorf("the application made after the backup: err = %v, want not found", err)
		}
		// The kept database is the damaged one.
		old, err := db.Open(ctx, kept[0])
		if err != nil {
			t.Fatal(err)
		}
		defer old.Close()
		if _, err := old.GetApplication(ctx, "acme", late.ClientID); err != nil {
			t.Errorf("the kept database lacks the application made after the backup: %v", err)
		}
	})
	t.Run("Events", func(t *testing.T) {
		if len(eventsAtBackup) == 0 {
			t.Fatal("no audit events before the backup")
		}
		after := allEvents(t, m2.Store, "acme")
		for id, want := range eventsAtBackup {
			got, ok := after[id]
			if !ok {
				t.Errorf("event %d (%s %s) is missing after the restore", id, want.Action, want.ClientID)
				continue
			}
			if got.Action != want.Action || got.ClientID != want.ClientID || !got.At.Equal(want.At) {
				t.Errorf("event %d = %s %s %v, want %s %s %v", id, got.Action, got.ClientID, got.At, want.Action, want.ClientID, want.At)
			}
		}
	})
	t.Run("Tokens", func(t *testing.T) {
		jwks := fetchJWKS(t, hc, m2)
		for i, raw := range tokens {
			// Issued by the first server, whose URL was the issuer.
			if _, err := verifyOffline(jwks, raw, m.URL, m.URL, time.Now()); err != nil {
				t.Errorf("token %d issued before the backup does not verify against the restored JWKS: %v", i, err)
			}
		}
		for _, app := range cliApps {
			g := grant(t, hc, m2, app, "forensics:account:write")
			if _, err := verifyOffline(fetchJWKS(t, hc, m2), g.AccessToken, m2.URL, m2.URL, time.Now()); err != nil {
				t.Errorf("new token of %s: %v", app.ClientID, err)
			}
		}
		a := postForm(t, hc, m2, "/oauth2/token", basic(cliApps[1].ClientID, newSecret), grantForm(""))
		if a.status != http.StatusUnauthorized {
			t.Errorf("the secret reset after the backup got %d, want 401", a.status)
		}
	})
}
