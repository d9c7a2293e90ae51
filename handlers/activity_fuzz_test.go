package handlers

import (
	"encoding/csv"
	"net/url"
	"strings"
	"testing"
	"time"

	"tokenservice"
	"tokenservice/secret"
)

// FuzzActivityQuery: any query string gives a filter the store can take
// (a known action or none, a valid client ID or none, cursors ≥ 0, a time
// range whose end is after its start, or a problem to show instead), and
// any cell written to the CSV export reads back as one cell that a
// spreadsheet will not run as a formula.
func FuzzActivityQuery(f *testing.F) {
	for _, seed := range []string{
		"", "action=secret.reset&actor=sub-1&before=120", "after=-5&before=1e9&format=xlsx",
		"application=aaaaaaaaaaaaaaaaaaaaaaaaaa&format=csv", "actor=%00&action=%27%20OR%201=1--",
		"before=9223372036854775808", "format=jsonl&format=csv", "actor==HYPERLINK(%22x%22)",
		"range=1h", "range=7d&application=Billing", "range=week", "range=custom&from=2026-12-03T09:30&to=2026-12-03T17:00&tz=Europe/Berlin",
		"range=custom&from=2026-12-03T17:00&to=2026-12-03T09:30", "from=2026-13-40T25:61", "range=custom&tz=../../etc/passwd",
		"range=custom&tz=Local&from=2026-01-01T00:00", "range=custom&from=0001-01-01T00:00", "to=2026-03-29T02:30&tz=Europe/London",
		"application=%00", "application=aaaaaaaaaaaaaaaaaaaaaaaaaa&range=15m",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		now := time.Date(2026, 12, 3, 20, 0, 0, 0, time.UTC)
		a := parseActivityQuery(q, now)
		known := false
		for _, r := range activityRanges {
			known = known || r.value == a.span
		}
		if !known {
			t.Fatalf("range %q", a.span)
		}
		if a.problem == "" && !a.filter.From.IsZero() && !a.filter.To.IsZero() && !a.filter.To.After(a.filter.From) {
			t.Fatalf("range %v–%v ends before it starts", a.filter.From, a.filter.To)
		}
		if a.span != rangeCustom && (!a.filter.To.IsZero() || a.filter.From.After(now)) {
			t.Fatalf("relative range %q is %v–%v", a.span, a.filter.From, a.filter.To)
		}
		if a.filter.ClientID != "" && !secret.ValidClientID(a.filter.ClientID) {
			t.Fatalf("client ID %q", a.filter.ClientID)
		}
		if strings.ContainsRune(a.application, 0) || len(a.application) > 255 || strings.ContainsRune(a.tz, 0) {
			t.Fatalf("application %q, zone %q", a.application, a.tz)
		}
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
