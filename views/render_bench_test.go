package views

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/a-h/templ"
)

// The page renders, as the handlers do them (into one buffer, with the
// chrome of a signed-in admin), with full pages of realistic rows: what a
// page costs the server apart from the database.

var benchTime = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// benchContext is the context of a signed-in admin's request.
func benchContext() context.Context {
	return WithChrome(context.Background(), &Chrome{
		User:        &User{Name: "Ada Admin", Email: "admin@acme.example", AccountName: "Acme", Admin: true},
		CSRFToken:   "csrf-0123456789abcdefghijklmnopqrstuv",
		Region:      "us",
		RegionLabel: "United States (US)",
		Regions: []Region{
			{Name: "us", Label: "United States (US)", URL: "https://us.example.com"},
			{Name: "uk", Label: "United Kingdom (UK)", URL: "https://uk.example.com"},
		},
		RequestID: "R3QUEST1D0123456789ABCDEF",
	})
}

// benchmarkRender renders c into a reused buffer, as handlers' render does
// into a fresh one.
func benchmarkRender(b *testing.B, c templ.Component) {
	ctx := benchContext()
	var buf bytes.Buffer
	if err := c.Render(ctx, &buf); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := c.Render(ctx, &buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderApplications is the Applications list with a full page
// (50 rows, two scopes each) and a next page.
func BenchmarkRenderApplications(b *testing.B) {
	p := ApplicationsPage{AccountName: "Acme", Total: 100000, NextURL: "/applications?after=eyJuIjoiYXBwIDAwMDQ5IiwiYyI6ImFiYyJ9"}
	for i := range 50 {
		p.Rows = append(p.Rows, ApplicationRow{
			Name:     fmt.Sprintf("Application %05d", i),
			ClientID: fmt.Sprintf("abcdefghijklmnopqrstuv%04d", i),
			Scopes: []ScopeSummary{
				{Label: "Incident Response · Read & Write"},
				{Label: "Status Pages · Read"},
			},
			CreatedAt: benchTime.Add(-time.Duration(i) * time.Hour),
		})
	}
	benchmarkRender(b, Applications(p))
}

// BenchmarkRenderDetails is the Application Details page of an application
// with three scopes, inside its reveal window.
func BenchmarkRenderDetails(b *testing.B) {
	d := ApplicationDetails{
		Name: "Billing sync", ClientID: "abcdefghijklmnopqrstuv0001",
		CreatedAt: benchTime.Add(-48 * time.Hour), CreatedBy: "admin@acme.example",
		UpdatedAt: benchTime.Add(-time.Hour), UpdatedBy: "admin@acme.example",
		Secret:   SecretPanel{ClientID: "abcdefghijklmnopqrstuv0001", Revealable: true, SecondsLeft: 600, CanView: true},
		Issuer:   "https://us.example.com",
		TokenURL: "https://us.example.com/oauth2/token", JWKSURL: "https://us.example.com/.well-known/jwks.json",
		ScopeExample:  "incidents:read",
		TokensLastDay: 12345, LastTokenAt: benchTime.Add(-time.Minute),
		Scopes: []ScopeDetail{
			{Product: "Incident Response", Resource: "Incidents", Access: "Read & Write", OAuthScopes: []string{"incidents:read", "incidents:write"}},
			{Product: "Status Pages", Resource: "Pages", Access: "Read", OAuthScopes: []string{"status:read"}},
			{Product: "On-call", Resource: "Schedules", Access: "Read", OAuthScopes: []string{"oncall:read"}},
		},
	}
	benchmarkRender(b, Details(d))
}

// BenchmarkRenderActivity is the account's Activity page with a full page
// (50 events, each with a line of details) and both filters' choices.
func BenchmarkRenderActivity(b *testing.B) {
	p := ActivityPage{
		Title: "Activity", Path: "/activity",
		Actions: []Option{{Value: "", Label: "All actions"}, {Value: "created", Label: "Created"},
			{Value: "renamed", Label: "Renamed"}, {Value: "scopes_changed", Label: "Scopes changed"},
			{Value: "secret_reset", Label: "Secret reset"}, {Value: "deleted", Label: "Deleted"}},
		Actors: []Option{{Value: "", Label: "Everyone"}, {Value: "sub-1", Label: "admin@acme.example"},
			{Value: "sub-2", Label: "ops@acme.example"}},
		NewerURL: "/activity?after=1000050", NewestURL: "/activity", OlderURL: "/activity?before=1000000",
		CSVURL: "/activity/export?format=csv", JSONLURL: "/activity/export?format=jsonl",
	}
	for i := range 50 {
		p.Rows = append(p.Rows, ActivityRow{
			ID: int64(1000050 - i), At: benchTime.Add(-time.Duration(i) * time.Minute),
			Action: "Scopes changed", Who: "admin@acme.example", Subject: "sub-1",
			ClientID: fmt.Sprintf("abcdefghijklmnopqrstuv%04d", i), Application: fmt.Sprintf("Application %05d", i),
			Details:   []string{"Incident Response · Incidents: Read → Read & Write"},
			Address:   "203.0.113.7",
			UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		})
	}
	benchmarkRender(b, Activity(p))
}
