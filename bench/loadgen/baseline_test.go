package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"tokenservice/secret"
	"tokenservice/token"
)

const testIssuer = "http://127.0.0.1:9999"

func newTestBaseline(t *testing.T) (*Baseline, string, string) {
	t.Helper()
	serverKey := make([]byte, secret.KeySize)
	for i := range serverKey {
		serverKey[i] = byte(i)
	}
	id, sec := secret.NewClientID(), secret.New()
	b, err := NewBaseline(BaselineConfig{
		ServerKey: serverKey, Algorithm: token.ES256, Issuer: testIssuer, Region: "us", TTL: time.Hour,
		ClientID: id, ClientSecret: sec, AccountID: "acme", Scopes: defaultScopes(), Generation: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b, id, sec
}

// tokenRequest sends a token request to h the way the load generator does.
func tokenRequest(h http.Handler, auth, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/oauth2/token", strings.NewReader(body))
	req.Header.Set("Authorization", auth)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestBaselineIssuesVerifiableToken(t *testing.T) {
	b, id, sec := newTestBaseline(t)
	rec := tokenRequest(b.Handler(), basicAuth(id, sec), "grant_type=client_credentials")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	for h, want := range map[string]string{"Cache-Control": "no-store", "Pragma": "no-cache", "Content-Type": "application/json;charset=UTF-8"} {
		if got := rec.Header().Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	var resp baselineToken
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	wantScope := strings.Join(defaultScopes(), " ")
	if resp.TokenType != "Bearer" || resp.ExpiresIn != 3600 || resp.Scope != wantScope {
		t.Errorf("response = %+v", resp)
	}
	lookup := func(kid string) *token.Key {
		if kid == b.Key().ID {
			return b.Key()
		}
		return nil
	}
	claims, err := token.Verify(resp.AccessToken, testIssuer, lookup, time.Now())
	if err != nil {
		t.Fatalf("token.Verify: %v", err)
	}
	if claims.Subject != id || claims.ClientID != id || claims.AccountID != "acme" || claims.Region != "us" ||
		claims.SecretGeneration != 1 || claims.Scope != wantScope || len(claims.Audience) != 1 || claims.Audience[0] != testIssuer ||
		claims.Expiry-claims.IssuedAt != 3600 || claims.NotBefore != claims.IssuedAt || claims.ID == "" {
		t.Errorf("claims = %+v", claims)
	}
}

func TestBaselineNarrowsScope(t *testing.T) {
	b, id, sec := newTestBaseline(t)
	all := defaultScopes()
	rec := tokenRequest(b.Handler(), basicAuth(id, sec), "grant_type=client_credentials&scope="+all[2]+"+"+all[0])
	var resp baselineToken
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if want := all[0] + " " + all[2]; resp.Scope != want {
		t.Errorf("scope = %q, want %q (the application's order)", resp.Scope, want)
	}
	rec = tokenRequest(b.Handler(), basicAuth(id, sec), "grant_type=client_credentials&scope=other:thing:write")
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"invalid_scope"`) {
		t.Errorf("a scope the application lacks: status %d: %s", rec.Code, rec.Body)
	}
}

func TestBaselineRefuses(t *testing.T) {
	b, id, sec := newTestBaseline(t)
	typo := []byte(sec) // one character changed: the checksum no longer matches
	if typo[len(typo)-1] == 'x' {
		typo[len(typo)-1] = 'y'
	} else {
		typo[len(typo)-1] = 'x'
	}
	tests := []struct {
		name, auth, body string
		status           int
		code             string
	}{
		{"wrong secret", basicAuth(id, secret.New()), "grant_type=client_credentials", http.StatusUnauthorized, "invalid_client"},
		{"malformed secret", basicAuth(id, string(typo)), "grant_type=client_credentials", http.StatusUnauthorized, "invalid_client"},
		{"unknown client", basicAuth(secret.NewClientID(), sec), "grant_type=client_credentials", http.StatusUnauthorized, "invalid_client"},
		{"no credentials", "", "grant_type=client_credentials", http.StatusUnauthorized, "invalid_client"},
		{"not basic", "Bearer " + sec, "grant_type=client_credentials", http.StatusUnauthorized, "invalid_client"},
		{"other grant", basicAuth(id, sec), "grant_type=password", http.StatusBadRequest, "unsupported_grant_type"},
		{"no grant", basicAuth(id, sec), "", http.StatusBadRequest, "unsupported_grant_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := tokenRequest(b.Handler(), tt.auth, tt.body)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			var e struct {
				Error string `json:"error"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error != tt.code {
				t.Errorf("body %s, want error %q", rec.Body, tt.code)
			}
			if tt.status == http.StatusUnauthorized && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Basic ") {
				t.Errorf("401 without a Basic challenge: %q", rec.Header().Get("WWW-Authenticate"))
			}
			if rec.Header().Get("Cache-Control") != "no-store" {
				t.Error("error response without Cache-Control: no-store")
			}
		})
	}
}

func TestBasicAuthRoundTrip(t *testing.T) {
	// RFC 6749 §2.3.1: a ':' or '%' in either part survives the encoding.
	id, sec, ok := parseBasicAuth(basicAuth("a:b%c", "s:e cret"))
	if !ok || id != "a:b%c" || sec != "s:e cret" {
		t.Errorf("parseBasicAuth(basicAuth(…)) = %q, %q, %v", id, sec, ok)
	}
}

func TestTokenURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:8080":               "http://127.0.0.1:8080/oauth2/token",
		"http://127.0.0.1:8080/":              "http://127.0.0.1:8080/oauth2/token",
		"https://tokens.example/oauth2/token": "https://tokens.example/oauth2/token",
	} {
		if got, err := tokenURL(in); err != nil || got != want {
			t.Errorf("tokenURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := tokenURL("127.0.0.1:8080"); err == nil {
		t.Error("tokenURL accepted a URL without a scheme")
	}
}

func TestBaselineIntrospectionAndJWKS(t *testing.T) {
	b, id, sec := newTestBaseline(t)
	rec := tokenRequest(b.Handler(), basicAuth(id, sec), "grant_type=client_credentials")
	var tok baselineToken
	if err := json.Unmarshal(rec.Body.Bytes(), &tok); err != nil {
		t.Fatal(err)
	}
	introspect := func(auth, raw string) baselineIntrospection {
		t.Helper()
		req := httptest.NewRequest(http.MethodPost, "/oauth2/introspect", strings.NewReader("token="+raw))
		req.Header.Set("Authorization", auth)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		b.Handler().ServeHTTP(rec, req)
		var r baselineIntrospection
		if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil || rec.Code != http.StatusOK {
			t.Fatalf("introspection: status %d: %s", rec.Code, rec.Body)
		}
		return r
	}
	if r := introspect(basicAuth(id, sec), tok.AccessToken); !r.Active || r.ClientID != id || r.AccountID != "acme" || r.TokenType != "Bearer" {
		t.Errorf("introspection of a valid token = %+v", r)
	}
	if r := introspect(basicAuth(id, sec), tok.AccessToken+"x"); r.Active {
		t.Error("a tampered token is active")
	}
	rec = tokenRequest(b.Handler(), basicAuth(id, secret.New()), "token="+tok.AccessToken)
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("introspection with a wrong secret: status %d", rec.Code)
	}

	req := httptest.NewRequest(http.MethodGet, "/.well-known/jwks.json", nil)
	jw := httptest.NewRecorder()
	b.Handler().ServeHTTP(jw, req)
	if jw.Code != http.StatusOK || jw.Header().Get("Content-Type") != "application/jwk-set+json" || jw.Header().Get("ETag") == "" ||
		!strings.Contains(jw.Body.String(), `"kid":"`+b.Key().ID+`"`) {
		t.Errorf("JWKS: status %d, headers %v: %s", jw.Code, jw.Header(), jw.Body)
	}
	req.Header.Set("If-None-Match", jw.Header().Get("ETag"))
	jw = httptest.NewRecorder()
	b.Handler().ServeHTTP(jw, req)
	if jw.Code != http.StatusNotModified {
		t.Errorf("JWKS with its ETag: status %d, want 304", jw.Code)
	}
}
