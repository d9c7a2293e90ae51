package handlers

import (
	"net/url"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // a viewer's time zone, also where the host has no zoneinfo
	"unicode/utf8"

	"tokenservice"
	"tokenservice/secret"
)

// activityQuery is what the Activity page and its export are asked for.
type activityQuery struct {
	filter tokenservice.EventFilter
	format string // export: "csv" or "jsonl"

	// span is the time range's choice (see activityRanges); from, to and tz
	// are a custom range as typed: datetime-local values in the IANA time
	// zone tz, which the page's script fills in ("" for UTC).
	span, from, to, tz string
	// application is the account page's application field as typed: a
	// Client ID, or a name the handler looks up.
	application string
	// problem says why the filter cannot be applied; the page shows it
	// instead of events, and the export refuses.
	problem string
}

// activityRange is one choice of the time range.
type activityRange struct {
	value, label string
	last         time.Duration // 0: all time, or custom
}

// activityRanges are the time range's choices, in the select's order.
// "" (all time) is the default; relative ones end now, at each request.
var activityRanges = []activityRange{
	{"15m", "Last 15 minutes", 15 * time.Minute},
	{"1h", "Last hour", time.Hour},
	{"24h", "Last 24 hours", 24 * time.Hour},
	{"7d", "Last 7 days", 7 * 24 * time.Hour},
	{"", "All time", 0},
	{rangeCustom, "Custom range", 0},
}

const rangeCustom = "custom"

// datetimeLayouts are what a datetime-local input sends.
var datetimeLayouts = []string{"2006-01-02T15:04", "2006-01-02T15:04:05"}

// parseActivityQuery reads the filter of the Activity page at now. Invalid
// values of the selects are dropped: a stale or edited link shows the trail
// unfiltered or from its newest event rather than an error. What a person
// typed (a custom range, an application) is never dropped silently: it
// sets problem, so the page does not show events it was not asked for.
func parseActivityQuery(q url.Values, now time.Time) activityQuery {
	var a activityQuery
	if action := tokenservice.Action(q.Get("action")); action.Valid() {
		a.filter.Action = action
	}
	if actor := q.Get("actor"); plainText(actor, 255) {
		a.filter.Actor = actor
	}
	if app := strings.TrimSpace(q.Get("application")); app != "" {
		a.application = app
		if secret.ValidClientID(app) {
			a.filter.ClientID = app
		} else if !plainText(app, 255) {
			a.application, a.problem = "", "Enter an application’s name or Client ID, or choose one from the suggestions."
		}
	}
	if n, err := strconv.ParseInt(q.Get("before"), 10, 64); err == nil && n > 0 {
		a.filter.Before = n
	}
	if n, err := strconv.ParseInt(q.Get("after"), 10, 64); err == nil && n > 0 {
		a.filter.After = n
	}
	switch f := q.Get("format"); f {
	case "csv", "jsonl":
		a.format = f
	}
	a.parseRange(q, now)
	return a
}

// parseRange reads the time range into the filter's bounds.
func (a *activityQuery) parseRange(q url.Values, now time.Time) {
	span := q.Get("range")
	if span == "" && (q.Get("from") != "" || q.Get("to") != "") {
		span = rangeCustom // a hand-made link with bounds only
	}
	for _, r := range activityRanges {
		if r.value != span {
			continue
		}
		a.span = span
		if r.last > 0 {
			a.filter.From = now.Add(-r.last)
		}
	}
	if a.span != rangeCustom {
		return
	}
	a.from, a.to, a.tz = q.Get("from"), q.Get("to"), q.Get("tz")
	loc := time.UTC
	if a.tz != "" {
		l, err := time.LoadLocation(a.tz)
		if !plainText(a.tz, 64) || a.tz == "Local" || err != nil {
			a.tz = ""
			a.setProblem("The time zone of the custom range is unknown. Enter the range again.")
			return
		}
		loc = l
	}
	var ok bool
	if a.filter.From, ok = parseDatetime(a.from, loc); !ok {
		a.setProblem("The start of the custom range is not a date and time. Use the date picker, e.g. 2026-12-03 09:30.")
	}
	if a.filter.To, ok = parseDatetime(a.to, loc); !ok {
		a.setProblem("The end of the custom range is not a date and time. Use the date picker, e.g. 2026-12-03 17:00.")
	}
	if !a.filter.From.IsZero() && !a.filter.To.IsZero() && !a.filter.To.After(a.filter.From) {
		a.setProblem("The end of the custom range is not after its start. Choose an end later than the start.")
	}
}

// setProblem keeps the first problem: the one the person sees.
func (a *activityQuery) setProblem(msg string) {
	if a.problem == "" {
		a.problem = msg
	}
}

// parseDatetime reads a datetime-local value in loc; "" is no bound.
func parseDatetime(s string, loc *time.Location) (time.Time, bool) {
	if s == "" {
		return time.Time{}, true
	}
	for _, layout := range datetimeLayouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil && t.Year() >= 1970 {
			return t, true
		}
	}
	return time.Time{}, false
}

// plainText reports whether s is at most n bytes of valid UTF-8 without NUL.
func plainText(s string, n int) bool {
	return len(s) <= n && utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// values is the query string of the filter, without the page cursor.
func (a activityQuery) values() url.Values {
	v := url.Values{}
	if a.filter.Action != "" {
		v.Set("action", string(a.filter.Action))
	}
	if a.filter.Actor != "" {
		v.Set("actor", a.filter.Actor)
	}
	if a.span != "" {
		v.Set("range", a.span)
	}
	if a.span == rangeCustom {
		for k, s := range map[string]string{"from": a.from, "to": a.to, "tz": a.tz} {
			if s != "" {
				v.Set(k, s)
			}
		}
	}
	return v
}
