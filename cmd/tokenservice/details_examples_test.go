package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestDetailsExamplesRun: the export line the Details page's Copy button
// gives and each of its three examples (curl, Python with requests, Go with
// clientcredentials), run as written by the real tools, get a token.
func TestDetailsExamplesRun(t *testing.T) {
	t.Parallel()
	m := newMain(t)
	admin := signIn(t, m, "admin@acme.example")
	id := admin.createApp("Examples", url.Values{"scope.forensics:account": {"read"}})
	clientSecret := admin.reveal(id)

	export := admin.post("/applications/"+id+"/secret/copy?as=export", nil)
	if want := "export CLIENT_SECRET='" + clientSecret + "'\n"; export.status != http.StatusOK || export.body != want {
		t.Fatalf("export line = %d %q, want %q", export.status, export.body, want)
	}
	details := admin.get("/applications/" + id)
	if strings.Contains(details.body, clientSecret) {
		t.Fatal("the Details page shows the secret without Show")
	}
	if got := testIDText(t, details.body, "export-line"); got != "export CLIENT_SECRET='…'" {
		t.Errorf("export line on the page = %q", got)
	}
	example := func(lang string) string {
		pre := byTestID(t, details.body, "example-"+lang)
		if len(pre) == 0 || pre[0].FirstChild == nil {
			t.Fatalf("no %s example", lang)
		}
		return pre[0].FirstChild.Data
	}

	dir := t.TempDir()
	goDir, err := os.MkdirTemp("testdata", "example-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(goDir) })
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	for _, c := range []struct {
		lang, file, run string
	}{
		{"curl", "request.sh", "sh request.sh"},
		{"python", "request.py", "python3 request.py"},
		{"go", filepath.Join(goDir, "main.go"), goBin + " run ./" + filepath.ToSlash(goDir) + "/main.go"},
	} {
		t.Run(c.lang, func(t *testing.T) {
			file := c.file
			if !filepath.IsAbs(file) && c.lang != "go" {
				file = filepath.Join(dir, file)
			}
			if err := os.WriteFile(file, []byte(example(c.lang)+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("sh", "-c", export.body+c.run)
			if c.lang == "go" {
				cmd.Dir = "." // in this module, which requires golang.org/x/oauth2
			} else {
				cmd.Dir = dir
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			start := time.Now()
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s example: %v\n%s%s\n--- example ---\n%s", c.lang, err, out, stderr.String(), example(c.lang))
			}
			got := string(out)
			if c.lang == "curl" {
				var tok struct {
					AccessToken string `json:"access_token"`
				}
				if err := json.Unmarshal(out, &tok); err != nil {
					t.Fatalf("curl example printed %q", got)
				}
				got = tok.AccessToken
			}
			if !strings.HasPrefix(got, "eyJ") {
				t.Fatalf("%s example printed %q, want an access token first", c.lang, got)
			}
			t.Logf("%s example ran in %v", c.lang, time.Since(start).Round(time.Millisecond))
		})
	}
}

// TestTestToken: an admin's test token is a real token of the application
// (introspection accepts it), shown decoded and recorded in Activity; a
// read-only member and another account's admin cannot get one.
func TestTestToken(t *testing.T) {
	t.Parallel()
	m := newMain(t)
	admin := signIn(t, m, "admin@acme.example")
	id := admin.createApp("Tested", url.Values{"scope.forensics:account": {"read-write"}})

	p := admin.post("/applications/"+id+"/test-token", nil)
	if p.status != http.StatusOK {
		t.Fatalf("test token = %d\n%s", p.status, p.body)
	}
	var claims struct {
		ClientID string `json:"client_id"`
		Scope    string `json:"scope"`
		Cred     string `json:"cred"`
		Exp      int64  `json:"exp"`
	}
	if err := json.Unmarshal([]byte(testIDText(t, p.body, "test-claims")), &claims); err != nil {
		t.Fatalf("decoded claims: %v\n%s", err, testIDText(t, p.body, "test-claims"))
	}
	if claims.ClientID != id || claims.Scope != "forensics:account:read forensics:account:write" || claims.Cred == "" {
		t.Errorf("claims = %+v", claims)
	}
	if got := testIDText(t, p.body, "test-header"); !strings.Contains(got, `"kid"`) || !strings.Contains(got, `"typ": "at+jwt"`) {
		t.Errorf("decoded header = %s", got)
	}
	if got, want := testIDText(t, p.body, "test-expiry"), time.Unix(claims.Exp, 0).UTC().Format("Jan 2, 2006 15:04:05 UTC"); got != want {
		t.Errorf("expiry = %q, want %q", got, want)
	}
	raw := testIDText(t, p.body, "test-raw")
	caller := createAppProcess(t, m, "acme", "Resource server")
	if r := introspect(t, http.DefaultClient, m, caller, raw); !r.Active || r.ClientID != id {
		t.Errorf("introspection of the test token = %+v, want active for %s", r, id)
	}

	trail := admin.get("/applications/" + id + "/activity")
	if !strings.Contains(trail.body, "Test token issued") || !strings.Contains(trail.body, "With client secret tss_") {
		t.Errorf("the application's Activity does not record the test token:\n%s", trail.body)
	}

	viewer := signIn(t, m, "viewer@acme.example")
	if p := viewer.post("/applications/"+id+"/test-token", nil); p.status != http.StatusForbidden {
		t.Errorf("viewer's test token = %d, want 403", p.status)
	}
	if strings.Contains(viewer.get("/applications/"+id).body, "Get a test token") {
		t.Error("the viewer is offered a test token")
	}
	other := signIn(t, m, "admin@globex.example")
	if p := other.post("/applications/"+id+"/test-token", nil); p.status != http.StatusNotFound {
		t.Errorf("another account's test token = %d, want 404", p.status)
	}
}
