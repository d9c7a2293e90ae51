package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLinksNoTestCode checks that the loadgen binary links neither the
// testing package nor the product's test helper: it starts PostgreSQL
// through db/pgtest/pgserver, which reports errors instead of failing a test.
func TestLinksNoTestCode(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}: {{join .Imports \" \"}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for line := range strings.Lines(string(out)) {
		pkg, imports, _ := strings.Cut(strings.TrimSpace(line), ": ")
		for _, imp := range strings.Fields(imports) {
			if imp == "testing" || imp == "tokenservice/db/pgtest" {
				t.Errorf("loadgen links %s: %s imports it", imp, pkg)
			}
		}
	}
}
