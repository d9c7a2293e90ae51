package main

import (
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestGracefulShutdown sends SIGTERM to the server while a client is still
// sending a token request: the request is answered, new connections are
// refused at once, the process exits 0 and the database is closed cleanly.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := startServerProcess(t, dir)
	app := createAppProcess(t, &Main{Config: Config{DataDir: dir}}, "acme", "Slow client", "forensics:account=read")
	if st, err := os.Stat(filepath.Join(dir, "tokenservice.db-wal")); err != nil || st.Size() == 0 {
		t.Fatalf("no WAL while the server runs (%v): the test would not see whether it is checkpointed", err)
	}

	finish, _, answered := slowTokenRequest(t, p, app)

	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if !p.refusesConnections(3 * time.Second) {
		t.Error("new connections are still accepted 3s after SIGTERM")
	}
	select {
	case <-p.exited:
		t.Fatalf("the server exited with a request in flight: %v\n%s", p.err, p.logs)
	case r := <-answered:
		t.Fatalf("the in-flight request was answered before its body arrived: %d %s %v", r.status, r.body, r.err)
	default:
	}

	finish()
	select {
	case r := <-answered:
		if r.err != nil || r.status != http.StatusOK {
			t.Fatalf("in-flight token request = %d %s %v, want 200", r.status, r.body, r.err)
		}
		var g grantResponse
		if err := json.Unmarshal(r.body, &g); err != nil || g.AccessToken == "" {
			t.Errorf("in-flight token request answered %s, want a token", r.body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the in-flight request got no answer")
	}

	select {
	case <-p.exited:
	case <-time.After(12 * time.Second):
		t.Fatalf("still running 12s after SIGTERM\n%s", p.logs)
	}
	t.Logf("exited %v after SIGTERM", time.Since(start).Round(time.Millisecond))
	if p.err != nil {
		t.Errorf("exit after SIGTERM: %v, want status 0\n%s", p.err, p.logs)
	}
	if !strings.Contains(p.logs.String(), `"msg":"shutting down"`) {
		t.Errorf("no shutdown in the log:\n%s", p.logs)
	}

	// Closed cleanly: the last connection checkpointed the WAL into the
	// database and removed it, so nothing needs recovery.
	db := filepath.Join(dir, "tokenservice.db")
	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(db + suffix); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is left after SIGTERM (%v): the database was not closed cleanly", filepath.Base(db+suffix), err)
		}
	}
	sqldb, err := sql.Open("sqlite", "file:"+db+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer sqldb.Close()
	var check string
	if err := sqldb.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check = %q, %v", check, err)
	}
	var n int
	if err := sqldb.QueryRow(`SELECT count(*) FROM applications WHERE client_id = ?`, app.ClientID).Scan(&n); err != nil || n != 1 {
		t.Errorf("the application is not in the database file alone: %d, %v", n, err)
	}
}

// slowAnswer is the answer to slowTokenRequest.
type slowAnswer struct {
	status int
	body   []byte
	err    error
}

// slowTokenRequest starts a token request for app whose body arrives slowly,
// as from a client on a bad link, and returns once the server has the
// headers and half the body. finish sends the rest, abort gives up on it;
// the answer comes on answered.
func slowTokenRequest(t *testing.T, p *serverProcess, app appJSON) (finish, abort func(), answered <-chan slowAnswer) {
	t.Helper()
	body := url.Values{"grant_type": {"client_credentials"}, "scope": {"forensics:account:read"}}.Encode()
	first, rest := body[:len(body)/2], body[len(body)/2:]
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.CloseWithError(errors.New("test over")) })
	req, err := http.NewRequest(http.MethodPost, p.URL+"/oauth2/token", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", basic(app.ClientID, app.ClientSecret))
	ch := make(chan slowAnswer, 1)
	go func() {
		resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
		if err != nil {
			ch <- slowAnswer{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		ch <- slowAnswer{status: resp.StatusCode, body: b, err: err}
	}()
	if _, err := io.WriteString(pw, first); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	return func() {
		if _, err := io.WriteString(pw, rest); err != nil {
			t.Fatalf("finish the body: %v", err)
		}
		pw.Close()
	}, func() { pw.CloseWithError(errors.New("given up")) }, ch
}

// refusesConnections reports whether the portal refuses new connections
// within d.
func (p *serverProcess) refusesConnections(d time.Duration) bool {
	addr := strings.TrimPrefix(p.URL, "http://")
	return waitFor(d, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return true
		}
		c.Close()
		return false
	})
}

// TestSecondSignal: while a graceful shutdown waits for a request, a second
// SIGTERM ends the process at once, as an operator expects.
func TestSecondSignal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := startServerProcess(t, dir)
	app := createAppProcess(t, &Main{Config: Config{DataDir: dir}}, "acme", "Slow client", "forensics:account=read")
	_, abort, answered := slowTokenRequest(t, p, app)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if !p.refusesConnections(3 * time.Second) {
		t.Fatal("no shutdown 3s after SIGTERM")
	}
	select {
	case <-p.exited:
		t.Fatalf("exited after one SIGTERM with a request in flight: %v", p.err)
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(3 * time.Second):
		t.Fatal("still running 3s after the second SIGTERM")
	}
	if p.err == nil {
		t.Error("exit status 0 after the second SIGTERM cut a request off")
	}
	// The transport writes the rest of the body before it gives up.
	abort()
	select {
	case r := <-answered:
		if r.err == nil {
			t.Errorf("the cut-off request was answered: %d %s", r.status, r.body)
		}
	case <-time.After(5 * time.Second):
		t.Error("the cut-off request neither failed nor was answered")
	}
}
