package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// releaseFixture is the fixture.json beside a data directory that a
// release's binary wrote (see testdata/release-*/README.md): what was in it
// when it was taken.
type releaseFixture struct {
	Release string    `json:"release"`
	MadeAt  time.Time `json:"made_at"`
	// Issuer is the release server's public URL, the "iss" of its tokens.
	Issuer       string `json:"issuer"`
	Applications []struct {
		AccountID    string   `json:"account_id"`
		ClientID     string   `json:"client_id"`
		Name         string   `json:"name"`
		ClientSecret string   `json:"client_secret"`
		Scopes       []string `json:"scopes"`
		// RevealUntil is the end of the reveal window, if it was still open.
		RevealUntil *time.Time `json:"secret_reveal_until"`
	} `json:"applications"`
	AccessTokens []struct {
		ClientID    string `json:"client_id"`
		AccessToken string `json:"access_token"`
		Scope       string `json:"scope"`
	} `json:"access_tokens"`
}

// releaseData reads the fixture at dir and copies its data directory (the
// database and the server key, not fixture.json and README.md) into a
// temporary directory, so the test never writes to testdata.
func releaseData(t *testing.T, dir string) (releaseFixture, string) {
	t.Helper()
	var fx releaseFixture
	b, err := os.ReadFile(filepath.Join(dir, "fixture.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &fx); err != nil {
		t.Fatalf("fixture.json: %v", err)
	}
	if fx.MadeAt.IsZero() || fx.Issuer == "" || len(fx.Applications) == 0 || len(fx.AccessTokens) == 0 {
		t.Fatalf("fixture.json lacks the time, the issuer, the applications or the tokens: %s", b)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	for _, e := range entries {
		if !e.Type().IsRegular() || e.Name() == "fixture.json" || e.Name() == "README.md" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		// A checkout leaves the files 0644: the service wants no more.
		if err := os.WriteFile(filepath.Join(data, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return fx, data
}

// TestUpgradeFromRelease5cace6d opens the data directory that the binary of
// release 5cace6d wrote with the server of this checkout, running whatever
// migrations it has, and checks over HTTP alone (no column of the store) that
// nothing was lost: every Client Secret still gets a token, every token the
// release issued is still active with its scopes, the secret whose reveal
// window was open can still be viewed until the window ends, and accounts
// still see only their own applications; and that no plaintext secret is in
// the database's files.
func TestUpgradeFromRelease5cace6d(t *testing.T) {
	t.Parallel()
	fx, data := releaseData(t, filepath.Join("testdata", "release-5cace6d"))

	// The release's tokens carry its public URL as "iss", which introspection
	// checks: serve at that address (a loopback address of its own, on Linux).
	issuer, err := url.Parse(fx.Issuer)
	if err != nil {
		t.Fatalf("issuer %q: %v", fx.Issuer, err)
	}
	if ln, err := net.Listen("tcp", issuer.Host); err != nil {
		t.Fatalf("the fixture's tokens were issued by %s, so the service must listen at %s: %v", fx.Issuer, issuer.Host, err)
	} else {
		ln.Close()
	}
	// The service's clock starts a minute after the fixture was taken: its
	// tokens have not expired and its open reveal window is still open.
	ciphertexts := releaseCiphertexts(t, filepath.Join(data, "tokenservice.db"))
	if len(ciphertexts) == 0 {
		t.Fatal("the fixture holds no encrypted secret: the upgrade's move of one is not checked")
	}
	var clock testClock
	clock.advance(time.Until(fx.MadeAt.Add(time.Minute)))
	m := newMain(t, func(m *Main) {
		m.Config.DataDir = data
		m.Config.Addr = issuer.Host
		m.Now = clock.now
	})
	if m.URL != fx.Issuer {
		t.Fatalf("service at %s, want the fixture's issuer %s", m.URL, fx.Issuer)
	}
	hc := clientFrom(t, "127.0.0.1")

	apps := map[string]appJSON{}
	accountOf := map[string]string{}
	for _, a := range fx.Applications {
		apps[a.ClientID] = appJSON{ClientID: a.ClientID, ClientSecret: a.ClientSecret, Name: a.Name, AccountID: a.AccountID, Scopes: a.Scopes}
		accountOf[a.ClientID] = a.AccountID
	}
	// callerIn is an application of account other than clientID if there
	// is one, else clientID's own; callerOutside one of another account.
	callerIn := func(account, clientID string) appJSON {
		for _, a := range fx.Applications {
			if a.AccountID == account && a.ClientID != clientID {
				return apps[a.ClientID]
			}
		}
		return apps[clientID]
	}
	callerOutside := func(account string) appJSON {
		for _, a := range fx.Applications {
			if a.AccountID != account {
				return apps[a.ClientID]
			}
		}
		t.Fatalf("the fixture has no application outside %s", account)
		return appJSON{}
	}

	t.Run("SecretsGetTokens", func(t *testing.T) {
		for _, a := range fx.Applications {
			t.Run(a.Name, func(t *testing.T) {
				g := grant(t, hc, m, apps[a.ClientID], "")
				if got, want := sortedFields(g.Scope), sortedFields(strings.Join(a.Scopes, " ")); !slices.Equal(got, want) {
					t.Errorf("token scope %q, want %q", g.Scope, want)
				}
				if r := introspect(t, hc, m, callerIn(a.AccountID, a.ClientID), g.AccessToken); !r.Active || r.ClientID != a.ClientID {
					t.Errorf("a new token introspects %+v, want active", r)
				}
			})
		}
	})

	t.Run("ReleaseTokensActive", func(t *testing.T) {
		for _, tok := range fx.AccessTokens {
			account, ok := accountOf[tok.ClientID]
			if !ok {
				t.Fatalf("token of %s: no such application in the fixture", tok.ClientID)
			}
			t.Run(apps[tok.ClientID].Name, func(t *testing.T) {
				r := introspect(t, hc, m, callerIn(account, tok.ClientID), tok.AccessToken)
				if !r.Active {
					t.Fatalf("the token of %s is inactive after the upgrade", tok.ClientID)
				}
				if r.Scope != tok.Scope || r.ClientID != tok.ClientID || r.AccountID != account || r.Iss != fx.Issuer {
					t.Errorf("introspected scope %q, client %s, account %s, issuer %s; want %q, %s, %s, %s",
						r.Scope, r.ClientID, r.AccountID, r.Iss, tok.Scope, tok.ClientID, account, fx.Issuer)
				}
				if r := introspect(t, hc, m, callerOutside(account), tok.AccessToken); r.Active {
					t.Errorf("the token of %s (%s) is active to another account", tok.ClientID, account)
				}
			})
		}
	})

	t.Run("Portal", func(t *testing.T) {
		admin := signIn(t, m, "admin@acme.example")
		var want, open []string // acme's Client IDs, those whose window was open
		for _, a := range fx.Applications {
			if a.AccountID != "acme" {
				if got := admin.get("/applications/" + a.ClientID).status; got != http.StatusNotFound {
					t.Errorf("%s's %s (%s) seen by acme: %d, want %d", a.AccountID, a.Name, a.ClientID, got, http.StatusNotFound)
				}
				continue
			}
			want = append(want, a.ClientID)
			if got := testIDText(t, admin.get("/applications/"+a.ClientID).body, "app-name"); got != a.Name {
				t.Errorf("details of %s: name %q, want %q", a.ClientID, got, a.Name)
			}
			if a.RevealUntil == nil {
				wantSecretGone(t, admin, a.ClientID, a.ClientSecret)
				continue
			}
			open = append(open, a.ClientID)
			if got := admin.reveal(a.ClientID); got != a.ClientSecret {
				t.Errorf("%s (%s): revealed %q, want the secret the release printed", a.Name, a.ClientID, got)
			}
			if c := admin.copySecret(a.ClientID); c.status != http.StatusOK || c.body != a.ClientSecret {
				t.Errorf("%s (%s): copy = %d %q, want the secret the release printed", a.Name, a.ClientID, c.status, c.body)
			}
		}
		if got := listedClientIDs(t, admin.get("/applications").body); !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
			t.Errorf("acme's list = %v, want %v", got, want)
		}
		if len(open) == 0 {
			t.Fatal("no application of acme had its reveal window open: the fixture checks no reveal")
		}

		// The window ends on the service's clock, as it would have in the release.
		for _, a := range fx.Applications {
			if a.RevealUntil == nil || a.AccountID != "acme" {
				continue
			}
			if d := a.RevealUntil.Sub(clock.now()); d > 0 {
				clock.advance(d + time.Second)
			}
			wantSecretGone(t, admin, a.ClientID, a.ClientSecret)
			if got, want := admin.copySecret(a.ClientID).status, http.StatusGone; got != want {
				t.Errorf("%s (%s): copy after the window = %d, want %d", a.Name, a.ClientID, got, want)
			}
			grant(t, hc, m, apps[a.ClientID], "")
		}
	})

	// The windows have ended: the sweep erases what is left, and neither
	// the plaintext nor the ciphertext the release wrote (which the upgrade
	// moved, rewriting the rows that held it) is anywhere in the files.
	t.Run("NoSecretInDatabase", func(t *testing.T) {
		if _, err := m.Store.EraseExpiredSecrets(context.Background(), clock.now()); err != nil {
			t.Fatal(err)
		}
		for _, a := range fx.Applications {
			if found := secretIn(t, m.Config.DatabaseURL, a.ClientSecret, ciphertexts[a.ClientID]); len(found) > 0 {
				t.Errorf("the secret of %s (%s) is in %v", a.Name, a.ClientID, found)
			}
		}
	})
}

// releaseCiphertexts reads the encrypted secrets of a release's database,
// by Client ID, before the service opens (and migrates) it.
func releaseCiphertexts(t *testing.T, path string) map[string][]byte {
	t.Helper()
	sqldb, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer sqldb.Close()
	rows, err := sqldb.Query(`SELECT client_id, secret_ciphertext FROM applications WHERE secret_ciphertext IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var id string
		var ct []byte
		if err := rows.Scan(&id, &ct); err != nil {
			t.Fatal(err)
		}
		out[id] = ct
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// wantSecretGone fails unless revealing the application's Client Secret
// answers that it can no longer be viewed, without the secret.
func wantSecretGone(t *testing.T, c *client, clientID, plaintext string) {
	t.Helper()
	r := c.post("/applications/"+clientID+"/secret/reveal", nil)
	if !strings.Contains(testIDText(t, r.body, "secret-gone"), "can no longer be viewed") || strings.Contains(r.body, plaintext) {
		t.Errorf("reveal %s = %d: shows the secret or does not say it can no longer be viewed", clientID, r.status)
	}
}

// sortedFields are the space-separated fields of s, sorted.
func sortedFields(s string) []string {
	return slices.Sorted(slices.Values(strings.Fields(s)))
}
