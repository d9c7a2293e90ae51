package handlers

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"golang.org/x/net/html"

	"tokenservice"
	"tokenservice/application"
	"tokenservice/scope"
)

// FuzzApplicationForm posts anything as the Add/Edit form: parsing and
// checking it never panics, what passes the check is a clean name and grants
// the catalogue (or the application's retired grants) allow, every refusal
// names a field, and the form rendered back keeps the input as inert text.
func FuzzApplicationForm(f *testing.F) {
	for _, body := range []string{
		"name=SIEM+export&version=3&scope.forensics%3Aaccount=read-write&scope.ess%3Aaccount=read",
		"name=SIEM+export&scope.forensics:account=read&scope.ess:account=none",
		"name=%3Cscript%3Ealert(1)%3C%2Fscript%3E&scope.ess%3Aaccount=read",
		`name=%22+onmouseover%3D%22alert(1)&scope.%3Cb%3E=read`,
		"name=Robert%27%29%3B+DROP+TABLE+applications%3B--",
		"name=&version=-1",
		"name=a&name=b&version=1&version=2",
		"name=%00%0A%E2%80%AE&version=99999999999999999999",
		"scope.nope%3Anope=read",
		"scope.forensics%3Aaccount=admin",
		"scope.=read&scope.ess%3Aaccount=&scope.ess%3Aaccount=read",
		"scope.retired%3Ascope=read",
		"scope.retired%3Ascope=read-write",
		"%zz=%zz&name=ok",
		"name=" + strings.Repeat("x", 300),
		"",
	} {
		f.Add(body, false)
		f.Add(body, true)
	}
	h := &Applications{catalogue: scope.Default()}
	// An application with a grant the catalogue has retired.
	current := []tokenservice.ScopeGrant{{Key: "ess:account", Access: tokenservice.AccessRead}, {Key: "retired:scope", Access: tokenservice.AccessRead}}
	e := echo.New()
	f.Fuzz(func(t *testing.T, body string, editing bool) {
		req := httptest.NewRequest(http.MethodPost, "/applications", strings.NewReader(body))
		req.Header.Set("Content-Type", formType)
		c := e.NewContext(req, httptest.NewRecorder())
		form, err := parseApplicationForm(c)
		if err != nil {
			if got := tokenservice.ErrorCode(err); got != tokenservice.EINVALID {
				t.Fatalf("parse error %v, code %q; want %q", err, got, tokenservice.EINVALID)
			}
			return
		}
		var had []tokenservice.ScopeGrant
		if editing {
			had = current
		}
		name, grants, err := application.Check(h.catalogue, form.input(), had)
		errs := invalidFields(err)
		if err == nil {
			if clean, err := tokenservice.CleanName(form.Name); err != nil || clean != name {
				t.Fatalf("accepted name %q from %q; CleanName gives %q, %v", name, form.Name, clean, err)
			}
			checkGrants(t, h.catalogue, grants, had)
		}
		for field := range errs {
			key, isScope := strings.CutPrefix(field, "scope.")
			if _, posted := form.Access[key]; field != "name" && field != "form" && !(isScope && posted) {
				t.Fatalf("message for %q, which is not a posted field", field)
			}
		}

		v := h.formView(form, had, errs)
		rec := httptest.NewRecorder()
		if err := renderForm(e.NewContext(req, rec), http.StatusUnprocessableEntity, v); err != nil {
			t.Fatalf("render the form: %v", err)
		}
		checkInert(t, rec.Body.String(), form.Name)
	})
}

// checkGrants checks grants the catalogue accepted for an application that
// had the grants in had: each key once, in order, with a level its entry
// offers, or the application's own retired grant kept as it was.
func checkGrants(t *testing.T, c *scope.Catalogue, grants, had []tokenservice.ScopeGrant) {
	t.Helper()
	for i, g := range grants {
		if i > 0 && grants[i-1].Key >= g.Key {
			t.Fatalf("grants %v are not sorted by key, once each", grants)
		}
		if g.Access == tokenservice.AccessNone || !g.Access.Valid() {
			t.Fatalf("grant %v has access %q", g, g.Access)
		}
		if e, ok := c.Lookup(g.Key); ok && e.Offers(g.Access) {
			continue
		}
		kept := false
		for _, h := range had {
			kept = kept || h == g
		}
		if !kept {
			t.Fatalf("grant %v is neither offered by the catalogue nor the application's own", g)
		}
	}
}

// checkInert checks a rendered page: its only scripts are the site's own
// files, and the name input holds name exactly, so nothing the user typed
// became markup.
func checkInert(t *testing.T, page, name string) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatalf("parse the page: %v", err)
	}
	var value *string
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			attrs := map[string]string{}
			for _, a := range n.Attr {
				attrs[a.Key] = a.Val
				if strings.HasPrefix(a.Key, "on") {
					t.Fatalf("<%s> has the event handler %s=%q", n.Data, a.Key, a.Val)
				}
			}
			if n.Data == "script" && (!strings.HasPrefix(attrs["src"], "/static/") || n.FirstChild != nil) {
				t.Fatalf("a script that is not one of the site's files: src %q", attrs["src"])
			}
			if n.Data == "input" && attrs["name"] == "name" {
				v := attrs["value"]
				value = &v
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if value == nil {
		t.Fatal("the page has no name input")
	}
	// HTML parsing itself rewrites NUL, CR and invalid UTF-8; compare
	// only what it keeps.
	if utf8.ValidString(name) && !strings.ContainsAny(name, "\x00\r") && *value != name {
		t.Fatalf("the name input holds %q, want %q", *value, name)
	}
}
