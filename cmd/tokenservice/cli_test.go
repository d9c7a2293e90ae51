package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"tokenservice/db"
	"tokenservice/secret"
)

// runCLI runs `tokenservice args...` and returns what it printed.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

// cliJSON runs a command that must succeed and decodes its JSON into v.
func cliJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	out, errOut, err := runCLI(t, args...)
	if err != nil {
		t.Fatalf("tokenservice %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("tokenservice %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func cliList(t *testing.T, dir, account string) []appJSON {
	t.Helper()
	var apps []appJSON
	cliJSON(t, &apps, "app", "list", "--data-dir", dir, "--account", account, "--json")
	return apps
}

// verifiesSecret reports whether plaintext is the current secret of the
// application, as the token endpoint would check it.
func verifiesSecret(t *testing.T, dir, clientID, plaintext string) bool {
	t.Helper()
	cfg := defaultConfig()
	cfg.DataDir = dir
	key, err := loadServerKey(cfg)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := secret.NewKeys(key)
	if err != nil {
		t.Fatal(err)
	}
	store, err := db.Open(context.Background(), filepath.Join(dir, "tokenservice.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	_, hash, err := store.ApplicationByClientID(context.Background(), clientID)
	if err != nil {
		t.Fatalf("application %s: %v", clientID, err)
	}
	return keys.Verify(plaintext, hash)
}

func TestCLI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()

	var created appJSON
	cliJSON(t, &created, "app", "create", "--data-dir", dir, "--account", "acme", "--name", "CLI app",
		"--scope", "forensics:account=read", "--json")
	t.Run("Create", func(t *testing.T) {
		if !secret.ValidClientID(created.ClientID) {
			t.Errorf("client_id = %q, not a Client ID", created.ClientID)
		}
		if !strings.HasPrefix(created.ClientSecret, secret.Prefix) || !secret.WellFormed(created.ClientSecret) {
			t.Errorf("client_secret = %q, want a well-formed %s… secret", created.ClientSecret, secret.Prefix)
		}
		if got, want := created.Name, "CLI app"; got != want {
			t.Errorf("name = %q, want %q", got, want)
		}
		if got, want := created.AccountID, "acme"; got != want {
			t.Errorf("account_id = %q, want %q", got, want)
		}
		if got, want := created.Scopes, []string{"forensics:account:read"}; !slices.Equal(got, want) {
			t.Errorf("scopes = %v, want %v", got, want)
		}
		if got, want := created.Access["forensics:account"], "read"; got != want {
			t.Errorf("access = %v, want forensics:account=%s", created.Access, want)
		}
		if created.RevealUntil == nil || time.Until(*created.RevealUntil) < 14*time.Minute {
			t.Errorf("secret_reveal_until = %v, want about 15 minutes from now", created.RevealUntil)
		}
		if !verifiesSecret(t, dir, created.ClientID, created.ClientSecret) {
			t.Error("the printed secret does not verify against the stored one")
		}
	})

	t.Run("CreateDefaultScopes", func(t *testing.T) {
		var a appJSON
		cliJSON(t, &a, "app", "create", "--data-dir", dir, "--account", "globex", "--name", "All read", "--json")
		if len(a.Scopes) == 0 {
			t.Fatal("no scopes without --scope")
		}
		for _, s := range a.Scopes {
			if !strings.HasSuffix(s, ":read") {
				t.Errorf("scope %q without --scope, want read access only", s)
			}
		}
	})

	t.Run("List", func(t *testing.T) {
		apps := cliList(t, dir, "acme")
		if len(apps) != 1 {
			t.Fatalf("listed %d applications, want 1: %+v", len(apps), apps)
		}
		if got, want := apps[0].ClientID, created.ClientID; got != want {
			t.Errorf("client_id = %q, want %q", got, want)
		}
		if got, want := apps[0].Name, "CLI app"; got != want {
			t.Errorf("name = %q, want %q", got, want)
		}
		if apps[0].ClientSecret != "" {
			t.Error("list prints a secret")
		}
		out, _, err := runCLI(t, "app", "list", "--data-dir", dir, "--account", "acme")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, created.ClientID) || !strings.Contains(out, "CLI app") || strings.Contains(out, secret.Prefix) {
			t.Errorf("text list:\n%s", out)
		}
		if other := cliList(t, dir, "nobody"); len(other) != 0 {
			t.Errorf("an account without applications lists %+v", other)
		}
	})

	t.Run("ResetSecret", func(t *testing.T) {
		var reset appJSON
		cliJSON(t, &reset, "app", "reset-secret", "--data-dir", dir, "--client-id", created.ClientID, "--json")
		if got, want := reset.ClientID, created.ClientID; got != want {
			t.Errorf("client_id = %q, want %q", got, want)
		}
		if !secret.WellFormed(reset.ClientSecret) || reset.ClientSecret == created.ClientSecret {
			t.Errorf("new secret = %q, want a new well-formed secret", reset.ClientSecret)
		}
		if !verifiesSecret(t, dir, created.ClientID, reset.ClientSecret) {
			t.Error("the new secret does not verify")
		}
		if verifiesSecret(t, dir, created.ClientID, created.ClientSecret) {
			t.Error("the old secret still verifies after reset")
		}
	})

	t.Run("Delete", func(t *testing.T) {
		out, _, err := runCLI(t, "app", "delete", "--data-dir", dir, "--client-id", created.ClientID)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, created.ClientID) {
			t.Errorf("delete printed %q", out)
		}
		if apps := cliList(t, dir, "acme"); len(apps) != 0 {
			t.Errorf("after delete, list = %+v", apps)
		}
		if _, _, err := runCLI(t, "app", "delete", "--data-dir", dir, "--client-id", created.ClientID); err == nil {
			t.Error("deleting twice succeeded")
		}
	})
}

func TestCLIBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var keeper appJSON
	cliJSON(t, &keeper, "app", "create", "--data-dir", dir, "--account", "acme", "--name", "Keeper",
		"--scope", "forensics:account=read-write", "--json")
	before := cliList(t, dir, "acme")
	unknown := secret.NewClientID()

	tests := []struct {
		name string
		args []string
	}{
		{"MissingAccount", []string{"create", "--name", "x", "--scope", "forensics:account=read"}},
		{"BlankAccount", []string{"create", "--account", "  ", "--name", "x"}},
		{"MissingName", []string{"create", "--account", "acme"}},
		{"BlankName", []string{"create", "--account", "acme", "--name", " \t "}},
		{"Name101", []string{"create", "--account", "acme", "--name", strings.Repeat("n", 101)}},
		{"NameControlCharacter", []string{"create", "--account", "acme", "--name", "a\x1bb"}},
		{"NameZeroWidthSpace", []string{"create", "--account", "acme", "--name", "Keeper\u200b"}},
		{"NameBidiOverride", []string{"create", "--account", "acme", "--name", "a\u202eb"}},
		{"ScopeWithoutAccess", []string{"create", "--account", "acme", "--name", "x", "--scope", "forensics:account"}},
		{"ScopeUnknownKey", []string{"create", "--account", "acme", "--name", "x", "--scope", "nope:thing=read"}},
		{"ScopeUnknownAccess", []string{"create", "--account", "acme", "--name", "x", "--scope", "forensics:account=admin"}},
		{"ScopeWriteOnReadOnly", []string{"create", "--account", "acme", "--name", "x", "--scope", "ess:account=read-write"}},
		{"OneBadScopeOfTwo", []string{"create", "--account", "acme", "--name", "x", "--scope", "forensics:account=read", "--scope", "ess:account=read-write"}},
		{"ListMissingAccount", []string{"list"}},
		{"ResetUnknownClientID", []string{"reset-secret", "--client-id", unknown}},
		{"ResetMalformedClientID", []string{"reset-secret", "--client-id", "not a client id"}},
		{"ResetMissingClientID", []string{"reset-secret"}},
		{"DeleteUnknownClientID", []string{"delete", "--client-id", unknown}},
		{"DeleteMalformedClientID", []string{"delete", "--client-id", strings.ToUpper(keeper.ClientID)}},
		{"DeleteMissingClientID", []string{"delete"}},
		{"RotateUnknownClientID", []string{"rotate-secret", "--client-id", unknown}},
		{"RotateMalformedClientID", []string{"rotate-secret", "--client-id", "not a client id"}},
		{"RotateMissingClientID", []string{"rotate-secret"}},
		{"RotateGraceOver30Days", []string{"rotate-secret", "--client-id", keeper.ClientID, "--grace", "721h"}},
		{"RotateGraceNegative", []string{"rotate-secret", "--client-id", keeper.ClientID, "--grace", "-1s"}},
		{"RotateGraceNotDuration", []string{"rotate-secret", "--client-id", keeper.ClientID, "--grace", "1d"}},
		{"RotateExpiresPast", []string{"rotate-secret", "--client-id", keeper.ClientID, "--expires", "2020-01-01"}},
		{"RotateExpiresNow", []string{"rotate-secret", "--client-id", keeper.ClientID, "--expires", time.Now().UTC().Format(time.RFC3339)}},
		{"RotateExpiresMalformed", []string{"rotate-secret", "--client-id", keeper.ClientID, "--expires", "30/06/2027"}},
		{"RotateExpiresBeyondCeiling", []string{"rotate-secret", "--client-id", keeper.ClientID, "--max-secret-lifetime", "8760h",
			"--expires", time.Now().UTC().AddDate(0, 0, 400).Format(time.DateOnly)}},
		{"RotateNegativeCeiling", []string{"rotate-secret", "--client-id", keeper.ClientID, "--max-secret-lifetime", "-24h"}},
		{"CreateCeilingNotDays", []string{"create", "--account", "acme", "--name", "x", "--max-secret-lifetime", "36h"}},
		{"CredentialsUnknownClientID", []string{"credentials", "--client-id", unknown}},
		{"CredentialsMissingClientID", []string{"credentials"}},
		{"RevokeMissingCredential", []string{"revoke-credential", "--client-id", keeper.ClientID}},
		{"RevokeUnknownCredential", []string{"revoke-credential", "--client-id", keeper.ClientID, "--credential", "0123456789"}},
		{"RevokeMalformedCredential", []string{"revoke-credential", "--client-id", keeper.ClientID, "--credential", "0123456789'"}},
		{"RevokeLastLive", []string{"revoke-credential", "--client-id", keeper.ClientID, "--credential", keeper.CredentialID}},
		{"RevokeUnknownClientID", []string{"revoke-credential", "--client-id", unknown, "--credential", keeper.CredentialID}},
		{"RevokeMissingClientID", []string{"revoke-credential", "--credential", keeper.CredentialID}},
		{"UnknownCommand", []string{"rename", "--client-id", keeper.ClientID}},
		{"UnknownFlag", []string{"delete", "--client-id", keeper.ClientID, "--force"}},
		{"ExtraArgument", []string{"delete", "--client-id", keeper.ClientID, "now"}},
		{"NoCommand", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"app"}
			if len(tt.args) > 0 {
				args = append(args, tt.args[0], "--data-dir", dir)
				args = append(args, tt.args[1:]...)
			}
			out, _, err := runCLI(t, args...)
			if err == nil {
				t.Fatalf("tokenservice %q succeeded, want an error", args)
			}
			if strings.Contains(out, secret.Prefix) {
				t.Errorf("a failed command printed a secret: %s", out)
			}
			after := cliList(t, dir, "acme")
			if len(after) != len(before) || after[0].ClientID != before[0].ClientID || after[0].Name != before[0].Name ||
				!slices.Equal(after[0].Scopes, before[0].Scopes) {
				t.Errorf("applications changed:\n got  %+v\n want %+v", after, before)
			}
			if !verifiesSecret(t, dir, keeper.ClientID, keeper.ClientSecret) {
				t.Error("the keeper's secret changed")
			}
			if creds := cliCredentials(t, dir, keeper.ClientID); len(creds) != 1 || creds[0].ID != keeper.CredentialID ||
				creds[0].State != "active" || creds[0].WorksUntil != nil || creds[0].ExpiresAt != nil {
				t.Errorf("the keeper's credentials changed: %+v", creds)
			}
		})
	}

	t.Run("MissingDataDir", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "typo")
		for _, args := range [][]string{
			{"app", "list", "--data-dir", missing, "--account", "acme"},
			{"app", "reset-secret", "--data-dir", missing, "--client-id", keeper.ClientID},
		} {
			if _, _, err := runCLI(t, args...); err == nil {
				t.Errorf("tokenservice %q succeeded on a missing data dir", args)
			}
			if _, err := os.Stat(missing); !os.IsNotExist(err) {
				t.Errorf("tokenservice %q created the missing data dir", args)
			}
		}
	})

	t.Run("NameInvisibleMessage", func(t *testing.T) {
		_, _, err := runCLI(t, "app", "create", "--data-dir", dir, "--account", "acme", "--name", "Kee\u200bper")
		if err == nil || !strings.Contains(err.Error(), "--name") || !strings.Contains(err.Error(), "U+200B ZERO WIDTH SPACE") {
			t.Errorf("error = %v, want it to name the flag and the invisible character", err)
		}
	})

	t.Run("Name101Message", func(t *testing.T) {
		_, _, err := runCLI(t, "app", "create", "--data-dir", dir, "--account", "acme", "--name", strings.Repeat("n", 101))
		if err == nil || !strings.Contains(err.Error(), "100") {
			t.Errorf("error = %v, want it to name the 100-character limit", err)
		}
	})
}

func TestCLIWhileServerRuns(t *testing.T) {
	t.Parallel()
	m := newMain(t)
	dir := m.Config.DataDir
	admin := signIn(t, m, "admin@acme.example")

	var created appJSON
	cliJSON(t, &created, "app", "create", "--data-dir", dir, "--account", "acme", "--name", "Made by CLI",
		"--scope", "forensics:account=read", "--json")

	list := admin.get("/applications")
	if ids := listedClientIDs(t, list.body); !contains(ids, created.ClientID) {
		t.Fatalf("the portal's list %v lacks the application the CLI created", ids)
	}
	if !strings.Contains(testIDText(t, list.body, "applications"), "Made by CLI") {
		t.Error("the portal's list does not show the CLI's name")
	}
	d := admin.get("/applications/" + created.ClientID)
	if got, want := testIDText(t, d.body, "app-name"), "Made by CLI"; got != want {
		t.Errorf("details name = %q, want %q", got, want)
	}
	if got := admin.reveal(created.ClientID); got != created.ClientSecret {
		t.Errorf("the portal reveals %q, want the CLI's secret %q", got, created.ClientSecret)
	}

	var reset appJSON
	cliJSON(t, &reset, "app", "reset-secret", "--data-dir", dir, "--client-id", created.ClientID, "--json")
	if c := admin.copySecret(created.ClientID); c.status != http.StatusOK || c.body != reset.ClientSecret {
		t.Errorf("after a CLI reset the portal copies %d %q, want %q", c.status, c.body, reset.ClientSecret)
	}

	if _, _, err := runCLI(t, "app", "delete", "--data-dir", dir, "--client-id", created.ClientID); err != nil {
		t.Fatal(err)
	}
	if got, want := admin.get("/applications/"+created.ClientID).status, http.StatusNotFound; got != want {
		t.Errorf("details after a CLI delete = %d, want %d", got, want)
	}
	if ids := listedClientIDs(t, admin.get("/applications").body); contains(ids, created.ClientID) {
		t.Errorf("the portal still lists the application the CLI deleted")
	}

	// And the other way round: what the portal creates, the CLI lists.
	id := admin.createApp("Made in the portal", defaultScopes)
	if apps := cliList(t, dir, "acme"); len(apps) != 1 || apps[0].ClientID != id {
		t.Errorf("the CLI lists %+v, want the portal's %s", apps, id)
	}
}
