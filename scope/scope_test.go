package scope

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"tokenservice"
)

const (
	none = tokenservice.AccessNone
	r    = tokenservice.AccessRead
	rw   = tokenservice.AccessReadWrite
)

func TestDefaultValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatal(err)
	}
	want := []string{"ess:account:read", "forensics:account:read", "forensics:account:write"}
	got := Default().Supported()[:3]
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Supported()[:3] = %v, want %v", got, want)
	}
}

func TestCheck(t *testing.T) {
	c := Default()
	for _, tt := range []struct {
		name    string
		chosen  map[string]tokenservice.Access
		current []tokenservice.ScopeGrant
		want    []tokenservice.ScopeGrant
		bad     string // field expected to carry an error
	}{
		{name: "NoneDropped", chosen: map[string]tokenservice.Access{"ess:account": none, "forensics:account": rw},
			want: []tokenservice.ScopeGrant{{Key: "forensics:account", Access: rw}}},
		{name: "Sorted", chosen: map[string]tokenservice.Access{"reporting:reports": r, "ess:account": r},
			want: []tokenservice.ScopeGrant{{Key: "ess:account", Access: r}, {Key: "reporting:reports", Access: r}}},
		{name: "Empty", chosen: map[string]tokenservice.Access{}, want: nil},
		{name: "UnknownKey", chosen: map[string]tokenservice.Access{"nope:x": r}, bad: "scope.nope:x"},
		{name: "UnknownAccess", chosen: map[string]tokenservice.Access{"ess:account": "admin"}, bad: "scope.ess:account"},
		{name: "WriteNotOffered", chosen: map[string]tokenservice.Access{"ess:account": rw}, bad: "scope.ess:account"},
		{name: "RetiredKept", chosen: map[string]tokenservice.Access{"old:thing": rw},
			current: []tokenservice.ScopeGrant{{Key: "old:thing", Access: rw}},
			want:    []tokenservice.ScopeGrant{{Key: "old:thing", Access: rw}}},
		{name: "RetiredRemoved", chosen: map[string]tokenservice.Access{"old:thing": none},
			current: []tokenservice.ScopeGrant{{Key: "old:thing", Access: rw}}, want: nil},
		{name: "LevelNoLongerOfferedKept", chosen: map[string]tokenservice.Access{"ess:account": rw},
			current: []tokenservice.ScopeGrant{{Key: "ess:account", Access: rw}},
			want:    []tokenservice.ScopeGrant{{Key: "ess:account", Access: rw}}},
		{name: "RetiredWidened", chosen: map[string]tokenservice.Access{"old:thing": rw},
			current: []tokenservice.ScopeGrant{{Key: "old:thing", Access: r}}, bad: "scope.old:thing"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Check(tt.chosen, tt.current)
			if tt.bad != "" {
				e, ok := err.(*tokenservice.Error)
				if !ok || e.Code != tokenservice.EINVALID || e.Fields[tt.bad] == "" {
					t.Fatalf("Check = %v, %v; want EINVALID on %s", got, err, tt.bad)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Check = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.json", `{"scopes":[{"key":"billing:invoices","product":"Billing","resource":"Invoices","access":["read","read-write"]}]}`)
	c, err := Load(good)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Supported(), []string{"billing:invoices:read", "billing:invoices:write"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Supported = %v, want %v", got, want)
	}
	for name, body := range map[string]string{
		"BadJSON":       `{`,
		"Empty":         `{"scopes":[]}`,
		"BadKey":        `{"scopes":[{"key":"Billing","product":"B","resource":"I","access":["read"]}]}`,
		"Duplicate":     `{"scopes":[{"key":"a:b","product":"A","resource":"B","access":["read"]},{"key":"a:b","product":"A","resource":"B","access":["read"]}]}`,
		"UnknownAccess": `{"scopes":[{"key":"a:b","product":"A","resource":"B","access":["admin"]}]}`,
		"NoAccess":      `{"scopes":[{"key":"a:b","product":"A","resource":"B","access":[]}]}`,
		"UnknownField":  `{"scopes":[{"key":"a:b","product":"A","resource":"B","access":["read"],"x":1}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Load(write(name+".json", body)); err == nil {
				t.Fatal("Load succeeded")
			}
		})
	}
}
