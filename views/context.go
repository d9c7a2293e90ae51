// Package views holds the portal's pages as typed templ components. Data
// comes down as view models shaped like the pages; the request context
// carries only the chrome every page needs (current user, CSRF token,
// regions), through the accessors in this file.
package views

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Chrome is what the layout needs on every page.
type Chrome struct {
	User        *User    // nil when nobody is signed in
	CSRFToken   string   // the session's CSRF token, for forms and htmx
	Region      string   // this deployment's region, e.g. "us"
	RegionLabel string   // its display name, e.g. "United States (US)"
	Regions     []Region // every region, for the switcher
	RequestID   string
}

// User is the signed-in person as the header shows them.
type User struct {
	Name        string
	Email       string
	AccountName string
	Admin       bool
	// SessionEnds is when the session ends at the latest; IdleTimeout ends
	// it sooner when the portal is not used.
	SessionEnds time.Time
	IdleTimeout time.Duration
}

// Region is one deployment of the product, shown in the region switcher.
type Region struct {
	Name  string // short code, e.g. "us"
	Label string // display name, e.g. "United States (US)"
	URL   string // its portal URL
}

type chromeKey struct{}

// WithChrome returns ctx carrying c.
func WithChrome(ctx context.Context, c *Chrome) context.Context {
	return context.WithValue(ctx, chromeKey{}, c)
}

// ChromeFrom returns the chrome carried by ctx, or an empty one.
func ChromeFrom(ctx context.Context) *Chrome {
	if c, ok := ctx.Value(chromeKey{}).(*Chrome); ok {
		return c
	}
	return &Chrome{}
}

// regionText names the chrome's region, e.g. "United States (US)".
func regionText(c *Chrome) string {
	if c.RegionLabel != "" {
		return c.RegionLabel
	}
	return c.Region
}

func csrf(ctx context.Context) string { return ChromeFrom(ctx).CSRFToken }

func canEdit(ctx context.Context) bool {
	u := ChromeFrom(ctx).User
	return u != nil && u.Admin
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("Jan 2, 2006 15:04 UTC")
}

func formatDate(t time.Time) string {
	return t.UTC().Format("Jan 2, 2006")
}

func minutesLeft(seconds int) string {
	return fmt.Sprintf("%d:%02d", seconds/60, seconds%60)
}

func itoa(n int) string { return fmt.Sprintf("%d", n) }

func int64Text(n int64) string { return strconv.FormatInt(n, 10) }

func isoTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func formatSeconds(t time.Time) string { return t.UTC().Format("Jan 2, 2006 15:04:05 UTC") }

// shortAgent names the browser and system of a User-Agent header, e.g.
// "Chrome 131 on Linux"; the full header is the element's title.
func shortAgent(ua string) string {
	browser := ""
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"Firefox/", "Firefox"}, {"Chrome/", "Chrome"}, {"Version/", "Safari"}, {"curl/", "curl"},
	} {
		if i := strings.Index(ua, b.token); i >= 0 {
			v := ua[i+len(b.token):]
			if j := strings.IndexAny(v, ". ;)"); j >= 0 {
				v = v[:j]
			}
			browser = strings.TrimSpace(b.name + " " + v)
			break
		}
	}
	system := ""
	for _, s := range []struct{ token, name string }{
		{"Android", "Android"}, {"iPhone", "iOS"}, {"iPad", "iPadOS"}, {"Windows", "Windows"}, {"Mac OS X", "macOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, s.token) {
			system = s.name
			break
		}
	}
	switch {
	case browser != "" && system != "":
		return browser + " on " + system
	case browser != "":
		return browser
	case len(ua) > 40:
		return strings.ToValidUTF8(ua[:40], "") + "…"
	}
	return ua
}
