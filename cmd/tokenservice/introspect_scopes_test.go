package main

import (
	"net/http"
	"net/url"
	"testing"
)

// TestIntrospectNarrowedScopes: when an admin takes scopes away from an
// application, the tokens it got before lose them too: introspection
// answers with what the token and the application still share, and a token
// left with none of its scopes is inactive.
func TestIntrospectNarrowedScopes(t *testing.T) {
	t.Parallel()
	m := newMain(t)
	hc := clientFrom(t, "127.0.0.1")
	admin := signIn(t, m, "admin@acme.example")
	id := admin.createApp("Narrowed", url.Values{"scope.forensics:account": {"read-write"}, "scope.ess:account": {"read"}})
	app := appJSON{ClientID: id, ClientSecret: admin.reveal(id)}
	watcherID := admin.createApp("Resource server", url.Values{"scope.ess:account": {"read"}})
	watcher := appJSON{ClientID: watcherID, ClientSecret: admin.reveal(watcherID)}
	setAccess := func(t *testing.T, key, access string) {
		t.Helper()
		f := appForm(t, admin.get("/applications/"+id+"/edit").body)
		f.values.Set("scope."+key, access)
		if p := admin.post("/applications/"+id, f.values); p.status != http.StatusSeeOther {
			t.Fatalf("setting %s to %s = %d, want 303\n%s", key, access, p.status, p.body)
		}
	}

	g := grant(t, hc, m, app, "forensics:account:read forensics:account:write")
	if got, want := introspect(t, hc, m, watcher, g.AccessToken).Scope, "forensics:account:read forensics:account:write"; got != want {
		t.Fatalf("before any change: scope %q, want %q", got, want)
	}

	t.Run("Narrowed", func(t *testing.T) {
		setAccess(t, "forensics:account", "read")
		got := introspect(t, hc, m, watcher, g.AccessToken)
		if want := "forensics:account:read"; !got.Active || got.Scope != want {
			t.Fatalf("after narrowing to read: active %v, scope %q; want active with %q", got.Active, got.Scope, want)
		}
	})
	t.Run("NoneOfItsScopesLeft", func(t *testing.T) {
		// The application keeps ess:account:read, which the token never had.
		setAccess(t, "forensics:account", "none")
		if got := introspect(t, hc, m, watcher, g.AccessToken); got.Active {
			t.Fatalf("after removing the token's scopes: active with scope %q", got.Scope)
		}
	})
	t.Run("AllRemoved", func(t *testing.T) {
		setAccess(t, "ess:account", "none")
		if got := introspect(t, hc, m, watcher, g.AccessToken); got.Active {
			t.Fatalf("after removing every scope: active with scope %q", got.Scope)
		}
	})
}
