package main

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"tokenservice"
	"tokenservice/secret"
)

// The credentials of an application — rotation with a grace period,
// revocation, reset, expiry, the account's maximum lifetime, last use and
// leak reports — driven as in production: changes through the operations
// the portal's handlers call (Main.Applications), tokens over HTTP.

// memberOf is a signed-in member of account as the portal's handlers make
// the principal of a request.
func memberOf(account, email string, admin bool) tokenservice.Principal {
	u := &tokenservice.User{Subject: "sub-" + email, Email: email, AccountID: account, Admin: admin}
	return tokenservice.MemberPrincipal(u, tokenservice.Actor{Subject: u.Subject, Email: email,
		Address: "192.0.2.10", UserAgent: "credentials_test"})
}

var (
	acmeAdmin   = memberOf("acme", "admin@acme.example", true)
	globexAdmin = memberOf("globex", "admin@globex.example", true)
)

// quietSweeper keeps the sweeper from running after its first pass at
// start, so that a test sweeps and flushes when it says so.
func quietSweeper(m *Main) { m.Config.SweepInterval = time.Hour }

// createApp registers an application of p's account with read access to
// forensics:account and a first secret that expires at expires (zero:
// as the account allows).
func createApp(t *testing.T, m *Main, p tokenservice.Principal, name string, expires time.Time) appJSON {
	t.Helper()
	app, plaintext, err := m.Applications.CreateApplication(context.Background(), p, tokenservice.CreateApplicationInput{
		ApplicationInput: tokenservice.ApplicationInput{Name: name,
			Access: map[string]tokenservice.Access{"forensics:account": tokenservice.AccessRead}},
		SecretExpiresAt: expires,
	})
	if err != nil {
		t.Fatalf("create application %q: %v", name, err)
	}
	return appJSON{ClientID: app.ClientID, ClientSecret: plaintext, Name: app.Name, AccountID: app.AccountID}
}

// stored is the application as the store has it now, with its credentials.
func stored(t *testing.T, m *Main, clientID string) *tokenservice.Application {
	t.Helper()
	app, _, err := m.Store.ApplicationByClientID(context.Background(), clientID)
	if err != nil {
		t.Fatalf("application %s: %v", clientID, err)
	}
	return app
}

// credentialOf is the application's credential with the id, as stored now.
func credentialOf(t *testing.T, m *Main, clientID, id string) tokenservice.Credential {
	t.Helper()
	c := stored(t, m, clientID).Credential(id)
	if c == nil {
		t.Fatalf("application %s has no credential %s", clientID, id)
	}
	return *c
}

// onlyCredential is the id of the application's one credential.
func onlyCredential(t *testing.T, m *Main, clientID string) string {
	t.Helper()
	creds := stored(t, m, clientID).Credentials
	if len(creds) != 1 {
		t.Fatalf("application %s has %d credentials, want 1", clientID, len(creds))
	}
	return creds[0].ID
}

// rotateSecret rotates app's secret as p, against the version stored now,
// and returns the application with the new secret and its credential id.
func rotateSecret(t *testing.T, m *Main, p tokenservice.Principal, app appJSON, in tokenservice.RotateSecretInput) (appJSON, string) {
	t.Helper()
	in.ClientID, in.Version = app.ClientID, stored(t, m, app.ClientID).Version
	_, plaintext, id, err := m.Applications.RotateSecret(context.Background(), p, in)
	if err != nil {
		t.Fatalf("rotate the secret of %s: %v", app.ClientID, err)
	}
	if !secret.WellFormed(plaintext) || !secret.ValidCredentialID(id) {
		t.Fatalf("rotation returned secret %q, credential %q", plaintext, id)
	}
	next := app
	next.ClientSecret = plaintext
	return next, id
}

// eventsOf are the account's events of action about the application,
// newest first.
func eventsOf(t *testing.T, m *Main, account, clientID string, action tokenservice.Action) []*tokenservice.Event {
	t.Helper()
	page, err := m.Store.ListEvents(context.Background(), account,
		tokenservice.EventFilter{Action: action, ClientID: clientID, Limit: tokenservice.MaxEventLimit})
	if err != nil {
		t.Fatalf("list events: %v", err)
	}
	return page.Events
}

// oneEvent is the one event of action about the application.
func oneEvent(t *testing.T, m *Main, account, clientID string, action tokenservice.Action) *tokenservice.Event {
	t.Helper()
	evs := eventsOf(t, m, account, clientID, action)
	if len(evs) != 1 {
		t.Fatalf("%d %s events of %s, want 1", len(evs), action, clientID)
	}
	return evs[0]
}

// refused checks that the token endpoint refuses app's secret as
// invalid_client and returns the error description.
func refused(t *testing.T, hc *http.Client, m *Main, app appJSON) string {
	t.Helper()
	a := postForm(t, hc, m, "/oauth2/token", basic(app.ClientID, app.ClientSecret), grantForm(""))
	checkOAuthError(t, a, http.StatusUnauthorized, "invalid_client")
	var e struct {
		Description string `json:"error_description"`
	}
	a.decodeJSON(t, &e)
	return e.Description
}

// wantActive checks what introspection, asked by caller, says of each token.
func wantActive(t *testing.T, hc *http.Client, m *Main, caller appJSON, active bool, tokens map[string]string) {
	t.Helper()
	for name, raw := range tokens {
		if got := introspect(t, hc, m, caller, raw).Active; got != active {
			t.Errorf("the token %s introspects active=%v, want %v", name, got, active)
		}
	}
}

// sweep runs the sweeper's retirement of credentials at the service's now.
func sweep(t *testing.T, m *Main) int {
	t.Helper()
	n, err := m.Store.RetireCredentials(context.Background(), m.Now())
	if err != nil {
		t.Fatalf("retire credentials: %v", err)
	}
	return n
}

// flush writes the token counts as the sweeper does.
func flush(t *testing.T, m *Main) {
	t.Helper()
	if err := m.server.FlushUsage(context.Background()); err != nil {
		t.Fatalf("flush usage: %v", err)
	}
}

// credentialState is what a refused change must leave as it was: the
// application's version, its credentials and the account's whole trail.
type credentialState struct {
	Version     int
	Generation  int
	UpdatedAt   time.Time
	Credentials []tokenservice.Credential
	Events      int
	LastEvent   int64
}

func credentialStateOf(t *testing.T, m *Main, clientID string) credentialState {
	t.Helper()
	app := stored(t, m, clientID)
	s := credentialState{Version: app.Version, Generation: app.SecretGeneration, UpdatedAt: app.UpdatedAt, Credentials: app.Credentials}
	for id := range allEvents(t, m.Store, app.AccountID) {
		s.Events++
		s.LastEvent = max(s.LastEvent, id)
	}
	return s
}

func wantUnchanged(t *testing.T, m *Main, clientID string, before credentialState) {
	t.Helper()
	if after := credentialStateOf(t, m, clientID); !reflect.DeepEqual(after, before) {
		t.Errorf("application %s changed:\n got  %+v\n want %+v", clientID, after, before)
	}
}

// TestCredentialRotation: during a rotation's grace period both secrets
// get tokens; at its end (on the service's clock) the old secret is refused
// and its tokens turn inactive while the new one's stay active, and the
// sweeper records the revocation once.
func TestCredentialRotation(t *testing.T) {
	t.Parallel()
	var clock testClock
	m := newMain(t, clock.configure(), func(m *Main) { m.Config.SweepInterval = 20 * time.Millisecond })
	hc := clientFrom(t, "127.0.0.1")
	old := createApp(t, m, acmeAdmin, "Rotated", time.Time{})
	oldID := onlyCredential(t, m, old.ClientID)
	before := grant(t, hc, m, old, "").AccessToken

	next, nextID := rotateSecret(t, m, acmeAdmin, old, tokenservice.RotateSecretInput{Grace: 10 * time.Second})
	if nextID == oldID || next.ClientSecret == old.ClientSecret {
		t.Fatal("the rotation returned the old credential")
	}
	during := grant(t, hc, m, old, "").AccessToken
	fresh := grant(t, hc, m, next, "").AccessToken
	wantActive(t, hc, m, next, true, map[string]string{"before": before, "during": during, "fresh": fresh})
	if c := credentialOf(t, m, old.ClientID, oldID); c.RevokeAt.IsZero() || !c.RevokedAt.IsZero() {
		t.Fatalf("old credential during the grace period: revoke at %s, revoked at %s", c.RevokeAt, c.RevokedAt)
	}
	oneEvent(t, m, "acme", old.ClientID, tokenservice.ActionSecretRotated)

	clock.advance(11 * time.Second)
	// Refused at once by its deadline; the sweeper may have revoked it for
	// good already, and then it is a secret like any wrong one.
	if desc := refused(t, hc, m, old); !strings.Contains(desc, "revoked") && !strings.Contains(desc, "wrong secret") {
		t.Errorf("the old secret after the grace period: %q, want it refused as revoked", desc)
	}
	grant(t, hc, m, next, "")
	wantActive(t, hc, m, next, false, map[string]string{"before": before, "during": during})
	wantActive(t, hc, m, next, true, map[string]string{"fresh": fresh})

	// The sweeper (every 20ms here) revokes it for good and says why.
	if !waitFor(5*time.Second, func() bool {
		return len(eventsOf(t, m, "acme", old.ClientID, tokenservice.ActionCredentialRevoked)) > 0
	}) {
		t.Fatal("no credential.revoked event after the grace period ended")
	}
	e := oneEvent(t, m, "acme", old.ClientID, tokenservice.ActionCredentialRevoked)
	if e.Reason != tokenservice.RevokedByGracePeriod || e.Credential != tokenservice.SecretHint(old.ClientSecret) {
		t.Errorf("revocation event: reason %q, credential %q; want %q, %q",
			e.Reason, e.Credential, tokenservice.RevokedByGracePeriod, tokenservice.SecretHint(old.ClientSecret))
	}
	c := credentialOf(t, m, old.ClientID, oldID)
	if c.RevokedAt.IsZero() || c.RevokeReason != tokenservice.RevokedByGracePeriod {
		t.Errorf("old credential after the sweep: revoked at %s for %q", c.RevokedAt, c.RevokeReason)
	}
	if c := credentialOf(t, m, old.ClientID, nextID); !c.Live(m.Now()) {
		t.Error("the new credential is not live")
	}
	// Later sweeps record nothing more.
	sweep(t, m)
	time.Sleep(100 * time.Millisecond)
	oneEvent(t, m, "acme", old.ClientID, tokenservice.ActionCredentialRevoked)
	refused(t, hc, m, old)
}

// TestCredentialRevoke: revoking one of two live credentials ends it and
// its tokens at once; the other and its tokens go on.
func TestCredentialRevoke(t *testing.T) {
	t.Parallel()
	m := newMain(t, quietSweeper)
	hc := clientFrom(t, "127.0.0.1")
	old := createApp(t, m, acmeAdmin, "Two secrets", time.Time{})
	oldID := onlyCredential(t, m, old.ClientID)
	next, nextID := rotateSecret(t, m, acmeAdmin, old, tokenservice.RotateSecretInput{Grace: time.Hour})
	oldToken := grant(t, hc, m, old, "").AccessToken
	nextToken := grant(t, hc, m, next, "").AccessToken

	_, err := m.Applications.RevokeCredential(context.Background(), acmeAdmin, tokenservice.RevokeCredentialInput{
		ClientID: old.ClientID, CredentialID: oldID, Version: stored(t, m, old.ClientID).Version})
	if err != nil {
		t.Fatal(err)
	}
	refused(t, hc, m, old)
	grant(t, hc, m, next, "")
	wantActive(t, hc, m, next, false, map[string]string{"revoked credential's": oldToken})
	wantActive(t, hc, m, next, true, map[string]string{"other credential's": nextToken})
	e := oneEvent(t, m, "acme", old.ClientID, tokenservice.ActionCredentialRevoked)
	if e.Reason != tokenservice.RevokedByPerson || e.Actor.Email != "admin@acme.example" || e.Credential != tokenservice.SecretHint(old.ClientSecret) {
		t.Errorf("revocation event: reason %q by %q of %q", e.Reason, e.Actor.Email, e.Credential)
	}

	// The last live credential stays: revoking it would stop the application.
	before := credentialStateOf(t, m, old.ClientID)
	_, err = m.Applications.RevokeCredential(context.Background(), acmeAdmin, tokenservice.RevokeCredentialInput{
		ClientID: old.ClientID, CredentialID: nextID, Version: before.Version})
	if tokenservice.ErrorCode(err) != tokenservice.EINVALID {
		t.Errorf("revoking the last live credential: %v, want EINVALID", err)
	}
	wantUnchanged(t, m, old.ClientID, before)
	grant(t, hc, m, next, "")
}

// TestCredentialReset: RESET CLIENT SECRET revokes every credential, in
// its grace period or not, and every token; only the new secret works.
func TestCredentialReset(t *testing.T) {
	t.Parallel()
	m := newMain(t, quietSweeper)
	hc := clientFrom(t, "127.0.0.1")
	caller := createApp(t, m, acmeAdmin, "Introspector", time.Time{})
	first := createApp(t, m, acmeAdmin, "Reset", time.Time{})
	second, _ := rotateSecret(t, m, acmeAdmin, first, tokenservice.RotateSecretInput{Grace: time.Hour})
	tokens := map[string]string{"first's": grant(t, hc, m, first, "").AccessToken, "second's": grant(t, hc, m, second, "").AccessToken}

	app, plaintext, err := m.Applications.ResetSecret(context.Background(), acmeAdmin, tokenservice.ApplicationChange{
		ClientID: first.ClientID, Version: stored(t, m, first.ClientID).Version})
	if err != nil {
		t.Fatal(err)
	}
	refused(t, hc, m, first)
	refused(t, hc, m, second)
	wantActive(t, hc, m, caller, false, tokens)
	reset := first
	reset.ClientSecret = plaintext
	wantActive(t, hc, m, caller, true, map[string]string{"new": grant(t, hc, m, reset, "").AccessToken})

	live := 0
	for _, c := range stored(t, m, first.ClientID).Credentials {
		switch {
		case c.Live(m.Now()):
			live++
		case c.RevokeReason != tokenservice.RevokedByReset:
			t.Errorf("credential %s (%s): revoked for %q, want %q", c.ID, c.Hint, c.RevokeReason, tokenservice.RevokedByReset)
		}
	}
	if live != 1 || app.LiveCredentials(m.Now()) != 1 {
		t.Errorf("%d live credentials after the reset, want 1", live)
	}
}

// TestCredentialExpiry: a secret past its expiry is refused with a
// description that says so; its tokens run out their lifetime; the sweeper
// records the expiry once.
func TestCredentialExpiry(t *testing.T) {
	t.Parallel()
	var clock testClock
	m := newMain(t, clock.configure(), quietSweeper)
	hc := clientFrom(t, "127.0.0.1")
	caller := createApp(t, m, acmeAdmin, "Introspector", time.Time{})
	app := createApp(t, m, acmeAdmin, "Expires", m.Now().Add(time.Minute))
	if c := credentialOf(t, m, app.ClientID, onlyCredential(t, m, app.ClientID)); c.ExpiresAt.IsZero() {
		t.Fatal("the secret has no expiry")
	}
	tok := grant(t, hc, m, app, "").AccessToken
	if n := sweep(t, m); n != 0 {
		t.Errorf("a sweep before the expiry changed %d credentials", n)
	}

	clock.advance(2 * time.Minute)
	if desc := refused(t, hc, m, app); !strings.Contains(desc, "expired") {
		t.Errorf("an expired secret: %q, want it to say expired", desc)
	}
	wantActive(t, hc, m, caller, true, map[string]string{"issued before the expiry": tok})
	if len(eventsOf(t, m, "acme", app.ClientID, tokenservice.ActionCredentialExpired)) != 0 {
		t.Error("the expiry is recorded before the sweeper ran")
	}
	if n := sweep(t, m); n != 1 {
		t.Errorf("the sweep changed %d credentials, want 1", n)
	}
	e := oneEvent(t, m, "acme", app.ClientID, tokenservice.ActionCredentialExpired)
	if e.Credential != tokenservice.SecretHint(app.ClientSecret) {
		t.Errorf("expiry event of %q, want %q", e.Credential, tokenservice.SecretHint(app.ClientSecret))
	}
	if n := sweep(t, m); n != 0 {
		t.Errorf("a second sweep changed %d credentials", n)
	}
	oneEvent(t, m, "acme", app.ClientID, tokenservice.ActionCredentialExpired)
	refused(t, hc, m, app)
}

// TestCredentialMaxLifetime: with the account's maximum lifetime, a
// rotation to a secret that would live longer is EINVALID and changes
// nothing; one without an expiry gets the longest allowed.
func TestCredentialMaxLifetime(t *testing.T) {
	t.Parallel()
	m := newMain(t, quietSweeper)
	hc := clientFrom(t, "127.0.0.1")
	app := createApp(t, m, acmeAdmin, "Limited", time.Time{})
	const month = 30 * 24 * time.Hour
	settings, err := m.Applications.UpdateSettings(context.Background(), acmeAdmin, tokenservice.SettingsInput{
		MaxSecretLifetime: month, LeakAction: tokenservice.LeakRevoke, Version: 0})
	if err != nil {
		t.Fatal(err)
	}
	if settings.MaxSecretLifetime != month {
		t.Fatalf("saved maximum lifetime %s, want %s", settings.MaxSecretLifetime, month)
	}

	before := credentialStateOf(t, m, app.ClientID)
	_, plaintext, _, err := m.Applications.RotateSecret(context.Background(), acmeAdmin, tokenservice.RotateSecretInput{
		ClientID: app.ClientID, Version: before.Version, Grace: time.Hour, ExpiresAt: m.Now().Add(2 * month)})
	if e, ok := errors.AsType[*tokenservice.Error](err); !ok || e.Code != tokenservice.EINVALID || e.Fields["expires"] == "" {
		t.Fatalf("a secret for 60 days under a 30-day maximum: %v, want EINVALID on expires", err)
	}
	if plaintext != "" {
		t.Error("the refused rotation returned a secret")
	}
	wantUnchanged(t, m, app.ClientID, before)
	grant(t, hc, m, app, "")

	start := m.Now()
	next, id := rotateSecret(t, m, acmeAdmin, app, tokenservice.RotateSecretInput{Grace: time.Hour})
	if got := credentialOf(t, m, app.ClientID, id).ExpiresAt; got.Before(start.Add(month).Truncate(time.Millisecond)) || got.After(m.Now().Add(month)) {
		t.Errorf("a rotation without an expiry: expires %s, want 30 days from %s", got, start)
	}
	grant(t, hc, m, next, "")
}

// TestCredentialLastUsed: the token counts, written by the sweeper, set
// when a credential and its application last got a token; a rotated
// secret's first use is recorded once.
func TestCredentialLastUsed(t *testing.T) {
	t.Parallel()
	m := newMain(t, quietSweeper)
	hc := clientFrom(t, "127.0.0.1")
	old := createApp(t, m, acmeAdmin, "Used", time.Time{})
	oldID := onlyCredential(t, m, old.ClientID)
	next, nextID := rotateSecret(t, m, acmeAdmin, old, tokenservice.RotateSecretInput{Grace: time.Hour})
	if app := stored(t, m, old.ClientID); !app.LastUsedAt.IsZero() || !app.Credential(nextID).LastUsedAt.IsZero() {
		t.Fatal("used before any token")
	}

	start := m.Now().Truncate(time.Millisecond)
	grant(t, hc, m, next, "")
	if !stored(t, m, old.ClientID).Credential(nextID).LastUsedAt.IsZero() {
		t.Error("the last use is written before the counts are flushed")
	}
	flush(t, m)
	app := stored(t, m, old.ClientID)
	firstUse := app.Credential(nextID).LastUsedAt
	if firstUse.Before(start) || firstUse.After(m.Now()) {
		t.Errorf("credential last used %s, want between %s and now", firstUse, start)
	}
	if !app.LastUsedAt.Equal(firstUse) {
		t.Errorf("application last used %s, want %s", app.LastUsedAt, firstUse)
	}
	if !app.Credential(oldID).LastUsedAt.IsZero() {
		t.Error("the unused credential has a last use")
	}
	e := oneEvent(t, m, "acme", old.ClientID, tokenservice.ActionCredentialFirstUsed)
	if e.Credential != tokenservice.SecretHint(next.ClientSecret) {
		t.Errorf("first use of %q, want %q", e.Credential, tokenservice.SecretHint(next.ClientSecret))
	}

	time.Sleep(5 * time.Millisecond)
	grant(t, hc, m, next, "")
	grant(t, hc, m, old, "")
	flush(t, m)
	app = stored(t, m, old.ClientID)
	if !app.Credential(nextID).LastUsedAt.After(firstUse) || app.Credential(oldID).LastUsedAt.IsZero() {
		t.Errorf("after more tokens: last used %s and %s", app.Credential(nextID).LastUsedAt, app.Credential(oldID).LastUsedAt)
	}
	// One first use, of the rotated secret only: not again, and not for
	// the application's first secret, which no rotation made.
	oneEvent(t, m, "acme", old.ClientID, tokenservice.ActionCredentialFirstUsed)
}

// TestCredentialLastUsedMigrated: a secret from before credentials (the
// upgrade fixture's) has no hint until its first token after the upgrade;
// its last use starts as its application's last token.
func TestCredentialLastUsedMigrated(t *testing.T) {
	t.Parallel()
	fx, data := releaseData(t, filepath.Join("testdata", "release-5cace6d"))
	m := newMain(t, quietSweeper, func(m *Main) { m.Config.DataDir = data })
	hc := clientFrom(t, "127.0.0.1")
	a := fx.Applications[0]
	app := appJSON{ClientID: a.ClientID, ClientSecret: a.ClientSecret, AccountID: a.AccountID}
	id := onlyCredential(t, m, app.ClientID)
	before := credentialOf(t, m, app.ClientID, id)
	if !before.Migrated || before.Hint != "" {
		t.Fatalf("migrated credential: migrated %v, hint %q; want a migrated one without hint", before.Migrated, before.Hint)
	}
	if _, last, err := m.Store.TokenUsage(context.Background(), a.AccountID, a.ClientID, m.Now()); err != nil || !last.Equal(before.LastUsedAt) {
		t.Errorf("migrated credential last used %s, want its application's last token %s (%v)", before.LastUsedAt, last, err)
	}
	grant(t, hc, m, app, "")
	flush(t, m)
	c := credentialOf(t, m, app.ClientID, id)
	if want := tokenservice.SecretHint(app.ClientSecret); c.Hint != want || !c.LastUsedAt.After(before.LastUsedAt) {
		t.Errorf("after a token: hint %q, last used %s; want %q and a time", c.Hint, c.LastUsedAt, want)
	}
	if evs := eventsOf(t, m, a.AccountID, app.ClientID, tokenservice.ActionCredentialFirstUsed); len(evs) != 0 {
		t.Errorf("%d first-use events of a secret no rotation made", len(evs))
	}

	// A leak report of a secret without a hint names it by its hint too.
	b := fx.Applications[1]
	wantReceived(t, reportLeak(t, hc, m, nil, b.ClientSecret))
	want := tokenservice.SecretHint(b.ClientSecret)
	if e := oneEvent(t, m, b.AccountID, b.ClientID, tokenservice.ActionCredentialRevoked); e.Credential != want {
		t.Errorf("the leak report's event names %q, want %q", e.Credential, want)
	}
	if c := stored(t, m, b.ClientID).Credentials[0]; c.Hint != want || c.RevokedAt.IsZero() {
		t.Errorf("reported migrated credential: hint %q, revoked at %s; want %q and revoked", c.Hint, c.RevokedAt, want)
	}
}

// --- leak reports ---

const leakedPath = "/oauth2/secrets/leaked"

// leakReceipt is the one answer to every accepted leak report.
const leakReceipt = `{"status":"received"}`

// reportLeak posts a leak report of secrets from hc with the User-Agent ua.
func reportLeak(t *testing.T, hc *http.Client, m *Main, header http.Header, secrets ...string) *answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, m.URL+leakedPath, strings.NewReader(url.Values{"secret": secrets}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	return do(t, hc, req)
}

// wantReceived checks the answer every accepted report gets.
func wantReceived(t *testing.T, a *answer) {
	t.Helper()
	if a.status != http.StatusAccepted || string(a.body) != leakReceipt {
		t.Fatalf("leak report = %d %s, want 202 %s", a.status, a.body, leakReceipt)
	}
	checkJSONNoStore(t, a)
}

var reporterHeader = http.Header{"User-Agent": {"secret-scanner/1.0"}}

// typo changes the last character of a secret: its checksum no longer matches.
func typo(s string) string {
	last := byte('x')
	if s[len(s)-1] == last {
		last = 'y'
	}
	return s[:len(s)-1] + string(last)
}

// TestLeakReport: a reported live secret is revoked at once, with the
// reporter's address in the trail; an unknown, a malformed and a revoked
// secret get the very same answer and change nothing.
func TestLeakReport(t *testing.T) {
	t.Parallel()
	m := newMain(t, quietSweeper)
	hc := clientFrom(t, "127.0.0.1")
	caller := createApp(t, m, acmeAdmin, "Introspector", time.Time{})
	app := createApp(t, m, acmeAdmin, "Leaky", time.Time{})
	id := onlyCredential(t, m, app.ClientID)
	tok := grant(t, hc, m, app, "").AccessToken
	version := stored(t, m, app.ClientID).Version

	wantReceived(t, reportLeak(t, hc, m, reporterHeader, app.ClientSecret))
	c := credentialOf(t, m, app.ClientID, id)
	if c.RevokedAt.IsZero() || c.RevokeReason != tokenservice.RevokedByLeakReport {
		t.Fatalf("reported credential: revoked at %s for %q, want revoked for %q", c.RevokedAt, c.RevokeReason, tokenservice.RevokedByLeakReport)
	}
	refused(t, hc, m, app)
	wantActive(t, hc, m, caller, false, map[string]string{"of the leaked secret": tok})
	if got := stored(t, m, app.ClientID).Version; got != version+1 {
		t.Errorf("version %d after the revocation, want %d: an edit form open before it must not save over it", got, version+1)
	}
	e := oneEvent(t, m, "acme", app.ClientID, tokenservice.ActionCredentialRevoked)
	want := tokenservice.Actor{Subject: "leak-report", Address: "127.0.0.1", UserAgent: "secret-scanner/1.0"}
	if e.Reason != tokenservice.RevokedByLeakReport || e.Actor != want || e.Credential != tokenservice.SecretHint(app.ClientSecret) {
		t.Errorf("revocation event: reason %q, actor %+v, credential %q; want %q, %+v, %q",
			e.Reason, e.Actor, e.Credential, tokenservice.RevokedByLeakReport, want, tokenservice.SecretHint(app.ClientSecret))
	}
	grant(t, hc, m, caller, "")

	for _, tt := range []struct{ name, secret string }{
		{"Unknown", secret.New()},
		{"Malformed", "tss_not-a-secret"},
		{"BadChecksum", typo(app.ClientSecret)},
		{"Revoked", app.ClientSecret},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before, other := credentialStateOf(t, m, app.ClientID), credentialStateOf(t, m, caller.ClientID)
			wantReceived(t, reportLeak(t, hc, m, reporterHeader, tt.secret))
			wantUnchanged(t, m, app.ClientID, before)
			wantUnchanged(t, m, caller.ClientID, other)
			for _, account := range []string{"acme", "globex"} {
				for _, e := range allEvents(t, m.Store, account) {
					if e.ID > before.LastEvent {
						t.Errorf("%s has a new event: %s", account, e.Action)
					}
				}
			}
		})
	}
	grant(t, hc, m, caller, "")
}

// TestLeakReportNotify: an account that chose to be notified keeps a
// reported secret working, marked leaked, with the report in the trail.
func TestLeakReportNotify(t *testing.T) {
	t.Parallel()
	m := newMain(t, quietSweeper)
	hc := clientFrom(t, "127.0.0.1")
	if _, err := m.Applications.UpdateSettings(context.Background(), globexAdmin, tokenservice.SettingsInput{
		LeakAction: tokenservice.LeakNotify, Version: 0}); err != nil {
		t.Fatal(err)
	}
	app := createApp(t, m, globexAdmin, "Kept", time.Time{})
	id := onlyCredential(t, m, app.ClientID)
	tok := grant(t, hc, m, app, "").AccessToken
	version := stored(t, m, app.ClientID).Version

	wantReceived(t, reportLeak(t, hc, m, reporterHeader, app.ClientSecret, secret.New()))
	c := credentialOf(t, m, app.ClientID, id)
	if c.LeakedAt.IsZero() || !c.RevokedAt.IsZero() {
		t.Errorf("reported credential: leaked at %s, revoked at %s; want leaked and not revoked", c.LeakedAt, c.RevokedAt)
	}
	grant(t, hc, m, app, "")
	wantActive(t, hc, m, app, true, map[string]string{"of the leaked secret": tok})
	if got := stored(t, m, app.ClientID).Version; got != version {
		t.Errorf("version %d, want %d", got, version)
	}
	e := oneEvent(t, m, "globex", app.ClientID, tokenservice.ActionCredentialLeaked)
	if e.Actor.Subject != "leak-report" || e.Actor.Address != "127.0.0.1" || e.Credential != tokenservice.SecretHint(app.ClientSecret) {
		t.Errorf("leak event: actor %+v, credential %q", e.Actor, e.Credential)
	}
	if n := len(eventsOf(t, m, "globex", app.ClientID, tokenservice.ActionCredentialRevoked)); n != 0 {
		t.Errorf("%d revocations of a secret the account keeps", n)
	}
}

// TestLeakReportTrustedProxy: behind a trusted proxy the trail records the
// address the proxy forwards, as for the portal's own changes.
func TestLeakReportTrustedProxy(t *testing.T) {
	t.Parallel()
	m := newMain(t, quietSweeper, func(m *Main) { m.Config.TrustedProxies = "127.0.0.31" })
	proxy := clientFrom(t, "127.0.0.31")
	app := createApp(t, m, acmeAdmin, "Behind the proxy", time.Time{})
	wantReceived(t, reportLeak(t, proxy, m, http.Header{"X-Forwarded-For": {"203.0.113.9"}}, app.ClientSecret))
	e := oneEvent(t, m, "acme", app.ClientID, tokenservice.ActionCredentialRevoked)
	if e.Actor.Address != "203.0.113.9" {
		t.Errorf("reporter's address %q, want the forwarded 203.0.113.9", e.Actor.Address)
	}
}

// TestLeakReportRateLimit: every report counts against its address, 30 in
// a burst; the 31st waits, and other addresses do not.
func TestLeakReportRateLimit(t *testing.T) {
	t.Parallel()
	m := newMain(t, quietSweeper)
	flood := clientFrom(t, "127.0.0.32")
	other := clientFrom(t, "127.0.0.33")
	app := createApp(t, m, acmeAdmin, "Not reported", time.Time{})
	var limited *answer
	for i := 1; i <= 40 && limited == nil; i++ {
		r := reportLeak(t, flood, m, nil, secret.New())
		switch {
		case r.status == http.StatusTooManyRequests && i > 30:
			limited = r
		case r.status == http.StatusAccepted:
		default:
			t.Fatalf("report %d: %d %s", i, r.status, r.body)
		}
	}
	if limited == nil {
		t.Fatal("40 reports from one address, and no 429")
	}
	checkOAuthError(t, limited, http.StatusTooManyRequests, "temporarily_unavailable")
	if s, err := strconv.Atoi(limited.header.Get("Retry-After")); err != nil || s <= 0 {
		t.Errorf("Retry-After = %q, want a positive number of seconds", limited.header.Get("Retry-After"))
	}
	// A limited report does nothing, even with a live secret in it.
	checkOAuthError(t, reportLeak(t, flood, m, nil, app.ClientSecret), http.StatusTooManyRequests, "temporarily_unavailable")
	if c := stored(t, m, app.ClientID).Credentials[0]; !c.RevokedAt.IsZero() {
		t.Error("a limited report revoked the secret")
	}
	wantReceived(t, reportLeak(t, other, m, nil, secret.New()))
	// The token endpoint has limits of its own.
	grant(t, flood, m, app, "")
}

// TestLeakReportRequests: what is not a leak report is refused as the
// OAuth endpoints refuse, and changes nothing.
func TestLeakReportRequests(t *testing.T) {
	t.Parallel()
	m := newMain(t, quietSweeper)
	hc := clientFrom(t, "127.0.0.1")
	app := createApp(t, m, acmeAdmin, "Kept", time.Time{})
	before := credentialStateOf(t, m, app.ClientID)
	send := func(method, target, contentType, body string) *answer {
		t.Helper()
		req, err := http.NewRequest(method, m.URL+target, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		return do(t, hc, req)
	}
	const form = "application/x-www-form-urlencoded"
	many := url.Values{}
	for range 21 {
		many.Add("secret", secret.New())
	}
	many.Add("secret", app.ClientSecret)
	for _, tt := range []struct {
		name                      string
		method, path, ctype, body string
		status                    int
	}{
		{"Get", http.MethodGet, leakedPath, "", "", http.StatusMethodNotAllowed},
		{"Put", http.MethodPut, leakedPath, form, "secret=" + app.ClientSecret, http.StatusMethodNotAllowed},
		{"NoSecret", http.MethodPost, leakedPath, form, "", http.StatusBadRequest},
		{"EmptySecret", http.MethodPost, leakedPath, form, "secret=", http.StatusBadRequest},
		{"TooMany", http.MethodPost, leakedPath, form, many.Encode(), http.StatusBadRequest},
		{"JSON", http.MethodPost, leakedPath, "application/json", `{"secret":"` + app.ClientSecret + `"}`, http.StatusBadRequest},
		{"InURL", http.MethodPost, leakedPath + "?secret=" + app.ClientSecret, form, "", http.StatusBadRequest},
		{"Latin1", http.MethodPost, leakedPath, form + "; charset=iso-8859-1", "secret=" + app.ClientSecret, http.StatusBadRequest},
		{"TooLarge", http.MethodPost, leakedPath, form, "secret=" + app.ClientSecret + "&pad=" + strings.Repeat("x", 9000), http.StatusRequestEntityTooLarge},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := send(tt.method, tt.path, tt.ctype, tt.body)
			checkOAuthError(t, a, tt.status, "invalid_request")
			if tt.status == http.StatusMethodNotAllowed && a.header.Get("Allow") != http.MethodPost {
				t.Errorf("Allow = %q, want POST", a.header.Get("Allow"))
			}
			if tt.name == "TooMany" && !strings.Contains(string(a.body), "at most 20") {
				t.Errorf("too many secrets: %s, want it to say at most 20", a.body)
			}
			wantUnchanged(t, m, app.ClientID, before)
		})
	}
	grant(t, hc, m, app, "")
	// Twenty are fine, the same secret twice too.
	twenty := url.Values{"secret": {app.ClientSecret, app.ClientSecret}}
	for range 18 {
		twenty.Add("secret", secret.New())
	}
	wantReceived(t, send(http.MethodPost, leakedPath, form, twenty.Encode()))
	refused(t, hc, m, app)
	oneEvent(t, m, "acme", app.ClientID, tokenservice.ActionCredentialRevoked)
}

// TestCredentialsOtherAccount: an admin acts on no credential of another
// account's application, nor on one of another application of their own:
// ENOTFOUND, and nothing changes.
func TestCredentialsOtherAccount(t *testing.T) {
	t.Parallel()
	m := newMain(t, quietSweeper)
	hc := clientFrom(t, "127.0.0.1")
	acme := createApp(t, m, acmeAdmin, "Acme's", time.Time{})
	acmeNext, _ := rotateSecret(t, m, acmeAdmin, acme, tokenservice.RotateSecretInput{Grace: time.Hour})
	acmeID := stored(t, m, acme.ClientID).Credentials[1].ID // the first, older secret
	other := createApp(t, m, acmeAdmin, "Acme's other", time.Time{})
	otherNext, _ := rotateSecret(t, m, acmeAdmin, other, tokenservice.RotateSecretInput{Grace: time.Hour})
	otherID := stored(t, m, other.ClientID).Credentials[1].ID
	ctx := context.Background()

	for _, tt := range []struct {
		name string
		do   func(version int) error
	}{
		{"RevokeOfAnotherAccount", func(version int) error {
			_, err := m.Applications.RevokeCredential(ctx, globexAdmin, tokenservice.RevokeCredentialInput{
				ClientID: acme.ClientID, CredentialID: acmeID, Version: version})
			return err
		}},
		{"RotateOfAnotherAccount", func(version int) error {
			_, plaintext, _, err := m.Applications.RotateSecret(ctx, globexAdmin, tokenservice.RotateSecretInput{
				ClientID: acme.ClientID, Version: version, Grace: time.Hour})
			if plaintext != "" {
				t.Error("the refused rotation returned a secret")
			}
			return err
		}},
		{"ResetOfAnotherAccount", func(version int) error {
			_, _, err := m.Applications.ResetSecret(ctx, globexAdmin, tokenservice.ApplicationChange{ClientID: acme.ClientID, Version: version})
			return err
		}},
		{"CredentialOfAnotherApplication", func(version int) error {
			_, err := m.Applications.RevokeCredential(ctx, acmeAdmin, tokenservice.RevokeCredentialInput{
				ClientID: acme.ClientID, CredentialID: otherID, Version: version})
			return err
		}},
		{"MalformedCredential", func(version int) error {
			_, err := m.Applications.RevokeCredential(ctx, acmeAdmin, tokenservice.RevokeCredentialInput{
				ClientID: acme.ClientID, CredentialID: "../" + otherID, Version: version})
			return err
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before, beforeOther := credentialStateOf(t, m, acme.ClientID), credentialStateOf(t, m, other.ClientID)
			if err := tt.do(before.Version); tokenservice.ErrorCode(err) != tokenservice.ENOTFOUND {
				t.Errorf("got %v, want ENOTFOUND", err)
			}
			wantUnchanged(t, m, acme.ClientID, before)
			wantUnchanged(t, m, other.ClientID, beforeOther)
			if evs := allEvents(t, m.Store, "globex"); len(evs) != 0 {
				t.Errorf("globex's trail has %d events", len(evs))
			}
		})
	}
	for _, app := range []appJSON{acme, acmeNext, other, otherNext} {
		grant(t, hc, m, app, "")
	}
}
