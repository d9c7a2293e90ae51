package db

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"tokenservice"
)

// TestClientCacheSeesEveryChange: the cached view of an application follows
// every commit at once, whether made through the same store or through
// another one on the same database (as the CLI or another replica does):
// on SQLite with the WAL-index header or its data_version fallback, on
// PostgreSQL with the change counter.
func TestClientCacheSeesEveryChange(t *testing.T) { forEachStore(t, testClientCacheSeesEveryChange) }

func testClientCacheSeesEveryChange(t *testing.T) {
	modes := []string{"WALIndexHeader", "DataVersion"}
	if storeKind(t) == onPostgres {
		modes = []string{"ChangeCounter"}
	}
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			server, cli := openServerAndCLI(t)
			switch mode {
			case "ChangeCounter":
				if server.clientCache.counterStmt == nil {
					t.Fatal("the PostgreSQL store's cache has no change counter")
				}
			case "DataVersion":
				server.clientCache.shm.Close()
				server.clientCache.shm = nil
			default:
				if server.clientCache.shm == nil {
					t.Fatal("the WAL-index header is not readable; the cache would always ask SQLite")
				}
			}

			app := mustCreate(t, cli, "acme", "client-1", "Cached", readEmail)
			mustCreate(t, cli, "acme", "client-2", "Other", readEmail)
			get := func() *tokenservice.Client {
				t.Helper()
				c, err := server.Client(ctx, "client-1")
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
			first := get()
			if again := get(); again != first {
				t.Fatal("the second lookup with nothing committed in between was not served from the cache")
			}

			// A reset by the other store: the new hash and generation at once.
			if _, err := cli.ResetSecret(ctx, tokenservice.SecretReset{ClientID: "client-1", AnyVersion: true, Secret: testSecret("second"), Actor: testActor("cli"), Now: now}); err != nil {
				t.Fatal(err)
			}
			if c := get(); c.SecretGeneration != 2 || string(c.Secrets[0].Hash) != "hash:second" {
				t.Fatalf("after a reset by another store: generation %d, hash %q", c.SecretGeneration, c.Secrets[0].Hash)
			}

			// A scope change through this store.
			cur, _ := server.GetApplication(ctx, "acme", "client-1")
			if _, err := server.UpdateApplication(ctx, tokenservice.ApplicationUpdate{AccountID: "acme", ClientID: "client-1", Version: cur.Version,
				Name: "Cached", Scopes: []tokenservice.ScopeGrant{rwIncident}, Actor: testActor("admin@example.com"), Now: now}); err != nil {
				t.Fatal(err)
			}
			if got, want := get().Scopes, []tokenservice.ScopeGrant{rwIncident}; !reflect.DeepEqual(got, want) {
				t.Fatalf("scopes after an edit = %v, want %v", got, want)
			}

			// On SQLite a commit that does not touch the application
			// empties the cache in effect; the next lookup reads the same
			// values again. PostgreSQL's counter moves only with what the
			// cache holds: the entry stays.
			before := get()
			if err := cli.RevokeToken(ctx, "jti", "acme", now); err != nil {
				t.Fatal(err)
			}
			if _, err := cli.UpdateApplication(ctx, tokenservice.ApplicationUpdate{AccountID: "acme", ClientID: "client-1", Version: cur.Version + 1,
				Name: "Cached, renamed", Scopes: []tokenservice.ScopeGrant{rwIncident}, Actor: testActor("admin@example.com"), Now: now}); err != nil {
				t.Fatal(err)
			}
			after := get()
			if !reflect.DeepEqual(after, before) {
				t.Fatalf("after unrelated commits: %+v, want %+v", after, before)
			}
			if cached := mode == "ChangeCounter"; (after == before) != cached {
				t.Fatalf("after unrelated commits: served from the cache %v, want %v", after == before, cached)
			}

			// A checkpoint resets the WAL; changes after it are still seen.
			if _, err := cli.EraseExpiredSecrets(ctx, now.Add(24*60*60*1e9)); err != nil {
				t.Fatal(err)
			}
			get()
			if _, err := cli.ResetSecret(ctx, tokenservice.SecretReset{ClientID: "client-1", AnyVersion: true, Secret: testSecret("third"), Actor: testActor("cli"), Now: now}); err != nil {
				t.Fatal(err)
			}
			if c := get(); c.SecretGeneration != 3 {
				t.Fatalf("after a checkpoint and a reset: generation %d, want 3", c.SecretGeneration)
			}

			// A delete by the other store: not found at once.
			if err := cli.DeleteApplication(ctx, tokenservice.ApplicationDeletion{ClientID: app.ClientID, AnyVersion: true}); err != nil {
				t.Fatal(err)
			}
			_, err := server.Client(ctx, "client-1")
			wantCode(t, err, tokenservice.ENOTFOUND)
			if _, err := server.Client(ctx, "client-2"); err != nil {
				t.Fatalf("the other application: %v", err)
			}
		})
	}
}

// TestClientCacheKeepsOwnTokenCounts: on SQLite, this store's own commit of
// token counts keeps the cache (it changes nothing the cache holds), but
// only when it is the only commit since the mark was read: token counts
// committed by another store, and any commit slipped in between, empty it
// as before; and a change by another store after the carried-over commit
// is still seen at once.
func TestClientCacheKeepsOwnTokenCounts(t *testing.T) {
	ctx := context.Background()
	server, cli := openServerAndCLI(t)
	if server.clientCache.shm == nil {
		t.Fatal("the WAL-index header is not readable")
	}
	app := mustCreate(t, cli, "acme", "client-1", "Cached", readEmail)
	get := func() *tokenservice.Client {
		t.Helper()
		c, err := server.Client(ctx, "client-1")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	count := func(db *DB) {
		t.Helper()
		if err := db.AddTokenUsage(ctx, []tokenservice.TokenUsage{{ApplicationID: app.ID, ClientID: app.ClientID, Hour: now.Truncate(time.Hour), Count: 3, Last: now}}); err != nil {
			t.Fatal(err)
		}
	}

	first := get()
	for range 3 {
		count(server)
		if get() != first {
			t.Fatal("after this store's token counts: read again, want the cached entry")
		}
	}
	// The sweeper's checkpoint restarts the WAL, rewriting the WAL index's
	// header, but commits nothing: the entry stays.
	if _, err := server.EraseExpiredSecrets(ctx, now); err != nil {
		t.Fatal(err)
	}
	if get() != first {
		t.Fatal("after a checkpoint: read again, want the cached entry")
	}
	count(cli)
	second := get()
	if second == first {
		t.Fatal("after another store's token counts: served from the cache, want a new read")
	}

	// A commit between the mark and this store's own: not carried over.
	mark, ok := server.clientCache.beforeOwnCommit()
	if !ok {
		t.Fatal("no mark to carry")
	}
	if err := cli.RevokeToken(ctx, "jti-1", "acme", now); err != nil {
		t.Fatal(err)
	}
	if err := server.RevokeToken(ctx, "jti-2", "acme", now); err != nil {
		t.Fatal(err)
	}
	server.clientCache.carry(mark)
	if get() == second {
		t.Fatal("two commits since the mark were taken for one: served from the cache")
	}

	// A reset by the other store after a carried-over commit: seen at once.
	get()
	count(server)
	if _, err := cli.ResetSecret(ctx, tokenservice.SecretReset{ClientID: "client-1", AnyVersion: true, Secret: testSecret("second"), Actor: testActor("cli"), Now: now}); err != nil {
		t.Fatal(err)
	}
	if c := get(); c.SecretGeneration != 2 {
		t.Fatalf("after a reset by another store: generation %d, want 2", c.SecretGeneration)
	}
}

// openServerAndCLI opens two stores on one new database, as the service
// and the operator CLI (or a second replica) do; both close with the test.
func openServerAndCLI(t *testing.T) (server, cli *DB) {
	t.Helper()
	path := newTestURL(t)
	for _, db := range []**DB{&server, &cli} {
		d, err := Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		*db = d
	}
	return server, cli
}

// TestClientCacheRemembersUnknown: a well-formed client ID that no
// application has is answered from memory the second time, without a
// query, as a known one is, so the time a lookup takes does not tell them
// apart; and an application created with that ID afterwards, by this store
// or another, is found at the very next lookup.
func TestClientCacheRemembersUnknown(t *testing.T) { forEachStore(t, testClientCacheRemembersUnknown) }

func testClientCacheRemembersUnknown(t *testing.T) {
	modes := []string{"WALIndexHeader", "DataVersion"}
	if storeKind(t) == onPostgres {
		modes = []string{"ChangeCounter"}
	}
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			server, cli := openServerAndCLI(t)
			if mode == "DataVersion" {
				server.clientCache.shm.Close()
				server.clientCache.shm = nil
			}
			mustCreate(t, cli, "acme", "known", "Known", readEmail)
			known, err := server.Client(ctx, "known")
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{"by-cli", "by-server"} {
				_, err := server.Client(ctx, id)
				wantCode(t, err, tokenservice.ENOTFOUND)
			}

			withoutQuery(t, server, func() {
				if _, err := server.Client(ctx, "never-asked"); err == nil || tokenservice.ErrorCode(err) == tokenservice.ENOTFOUND {
					t.Fatalf("a lookup without the query answered %v; the test cannot tell memory from the database", err)
				}
				for _, id := range []string{"by-cli", "by-server"} {
					_, err := server.Client(ctx, id)
					wantCode(t, err, tokenservice.ENOTFOUND)
				}
				if c, err := server.Client(ctx, "known"); err != nil || c != known {
					t.Fatalf("the known client without the query: %v, %v", c, err)
				}
			})

			mustCreate(t, cli, "acme", "by-cli", "Created by the other store", readEmail)
			if c, err := server.Client(ctx, "by-cli"); err != nil || c.ClientID != "by-cli" {
				t.Fatalf("created by the other store after it was unknown: %v, %v", c, err)
			}
			mustCreate(t, server, "acme", "by-server", "Created by this store", readEmail)
			if c, err := server.Client(ctx, "by-server"); err != nil || c.ClientID != "by-server" {
				t.Fatalf("created by this store after it was unknown: %v, %v", c, err)
			}
		})
	}
}

// TestClientCacheUnknownBounded: unknown client IDs are remembered up to a
// bound of their own, so a flood of them takes bounded memory and never
// pushes a known client out.
func TestClientCacheUnknownBounded(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	mustCreate(t, db, "acme", "known", "Known", readEmail)
	known, err := db.Client(ctx, "known")
	if err != nil {
		t.Fatal(err)
	}
	mark, err := db.clientCache.mark(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2*maxMissingClients + 1 {
		db.clientCache.put(fmt.Sprint("unknown-", i), mark, nil)
	}
	if n := len(db.clientCache.missing); n != maxMissingClients {
		t.Fatalf("%d unknown client IDs remembered, want %d: a flood must not empty them", n, maxMissingClients)
	}
	withoutQuery(t, db, func() {
		if c, err := db.Client(ctx, "known"); err != nil || c != known {
			t.Fatalf("the known client after a flood of unknown ones: %v, %v", c, err)
		}
	})
}

// withoutQuery runs f with the store's client query closed, so that a
// lookup that reaches the database fails instead of answering.
func withoutQuery(t *testing.T, db *DB, f func()) {
	t.Helper()
	db.clientStmt.Close()
	f()
	var err error
	if db.clientStmt, err = db.pool.PrepareContext(context.Background(), clientQuery); err != nil {
		t.Fatal(err)
	}
}
