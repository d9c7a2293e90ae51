package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tokenservice"
)

// TestBackupInRevealWindow: a backup taken with the CLI while the running
// server can still show a Client Secret holds that secret in no form, not
// even encrypted, and neither does the database a restore keeps aside. The
// restored service shows the window as over, and the secret still gets
// tokens: only its hash is needed for that.
func TestBackupInRevealWindow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	live := filepath.Join(dir, "tokenservice.db")
	m, stop := serverOn(t, dir)
	hc := clientFrom(t, "127.0.0.1")
	admin := signIn(t, m, "admin@acme.example")
	id := admin.createApp("Backed up in its window", defaultScopes)
	app := appJSON{ClientID: id, ClientSecret: admin.reveal(id)}
	ciphertext, _, err := m.Store.SecretCiphertext(ctx, "acme", id, tokenservice.ActionSecretRevealed, tokenservice.Actor{Subject: "test"}, time.Now())
	if err != nil || len(ciphertext) < 16 {
		t.Fatalf("ciphertext in the window: %x, %v", ciphertext, err)
	}
	if len(secretIn(t, live, app.ClientSecret, ciphertext)) == 0 {
		t.Fatal("the running server's database holds no ciphertext: the checks below would prove nothing")
	}

	backup := filepath.Join(t.TempDir(), "backup.db")
	cliProcess(t, "backup", "--data-dir", dir, backup)
	if found := secretIn(t, backup, app.ClientSecret, ciphertext); len(found) > 0 {
		t.Errorf("the backup holds the secret: %v", found)
	}
	if p := admin.get("/applications/" + id); !hasTestID(t, p.body, "countdown") {
		t.Error("the backup closed the running server's reveal window")
	}

	// What an older version's backup was: the stopped server's database,
	// every window open.
	stop()
	older := filepath.Join(t.TempDir(), "older-backup.db")
	b, err := os.ReadFile(live)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(older, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if len(secretIn(t, older, app.ClientSecret, ciphertext)) == 0 {
		t.Fatal("the stopped server's database holds no ciphertext: the checks below would prove nothing")
	}

	cliProcess(t, "restore", "--data-dir", dir, backup)
	kept, _ := filepath.Glob(live + ".before-restore-*")
	if len(kept) != 1 {
		t.Fatalf("kept databases = %v, want one", kept)
	}
	if found := secretIn(t, kept[0], app.ClientSecret, ciphertext); len(found) > 0 {
		t.Errorf("the database the restore kept aside holds the secret: %v", found)
	}
	wantWindowOver(t, dir, hc, app)

	t.Run("OlderBackup", func(t *testing.T) {
		cliProcess(t, "restore", "--data-dir", dir, older)
		if found := secretIn(t, live, app.ClientSecret, ciphertext); len(found) > 0 {
			t.Errorf("the database restored from an older backup holds the secret: %v", found)
		}
		wantWindowOver(t, dir, hc, app)
	})
}

// wantWindowOver starts the service on dir and fails unless the
// application's Client Secret can no longer be viewed or copied, yet still
// gets a token.
func wantWindowOver(t *testing.T, dir string, hc *http.Client, app appJSON) {
	t.Helper()
	m, stop := serverOn(t, dir)
	defer stop()
	admin := signIn(t, m, "admin@acme.example")
	d := admin.get("/applications/" + app.ClientID)
	if !hasTestID(t, d.body, "secret-gone") || hasTestID(t, d.body, "countdown") {
		t.Error("after the restore, the details page still offers the secret")
	}
	r := admin.post("/applications/"+app.ClientID+"/secret/reveal", nil)
	if !strings.Contains(testIDText(t, r.body, "secret-gone"), "can no longer be viewed") || strings.Contains(r.body, app.ClientSecret) {
		t.Error("after the restore, reveal shows the secret or does not say it can no longer be viewed")
	}
	if got, want := admin.copySecret(app.ClientID).status, http.StatusGone; got != want {
		t.Errorf("copy after the restore = %d, want %d", got, want)
	}
	grant(t, hc, m, app, "forensics:account:write")
}

// secretIn names the files of the SQLite database at path (with its -wal
// and -shm) that hold the plaintext or any 16 bytes of the ciphertext,
// which may straddle two pages.
func secretIn(t *testing.T, path, plaintext string, ciphertext []byte) []string {
	t.Helper()
	var out []string
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(path + suffix)
		if errors.Is(err, os.ErrNotExist) {
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(plaintext)) {
			out = append(out, filepath.Base(path+suffix)+" (plaintext)")
		}
		for i := 0; i+16 <= len(ciphertext); i++ {
			if bytes.Contains(b, ciphertext[i:i+16]) {
				out = append(out, filepath.Base(path+suffix)+" (ciphertext)")
				break
			}
		}
	}
	return out
}
