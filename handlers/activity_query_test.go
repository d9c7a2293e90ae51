package handlers

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"tokenservice"
)

func TestParseActivityQueryTimeRange(t *testing.T) {
	now := time.Date(2026, 12, 3, 20, 0, 0, 0, time.UTC)
	utc := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse("2006-01-02T15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		name     string
		query    string
		from, to time.Time
		span     string
		problem  string // a part of the message; "" for none
	}{
		{name: "AllTime", query: ""},
		{name: "Last15Minutes", query: "range=15m", span: "15m", from: now.Add(-15 * time.Minute)},
		{name: "LastHour", query: "range=1h", span: "1h", from: now.Add(-time.Hour)},
		{name: "Last24Hours", query: "range=24h", span: "24h", from: now.Add(-24 * time.Hour)},
		{name: "Last7Days", query: "range=7d", span: "7d", from: now.Add(-7 * 24 * time.Hour)},
		{name: "UnknownRangeIsAllTime", query: "range=fortnight"},
		{name: "RelativeIgnoresBounds", query: "range=1h&from=2020-01-01T00:00&to=2020-01-02T00:00", span: "1h", from: now.Add(-time.Hour)},
		{name: "CustomUTC", query: "range=custom&from=2026-12-03T09:30&to=2026-12-03T17:00", span: "custom",
			from: utc("2026-12-03T09:30"), to: utc("2026-12-03T17:00")},
		{name: "CustomWithSeconds", query: "range=custom&from=2026-12-03T09:30:15", span: "custom", from: utc("2026-12-03T09:30").Add(15 * time.Second)},
		{name: "CustomInViewersZone", query: "range=custom&from=2026-12-03T09:30&to=2026-12-03T17:00&tz=Europe/Berlin", span: "custom",
			from: utc("2026-12-03T08:30"), to: utc("2026-12-03T16:00")},
		{name: "CustomAcrossSummerTime", query: "range=custom&from=2026-07-01T12:00&tz=America/New_York", span: "custom", from: utc("2026-07-01T16:00")},
		{name: "CustomStartOnly", query: "range=custom&from=2026-12-03T09:30", span: "custom", from: utc("2026-12-03T09:30")},
		{name: "CustomEndOnly", query: "range=custom&to=2026-12-03T09:30", span: "custom", to: utc("2026-12-03T09:30")},
		{name: "CustomEmptyIsAllTime", query: "range=custom&from=&to=", span: "custom"},
		{name: "BoundsWithoutRangeAreCustom", query: "from=2026-12-03T09:30", span: "custom", from: utc("2026-12-03T09:30")},
		{name: "EndBeforeStart", query: "range=custom&from=2026-12-03T17:00&to=2026-12-03T09:30", span: "custom", problem: "not after its start"},
		{name: "EndAtStart", query: "range=custom&from=2026-12-03T17:00&to=2026-12-03T17:00", span: "custom", problem: "not after its start"},
		{name: "StartUnparseable", query: "range=custom&from=yesterday&to=2026-12-03T09:30", span: "custom", problem: "start of the custom range is not a date"},
		{name: "EndUnparseable", query: "range=custom&to=2026-02-30T10:00", span: "custom", problem: "end of the custom range is not a date"},
		{name: "BeforeTheEpoch", query: "range=custom&from=1969-12-31T23:59", span: "custom", problem: "start of the custom range"},
		{name: "UnknownZone", query: "range=custom&from=2026-12-03T09:30&tz=Mars/Olympus", span: "custom", problem: "time zone"},
		{name: "ServersZoneRefused", query: "range=custom&from=2026-12-03T09:30&tz=Local", span: "custom", problem: "time zone"},
		{name: "ZonePathRefused", query: "range=custom&from=2026-12-03T09:30&tz=../../../etc/passwd", span: "custom", problem: "time zone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			a := parseActivityQuery(q, now)
			if got, want := a.span, tc.span; got != want {
				t.Errorf("range = %q, want %q", got, want)
			}
			if tc.problem != "" {
				if !strings.Contains(a.problem, tc.problem) {
					t.Errorf("problem = %q, want one about %q", a.problem, tc.problem)
				}
				return
			}
			if a.problem != "" {
				t.Errorf("problem = %q, want none", a.problem)
			}
			if got, want := a.filter.From, tc.from; !got.Equal(want) {
				t.Errorf("from = %v, want %v", got, want)
			}
			if got, want := a.filter.To, tc.to; !got.Equal(want) {
				t.Errorf("to = %v, want %v", got, want)
			}
		})
	}
}

func TestParseActivityQueryApplication(t *testing.T) {
	now := time.Now()
	const id = "aaaaaaaaaaaaaaaaaaaaaaaaaa"
	for _, tc := range []struct {
		name, query, clientID, application, problem string
	}{
		{name: "None", query: ""},
		{name: "ClientID", query: "application=" + id, clientID: id, application: id},
		{name: "ClientIDWithSpaces", query: "application=+" + id + "+", clientID: id, application: id},
		{name: "NameForTheHandler", query: "application=Billing+sync", application: "Billing sync"},
		{name: "NUL", query: "application=%00", problem: "Enter an application"},
		{name: "TooLong", query: "application=" + strings.Repeat("x", 256), problem: "Enter an application"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			a := parseActivityQuery(q, now)
			if a.filter.ClientID != tc.clientID || a.application != tc.application || !strings.Contains(a.problem, tc.problem) || (tc.problem == "") != (a.problem == "") {
				t.Errorf("client ID %q, application %q, problem %q; want %q, %q, %q", a.filter.ClientID, a.application, a.problem, tc.clientID, tc.application, tc.problem)
			}
		})
	}
}

// TestActivityQueryValues: the links of a page (paging, exports) keep the
// time range as it was asked for, so that a relative one is resolved again
// when followed; the bounds of a relative range are not in them.
func TestActivityQueryValues(t *testing.T) {
	now := time.Now()
	for query, want := range map[string]string{
		"range=1h&from=2026-01-01T00:00":                      "range=1h",
		"range=custom&from=2026-12-03T09:30&tz=Europe/Berlin": "from=2026-12-03T09%3A30&range=custom&tz=Europe%2FBerlin",
		"action=access.refused&range=7d":                      "action=access.refused&range=7d",
		"range=&from=&to=&tz=":                                "",
	} {
		q, _ := url.ParseQuery(query)
		if got := parseActivityQuery(q, now).values().Encode(); got != want {
			t.Errorf("%s: values = %s, want %s", query, got, want)
		}
	}
	if !tokenservice.ActionAccessRefused.Valid() {
		t.Error("access.refused is not an action the filter takes")
	}
}
