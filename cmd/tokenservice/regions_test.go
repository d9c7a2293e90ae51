package main

import (
	"net/http"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// TestRegions: two deployments, US and UK, each with its own database and
// keys. Each portal shows its region and links to the other; the sign-in
// page names the region; a token of one region is active at its own
// introspection and inactive at the other's.
func TestRegions(t *testing.T) {
	t.Parallel()
	us := newMain(t, func(m *Main) {
		m.Config.Region = "us"
		m.Config.Regions = "us=https://us.tokens.example,uk=https://uk.tokens.example"
	})
	uk := newMain(t, func(m *Main) {
		m.Config.Region, m.Config.RegionName = "uk", "United Kingdom (London)"
		m.Config.Regions = "us=United States (US)|https://us.tokens.example"
	})

	t.Run("SignInPageNamesTheRegion", func(t *testing.T) {
		for _, tt := range []struct {
			m    *Main
			want string
		}{{us, "Token Service · United States (US)"}, {uk, "Token Service · United Kingdom (London)"}} {
			p := newClient(t, tt.m).get("/applications")
			if !strings.HasPrefix(p.url.String(), tt.m.ProviderURL) || !strings.Contains(p.body, tt.want) {
				t.Errorf("%s: the sign-in page does not say %q", tt.m.Config.Region, tt.want)
			}
		}
	})

	t.Run("Switcher", func(t *testing.T) {
		body := signIn(t, us, "admin@acme.example").get("/applications").body
		nav := byTestID(t, body, "region-switcher")
		if len(nav) != 1 {
			t.Fatalf("no region switcher on the US portal")
		}
		var current []string
		for _, n := range findAll(nav[0], func(n *html.Node) bool { return n.Data == "span" && attr(n, "aria-current") == "true" }) {
			current = append(current, textOf(n)+" "+attr(n, "title"))
		}
		if strings.Join(current, "|") != "US United States (US)" {
			t.Errorf("current region = %q", current)
		}
		links := findAll(nav[0], func(n *html.Node) bool { return n.Data == "a" })
		if len(links) != 1 || attr(links[0], "href") != "https://uk.tokens.example" || !strings.Contains(textOf(links[0]), "United Kingdom (UK)") {
			t.Errorf("switcher links: %d, want one to the UK portal named United Kingdom (UK)", len(links))
		}
		// The UK portal lists itself too, though --regions left it out.
		body = signIn(t, uk, "admin@acme.example").get("/applications").body
		nav = byTestID(t, body, "region-switcher")
		if len(nav) != 1 || !strings.Contains(textOf(nav[0]), "UK") || len(findAll(nav[0], func(n *html.Node) bool { return n.Data == "a" && attr(n, "href") == "https://us.tokens.example" })) != 1 {
			t.Errorf("UK switcher: %v", nav)
		}
		if !strings.Contains(body, "Region United Kingdom (London)") {
			t.Error("the UK footer does not name its region")
		}
	})

	t.Run("TokensStayInTheirRegion", func(t *testing.T) {
		hc := clientFrom(t, "127.0.0.1")
		usApp := createAppProcess(t, us, "acme", "US app", "forensics:account=read")
		ukApp := createAppProcess(t, uk, "acme", "UK app", "forensics:account=read")
		raw := grant(t, hc, us, usApp, "").AccessToken
		if got := mustVerify(t, hc, us, raw); got == nil {
			t.Fatal("the US token does not verify at the US JWKS")
		}
		if r := introspect(t, hc, us, usApp, raw); !r.Active {
			t.Fatal("the US token is inactive at US introspection")
		}
		if r := introspect(t, hc, uk, ukApp, raw); r.Active {
			t.Error("the US token is active at UK introspection")
		}
		// The same Client ID and secret mean nothing in the other region.
		a := postForm(t, hc, uk, "/oauth2/token", basic(usApp.ClientID, usApp.ClientSecret), grantForm(""))
		if a.status != http.StatusUnauthorized {
			t.Errorf("US credentials at the UK token endpoint = %d, want 401", a.status)
		}
	})
}

func TestRegionConfig(t *testing.T) {
	for _, tt := range []struct {
		region, regions, wantErr string
	}{
		{"us", "us=https://a.example,uk=https://b.example", ""},
		{"us", "uk=United Kingdom (UK)|https://b.example", ""},
		{"US", "", "--region"},
		{"", "", "--region"},
		{"us", "uk=ftp://b.example", "--regions"},
		{"us", "uk", "--regions"},
		{"us", "=https://b.example", "--regions"},
		{"us", "uk=Name|", "--regions"},
		{"us", "u k=https://b.example", "--regions"},
	} {
		c := defaultConfig()
		c.Region, c.Regions = tt.region, tt.regions
		err := c.Validate()
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("--region %q --regions %q: %v, want error containing %q", tt.region, tt.regions, err, tt.wantErr)
		}
	}
	c := defaultConfig()
	c.Regions = "uk=https://uk.example"
	got, err := c.regionList("https://us.example")
	if err != nil || len(got) != 2 || got[0].Name != "us" || got[0].Label != "United States (US)" || got[0].URL != "https://us.example" || got[1].Label != "United Kingdom (UK)" {
		t.Errorf("regionList = %+v, %v; want this region first, then uk", got, err)
	}
}
