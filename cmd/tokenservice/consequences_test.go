package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestSaveSaysConsequences: saving an application with no scope says it
// will get no tokens; removing a scope says what happens to issued tokens;
// a change that removes nothing says nothing more.
func TestSaveSaysConsequences(t *testing.T) {
	t.Parallel()
	m := newMain(t)
	admin := signIn(t, m, "admin@acme.example")

	id := admin.createApp("Scopeless", nil)
	details := admin.get("/applications/" + id)
	if got := testIDText(t, details.body, "flash-warning"); !strings.Contains(got, "has no scope, so it will not get access tokens") {
		t.Errorf("after adding with no scope, warning = %q", got)
	}
	if again := admin.get("/applications/" + id); hasTestID(t, again.body, "flash-warning") {
		t.Error("the warning is shown twice")
	}

	save := func(scopes url.Values) string {
		t.Helper()
		edit := admin.get("/applications/" + id + "/edit")
		f := appForm(t, edit.body)
		for k := range f.values {
			if strings.HasPrefix(k, "scope.") {
				f.values.Set(k, "none")
			}
		}
		for k, v := range scopes {
			f.values[k] = v
		}
		if p := admin.post("/applications/"+id, f.values); p.status != http.StatusSeeOther {
			t.Fatalf("save = %d\n%s", p.status, p.body)
		}
		p := admin.get("/applications/" + id)
		if !hasTestID(t, p.body, "flash") {
			t.Fatal("no flash after saving")
		}
		if !hasTestID(t, p.body, "flash-warning") {
			return ""
		}
		return testIDText(t, p.body, "flash-warning")
	}
	if w := save(url.Values{"scope.forensics:account": {"read-write"}}); w != "" {
		t.Errorf("adding a scope warns %q", w)
	}
	w := save(url.Values{"scope.forensics:account": {"read"}})
	if !strings.Contains(w, "Removed forensics:account:write") || !strings.Contains(w, "Introspection stops granting it now") ||
		!strings.Contains(w, "until they expire (within 1 hour)") {
		t.Errorf("removing write warns %q", w)
	}
	if w := save(nil); !strings.Contains(w, "has no scope") {
		t.Errorf("removing the last scope warns %q", w)
	}

	// The Edit form marks what the application has, for the live notice.
	edit := admin.get("/applications/" + id + "/edit")
	if hasTestID(t, edit.body, "scope-reduced") {
		t.Error("a scope the application does not have has a reduction notice")
	}
	save(url.Values{"scope.forensics:account": {"read"}})
	edit = admin.get("/applications/" + id + "/edit")
	if n := len(byTestID(t, edit.body, "scope-reduced")); n != 1 {
		t.Errorf("%d reduction notices, want 1 (the one scope it has)", n)
	}
}
