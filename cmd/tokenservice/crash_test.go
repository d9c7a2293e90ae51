package main

import (
	"bufio"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// --- the server as a child process ---

// serverProcess is the tokenservice binary serving in a child process.
type serverProcess struct {
	cmd    *exec.Cmd
	logs   *syncBuffer
	exited chan struct{} // closed when the process has exited
	err    error         // its exit status, once exited is closed

	// URL and ProviderURL are the portal's and the bundled provider's.
	URL, ProviderURL string
}

// startServerProcess runs `tokenservice` on the data directory dir with
// free ports, and the extra flags, and returns once it listens. The test's
// cleanup kills it if it is still running, and shows its log if the test
// failed.
func startServerProcess(t *testing.T, dir string, extra ...string) *serverProcess {
	t.Helper()
	args := append([]string{"--data-dir", dir, "--addr", "127.0.0.1:0", "--bcc-addr", "127.0.0.1:0", "--log-format", "json"}, extra...)
	cmd := exec.Command(tokenserviceBinary(t), args...)
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "TOKENSERVICE_") })
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &serverProcess{cmd: cmd, logs: &syncBuffer{}, exited: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	running := make(chan struct{ portal, issuer string }, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.logs.Write(append(sc.Bytes(), '\n'))
			var line struct{ Msg, Portal, Issuer string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "Token Service is running" {
				running <- struct{ portal, issuer string }{line.Portal, line.Issuer}
			}
		}
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("tokenservice %s logs:\n%s", p.URL, p.logs)
		}
	})
	select {
	case r := <-running:
		p.URL, p.ProviderURL = r.portal, r.issuer
	case <-p.exited:
		t.Fatalf("tokenservice exited before listening: %v\n%s", p.err, p.logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("tokenservice did not start listening within 30s:\n%s", p.logs)
	}
	return p
}

// main is what the test helpers that take a *Main need of the process.
func (p *serverProcess) main() *Main { return &Main{URL: p.URL, ProviderURL: p.ProviderURL} }

// --- what the clients were told ---

// crashApp is one application as the clients know it: the last state a
// success answer acknowledged, and the change in flight when the server
// died, if any, which may or may not have been made.
type crashApp struct {
	id      string
	name    string
	scopes  string // "key=access" sorted, comma-separated
	gen     int    // secret generation: 1 + acknowledged resets
	secret  string // plaintext of generation gen; "" if never seen
	old     []string
	deleted bool

	pending *crashChange
}

// crashChange is a change sent to the server.
type crashChange struct {
	kind         string // create, edit, reset, delete
	name, scopes string // create and edit
}

// crashWorker is one admin clicking through the portal. It owns its
// applications: no one else changes them, so every answer is its own.
type crashWorker struct {
	c          *client
	rng        *rand.Rand
	apps       []*crashApp
	creates    []*crashChange // creates in flight when the server died
	prefix     string
	n          int
	unexpected []string
}

var crashScopeChoices = []map[string]string{
	{"ess:account": "read"},
	{"forensics:account": "read-write"},
	{"forensics:account": "read", "reporting:reports": "read"},
	{"archiving:messages": "read-write", "ess:account": "read", "impersonation:account": "read"},
}

func scopeString(m map[string]string) string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// scopeForm is the Add/Edit form's scope fields for m: every other scope of
// the catalogue none.
func scopeForm(m map[string]string) url.Values {
	f := url.Values{}
	for _, k := range []string{"ess:account", "forensics:account", "impersonation:account", "reporting:reports", "archiving:messages"} {
		f.Set("scope."+k, "none")
	}
	for k, v := range m {
		f.Set("scope."+k, v)
	}
	return f
}

// run makes random changes until a request fails (the server died).
func (w *crashWorker) run(dead *atomic.Bool) {
	for {
		var live []*crashApp
		for _, a := range w.apps {
			if !a.deleted {
				live = append(live, a)
			}
		}
		var err error
		switch r := w.rng.IntN(10); {
		case len(live) < 3 || r < 3:
			err = w.create()
		case r < 6:
			err = w.edit(live[w.rng.IntN(len(live))])
		case r < 8:
			err = w.reset(live[w.rng.IntN(len(live))])
		default:
			err = w.delete(live[w.rng.IntN(len(live))])
		}
		if err != nil {
			if !dead.Load() {
				w.unexpected = append(w.unexpected, err.Error())
			}
			return
		}
	}
}

// send posts a change: the page with the form first (for its version and
// CSRF token), then the form. A failure after the post was sent leaves the
// change pending.
func (w *crashWorker) send(formPath, postPath string, form url.Values, onPost func()) (*page, error) {
	p, err := w.c.tryRequest(http.MethodGet, formPath, nil)
	if err != nil {
		return nil, err
	}
	if p.status != http.StatusOK {
		return nil, fmt.Errorf("GET %s = %d", formPath, p.status)
	}
	if v := inputValue(p.body, "version"); v != "" {
		form.Set("version", v)
	}
	if v := inputValue(p.body, "_form"); v != "" {
		form.Set("_form", v)
	}
	onPost()
	return w.c.tryRequest(http.MethodPost, postPath, form)
}

func (w *crashWorker) create() error {
	w.n++
	scopes := crashScopeChoices[w.rng.IntN(len(crashScopeChoices))]
	ch := &crashChange{kind: "create", name: fmt.Sprintf("%s app %d", w.prefix, w.n), scopes: scopeString(scopes)}
	form := scopeForm(scopes)
	form.Set("name", ch.name)
	p, err := w.send("/applications/new", "/applications", form, func() { w.creates = append(w.creates, ch) })
	if err != nil {
		return err
	}
	sm := clientIDPath.FindStringSubmatch(p.header.Get("Location"))
	if p.status != http.StatusSeeOther || sm == nil {
		return fmt.Errorf("create = %d to %q", p.status, p.header.Get("Location"))
	}
	w.creates = w.creates[:len(w.creates)-1]
	a := &crashApp{id: sm[1], name: ch.name, scopes: ch.scopes, gen: 1}
	w.apps = append(w.apps, a)
	a.secret, err = w.reveal(a)
	return err
}

func (w *crashWorker) reveal(a *crashApp) (string, error) {
	p, err := w.c.tryRequest(http.MethodPost, "/applications/"+a.id+"/secret/reveal", url.Values{})
	if err != nil {
		return "", err
	}
	s := testIDText(w.c.t, p.body, "client-secret")
	if p.status != http.StatusOK || s == "" {
		return "", fmt.Errorf("reveal %s = %d without a secret", a.id, p.status)
	}
	return s, nil
}

func (w *crashWorker) edit(a *crashApp) error {
	w.n++
	scopes := crashScopeChoices[w.rng.IntN(len(crashScopeChoices))]
	ch := &crashChange{kind: "edit", name: fmt.Sprintf("%s edit %d", w.prefix, w.n), scopes: scopeString(scopes)}
	form := scopeForm(scopes)
	form.Set("name", ch.name)
	p, err := w.send("/applications/"+a.id+"/edit", "/applications/"+a.id, form, func() { a.pending = ch })
	if err != nil {
		return err
	}
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/applications/"+a.id {
		return fmt.Errorf("edit %s = %d to %q", a.id, p.status, p.header.Get("Location"))
	}
	a.pending, a.name, a.scopes = nil, ch.name, ch.scopes
	return nil
}

func (w *crashWorker) reset(a *crashApp) error {
	p, err := w.send("/applications/"+a.id+"/reset", "/applications/"+a.id+"/reset", url.Values{},
		func() { a.pending = &crashChange{kind: "reset"} })
	if err != nil {
		return err
	}
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/applications/"+a.id {
		return fmt.Errorf("reset %s = %d to %q", a.id, p.status, p.header.Get("Location"))
	}
	a.pending, a.gen = nil, a.gen+1
	if a.secret != "" {
		a.old = append(a.old, a.secret)
	}
	a.secret = ""
	a.secret, err = w.reveal(a)
	return err
}

func (w *crashWorker) delete(a *crashApp) error {
	p, err := w.send("/applications/"+a.id+"/delete", "/applications/"+a.id+"/delete", url.Values{},
		func() { a.pending = &crashChange{kind: "delete"} })
	if err != nil {
		return err
	}
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/applications" {
		return fmt.Errorf("delete %s = %d to %q", a.id, p.status, p.header.Get("Location"))
	}
	a.pending, a.deleted = nil, true
	return nil
}

// --- what the files hold ---

// storedApp is an application as the database file has it.
type storedApp struct {
	name    string
	scopes  string
	gen     int
	created bool // its "application.created" event is there
}

// inspectFiles opens the database the killed server left, as the next
// start will (SQLite recovers the WAL), and reads every application.
func inspectFiles(t *testing.T, path string) map[string]storedApp {
	t.Helper()
	sqldb, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer sqldb.Close()
	one := func(query string, v any) {
		t.Helper()
		if err := sqldb.QueryRow(query).Scan(v); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
	var result string
	if one(`PRAGMA integrity_check`, &result); result != "ok" {
		t.Fatalf("integrity_check after SIGKILL = %q", result)
	}
	var orphans, bare int
	if one(`SELECT count(*) FROM application_scopes WHERE application_id NOT IN (SELECT id FROM applications)`, &orphans); orphans != 0 {
		t.Errorf("%d scope rows belong to no application", orphans)
	}
	if one(`SELECT count(*) FROM applications a WHERE NOT EXISTS (SELECT 1 FROM application_scopes s WHERE s.application_id = a.id)`, &bare); bare != 0 {
		t.Errorf("%d applications have no scopes (every one was made with some)", bare)
	}
	var hasEvents bool
	one(`SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'events')`, &hasEvents)
	created := "0"
	if hasEvents {
		created = `EXISTS (SELECT 1 FROM events e WHERE e.account_id = a.account_id AND e.client_id = a.client_id AND e.action = 'application.created')`
	}
	rows, err := sqldb.Query(`SELECT a.client_id, a.name, a.secret_generation, ` + created + `,
		(SELECT group_concat(scope_key || '=' || access, ',') FROM
			(SELECT scope_key, access FROM application_scopes s WHERE s.application_id = a.id ORDER BY scope_key))
		FROM applications a`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]storedApp{}
	for rows.Next() {
		var id string
		var s storedApp
		var scopes sql.NullString
		if err := rows.Scan(&id, &s.name, &s.gen, &s.created, &scopes); err != nil {
			t.Fatal(err)
		}
		s.scopes = scopes.String
		if hasEvents && !s.created {
			t.Errorf("application %s (%s) has no creation event: the audit trail lost a change", id, s.name)
		}
		out[id] = s
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// reconcile checks the files against what the workers were told, then takes
// the files' answer for the changes in flight.
func reconcile(t *testing.T, workers []*crashWorker, stored map[string]storedApp) {
	t.Helper()
	known := map[string]bool{}
	for _, w := range workers {
		for _, a := range w.apps {
			known[a.id] = true
			s, ok := stored[a.id]
			p := a.pending
			a.pending = nil
			switch {
			case a.deleted && ok:
				t.Errorf("%s: the deletion was acknowledged, but it is still there", a.id)
			case a.deleted:
			case !ok && p != nil && p.kind == "delete":
				a.deleted = true // the deletion was made, the answer lost
			case !ok:
				t.Errorf("%s (%s): acknowledged, but gone", a.id, a.name)
			default:
				if s.name != a.name || s.scopes != a.scopes {
					if p != nil && p.kind == "edit" && s.name == p.name && s.scopes == p.scopes {
						a.name, a.scopes = p.name, p.scopes
					} else {
						t.Errorf("%s = %q [%s], want the acknowledged %q [%s]", a.id, s.name, s.scopes, a.name, a.scopes)
					}
				}
				if s.gen != a.gen {
					if p != nil && p.kind == "reset" && s.gen == a.gen+1 {
						a.gen = s.gen
						if a.secret != "" {
							a.old = append(a.old, a.secret)
						}
						a.secret = ""
					} else {
						t.Errorf("%s: secret generation %d, want the acknowledged %d", a.id, s.gen, a.gen)
					}
				}
			}
		}
	}
	// An application no one was told about must be a whole create in flight.
	for id, s := range stored {
		if known[id] {
			continue
		}
		matched := false
		for _, w := range workers {
			for i, ch := range w.creates {
				if ch.name == s.name && ch.scopes == s.scopes && s.gen == 1 {
					w.creates = slices.Delete(w.creates, i, i+1)
					w.apps = append(w.apps, &crashApp{id: id, name: s.name, scopes: s.scopes, gen: 1})
					matched = true
					break
				}
			}
			if matched {
				break
			}
		}
		if !matched {
			t.Errorf("application %s %q [%s] was never asked for as it is", id, s.name, s.scopes)
		}
	}
	for _, w := range workers {
		w.creates = nil
	}
}

// checkSecrets asks the restarted server for tokens with every secret the
// workers saw: the current one of each application works, every replaced or
// deleted one does not.
func checkSecrets(t *testing.T, p *serverProcess, workers []*crashWorker, checked map[string]bool) (works, refused int) {
	t.Helper()
	m := p.main()
	// Refusals are rate-limited per address: spread them.
	var hcs []*http.Client
	for i := range 8 {
		hcs = append(hcs, clientFrom(t, fmt.Sprintf("127.0.9.%d", i+1)))
	}
	n := 0
	try := func(id, s string) int {
		n++
		return postForm(t, hcs[n%len(hcs)], m, "/oauth2/token", basic(id, s), grantForm("")).status
	}
	for _, w := range workers {
		for _, a := range w.apps {
			if a.secret != "" && !a.deleted {
				if got := try(a.id, a.secret); got != http.StatusOK {
					t.Errorf("%s: the current secret (generation %d) got %d, want 200", a.id, a.gen, got)
				}
				works++
			}
			dead := a.old
			if a.deleted && a.secret != "" {
				dead = append(slices.Clone(dead), a.secret)
			}
			for _, s := range dead {
				if checked[s] {
					continue
				}
				checked[s] = true
				if got := try(a.id, s); got != http.StatusUnauthorized {
					t.Errorf("%s: a replaced or deleted secret got %d, want 401", a.id, got)
				}
				refused++
			}
		}
	}
	return works, refused
}

// TestCrash kills the server with SIGKILL while admins add, edit, reset and
// delete applications, restarts it on the same files, and checks that every
// acknowledged change survived and nothing else half-exists, several times.
func TestCrash(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	var workers []*crashWorker
	checked := map[string]bool{}
	const rounds = 5
	for round := 0; round <= rounds; round++ {
		p := startServerProcess(t, dir)
		if round > 0 {
			works, refused := checkSecrets(t, p, workers, checked)
			t.Logf("round %d: after the restart %d current secrets work, %d replaced or deleted ones are refused", round, works, refused)
		}
		if round == rounds {
			p.cmd.Process.Signal(syscall.SIGTERM)
			<-p.exited
			if p.err != nil {
				t.Errorf("exit after SIGTERM: %v", p.err)
			}
			break
		}
		for i := range 4 {
			c := signIn(t, p.main(), "admin@acme.example")
			if round == 0 {
				workers = append(workers, &crashWorker{rng: rand.New(rand.NewPCG(seed, uint64(i+2))), prefix: fmt.Sprintf("w%d", i)})
			}
			workers[i].c = c
			workers[i].prefix = fmt.Sprintf("w%d r%d", i, round)
		}
		var dead atomic.Bool
		var wg sync.WaitGroup
		for _, w := range workers {
			wg.Add(1)
			go func() { defer wg.Done(); w.run(&dead) }()
		}
		time.Sleep(time.Duration(300+rng.IntN(900)) * time.Millisecond)
		dead.Store(true)
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-p.exited
		wg.Wait()
		for _, w := range workers {
			for _, u := range w.unexpected {
				t.Errorf("round %d: %s before the kill", round, u)
			}
			w.unexpected = nil
		}
		if _, err := os.Stat(filepath.Join(dir, "tokenservice.db-wal")); err != nil {
			t.Errorf("round %d: no -wal file after SIGKILL (%v): the kill did not catch the server running", round, err)
		}
		stored := inspectFiles(t, filepath.Join(dir, "tokenservice.db"))
		acked, inFlight := 0, 0
		for _, w := range workers {
			for _, a := range w.apps {
				if a.pending != nil {
					inFlight++
				}
				if !a.deleted {
					acked++
				}
			}
			inFlight += len(w.creates)
		}
		t.Logf("round %d: %d applications acknowledged, %d changes in flight at the kill, %d applications in the file", round, acked, inFlight, len(stored))
		reconcile(t, workers, stored)
		if t.Failed() {
			t.FailNow()
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "tokenservice.db-wal")); err == nil {
		t.Error("a -wal file is left after SIGTERM")
	}
}
