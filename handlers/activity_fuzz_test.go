package handlers

import (
	"encoding/csv"
	"net/url"
	"strings"
	"testing"

	"tokenservice"
)

// FuzzActivityQuery: any query string gives a filter the store can take
// (a known action or none, a valid client ID or none, cursors ≥ 0), and any
// cell written to the CSV export reads back as one cell that a spreadsheet
// will not run as a formula.
func FuzzActivityQuery(f *testing.F) {
	for _, seed := range []string{
		"", "action=secret.reset&actor=sub-1&before=120", "after=-5&before=1e9&format=xlsx",
		"application=aaaaaaaaaaaaaaaaaaaaaaaaaa&format=csv", "actor=%00&action=%27%20OR%201=1--",
		"before=9223372036854775808", "format=jsonl&format=csv", "actor==HYPERLINK(%22x%22)",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		a := parseActivityQuery(q)
		if a.filter.Action != "" && !a.filter.Action.Valid() {
			t.Fatalf("action %q", a.filter.Action)
		}
		if a.filter.Before < 0 || a.filter.After < 0 {
			t.Fatalf("cursor %d/%d", a.filter.Before, a.filter.After)
		}
		if a.format != "" && a.format != "csv" && a.format != "jsonl" {
			t.Fatalf("format %q", a.format)
		}
		if strings.ContainsRune(a.filter.Actor, 0) || len(a.filter.Actor) > 255 {
			t.Fatalf("actor %q", a.filter.Actor)
		}
		var b strings.Builder
		w := csv.NewWriter(&b)
		cell := q.Get("actor")
		if err := w.Write(csvRow(cell, string(tokenservice.ActionCreated))); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		rec, err := csv.NewReader(strings.NewReader(b.String())).Read()
		if err != nil || len(rec) != 2 {
			t.Fatalf("cell %q did not read back: %v %q", cell, err, rec)
		}
		if got := rec[0]; got != "" && strings.ContainsRune("=+-@\t\r", rune(got[0])) {
			t.Fatalf("cell %q starts a formula", got)
		}
	})
}
