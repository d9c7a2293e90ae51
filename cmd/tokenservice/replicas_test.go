package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/net/html"

	"tokenservice/db/pgtest"
)

// sweepInterval is the replicas' --sweep-interval in TestReplicas: short,
// so that both sweep (erase secrets, write counters, prune keys) many times
// over the same rows while the test runs.
const sweepInterval = 100 * time.Millisecond

// revealWindow is the replicas' --reveal-window, the shortest allowed.
const revealWindow = 10 * time.Second

// TestReplicas runs two processes of the tokenservice binary on one
// PostgreSQL database with one server key, as replicas behind a load
// balancer, and checks that they behave as one service: what is done
// through one is seen by the other at the very next request, on pages and
// at the token endpoint; a session made by one works on the other; keys
// rotated by the CLI are published by both; and the background work both
// do is done once: counters add up exactly, each secret is erased once.
func TestReplicas(t *testing.T) {
	t.Parallel()
	pg := pgtest.NewServer(t)
	databaseURL, err := pg.CreateSchema(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	serverKey := hex.EncodeToString(key)
	a := startReplica(t, databaseURL, serverKey)
	b := startReplica(t, databaseURL, serverKey)
	store, err := sql.Open("pgx", databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	// One admin's browser, signed in through replica a; the same cookies
	// sent to replica b.
	onA := signIn(t, a.main(), "admin@acme.example")
	onB := *onA
	onB.m = b.main()
	hc := clientFrom(t, "127.0.0.1")

	var id, secret string
	t.Run("SessionWorksOnBoth", func(t *testing.T) {
		p := onB.get("/applications")
		if p.status != http.StatusOK || p.url.String() != b.URL+"/applications" {
			t.Fatalf("replica b with a's session cookie: %d at %s, want 200 at %s", p.status, p.url, b.URL+"/applications")
		}
		if got := testIDText(t, p.body, "user-email"); got != "admin@acme.example" {
			t.Fatalf("replica b shows %q signed in, want admin@acme.example", got)
		}
	})

	t.Run("CreatedOnAIsSeenOnB", func(t *testing.T) {
		id = onA.createApp("Replicated", defaultScopes)
		if ids := listedClientIDs(t, onB.get("/applications").body); !contains(ids, id) {
			t.Fatalf("replica b's list does not show the application just created on a: %v", ids)
		}
		if p := onB.get("/applications/" + id); p.status != http.StatusOK {
			t.Fatalf("replica b's details page = %d, want 200", p.status)
		}
		secret = onB.reveal(id) // the ciphertext a stored, decrypted by b
		for _, r := range []*serverProcess{a, b} {
			grant(t, hc, r.main(), appJSON{ClientID: id, ClientSecret: secret}, "")
		}
	})

	t.Run("ResetOnBIsSeenOnA", func(t *testing.T) {
		// a has the application cached from its last token request.
		grant(t, hc, a.main(), appJSON{ClientID: id, ClientSecret: secret}, "")
		p := onB.get("/applications/" + id + "/reset")
		f := findForm(t, p.body, func(n *html.Node) bool { return attr(n, "action") == "/applications/"+id+"/reset" })
		if r := onB.post(f.action, f.values); r.status != http.StatusSeeOther {
			t.Fatalf("reset on b = %d, want %d\n%s", r.status, http.StatusSeeOther, r.body)
		}
		if got := postForm(t, hc, a.main(), "/oauth2/token", basic(id, secret), grantForm("")).status; got != http.StatusUnauthorized {
			t.Fatalf("the old secret on a right after the reset on b: %d, want 401", got)
		}
		secret = onA.reveal(id)
		grant(t, hc, a.main(), appJSON{ClientID: id, ClientSecret: secret}, "")
	})

	t.Run("TokenCountsAddUp", func(t *testing.T) {
		const onEach = 7
		for range onEach {
			for _, r := range []*serverProcess{a, b} {
				grant(t, hc, r.main(), appJSON{ClientID: id, ClientSecret: secret}, "")
			}
		}
		// Every grant of this test so far: 2 + 1 + 1 before, 2×onEach here.
		want := 4 + 2*onEach
		count := func() int {
			var n int
			if err := store.QueryRow(`SELECT coalesce(sum(u.tokens), 0) FROM token_usage u
				JOIN applications a ON a.id = u.application_id WHERE a.client_id = $1`, id).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if !waitFor(5*time.Second, func() bool { return count() == want }) {
			t.Fatalf("tokens counted = %d, want %d", count(), want)
		}
		time.Sleep(5 * sweepInterval) // more sweeps: nothing counted twice
		if got := count(); got != want {
			t.Fatalf("tokens counted = %d, want %d", got, want)
		}
	})

	t.Run("DeletedOnAIsGoneOnB", func(t *testing.T) {
		grant(t, hc, b.main(), appJSON{ClientID: id, ClientSecret: secret}, "")
		p := onA.get("/applications/" + id + "/delete")
		f := findForm(t, p.body, func(n *html.Node) bool { return attr(n, "action") == "/applications/"+id+"/delete" })
		if r := onA.post(f.action, f.values); r.status != http.StatusSeeOther {
			t.Fatalf("delete on a = %d, want %d", r.status, http.StatusSeeOther)
		}
		if got := postForm(t, hc, b.main(), "/oauth2/token", basic(id, secret), grantForm("")).status; got != http.StatusUnauthorized {
			t.Fatalf("the deleted application's secret on b: %d, want 401", got)
		}
		if got := onB.get("/applications/" + id).status; got != http.StatusNotFound {
			t.Fatalf("replica b's details page of the deleted application = %d, want 404", got)
		}
	})

	t.Run("KeysRotatedByTheCLIArePublishedByBoth", func(t *testing.T) {
		before := fetchJWKS(t, hc, a.main())
		out := cliProcess(t, "keys", "rotate", "--database-url", databaseURL, "--server-key", serverKey, "--data-dir", t.TempDir(), "--json")
		var keys []keyJSON
		if json.Unmarshal([]byte(out), &keys) != nil || len(keys) < 2 || !keys[0].Current {
			t.Fatalf("keys rotate printed no new current key:\n%s", out)
		}
		newKID, oldKID := keys[0].ID, before.Keys[0].KeyID
		app := createAppOn(t, databaseURL, serverKey, "Rotation")
		for _, r := range []*serverProcess{a, b} {
			if !waitFor(5*time.Second, func() bool {
				kids := kidsOf(fetchJWKS(t, hc, r.main()))
				return contains(kids, newKID) && contains(kids, oldKID)
			}) {
				t.Fatalf("%s does not publish both the new key %s and the retired %s: %v", r.URL, newKID, oldKID, kidsOf(fetchJWKS(t, hc, r.main())))
			}
			if !waitFor(5*time.Second, func() bool {
				tok := grant(t, hc, r.main(), app, "")
				h, _ := base64JSON(strings.Split(tok.AccessToken, ".")[0])
				return h["kid"] == newKID
			}) {
				t.Fatalf("%s does not sign with the new key %s", r.URL, newKID)
			}
		}
	})

	t.Run("EachSecretIsErasedOnce", func(t *testing.T) {
		pending := func() int {
			var n int
			if err := store.QueryRow(`SELECT count(*) FROM credentials WHERE ciphertext IS NOT NULL`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		// Let every window opened so far end and be erased first.
		if !waitFor(revealWindow+5*time.Second, func() bool { return pending() == 0 }) {
			t.Fatalf("%d secrets not erased after their reveal window", pending())
		}
		time.Sleep(5 * sweepInterval)
		before := erased(a) + erased(b)

		for i, r := range []*serverProcess{a, b, a} {
			c := onA
			if r == b {
				c = &onB
			}
			c.createApp("Window "+string(rune('A'+i)), defaultScopes)
		}
		if got := pending(); got != 3 {
			t.Fatalf("open reveal windows = %d, want 3", got)
		}
		if !waitFor(revealWindow+5*time.Second, func() bool { return pending() == 0 }) {
			t.Fatalf("%d secrets not erased after their reveal window", pending())
		}
		time.Sleep(5 * sweepInterval)
		if got := erased(a) + erased(b) - before; got != 3 {
			t.Fatalf("the replicas erased %d secrets between them (a %d, b %d in all), want 3: each once", got, erased(a), erased(b))
		}
	})
}

// startReplica runs the tokenservice binary on the PostgreSQL database with
// the server key, its own data directory and bundled provider, and free
// ports; the test's cleanup stops it.
func startReplica(t *testing.T, databaseURL, serverKey string) *serverProcess {
	t.Helper()
	p := startServerProcess(t, t.TempDir(), "--database-url", databaseURL, "--server-key", serverKey,
		"--sweep-interval", sweepInterval.String(), "--reveal-window", revealWindow.String())
	if strings.Contains(p.logs.String(), serverKey) {
		t.Fatal("the server key is in the log")
	}
	return p
}

// createAppOn registers an application with the CLI on the database.
func createAppOn(t *testing.T, databaseURL, serverKey, name string) appJSON {
	t.Helper()
	var app appJSON
	out := cliProcess(t, "app", "create", "--database-url", databaseURL, "--server-key", serverKey, "--data-dir", t.TempDir(),
		"--reveal-window", revealWindow.String(),
		"--account", "acme", "--name", name, "--scope", "ess:account=read", "--json")
	if json.Unmarshal([]byte(out), &app) != nil {
		t.Fatalf("app create printed no JSON:\n%s", out)
	}
	return app
}

// erased sums what the replica's sweeps logged as erased.
func erased(p *serverProcess) int {
	n := 0
	for _, line := range strings.Split(p.logs.String(), "\n") {
		var l struct {
			Msg   string
			Count int
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "erased client secrets whose reveal window ended" {
			n += l.Count
		}
	}
	return n
}

// kidsOf lists the key IDs of a JWKS.
func kidsOf(set *jose.JSONWebKeySet) []string {
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.KeyID)
	}
	return out
}

// base64JSON decodes a JWT segment.
func base64JSON(seg string) (map[string]any, error) {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}
