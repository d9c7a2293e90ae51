package main

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"tokenservice"
	"tokenservice/secret"
)

// cliCredentials lists the application's credentials with the CLI.
func cliCredentials(t *testing.T, dir, clientID string) []credentialJSON {
	t.Helper()
	var creds []credentialJSON
	cliJSON(t, &creds, "app", "credentials", "--data-dir", dir, "--client-id", clientID, "--json")
	return creds
}

// cliRefused runs a command in this process that must fail and returns what tokenservice
// prints for the error. A failed command prints no secret.
func cliRefused(t *testing.T, args ...string) string {
	t.Helper()
	out, _, err := runCLI(t, args...)
	if err == nil {
		t.Fatalf("tokenservice %s succeeded, want an error\n%s", strings.Join(args, " "), out)
	}
	if strings.Contains(out, secret.Prefix) {
		t.Errorf("a failed command printed a secret: %s", out)
	}
	return errorMessage(err)
}

// sameCredentials reports whether two listings show the same credentials
// in the same states.
func sameCredentials(a, b []credentialJSON) bool {
	return slices.EqualFunc(a, b, func(x, y credentialJSON) bool {
		return x.ID == y.ID && x.State == y.State && equalTimes(x.WorksUntil, y.WorksUntil) &&
			equalTimes(x.RevokedAt, y.RevokedAt) && equalTimes(x.ExpiresAt, y.ExpiresAt)
	})
}

func equalTimes(a, b *time.Time) bool {
	return (a == nil) == (b == nil) && (a == nil || a.Equal(*b))
}

// tokenRefused asks for a token with app's credentials, which must be
// refused as invalid_client, and returns the error_description.
func tokenRefused(t *testing.T, hc *http.Client, m *Main, app appJSON) string {
	t.Helper()
	a := postForm(t, hc, m, "/oauth2/token", basic(app.ClientID, app.ClientSecret), grantForm(""))
	checkOAuthError(t, a, http.StatusUnauthorized, "invalid_client")
	var e struct {
		Description string `json:"error_description"`
	}
	_ = json.Unmarshal(a.body, &e)
	return e.Description
}

// within reports whether t is in [from, to], to the millisecond the store keeps.
func within(t *time.Time, from, to time.Time) bool {
	return t != nil && !t.Before(from.Truncate(time.Millisecond)) && !t.After(to)
}

// TestCLIRotateSecret: rotate-secret, credentials and revoke-credential on
// the store of a running service, checked at its token and introspection
// endpoints.
func TestCLIRotateSecret(t *testing.T) {
	t.Parallel()
	m := newMain(t)
	dir := m.Config.DataDir
	hc := clientFrom(t, "127.0.0.1")
	create := func(account, name string) appJSON {
		var a appJSON
		cliJSON(t, &a, "app", "create", "--data-dir", dir, "--account", account, "--name", name,
			"--scope", "forensics:account=read", "--json")
		return a
	}
	app := create("acme", "Rotated")
	watcher := create("acme", "Resource server")
	foreign := create("globex", "Another account's")
	if !secret.ValidCredentialID(app.CredentialID) {
		t.Fatalf("create printed credential_id %q", app.CredentialID)
	}
	if app.SecretExpiresAt != nil {
		t.Errorf("without a maximum lifetime the secret expires at %v", app.SecretExpiresAt)
	}
	first := app
	firstToken := grant(t, hc, m, first, "").AccessToken

	start := time.Now()
	var rotated appJSON
	cliJSON(t, &rotated, "app", "rotate-secret", "--data-dir", dir, "--client-id", app.ClientID, "--json")
	end := time.Now()
	second := appJSON{ClientID: app.ClientID, ClientSecret: rotated.ClientSecret}

	t.Run("Output", func(t *testing.T) {
		if rotated.ClientID != app.ClientID || rotated.Name != "Rotated" || rotated.AccountID != "acme" ||
			!slices.Equal(rotated.Scopes, app.Scopes) || rotated.Access["forensics:account"] != "read" {
			t.Errorf("rotate-secret printed %+v, want the application %+v", rotated, app)
		}
		if !secret.WellFormed(rotated.ClientSecret) || rotated.ClientSecret == app.ClientSecret {
			t.Errorf("client_secret = %q, want a new well-formed secret", rotated.ClientSecret)
		}
		if !secret.ValidCredentialID(rotated.CredentialID) || rotated.CredentialID == app.CredentialID {
			t.Errorf("credential_id = %q, want a new credential id", rotated.CredentialID)
		}
		if rotated.RevealUntil == nil || time.Until(*rotated.RevealUntil) < 14*time.Minute {
			t.Errorf("secret_reveal_until = %v, want about 15 minutes from now", rotated.RevealUntil)
		}
		if !within(rotated.OldSecretWorksUntil, start.Add(tokenservice.DefaultGracePeriod), end.Add(tokenservice.DefaultGracePeriod)) {
			t.Errorf("old_secret_works_until = %v, want 24 hours after the rotation", rotated.OldSecretWorksUntil)
		}
		if rotated.SecretExpiresAt != nil {
			t.Errorf("secret_expires_at = %v, want none", rotated.SecretExpiresAt)
		}
	})

	var secondToken string
	t.Run("BothSecretsGetTokens", func(t *testing.T) {
		oldToken := grant(t, hc, m, first, "").AccessToken
		secondToken = grant(t, hc, m, second, "").AccessToken
		for _, tok := range []string{firstToken, oldToken, secondToken} {
			if !introspect(t, hc, m, watcher, tok).Active {
				t.Error("a token of one of the two live secrets is inactive")
			}
		}
	})

	t.Run("Credentials", func(t *testing.T) {
		creds := cliCredentials(t, dir, app.ClientID)
		if len(creds) != 2 {
			t.Fatalf("credentials = %+v, want two", creds)
		}
		newer, older := creds[0], creds[1]
		if newer.ID != rotated.CredentialID || newer.State != string(tokenservice.CredentialActive) ||
			newer.Hint != tokenservice.SecretHint(rotated.ClientSecret) || newer.WorksUntil != nil {
			t.Errorf("newer credential = %+v, want %s active with the new secret's hint", newer, rotated.CredentialID)
		}
		// 24 hours left is within ExpiryWarning: "expiring".
		if older.ID != app.CredentialID || older.State != string(tokenservice.CredentialExpiring) ||
			!equalTimes(older.WorksUntil, rotated.OldSecretWorksUntil) || older.RevokedAt != nil {
			t.Errorf("older credential = %+v, want %s expiring, working until %v", older, app.CredentialID, rotated.OldSecretWorksUntil)
		}
		for _, c := range creds {
			if c.Kind != "client_secret" || c.CreatedBy != "cli" || c.CreatedAt.IsZero() {
				t.Errorf("credential %+v: want a client_secret created by cli", c)
			}
		}
		out, _, err := runCLI(t, "app", "credentials", "--data-dir", dir, "--client-id", app.ClientID)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"STATE", rotated.CredentialID, app.CredentialID, "active", "expiring", newer.Hint, "2 working"} {
			if !strings.Contains(out, want) {
				t.Errorf("credentials table lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, rotated.ClientSecret) || strings.Contains(out, app.ClientSecret) {
			t.Errorf("credentials table shows a secret:\n%s", out)
		}
	})

	t.Run("ThirdSecretRefused", func(t *testing.T) {
		before := cliCredentials(t, dir, app.ClientID)
		msg := cliRefused(t, "app", "rotate-secret", "--data-dir", dir, "--client-id", app.ClientID)
		for _, want := range []string{"two live secrets", "tokenservice app revoke-credential --client-id " + app.ClientID} {
			if !strings.Contains(msg, want) {
				t.Errorf("error %q, want it to say %q", msg, want)
			}
		}
		if after := cliCredentials(t, dir, app.ClientID); !sameCredentials(after, before) {
			t.Errorf("credentials changed:\n got  %+v\n want %+v", after, before)
		}
		grant(t, hc, m, first, "")
		grant(t, hc, m, second, "")
	})

	t.Run("RevokeOlder", func(t *testing.T) {
		out, _, err := runCLI(t, "app", "revoke-credential", "--data-dir", dir, "--client-id", app.ClientID, "--credential", app.CredentialID)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, app.CredentialID) {
			t.Errorf("revoke-credential printed %q", out)
		}
		if desc := tokenRefused(t, hc, m, first); desc == "" {
			t.Error("the revoked secret's refusal has no error_description")
		}
		if introspect(t, hc, m, watcher, firstToken).Active {
			t.Error("a token of the revoked credential is active")
		}
		if !introspect(t, hc, m, watcher, secondToken).Active {
			t.Error("a token of the other credential is inactive")
		}
		grant(t, hc, m, second, "")
		creds := cliCredentials(t, dir, app.ClientID)
		if len(creds) != 2 || creds[1].State != string(tokenservice.CredentialRevoked) || creds[1].RevokedAt == nil ||
			creds[1].RevokedBy != "cli" || creds[1].RevokeReason != string(tokenservice.RevokedByCLI) {
			t.Errorf("after revoking, credentials = %+v, want the older revoked by cli", creds)
		}
	})

	t.Run("RevokeLastLiveRefused", func(t *testing.T) {
		before := cliCredentials(t, dir, app.ClientID)
		msg := cliRefused(t, "app", "revoke-credential", "--data-dir", dir, "--client-id", app.ClientID, "--credential", rotated.CredentialID)
		for _, want := range []string{"only working credential", "tokenservice app delete --client-id " + app.ClientID} {
			if !strings.Contains(msg, want) {
				t.Errorf("error %q, want it to say %q", msg, want)
			}
		}
		if after := cliCredentials(t, dir, app.ClientID); !sameCredentials(after, before) {
			t.Errorf("credentials changed:\n got  %+v\n want %+v", after, before)
		}
		grant(t, hc, m, second, "")
	})

	t.Run("RevokedAgainRefused", func(t *testing.T) {
		msg := cliRefused(t, "app", "revoke-credential", "--data-dir", dir, "--client-id", app.ClientID, "--credential", app.CredentialID)
		if !strings.Contains(msg, "revoked already") {
			t.Errorf("error %q, want it to say the credential is revoked already", msg)
		}
	})

	t.Run("CredentialNotFound", func(t *testing.T) {
		before := cliCredentials(t, dir, app.ClientID)
		for name, id := range map[string]string{
			"Unknown":              "0123456789",
			"Malformed":            "not-an-id",
			"OtherApplication":     watcher.CredentialID,
			"OtherAccountsApp":     foreign.CredentialID,
			"ClientIDAsCredential": app.ClientID,
		} {
			msg := cliRefused(t, "app", "revoke-credential", "--data-dir", dir, "--client-id", app.ClientID, "--credential", id)
			if msg != "Credential not found." {
				t.Errorf("%s: error %q, want %q", name, msg, "Credential not found.")
			}
		}
		if after := cliCredentials(t, dir, app.ClientID); !sameCredentials(after, before) {
			t.Errorf("credentials changed:\n got  %+v\n want %+v", after, before)
		}
		for _, other := range []appJSON{watcher, foreign} {
			if c := cliCredentials(t, dir, other.ClientID); len(c) != 1 || c[0].State != string(tokenservice.CredentialActive) {
				t.Errorf("the other application's credentials are %+v, want one active", c)
			}
			grant(t, hc, m, other, "")
		}
	})

	t.Run("BadGraceAndExpiryRefused", func(t *testing.T) {
		before := cliCredentials(t, dir, app.ClientID)
		for _, tt := range []struct {
			name string
			args []string
			want []string
		}{
			{"GraceOver30Days", []string{"--grace", "721h"}, []string{"--grace", "at most 30 days"}},
			{"GraceNegative", []string{"--grace", "-1h"}, []string{"--grace", "in the past"}},
			{"ExpiresPastDate", []string{"--expires", "2020-01-01"}, []string{"--expires", "in the future"}},
			{"ExpiresPastTime", []string{"--expires", time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)}, []string{"--expires", "in the future"}},
			{"ExpiresNotADate", []string{"--expires", "30/06/2027"}, []string{"--expires", "2027-06-30"}},
			{"ExpiresBeyondCeiling", []string{"--max-secret-lifetime", "720h", "--expires", time.Now().AddDate(0, 0, 32).Format(time.DateOnly)},
				[]string{"--expires", "at most 30 days"}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				msg := cliRefused(t, append([]string{"app", "rotate-secret", "--data-dir", dir, "--client-id", app.ClientID}, tt.args...)...)
				for _, want := range tt.want {
					if !strings.Contains(msg, want) {
						t.Errorf("error %q, want it to say %q", msg, want)
					}
				}
			})
		}
		if after := cliCredentials(t, dir, app.ClientID); !sameCredentials(after, before) {
			t.Errorf("credentials changed:\n got  %+v\n want %+v", after, before)
		}
		grant(t, hc, m, second, "")
	})

	t.Run("GraceZero", func(t *testing.T) {
		expires := time.Now().AddDate(1, 0, 0).UTC().Format(time.DateOnly)
		var third appJSON
		start := time.Now()
		cliJSON(t, &third, "app", "rotate-secret", "--data-dir", dir, "--client-id", app.ClientID, "--grace", "0", "--expires", expires, "--json")
		end := time.Now()
		if !within(third.OldSecretWorksUntil, start, end) {
			t.Errorf("old_secret_works_until = %v, want the moment of the rotation", third.OldSecretWorksUntil)
		}
		wantExpiry, _ := time.Parse(time.DateOnly, expires)
		wantExpiry = wantExpiry.Add(24 * time.Hour)
		if third.SecretExpiresAt == nil || !third.SecretExpiresAt.Equal(wantExpiry) {
			t.Errorf("secret_expires_at = %v, want %v (the end of the day, UTC)", third.SecretExpiresAt, wantExpiry)
		}
		tokenRefused(t, hc, m, second)
		if introspect(t, hc, m, watcher, secondToken).Active {
			t.Error("a token of the secret revoked by --grace 0 is active")
		}
		thirdToken := grant(t, hc, m, appJSON{ClientID: app.ClientID, ClientSecret: third.ClientSecret}, "").AccessToken
		if !introspect(t, hc, m, watcher, thirdToken).Active {
			t.Error("a token of the new secret is inactive")
		}
		creds := cliCredentials(t, dir, app.ClientID)
		if len(creds) != 3 || creds[0].ID != third.CredentialID || creds[0].State != string(tokenservice.CredentialActive) ||
			!equalTimes(creds[0].ExpiresAt, third.SecretExpiresAt) ||
			creds[1].ID != rotated.CredentialID || creds[1].State != string(tokenservice.CredentialRevoked) ||
			!equalTimes(creds[1].RevokedAt, third.OldSecretWorksUntil) || creds[1].RevokeReason != string(tokenservice.RevokedByCLI) {
			t.Errorf("after --grace 0, credentials = %+v", creds)
		}
	})

	t.Run("HumanOutput", func(t *testing.T) {
		other := create("acme", "Human")
		out, _, err := runCLI(t, "app", "rotate-secret", "--data-dir", dir, "--client-id", other.ClientID, "--grace", "48h")
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"Client Secret: " + secret.Prefix, "not shown again", "The old secret", other.CredentialID, "keeps working until"} {
			if !strings.Contains(out, want) {
				t.Errorf("rotate-secret printed no %q:\n%s", want, out)
			}
		}
	})
}

// TestCLISecretLifetimeCeiling: --max-secret-lifetime caps the secrets the
// CLI and the portal make, and the token endpoint refuses a secret past
// its expiry, saying so.
func TestCLISecretLifetimeCeiling(t *testing.T) {
	t.Parallel()
	const ceiling = 30 * 24 * time.Hour
	var clock testClock
	m := newMain(t, clock.configure(), func(m *Main) { m.Config.MaxSecretLifetime = ceiling })
	dir := m.Config.DataDir
	hc := clientFrom(t, "127.0.0.1")

	start := time.Now()
	var app appJSON
	cliJSON(t, &app, "app", "create", "--data-dir", dir, "--max-secret-lifetime", "720h", "--account", "acme", "--name", "Short-lived", "--json")
	end := time.Now()

	t.Run("CreateExpiresIn30Days", func(t *testing.T) {
		if !within(app.SecretExpiresAt, start.Add(ceiling), end.Add(ceiling)) {
			t.Errorf("secret_expires_at = %v, want 30 days from now", app.SecretExpiresAt)
		}
		creds := cliCredentials(t, dir, app.ClientID)
		if len(creds) != 1 || !equalTimes(creds[0].ExpiresAt, app.SecretExpiresAt) || creds[0].State != string(tokenservice.CredentialActive) {
			t.Errorf("credentials = %+v, want one active, expiring at %v", creds, app.SecretExpiresAt)
		}
	})

	var portalID string
	t.Run("PortalHasTheCeiling", func(t *testing.T) {
		admin := signIn(t, m, "admin@acme.example")
		start := time.Now()
		portalID = admin.createApp("Made in the portal", defaultScopes)
		end := time.Now()
		creds := cliCredentials(t, dir, portalID)
		if len(creds) != 1 || !within(creds[0].ExpiresAt, start.Add(ceiling), end.Add(ceiling)) {
			t.Errorf("credentials = %+v, want one expiring 30 days from now", creds)
		}
	})

	t.Run("RotateWithinCeiling", func(t *testing.T) {
		expires := time.Now().AddDate(0, 0, 20).UTC().Format(time.DateOnly)
		var r appJSON
		cliJSON(t, &r, "app", "rotate-secret", "--data-dir", dir, "--max-secret-lifetime", "720h", "--client-id", portalID,
			"--expires", expires, "--json")
		want, _ := time.Parse(time.DateOnly, expires)
		want = want.Add(24 * time.Hour) // the end of the day
		if r.SecretExpiresAt == nil || !r.SecretExpiresAt.Equal(want) {
			t.Errorf("secret_expires_at = %v, want %v", r.SecretExpiresAt, want)
		}
	})

	t.Run("RotateBeyondCeilingRefused", func(t *testing.T) {
		before := cliCredentials(t, dir, app.ClientID)
		for _, expires := range []string{
			time.Now().AddDate(0, 0, 31).UTC().Format(time.DateOnly),
			time.Now().Add(ceiling + time.Hour).UTC().Format(time.RFC3339),
		} {
			msg := cliRefused(t, "app", "rotate-secret", "--data-dir", dir, "--max-secret-lifetime", "720h", "--client-id", app.ClientID, "--expires", expires)
			if !strings.Contains(msg, "--expires") || !strings.Contains(msg, "at most 30 days") {
				t.Errorf("--expires %s: error %q, want it to name the 30-day maximum", expires, msg)
			}
		}
		if after := cliCredentials(t, dir, app.ClientID); !sameCredentials(after, before) {
			t.Errorf("credentials changed:\n got  %+v\n want %+v", after, before)
		}
	})

	t.Run("ExpiredSecretRefused", func(t *testing.T) {
		grant(t, hc, m, app, "")
		clock.advance(ceiling + time.Minute)
		desc := tokenRefused(t, hc, m, app)
		if !strings.Contains(desc, "expired") {
			t.Errorf("error_description %q, want it to say the secret expired", desc)
		}
	})

	t.Run("NegativeRefused", func(t *testing.T) {
		msg := cliRefused(t, "app", "list", "--data-dir", dir, "--account", "acme", "--max-secret-lifetime", "-24h")
		if !strings.Contains(msg, "--max-secret-lifetime") || !strings.Contains(msg, "negative") {
			t.Errorf("error %q, want it to refuse a negative --max-secret-lifetime", msg)
		}
	})
}

// TestCLICommandFlagsIgnoreEnvironment: the store flags come from
// TOKENSERVICE_* variables as the server's do, a command's own flags never:
// a TOKENSERVICE_GRACE=0 left in the shell must not make every rotation
// revoke the old secret at once.
func TestCLICommandFlagsIgnoreEnvironment(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TOKENSERVICE_DATA_DIR", dir)
	t.Setenv("TOKENSERVICE_GRACE", "0")
	t.Setenv("TOKENSERVICE_CLIENT_ID", "not-a-client-id")
	var app, rotated appJSON
	cliJSON(t, &app, "app", "create", "--account", "acme", "--name", "From the environment", "--json")
	start := time.Now()
	cliJSON(t, &rotated, "app", "rotate-secret", "--client-id", app.ClientID, "--json")
	if rotated.OldSecretWorksUntil == nil || rotated.OldSecretWorksUntil.Sub(start) < tokenservice.DefaultGracePeriod-time.Minute {
		t.Errorf("the old secret works until %v, want the default grace of %s: TOKENSERVICE_GRACE was applied", rotated.OldSecretWorksUntil, tokenservice.DefaultGracePeriod)
	}
}
