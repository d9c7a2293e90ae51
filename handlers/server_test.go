package handlers

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"tokenservice/scope"
	"tokenservice/session"
	"tokenservice/token"
)

// TestSecurityHeadersOnPanic: a handler that panics still answers with the
// error page and every security header. No route of the portal panics on
// purpose, so the test adds one; cmd/tokenservice's TestSecurityHeaders
// checks every other kind of response on the real server.
func TestSecurityHeadersOnPanic(t *testing.T) {
	for _, publicURL := range []string{"http://127.0.0.1:8080", "https://tokens.example.com"} {
		t.Run(strings.SplitN(publicURL, ":", 2)[0], func(t *testing.T) {
			key := bytes.Repeat([]byte{1}, 32)
			s := NewServer(Config{PublicURL: publicURL, Catalogue: scope.Default(), ServerKey: key,
				Sessions: session.NewStore(nil, key, key), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			s.echo.GET("/panic", func(echo.Context) error { panic("boom") })
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/panic", nil))
			if got, want := rec.Code, http.StatusInternalServerError; got != want {
				t.Fatalf("status = %d, want %d", got, want)
			}
			h := rec.Header()
			if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
				t.Errorf("Content-Security-Policy = %q", csp)
			}
			if got, want := h.Get("X-Content-Type-Options"), "nosniff"; got != want {
				t.Errorf("X-Content-Type-Options = %q, want %q", got, want)
			}
			if h.Get("Referrer-Policy") == "" {
				t.Error("no Referrer-Policy")
			}
			if got, https := h.Get("Strict-Transport-Security"), strings.HasPrefix(publicURL, "https:"); (got != "") != https {
				t.Errorf("Strict-Transport-Security = %q for public URL %s", got, publicURL)
			}
		})
	}
}

// TestSecurityHeadersByKind: pages get the document policies, the machine
// endpoints a CSP that allows nothing; the one's headers never leak into
// the other's, although both sets are built once and shared by requests.
func TestSecurityHeadersByKind(t *testing.T) {
	mw := securityHeaders("http://idp.example", false)
	headersOf := func(path string) http.Header {
		rec := httptest.NewRecorder()
		c := echo.New().NewContext(httptest.NewRequest(http.MethodGet, path, nil), rec)
		if err := mw(func(c echo.Context) error {
			c.Response().Header().Set("Cache-Control", "public, max-age=60")
			c.Response().Header().Add("X-Frame-Options", "SAMEORIGIN")
			return nil
		})(c); err != nil {
			t.Fatal(err)
		}
		return rec.Header()
	}
	for _, path := range []string{"/applications", "/oauth2/token", "/.well-known/jwks.json", "/readyz", "/applications"} {
		h := headersOf(path)
		csp := h.Get("Content-Security-Policy")
		if machineEndpoint(path) {
			if csp != "default-src 'none'; frame-ancestors 'none'" || h.Get("Permissions-Policy") != "" {
				t.Errorf("%s: Content-Security-Policy %q, Permissions-Policy %q", path, csp, h.Get("Permissions-Policy"))
			}
		} else if !strings.Contains(csp, "form-action 'self' http://idp.example") || h.Get("Cross-Origin-Opener-Policy") != "same-origin" {
			t.Errorf("%s: Content-Security-Policy %q, Cross-Origin-Opener-Policy %q", path, csp, h.Get("Cross-Origin-Opener-Policy"))
		}
		// A handler's Set and Add changed its own response only.
		if got := h.Values("X-Frame-Options"); len(got) != 2 || got[0] != "DENY" {
			t.Errorf("%s: X-Frame-Options = %q, want DENY then the handler's", path, got)
		}
		if got := h.Get("Cache-Control"); got != "public, max-age=60" {
			t.Errorf("%s: Cache-Control = %q", path, got)
		}
	}
}

type fakePing struct{ err error }

func (f fakePing) Ping(context.Context) error { return f.err }

type fakeKeys struct {
	keys []token.KeyInfo
	err  error
}

func (f fakeKeys) Published(context.Context) ([]token.KeyInfo, error) { return f.keys, f.err }

// TestReady: ready only with the database reachable and a current signing
// key this server can read; alive regardless.
func TestReady(t *testing.T) {
	current := token.KeyInfo{ID: "k1"}
	retired := token.KeyInfo{ID: "k0", RetiredAt: time.Now()}
	for _, tt := range []struct {
		name string
		h    health
		want int
	}{
		{"Ready", health{store: fakePing{}, keys: fakeKeys{keys: []token.KeyInfo{retired, current}}}, http.StatusOK},
		{"DatabaseDown", health{store: fakePing{err: errors.New("down")}, keys: fakeKeys{keys: []token.KeyInfo{current}}}, http.StatusServiceUnavailable},
		{"KeysUnreadable", health{store: fakePing{}, keys: fakeKeys{err: errors.New("wrong server key")}}, http.StatusServiceUnavailable},
		{"NoCurrentKey", health{store: fakePing{}, keys: fakeKeys{keys: []token.KeyInfo{retired}}}, http.StatusServiceUnavailable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := echo.New()
			rec := httptest.NewRecorder()
			if err := tt.h.ready(e.NewContext(httptest.NewRequest(http.MethodGet, "/readyz", nil), rec)); err != nil {
				t.Fatal(err)
			}
			if rec.Code != tt.want {
				t.Errorf("readyz = %d %q, want %d", rec.Code, rec.Body.String(), tt.want)
			}
			rec = httptest.NewRecorder()
			if err := tt.h.live(e.NewContext(httptest.NewRequest(http.MethodGet, "/healthz", nil), rec)); err != nil || rec.Code != http.StatusOK {
				t.Errorf("healthz = %d, %v", rec.Code, err)
			}
		})
	}
}
