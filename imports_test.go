package tokenservice_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// A layer is a part of the module, or of what it imports, that the import
// rules speak of.
type layer string

const (
	rootLayer  layer = "root"        // the domain's types and errors
	cmdLayer   layer = "cmd"         // wiring: config, store, handlers, server
	handlers   layer = "handlers"    // HTTP
	operations layer = "application" // the rules of changing applications, over the store
	views      layer = "views"       // templ components
	store      layer = "db"          // SQL
	domain     layer = "domain"      // secret, token, scope, …: neither HTTP nor SQL
	provider   layer = "bcc"         // the bundled provider and its command
	neutral    layer = "neutral"     // infrastructure both the portal and bcc import
	testHelper layer = "test helper" // db/pgtest: fails tests, so imports testing
	testServer layer = "pgserver"    // the throwaway PostgreSQL server of tests and benchmarks
	testingPkg layer = "testing"
	echo       layer = "Echo"
	std        layer = "standard library"
	thirdParty layer = "third-party"
)

// layers places packages by path ("/..." also matches the subpackages); the
// first that matches wins. Other packages of the module are domain packages.
var layers = []struct {
	path  string
	layer layer
}{
	{"tokenservice", rootLayer},
	{"tokenservice/cmd/bcc", provider},
	{"tokenservice/cmd/...", cmdLayer},
	{"tokenservice/bcc/...", provider},
	{"tokenservice/handlers/...", handlers},
	{"tokenservice/application", operations},
	{"tokenservice/views/...", views},
	{"tokenservice/db/pgtest", testHelper},
	{"tokenservice/db/pgtest/pgserver", testServer},
	{"tokenservice/db/...", store},
	{"tokenservice/ratelimit", neutral},
	{"testing", testingPkg},
	{"github.com/labstack/echo/...", echo},
}

var (
	module  = []layer{rootLayer, cmdLayer, handlers, operations, views, store, domain, provider, neutral, testHelper, testServer}
	portal  = without(module, provider, neutral)
	notStd  = append([]layer{echo, thirdParty}, module...)
	product = without(module, testHelper)
)

// importRules are the imports the module's packages must not have, in their
// non-test files: from a layer of from to a layer of to, unless the imported
// package is in except. rule is how the message names the rule.
var importRules = []struct {
	rule     string
	from, to []layer
	except   []string
	why      string
}{
	{
		rule: "root → anything outside the standard library",
		from: []layer{rootLayer}, to: notStd,
		why: "the root package holds the domain's types and rules, which need no infrastructure",
	},
	{
		rule: "views → db, handlers",
		from: []layer{views}, to: []layer{store, handlers},
		why: "views render the view models they are given",
	},
	{
		rule: "db → handlers, views",
		from: []layer{store}, to: []layer{handlers, views},
		why: "the store is SQL: it knows neither HTTP handlers nor pages",
	},
	{
		rule: "application → Echo, handlers, views, db",
		from: []layer{operations}, to: []layer{echo, handlers, views, store},
		why: "the operations are neither HTTP nor SQL: handlers and the CLI call them, and they reach the store through an interface of their own",
	},
	{
		rule: "root, domain, db, views → application",
		from: []layer{rootLayer, domain, store, views}, to: []layer{operations},
		why: "the operations sit above the store and the domain packages they use; views render view models",
	},
	{
		rule: "domain → Echo, handlers, views, db",
		from: []layer{domain}, to: []layer{echo, handlers, views, store},
		why: "domain packages (secret, token, scope, …) are neither HTTP nor SQL",
	},
	{
		rule: "anything but cmd → bcc",
		from: without(module, cmdLayer, provider), to: []layer{provider},
		why: "only cmd wires the bundled provider in; the portal talks to it over OpenID Connect, as to any provider",
	},
	{
		rule: "bcc → the portal",
		from: []layer{provider}, to: portal,
		why: "the bundled provider shares nothing with the portal, as an external provider would; what both need lives in a neutral package",
	},
	{
		rule: "neutral → anything of the module",
		from: []layer{neutral}, to: module,
		why: "neutral infrastructure (ratelimit) is imported by both the portal and the bundled provider, so it imports neither",
	},
	{
		rule: "any package → testing",
		from: product, to: []layer{testingPkg},
		why: "testing belongs in _test.go files, so that no binary links it",
	},
	{
		rule: "any package → db/pgtest, db/pgtest/pgserver",
		from: product, to: []layer{testHelper, testServer},
		why: "only _test.go files (and the bench module) use the test helpers, so that no binary links them",
	},
}

// TestImports checks every import of the module's packages against
// importRules, and that no command links the testing package, on the
// graph `go list` reads from the source. The bench module is not the
// product: its own tests check it.
func TestImports(t *testing.T) {
	pkgs := listPackages(t)
	byPath := make(map[string]*listedPackage, len(pkgs))
	for _, p := range pkgs {
		byPath[p.ImportPath] = p
	}
	for _, p := range pkgs {
		if !p.inModule() {
			continue
		}
		from := layerOf(p)
		for _, imp := range p.Imports {
			to := layerOf(byPath[imp])
			for _, r := range importRules {
				if slices.Contains(r.from, from) && slices.Contains(r.to, to) && !slices.Contains(r.except, imp) {
					t.Errorf("%s: %s imports %s, against the rule %q: %s",
						importingFile(p, imp), p.ImportPath, imp, r.rule, r.why)
				}
			}
		}
		if p.Name == "main" {
			if chain := importChain(byPath, p.ImportPath, "testing"); chain != nil {
				t.Errorf("the command %s links testing: %s", p.ImportPath, strings.Join(chain, " → "))
			}
		}
	}
}

// listedPackage is what TestImports needs of `go list -json`.
type listedPackage struct {
	ImportPath string
	Name       string
	Dir        string
	GoFiles    []string
	Imports    []string // of the non-test files
	Standard   bool
	Module     *struct{ Path string }
}

func (p *listedPackage) inModule() bool { return p.Module != nil && p.Module.Path == "tokenservice" }

// listPackages lists the module's packages and everything they import.
func listPackages(t *testing.T) []*listedPackage {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Name,Dir,GoFiles,Imports,Standard,Module", "./...")
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := errors.AsType[*exec.ExitError](err); ok {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	var pkgs []*listedPackage
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		p := new(listedPackage)
		if err := dec.Decode(p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("go list: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		t.Fatal("go list found no packages")
	}
	return pkgs
}

// layerOf is the layer of p.
func layerOf(p *listedPackage) layer {
	for _, l := range layers {
		if base, ok := strings.CutSuffix(l.path, "/..."); ok {
			if p.ImportPath == base || strings.HasPrefix(p.ImportPath, base+"/") {
				return l.layer
			}
		} else if p.ImportPath == l.path {
			return l.layer
		}
	}
	switch {
	case p.inModule():
		return domain
	case p.Standard:
		return std
	}
	return thirdParty
}

// importingFile is the file of p that imports imp, for the message.
func importingFile(p *listedPackage, imp string) string {
	wd, _ := os.Getwd()
	for _, name := range p.GoFiles {
		path := filepath.Join(p.Dir, name)
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			continue
		}
		for _, spec := range f.Imports {
			if got, _ := strconv.Unquote(spec.Path.Value); got == imp {
				if rel, err := filepath.Rel(wd, path); err == nil {
					return rel
				}
				return path
			}
		}
	}
	return p.ImportPath
}

// importChain is the shortest chain of imports from one package to
// another, or nil when from does not link to.
func importChain(byPath map[string]*listedPackage, from, to string) []string {
	prev := map[string]string{from: ""}
	for queue := []string{from}; len(queue) > 0; queue = queue[1:] {
		p := byPath[queue[0]]
		if p == nil {
			continue
		}
		for _, imp := range p.Imports {
			if _, seen := prev[imp]; seen {
				continue
			}
			prev[imp] = p.ImportPath
			if imp == to {
				var chain []string
				for at := to; at != ""; at = prev[at] {
					chain = append(chain, at)
				}
				slices.Reverse(chain)
				return chain
			}
			queue = append(queue, imp)
		}
	}
	return nil
}

// without is ls less the layers of drop.
func without(ls []layer, drop ...layer) []layer {
	return slices.DeleteFunc(slices.Clone(ls), func(l layer) bool { return slices.Contains(drop, l) })
}
