package db

import (
	"context"
	"testing"
	"time"

	"tokenservice"
)

// TestCredentialLifecycle: a rotation keeps the old secret until its grace
// ends, a third live secret is refused, the last live one cannot be
// revoked, revoking the new secret of a rotation keeps the old one, and the
// sweep revokes at the deadline once, with one event.
func TestCredentialLifecycle(t *testing.T) { forEachStore(t, testCredentialLifecycle) }

func testCredentialLifecycle(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	app := mustCreate(t, db, "acme", "client-1", "Billing sync", readEmail)
	first := app.Credentials[0].ID
	rotate := func(version int, grace time.Duration, hash string) (*tokenservice.Application, string, error) {
		return db.RotateSecret(ctx, tokenservice.SecretRotation{AccountID: "acme", ClientID: "client-1", Version: version,
			Secret: testSecret(hash), Grace: grace, Actor: testActor("alice"), Now: now})
	}
	rotated, second, err := rotate(app.Version, time.Hour, "second")
	if err != nil {
		t.Fatal(err)
	}
	if got := rotated.LiveCredentials(now); got != 2 {
		t.Fatalf("live credentials after a rotation = %d, want 2", got)
	}
	if old := rotated.Credential(first); !old.RevokeAt.Equal(now.Add(time.Hour)) {
		t.Errorf("the old secret works until %v, want %v", old.RevokeAt, now.Add(time.Hour))
	}
	t.Run("StaleVersion", func(t *testing.T) {
		_, _, err := rotate(app.Version, time.Hour, "stale")
		wantCode(t, err, tokenservice.ECONFLICT)
	})
	t.Run("ThirdLiveSecret", func(t *testing.T) {
		_, _, err := rotate(rotated.Version, time.Hour, "third")
		wantCode(t, err, tokenservice.EINVALID)
		if got, _ := db.GetApplication(ctx, "acme", "client-1"); len(got.Credentials) != 2 || got.Version != rotated.Version {
			t.Errorf("a refused rotation changed the application: %d credentials, version %d", len(got.Credentials), got.Version)
		}
	})
	t.Run("RevokeNewKeepsOld", func(t *testing.T) {
		after, err := db.RevokeCredential(ctx, tokenservice.CredentialRevocation{AccountID: "acme", ClientID: "client-1",
			CredentialID: second, Version: rotated.Version, Reason: tokenservice.RevokedByPerson, Actor: testActor("alice"), Now: now})
		if err != nil {
			t.Fatal(err)
		}
		old := after.Credential(first)
		if !old.RevokeAt.IsZero() || !old.Live(now.Add(2*time.Hour)) {
			t.Errorf("after revoking the new secret the old one stops at %v, want it kept", old.RevokeAt)
		}
		_, err = db.RevokeCredential(ctx, tokenservice.CredentialRevocation{AccountID: "acme", ClientID: "client-1",
			CredentialID: first, Version: after.Version, Reason: tokenservice.RevokedByPerson, Actor: testActor("alice"), Now: now})
		wantCode(t, err, tokenservice.EINVALID) // the last live one
		_, err = db.RevokeCredential(ctx, tokenservice.CredentialRevocation{AccountID: "globex", ClientID: "client-1",
			CredentialID: first, Version: after.Version, Reason: tokenservice.RevokedByPerson, Actor: testActor("mallory"), Now: now})
		wantCode(t, err, tokenservice.ENOTFOUND)
		rotated = after
	})
	t.Run("GraceEndsOnce", func(t *testing.T) {
		again, _, err := rotate(rotated.Version, time.Minute, "fourth")
		if err != nil {
			t.Fatal(err)
		}
		if c, err := db.Client(ctx, "client-1"); err != nil || len(c.Secrets) != 2 {
			t.Fatalf("Client secrets = %v, %v; want 2", c, err)
		}
		for range 2 {
			if n, err := db.RetireCredentials(ctx, now.Add(2*time.Minute)); err != nil {
				t.Fatal(err)
			} else if n > 1 {
				t.Errorf("a sweep retired %d credentials, want at most 1", n)
			}
		}
		got, _ := db.GetApplication(ctx, "acme", "client-1")
		if old := got.Credential(first); old.RevokedAt.IsZero() || old.RevokeReason != tokenservice.RevokedByGracePeriod {
			t.Errorf("after the grace period the old secret is %+v, want revoked by the grace period", old)
		}
		if c, err := db.Client(ctx, "client-1"); err != nil || len(c.Secrets) != 1 {
			t.Errorf("Client secrets after the grace period = %v, %v; want 1", c, err)
		}
		page, err := db.ListEvents(ctx, "acme", tokenservice.EventFilter{Action: tokenservice.ActionCredentialRevoked})
		if err != nil {
			t.Fatal(err)
		}
		grace := 0
		for _, e := range page.Events {
			if e.Reason == tokenservice.RevokedByGracePeriod {
				grace++
			}
		}
		if grace != 1 {
			t.Errorf("grace-period revocations recorded = %d, want 1", grace)
		}
		_ = again
	})
}

// TestRotationAfterExpiry: a rotation replaces a secret that expired, and
// revoking the newest secret keeps the one it was rotating out.
func TestRotationAfterExpiry(t *testing.T) { forEachStore(t, testRotationAfterExpiry) }

func testRotationAfterExpiry(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	secret := testSecret("expiring")
	secret.ExpiresAt = now.Add(time.Hour)
	app, err := db.CreateApplication(ctx, tokenservice.NewApplication{AccountID: "acme", ClientID: "client-1", Name: "Expiring",
		Scopes: []tokenservice.ScopeGrant{readEmail}, Secret: secret, Actor: testActor("alice"), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	expired := app.Credentials[0].ID
	later := now.Add(2 * time.Hour)
	rotated, second, err := db.RotateSecret(ctx, tokenservice.SecretRotation{AccountID: "acme", ClientID: "client-1", Version: app.Version,
		Secret: testSecret("second"), Grace: 24 * time.Hour, Actor: testActor("alice"), Now: later})
	if err != nil {
		t.Fatal(err)
	}
	if c := rotated.Credential(expired); c.RevokedAt.IsZero() || c.RevokeReason != tokenservice.RevokedAfterExpiry {
		t.Errorf("the expired secret after a rotation: %+v, want revoked as expired", c)
	}
	if c, err := db.Client(ctx, "client-1"); err != nil || len(c.Secrets) != 1 || c.Secrets[0].ID != second {
		t.Errorf("the token endpoint's secrets = %+v, %v; want the new one alone", c, err)
	}

	// The second secret is rotated out within an hour; revoking the third
	// keeps it working.
	r2, third, err := db.RotateSecret(ctx, tokenservice.SecretRotation{AccountID: "acme", ClientID: "client-1", Version: rotated.Version,
		Secret: testSecret("third"), Grace: time.Hour, Actor: testActor("alice"), Now: later})
	if err != nil {
		t.Fatal(err)
	}
	r3, err := db.RevokeCredential(ctx, tokenservice.CredentialRevocation{AccountID: "acme", ClientID: "client-1", CredentialID: third,
		Version: r2.Version, Reason: tokenservice.RevokedByPerson, Actor: testActor("alice"), Now: later})
	if err != nil {
		t.Fatal(err)
	}
	if got := r3.Credential(second).RevokeAt; !got.IsZero() {
		t.Fatalf("after revoking the newest, the other still stops at %v, want kept", got)
	}
}

// TestListKeepsUseAndSecretEnds: the list shows each application's last use
// and its secrets' earliest end from its own row, which the token counts and
// every change of a credential keep current.
func TestListKeepsUseAndSecretEnds(t *testing.T) { forEachStore(t, testListKeepsUseAndSecretEnds) }

func testListKeepsUseAndSecretEnds(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	s := testSecret("first")
	s.ExpiresAt = now.Add(10 * 24 * time.Hour)
	app, err := db.CreateApplication(ctx, tokenservice.NewApplication{AccountID: "acme", ClientID: "client-1", Name: "Listed",
		Scopes: []tokenservice.ScopeGrant{readEmail}, Secret: s, Actor: testActor("alice"), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	listed := func() *tokenservice.Application {
		t.Helper()
		page, err := db.ListApplications(ctx, "acme", tokenservice.ListOptions{})
		if err != nil || len(page.Applications) != 1 {
			t.Fatalf("list: %v, %v", page, err)
		}
		return page.Applications[0]
	}
	if got := listed(); !got.SecretExpiresAt.Equal(s.ExpiresAt) || !got.LastUsedAt.IsZero() {
		t.Errorf("after create: ends %v, last used %v; want %v and never", got.SecretExpiresAt, got.LastUsedAt, s.ExpiresAt)
	}
	rotated, newID, err := db.RotateSecret(ctx, tokenservice.SecretRotation{AccountID: "acme", ClientID: "client-1", Version: app.Version,
		Secret: testSecret("second"), Grace: time.Hour, Actor: testActor("alice"), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if got := listed().SecretExpiresAt; !got.Equal(now.Add(time.Hour)) {
		t.Errorf("during the grace period: ends %v, want %v", got, now.Add(time.Hour))
	}
	if _, err := db.RetireCredentials(ctx, now.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := listed().SecretExpiresAt; !got.IsZero() {
		t.Errorf("after the grace period, with a secret that does not expire: ends %v, want none", got)
	}
	used := now.Add(3 * time.Hour)
	if err := db.AddTokenUsage(ctx, []tokenservice.TokenUsage{{ApplicationID: rotated.ID, ClientID: "client-1", Hour: used.Truncate(time.Hour),
		Count: 1, Last: used, CredentialID: newID}}); err != nil {
		t.Fatal(err)
	}
	if got := listed().LastUsedAt; !got.Equal(used) {
		t.Errorf("after a token: last used %v, want %v", got, used)
	}
}
