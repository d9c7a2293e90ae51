package db

import (
	"context"
	"reflect"
	"testing"
	"time"

	"tokenservice"
)

func TestClient(t *testing.T) { forEachStore(t, testClient) }

func testClient(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	app := mustCreate(t, db, "acme", "client-1", "Billing sync", rwIncident, readEmail)
	mustCreate(t, db, "acme", "client-2", "No scopes")

	c, err := db.Client(ctx, "client-1")
	if err != nil {
		t.Fatal(err)
	}
	want := &tokenservice.Client{ApplicationID: app.ID, ClientID: "client-1", AccountID: "acme",
		SecretGeneration: 1, Scopes: []tokenservice.ScopeGrant{readEmail, rwIncident},
		Secrets: []tokenservice.ClientSecret{{ID: app.Credentials[0].ID, Hash: []byte("hash:secret of client-1")}}}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("Client = %+v\nwant %+v", c, want)
	}
	t.Run("NoScopes", func(t *testing.T) {
		c, err := db.Client(ctx, "client-2")
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Scopes) != 0 || c.OAuthScopes() != nil {
			t.Fatalf("Scopes = %v, want none", c.Scopes)
		}
	})
	t.Run("AfterReset", func(t *testing.T) {
		if _, err := db.ResetSecret(ctx, tokenservice.SecretReset{ClientID: "client-1", AnyVersion: true, Secret: testSecret("second"), Actor: testActor("cli"), Now: now}); err != nil {
			t.Fatal(err)
		}
		c, err := db.Client(ctx, "client-1")
		if err != nil {
			t.Fatal(err)
		}
		if c.SecretGeneration != 2 || string(c.Secrets[0].Hash) != "hash:second" {
			t.Fatalf("after reset: generation %d, hash %q", c.SecretGeneration, c.Secrets[0].Hash)
		}
	})
	t.Run("Missing", func(t *testing.T) {
		_, err := db.Client(ctx, "nope")
		wantCode(t, err, tokenservice.ENOTFOUND)
	})
	t.Run("Deleted", func(t *testing.T) {
		if err := db.DeleteApplication(ctx, tokenservice.ApplicationDeletion{ClientID: "client-2", AnyVersion: true}); err != nil {
			t.Fatal(err)
		}
		_, err := db.Client(ctx, "client-2")
		wantCode(t, err, tokenservice.ENOTFOUND)
	})
}

func TestRevokeToken(t *testing.T) { forEachStore(t, testRevokeToken) }

func testRevokeToken(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	if revoked, err := db.TokenRevoked(ctx, "jti-1"); err != nil || revoked {
		t.Fatalf("TokenRevoked before = %v, %v", revoked, err)
	}
	for i := 0; i < 2; i++ { // revoking twice is fine
		if err := db.RevokeToken(ctx, "jti-1", "acme", now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.RevokeToken(ctx, "jti-2", "acme", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if revoked, err := db.TokenRevoked(ctx, "jti-1"); err != nil || !revoked {
		t.Fatalf("TokenRevoked = %v, %v; want true", revoked, err)
	}
	// Once a token has expired its revocation is forgotten.
	if n, err := db.DeleteExpiredRevocations(ctx, now.Add(time.Minute)); err != nil || n != 1 {
		t.Fatalf("DeleteExpiredRevocations = %d, %v; want 1", n, err)
	}
	if revoked, _ := db.TokenRevoked(ctx, "jti-2"); revoked {
		t.Fatal("an expired revocation was kept")
	}
	if revoked, _ := db.TokenRevoked(ctx, "jti-1"); !revoked {
		t.Fatal("an unexpired revocation was deleted")
	}
}

func TestTokenUsage(t *testing.T) { forEachStore(t, testTokenUsage) }

func testTokenUsage(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	app := mustCreate(t, db, "acme", "client-1", "Billing sync", readEmail)
	gone := mustCreate(t, db, "acme", "client-2", "Deleted meanwhile", readEmail)
	hour := now.Truncate(time.Hour)

	if n, last, err := db.TokenUsage(ctx, "acme", "client-1", now); err != nil || n != 0 || !last.IsZero() {
		t.Fatalf("TokenUsage before any token = %d, %v, %v", n, last, err)
	}
	if err := db.DeleteApplication(ctx, tokenservice.ApplicationDeletion{ClientID: "client-2", AnyVersion: true}); err != nil {
		t.Fatal(err)
	}
	batches := [][]tokenservice.TokenUsage{
		{
			{ApplicationID: app.ID, ClientID: app.ClientID, Hour: hour.Add(-30 * time.Hour), Count: 100, Last: hour.Add(-29 * time.Hour)},
			{ApplicationID: app.ID, ClientID: app.ClientID, Hour: hour.Add(-23 * time.Hour), Count: 5, Last: hour.Add(-23 * time.Hour)},
			{ApplicationID: gone.ID, ClientID: gone.ClientID, Hour: hour, Count: 7, Last: now},
			// a row id now taken by another application
			{ApplicationID: app.ID, ClientID: "client-deleted-long-ago", Hour: hour, Count: 50, Last: now.Add(time.Hour)},
		},
		{
			{ApplicationID: app.ID, ClientID: app.ClientID, Hour: hour, Count: 3, Last: now},
		},
		{ // another replica's batch, written later with an older last time
			{ApplicationID: app.ID, ClientID: app.ClientID, Hour: hour, Count: 2, Last: now.Add(-time.Minute)},
		},
	}
	for _, b := range batches {
		if err := db.AddTokenUsage(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	n, last, err := db.TokenUsage(ctx, "acme", "client-1", now)
	if err != nil {
		t.Fatal(err)
	}
	if n != 10 || !last.Equal(now) {
		t.Fatalf("TokenUsage = %d tokens, last %v; want 10 (not the 30-hour-old 100), last %v", n, last, now)
	}
	if got := countRows(t, db, `SELECT count(*) FROM token_usage WHERE application_id = ?`, gone.ID); got != 0 {
		t.Fatalf("%d usage rows of a deleted application", got)
	}
	t.Run("OtherAccount", func(t *testing.T) {
		_, _, err := db.TokenUsage(ctx, "globex", "client-1", now)
		wantCode(t, err, tokenservice.ENOTFOUND)
	})
	t.Run("OldCountsDeleted", func(t *testing.T) {
		if n, err := db.DeleteOldTokenUsage(ctx, now); err != nil || n != 1 {
			t.Fatalf("DeleteOldTokenUsage = %d, %v; want 1", n, err)
		}
		if n, _, _ := db.TokenUsage(ctx, "acme", "client-1", now); n != 10 {
			t.Fatalf("TokenUsage = %d after deleting old counts, want 10", n)
		}
	})
	t.Run("DeletedWithTheApplication", func(t *testing.T) {
		if err := db.DeleteApplication(ctx, tokenservice.ApplicationDeletion{ClientID: "client-1", AnyVersion: true}); err != nil {
			t.Fatal(err)
		}
		if got := countRows(t, db, `SELECT (SELECT count(*) FROM token_usage) + (SELECT count(*) FROM token_last_issued)`); got != 0 {
			t.Fatalf("%d usage rows left after the application was deleted", got)
		}
	})
}

func TestSigningKeys(t *testing.T) { forEachStore(t, testSigningKeys) }

func testSigningKeys(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	k1 := tokenservice.SigningKey{ID: "k1", Algorithm: "ES256", Ciphertext: []byte("one"), CreatedAt: now}
	if added, err := db.AddSigningKey(ctx, k1, true, now); err != nil || !added {
		t.Fatalf("first key: added %v, %v", added, err)
	}
	// onlyIfNone: a current key (of any algorithm) is kept.
	k2 := tokenservice.SigningKey{ID: "k2", Algorithm: "RS256", Ciphertext: []byte("two"), CreatedAt: now.Add(time.Minute)}
	if added, err := db.AddSigningKey(ctx, k2, true, now.Add(time.Minute)); err != nil || added {
		t.Fatalf("onlyIfNone with a current key: added %v, %v", added, err)
	}
	// A rotation retires the current key.
	if added, err := db.AddSigningKey(ctx, k2, false, now.Add(time.Minute)); err != nil || !added {
		t.Fatalf("rotation: added %v, %v", added, err)
	}
	keys, err := db.SigningKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].ID != "k2" || !keys[0].RetiredAt.IsZero() || keys[1].ID != "k1" || !keys[1].RetiredAt.Equal(now.Add(time.Minute)) {
		t.Fatalf("keys = %+v", keys)
	}
	// k1 signed 1-hour tokens until it was retired at now+1m.
	if err := db.RaiseSigningKeyTTL(ctx, "k1", time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := db.RaiseSigningKeyTTL(ctx, "k1", time.Minute); err != nil { // never lowers
		t.Fatal(err)
	}
	if keys, _ := db.SigningKeys(ctx); keys[1].MaxTokenTTL != time.Hour {
		t.Fatalf("MaxTokenTTL = %s, want 1h", keys[1].MaxTokenTTL)
	}
	if n, err := db.DeleteSigningKeys(ctx, now.Add(time.Hour)); err != nil || n != 0 {
		t.Fatalf("DeleteSigningKeys before its tokens expired = %d, %v; want 0", n, err)
	}
	if n, err := db.DeleteSigningKeys(ctx, now.Add(time.Hour+2*time.Minute)); err != nil || n != 1 {
		t.Fatalf("DeleteSigningKeys = %d, %v; want 1", n, err)
	}
	if keys, _ := db.SigningKeys(ctx); len(keys) != 1 || keys[0].ID != "k2" {
		t.Fatalf("the current key was deleted: %+v", keys)
	}
	if _, err := db.AddSigningKey(ctx, tokenservice.SigningKey{ID: "k3", Algorithm: "HS256", Ciphertext: []byte("x"), CreatedAt: now}, false, now); err == nil {
		t.Fatal("an unknown algorithm was stored")
	}
	if keys, _ := db.SigningKeys(ctx); len(keys) != 1 || keys[0].ID != "k2" || !keys[0].RetiredAt.IsZero() {
		t.Fatalf("a refused key changed the keys: %+v", keys)
	}
}

// BenchmarkClient is the token endpoint's lookup among 10,000
// applications, on each kind of store, with nothing changing meanwhile (so
// served from the cache after its change mark is read).
func BenchmarkClient(b *testing.B) {
	for _, kind := range []string{onSQLite, onPostgres} {
		b.Run(kind, func(b *testing.B) {
			db := openTestDB(b)
			seedApplications(b, db, "acme", 10_000)
			app := mustCreate(b, db, "acme", "client-bench", "Bench", readEmail, rwIncident)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					c, err := db.Client(ctx, app.ClientID)
					if err != nil || len(c.Scopes) != 2 {
						b.Fatal(c, err)
					}
				}
			})
		})
	}
}
