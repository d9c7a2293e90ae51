package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"tokenservice/secret"
)

// --- the tokenservice binary, run as another process ---

// binary is the tokenservice binary built once per test process.
var binary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// TestMain removes the binary the tests built, if any.
func TestMain(m *testing.M) {
	code := m.Run()
	if binary.dir != "" {
		os.RemoveAll(binary.dir)
	}
	os.Exit(code)
}

// tokenserviceBinary builds the real tokenservice binary (once per test
// process) and returns its path.
func tokenserviceBinary(t *testing.T) string {
	t.Helper()
	binary.once.Do(func() {
		if binary.dir, binary.err = os.MkdirTemp("", "tokenservice-test-"); binary.err != nil {
			return
		}
		binary.path = filepath.Join(binary.dir, "tokenservice")
		if out, err := exec.Command("go", "build", "-o", binary.path, ".").CombinedOutput(); err != nil {
			binary.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

// cliProcess runs the tokenservice binary with args in another process, as
// an operator does on the server's machine, and returns its standard
// output. The command must succeed.
func cliProcess(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), tokenserviceBinary(t), args...)
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "TOKENSERVICE_") })
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tokenservice %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// createAppProcess registers an application of account with the CLI in
// another process; scopes are KEY=ACCESS.
func createAppProcess(t *testing.T, m *Main, account, name string, scopes ...string) appJSON {
	t.Helper()
	args := []string{"app", "create", "--data-dir", m.Config.DataDir, "--account", account, "--name", name, "--json"}
	for _, s := range scopes {
		args = append(args, "--scope", s)
	}
	var app appJSON
	if out := cliProcess(t, args...); json.Unmarshal([]byte(out), &app) != nil {
		t.Fatalf("app create printed no JSON:\n%s", out)
	}
	if !secret.ValidClientID(app.ClientID) || !secret.WellFormed(app.ClientSecret) {
		t.Fatalf("app create printed client ID %q and secret %q", app.ClientID, app.ClientSecret)
	}
	return app
}

// resetSecretProcess resets the application's secret with the CLI in
// another process and returns the new one.
func resetSecretProcess(t *testing.T, m *Main, clientID string) string {
	t.Helper()
	var app appJSON
	out := cliProcess(t, "app", "reset-secret", "--data-dir", m.Config.DataDir, "--client-id", clientID, "--json")
	if json.Unmarshal([]byte(out), &app) != nil || !secret.WellFormed(app.ClientSecret) {
		t.Fatalf("app reset-secret printed no new secret:\n%s", out)
	}
	return app.ClientSecret
}

// rotateKeysProcess rotates the signing key with the CLI in another process
// and returns the new key's ID.
func rotateKeysProcess(t *testing.T, m *Main, args ...string) string {
	t.Helper()
	var keys []keyJSON
	out := cliProcess(t, append([]string{"keys", "rotate", "--data-dir", m.Config.DataDir, "--json"}, args...)...)
	if json.Unmarshal([]byte(out), &keys) != nil || len(keys) < 2 || !keys[0].Current {
		t.Fatalf("keys rotate printed no new current key:\n%s", out)
	}
	return keys[0].ID
}

// --- the service's clock ---

// testClock is a service clock a test moves forward while the server reads it.
type testClock struct{ offset atomic.Int64 }

func (c *testClock) now() time.Time           { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *testClock) advance(d time.Duration)  { c.offset.Add(int64(d)) }
func (c *testClock) configure() func(m *Main) { return func(m *Main) { m.Now = c.now } }

// --- HTTP ---

// clientFrom is an HTTP client whose connections come from the loopback
// address ip (Linux routes all of 127/8 to the loopback interface).
func clientFrom(t *testing.T, ip string) *http.Client {
	t.Helper()
	if ln, err := net.Listen("tcp", ip+":0"); err != nil {
		t.Fatalf("loopback address %s is not usable: %v (the rate-limit tests need 127.0.0.0/8 on lo, as Linux has it)", ip, err)
	} else {
		ln.Close()
	}
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// answer is a response of the service as a test sees it.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// do sends req and reads the answer.
func do(t *testing.T, hc *http.Client, req *http.Request) *answer {
	t.Helper()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	return &answer{status: resp.StatusCode, header: resp.Header, body: body}
}

// postForm POSTs form to the service's path with the Authorization header
// auth (none if empty).
func postForm(t *testing.T, hc *http.Client, m *Main, path, auth string, form url.Values) *answer {
	t.Helper()
	return postTo(t, hc, m.URL+path, auth, form)
}

// postTo POSTs form to target with the Authorization header auth (none if empty).
func postTo(t *testing.T, hc *http.Client, target, auth string, form url.Values) *answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	return do(t, hc, req)
}

func get(t *testing.T, hc *http.Client, rawURL string, header http.Header) *answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	return do(t, hc, req)
}

// basic is client_secret_basic as RFC 6749 §2.3.1 has it: the client ID and
// secret form-urlencoded, then HTTP Basic.
func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// postCredentials is client_secret_post: the credentials added to form.
func postCredentials(app appJSON, form url.Values) url.Values {
	f := url.Values{"client_id": {app.ClientID}, "client_secret": {app.ClientSecret}}
	for k, v := range form {
		f[k] = v
	}
	return f
}

// grantForm is a client credentials request for scope ("" for none).
func grantForm(scope string) url.Values {
	f := url.Values{"grant_type": {"client_credentials"}}
	if scope != "" {
		f.Set("scope", scope)
	}
	return f
}

// decodeJSON decodes the answer's body into v.
func (a *answer) decodeJSON(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, a.body)
	}
}

// checkJSONNoStore checks what RFC 6749 §5.1 and §5.2 require of every token
// endpoint response: JSON, and never cached.
func checkJSONNoStore(t *testing.T, a *answer) {
	t.Helper()
	if mt, _, err := mime.ParseMediaType(a.header.Get("Content-Type")); err != nil || mt != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", a.header.Get("Content-Type"))
	}
	if got, want := a.header.Get("Cache-Control"), "no-store"; got != want {
		t.Errorf("Cache-Control = %q, want %q", got, want)
	}
	if got, want := a.header.Get("Pragma"), "no-cache"; got != want {
		t.Errorf("Pragma = %q, want %q", got, want)
	}
}

// checkOAuthError checks an error response of RFC 6749 §5.2: status, the
// error code, an error_description in the characters the RFC allows, JSON,
// no-store, and for a 401 a Basic challenge.
func checkOAuthError(t *testing.T, a *answer, status int, code string) {
	t.Helper()
	if a.status != status {
		t.Errorf("status = %d, want %d\n%s", a.status, status, a.body)
	}
	checkJSONNoStore(t, a)
	var e map[string]any
	a.decodeJSON(t, &e)
	if got, _ := e["error"].(string); got != code {
		t.Errorf("error = %q, want %q (%s)", got, code, a.body)
	}
	desc, ok := e["error_description"].(string)
	if _, present := e["error_description"]; present && !ok {
		t.Errorf("error_description is not a string: %s", a.body)
	}
	for i := 0; i < len(desc); i++ {
		if c := desc[i]; c < 0x20 || c == '"' || c == '\\' || c > 0x7e {
			t.Errorf("error_description %q has %q, which RFC 6749 §5.2 does not allow", desc, c)
			break
		}
	}
	for k := range e {
		if k != "error" && k != "error_description" && k != "error_uri" {
			t.Errorf("error response has the member %q", k)
		}
	}
	challenge := a.header.Get("WWW-Authenticate")
	if status == http.StatusUnauthorized && !strings.HasPrefix(challenge, "Basic ") {
		t.Errorf("401 with WWW-Authenticate %q, want a Basic challenge", challenge)
	}
}

// grantResponse is a successful token response (RFC 6749 §5.1).
type grantResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope"`
}

// checkGrant checks a successful token response and returns it.
func checkGrant(t *testing.T, a *answer) grantResponse {
	t.Helper()
	if a.status != http.StatusOK {
		t.Fatalf("token request = %d, want 200\n%s", a.status, a.body)
	}
	checkJSONNoStore(t, a)
	var g grantResponse
	a.decodeJSON(t, &g)
	if g.AccessToken == "" || g.TokenType != "Bearer" {
		t.Fatalf("token response %s: want an access_token of token_type Bearer", a.body)
	}
	return g
}

// grant gets a token for app with client_secret_basic.
func grant(t *testing.T, hc *http.Client, m *Main, app appJSON, scope string) grantResponse {
	t.Helper()
	return checkGrant(t, postForm(t, hc, m, "/oauth2/token", basic(app.ClientID, app.ClientSecret), grantForm(scope)))
}

// introspection is an introspection response (RFC 7662 §2.2).
type introspection struct {
	Active    bool            `json:"active"`
	Scope     string          `json:"scope"`
	ClientID  string          `json:"client_id"`
	TokenType string          `json:"token_type"`
	Exp       int64           `json:"exp"`
	Iat       int64           `json:"iat"`
	Sub       string          `json:"sub"`
	Aud       json.RawMessage `json:"aud"`
	Iss       string          `json:"iss"`
	Jti       string          `json:"jti"`
	AccountID string          `json:"account_id"`
}

// introspect asks the introspection endpoint about raw as caller; the
// answer must be 200. An inactive token must get {"active":false} alone.
func introspect(t *testing.T, hc *http.Client, m *Main, caller appJSON, raw string) introspection {
	t.Helper()
	a := postForm(t, hc, m, "/oauth2/introspect", basic(caller.ClientID, caller.ClientSecret), url.Values{"token": {raw}})
	if a.status != http.StatusOK {
		t.Fatalf("introspect = %d, want 200\n%s", a.status, a.body)
	}
	checkJSONNoStore(t, a)
	var r introspection
	a.decodeJSON(t, &r)
	if !r.Active {
		var all map[string]any
		a.decodeJSON(t, &all)
		if len(all) != 1 {
			t.Errorf("inactive token: response %s, want only \"active\": false (RFC 7662 §2.2)", a.body)
		}
	}
	return r
}

// revoke asks the revocation endpoint to revoke raw as caller.
func revoke(t *testing.T, hc *http.Client, m *Main, caller appJSON, raw string) *answer {
	t.Helper()
	return postForm(t, hc, m, "/oauth2/revoke", basic(caller.ClientID, caller.ClientSecret), url.Values{"token": {raw}})
}

// --- tokens as a resource server sees them ---

// tokenClaims are the claims of an access token.
type tokenClaims struct {
	Iss              string          `json:"iss"`
	Sub              string          `json:"sub"`
	Aud              json.RawMessage `json:"aud"`
	ClientID         string          `json:"client_id"`
	AccountID        string          `json:"account_id"`
	Region           string          `json:"region"`
	SecretGeneration int             `json:"secret_generation"`
	Scope            string          `json:"scope"`
	Iat              int64           `json:"iat"`
	Nbf              int64           `json:"nbf"`
	Exp              int64           `json:"exp"`
	Jti              string          `json:"jti"`
}

// audiences reads "aud": a string or an array of strings (RFC 7519 §4.1.3).
func audiences(raw json.RawMessage) []string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var many []string
	json.Unmarshal(raw, &many)
	return many
}

// verified is an access token a resource server accepted.
type verified struct {
	header jose.Header
	claims tokenClaims
}

// fetchJWKS gets the JWKS over HTTP, as a resource server does.
func fetchJWKS(t *testing.T, hc *http.Client, m *Main) *jose.JSONWebKeySet {
	t.Helper()
	a := get(t, hc, m.URL+"/.well-known/jwks.json", nil)
	if a.status != http.StatusOK {
		t.Fatalf("GET jwks = %d\n%s", a.status, a.body)
	}
	var set jose.JSONWebKeySet
	a.decodeJSON(t, &set)
	for _, k := range set.Keys {
		if !k.IsPublic() || !k.Valid() || k.KeyID == "" || k.Algorithm == "" || k.Use != "sig" {
			t.Fatalf("JWKS key %q (%s, use %q) is not a valid public signing key with kid and alg", k.KeyID, k.Algorithm, k.Use)
		}
	}
	return &set
}

// verifyOffline checks raw as a resource server does with nothing but the
// JWKS: "typ" at+jwt (RFC 9068 §4), the signature of the key "kid" names with
// the algorithm that key is published for, the issuer, the audience and the
// validity period at now.
func verifyOffline(jwks *jose.JSONWebKeySet, raw, issuer, audience string, now time.Time) (*verified, error) {
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.EdDSA})
	if err != nil {
		return nil, err
	}
	if len(jws.Signatures) != 1 {
		return nil, fmt.Errorf("%d signatures", len(jws.Signatures))
	}
	h := jws.Signatures[0].Protected
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "at+jwt" {
		return nil, fmt.Errorf("typ %q, want at+jwt", typ)
	}
	keys := jwks.Key(h.KeyID)
	if len(keys) != 1 {
		return nil, fmt.Errorf("kid %q: %d keys in the JWKS", h.KeyID, len(keys))
	}
	if keys[0].Algorithm != h.Algorithm {
		return nil, fmt.Errorf("alg %s, but key %s is published for %s", h.Algorithm, h.KeyID, keys[0].Algorithm)
	}
	payload, err := jws.Verify(keys[0].Key)
	if err != nil {
		return nil, err
	}
	var c tokenClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, err
	}
	if c.Iss != issuer {
		return nil, fmt.Errorf("iss %q, want %q", c.Iss, issuer)
	}
	if aud := audiences(c.Aud); !slices.Contains(aud, audience) {
		return nil, fmt.Errorf("aud %q, want %q in it", aud, audience)
	}
	if now.Unix() >= c.Exp {
		return nil, fmt.Errorf("expired at %d, now %d", c.Exp, now.Unix())
	}
	if c.Nbf > now.Unix()+30 {
		return nil, fmt.Errorf("not before %d, now %d", c.Nbf, now.Unix())
	}
	return &verified{header: h, claims: c}, nil
}

// mustVerify verifies raw offline against the service's JWKS fetched now.
func mustVerify(t *testing.T, hc *http.Client, m *Main, raw string) *verified {
	t.Helper()
	v, err := verifyOffline(fetchJWKS(t, hc, m), raw, m.URL, m.URL, m.Now())
	if err != nil {
		t.Fatalf("token does not verify offline: %v", err)
	}
	return v
}

// foreignToken is a well-formed access token for app signed with a key the
// service does not have, claiming to be the key kid.
func foreignToken(t *testing.T, m *Main, app appJSON, kid string) string {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: priv, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Unix()
	payload, _ := json.Marshal(tokenClaims{Iss: m.URL, Sub: app.ClientID, Aud: json.RawMessage(strconv.Quote(m.URL)),
		ClientID: app.ClientID, AccountID: app.AccountID, SecretGeneration: 1, Scope: "forensics:account:write",
		Iat: now, Nbf: now, Exp: now + 3600, Jti: "forged"})
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// waitFor polls cond every 20ms until it holds or within has passed.
func waitFor(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// --- tests ---

func TestTokenErrors(t *testing.T) {
	t.Parallel()
	m := newMain(t)
	hc := clientFrom(t, "127.0.0.1")
	app := createAppProcess(t, m, "acme", "Errors", "forensics:account=read")
	noScopes := createAppProcess(t, m, "acme", "No scopes", "ess:account=none")
	other := createAppProcess(t, m, "acme", "Other", "ess:account=read")

	const form = "application/x-www-form-urlencoded"
	appBasic := basic(app.ClientID, app.ClientSecret)
	grantBody := grantForm("").Encode()
	post := postCredentials(app, grantForm("")).Encode()
	// A typo in the last character: the checksum no longer matches.
	badChecksum := app.ClientSecret[:len(app.ClientSecret)-1] + "A"
	if badChecksum == app.ClientSecret {
		badChecksum = app.ClientSecret[:len(app.ClientSecret)-1] + "B"
	}
	if secret.WellFormed(badChecksum) {
		t.Fatalf("%q still has a valid checksum", badChecksum)
	}
	multipart := "--XyZ\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\nclient_credentials\r\n--XyZ--\r\n"

	for _, tt := range []struct {
		name        string
		method      string // POST if empty
		query       string
		contentType string // none if empty
		auth        string
		auth2       string // a second Authorization header
		body        string
		chunked     bool // send the body without a Content-Length

		status int
		code   string
	}{
		{name: "MissingGrantType", contentType: form, body: postCredentials(app, nil).Encode(),
			status: http.StatusBadRequest, code: "invalid_request"},
		{name: "EmptyGrantType", contentType: form, auth: appBasic, body: "grant_type=",
			status: http.StatusBadRequest, code: "invalid_request"},
		{name: "UnsupportedGrantTypeAuthorizationCode", contentType: form, auth: appBasic,
			body:   "grant_type=authorization_code&code=abc&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb",
			status: http.StatusBadRequest, code: "unsupported_grant_type"},
		{name: "UnsupportedGrantTypePassword", contentType: form, auth: appBasic, body: "grant_type=password&username=ada&password=demo",
			status: http.StatusBadRequest, code: "unsupported_grant_type"},
		{name: "UnsupportedGrantTypeRefreshToken", contentType: form, auth: appBasic, body: "grant_type=refresh_token&refresh_token=abc",
			status: http.StatusBadRequest, code: "unsupported_grant_type"},
		{name: "UnsupportedGrantTypeJWTBearer", contentType: form, auth: appBasic,
			body:   "grant_type=" + url.QueryEscape("urn:ietf:params:oauth:grant-type:jwt-bearer") + "&assertion=abc",
			status: http.StatusBadRequest, code: "unsupported_grant_type"},
		{name: "DuplicateGrantType", contentType: form, auth: appBasic, body: grantBody + "&" + grantBody,
			status: http.StatusBadRequest, code: "invalid_request"},
		{name: "DuplicateScope", contentType: form, auth: appBasic, body: grantBody + "&scope=forensics%3Aaccount%3Aread&scope=forensics%3Aaccount%3Aread",
			status: http.StatusBadRequest, code: "invalid_request"},
		{name: "DuplicateClientID", contentType: form, body: post + "&client_id=" + app.ClientID,
			status: http.StatusBadRequest, code: "invalid_request"},
		{name: "BasicAndClientSecretInBody", contentType: form, auth: appBasic, body: post,
			status: http.StatusBadRequest, code: "invalid_request"},
		{name: "BasicWithAnotherClientIDInBody", contentType: form, auth: appBasic, body: grantBody + "&client_id=" + other.ClientID,
			status: http.StatusBadRequest, code: "invalid_request"},
		{name: "TwoAuthorizationHeaders", contentType: form, auth: appBasic, auth2: basic(other.ClientID, other.ClientSecret), body: grantBody,
			status: http.StatusBadRequest, code: "invalid_request"},
		{name: "NoClientAuthentication", contentType: form, body: grantBody,
			status: http.StatusUnauthorized, code: "invalid_client"},
		{name: "ClientSecretPostWithoutClientID", contentType: form, body: grantBody + "&client_secret=" + app.ClientSecret,
			status: http.StatusUnauthorized, code: "invalid_client"},
		{name: "ClientSecretPostWithoutClientSecret", contentType: form, body: grantBody + "&client_id=" + app.ClientID,
			status: http.StatusUnauthorized, code: "invalid_client"},
		{name: "BasicBadBase64", contentType: form, auth: "Basic %%%not-base64%%%", body: grantBody,
			status: http.StatusBadRequest, code: "invalid_request"},
		{name: "BasicNoColon", contentType: form, auth: "Basic " + base64.StdEncoding.EncodeToString([]byte(app.ClientID+app.ClientSecret)), body: grantBody,
			status: http.StatusBadRequest, code: "invalid_request"},
		{name: "BearerScheme", contentType: form, auth: "Bearer " + app.ClientSecret, body: grantBody,
			status: http.StatusUnauthorized, code: "invalid_client"},
		{name: "ContentTypeJSON", contentType: "application/json", auth: appBasic, body: `{"grant_type":"client_credentials"}`,
			status: http.StatusBadRequest, code: "invalid_request"},
		{name: "ContentTypeMultipart", contentType: "multipart/form-data; boundary=XyZ", auth: appBasic, body: multipart,
			status: http.StatusBadRequest, code: "invalid_request"},
		{name: "ContentTypeMissing", auth: appBasic, body: grantBody,
			status: http.StatusBadRequest, code: "invalid_request"},
		{name: "ParametersInQueryString", query: grantBody, contentType: form, auth: appBasic, body: "scope=forensics%3Aaccount%3Aread",
			status: http.StatusBadRequest, code: "invalid_request"},
		{name: "SecretInQueryString", query: "client_id=" + app.ClientID + "&client_secret=" + app.ClientSecret, contentType: form, body: grantBody,
			status: http.StatusBadRequest, code: "invalid_request"},
		{name: "GET", method: http.MethodGet, query: grantBody, auth: appBasic,
			status: http.StatusMethodNotAllowed, code: "invalid_request"},
		{name: "PUT", method: http.MethodPut, contentType: form, auth: appBasic, body: grantBody,
			status: http.StatusMethodNotAllowed, code: "invalid_request"},
		{name: "OversizedBody100KB", contentType: form, auth: appBasic, body: grantBody + "&pad=" + strings.Repeat("a", 100<<10),
			status: http.StatusRequestEntityTooLarge, code: "invalid_request"},
		{name: "OversizedBody9KB", contentType: form, auth: appBasic, body: grantBody + "&pad=" + strings.Repeat("a", 9<<10),
			status: http.StatusRequestEntityTooLarge, code: "invalid_request"},
		{name: "OversizedBodyChunked", contentType: form, auth: appBasic, body: grantBody + "&pad=" + strings.Repeat("a", 100<<10), chunked: true,
			status: http.StatusRequestEntityTooLarge, code: "invalid_request"},
		{name: "UnknownClient", contentType: form, body: postCredentials(appJSON{ClientID: secret.NewClientID(), ClientSecret: secret.New()}, grantForm("")).Encode(),
			status: http.StatusUnauthorized, code: "invalid_client"},
		{name: "UnknownClientBasic", contentType: form, auth: basic(secret.NewClientID(), secret.New()), body: grantBody,
			status: http.StatusUnauthorized, code: "invalid_client"},
		{name: "MalformedClientID", contentType: form, auth: basic("not a client id", app.ClientSecret), body: grantBody,
			status: http.StatusUnauthorized, code: "invalid_client"},
		{name: "WrongSecret", contentType: form, body: postCredentials(appJSON{ClientID: app.ClientID, ClientSecret: secret.New()}, grantForm("")).Encode(),
			status: http.StatusUnauthorized, code: "invalid_client"},
		{name: "WrongSecretBasic", contentType: form, auth: basic(app.ClientID, secret.New()), body: grantBody,
			status: http.StatusUnauthorized, code: "invalid_client"},
		{name: "AnotherApplicationsSecret", contentType: form, auth: basic(app.ClientID, other.ClientSecret), body: grantBody,
			status: http.StatusUnauthorized, code: "invalid_client"},
		{name: "SecretWithBadChecksum", contentType: form, auth: basic(app.ClientID, badChecksum), body: grantBody,
			status: http.StatusUnauthorized, code: "invalid_client"},
		{name: "ScopeNotGranted", contentType: form, auth: appBasic, body: grantForm("forensics:account:write").Encode(),
			status: http.StatusBadRequest, code: "invalid_scope"},
		{name: "ScopeUnknown", contentType: form, auth: appBasic, body: grantForm("billing:invoices:read").Encode(),
			status: http.StatusBadRequest, code: "invalid_scope"},
		{name: "ScopeOneOfTwoUnknown", contentType: form, auth: appBasic, body: grantForm("forensics:account:read openid").Encode(),
			status: http.StatusBadRequest, code: "invalid_scope"},
		{name: "ScopeGarbage", contentType: form, auth: appBasic, body: grantForm("\"\\\x01é<script>" + strings.Repeat("x", 200)).Encode(),
			status: http.StatusBadRequest, code: "invalid_scope"},
		{name: "ScopeTabSeparated", contentType: form, auth: appBasic, body: grantForm("forensics:account:read\tess:account:read").Encode(),
			status: http.StatusBadRequest, code: "invalid_scope"},
		{name: "ApplicationWithoutScopes", contentType: form, auth: basic(noScopes.ClientID, noScopes.ClientSecret), body: grantBody,
			status: http.StatusBadRequest, code: "invalid_scope"},
		{name: "ApplicationWithoutScopesAskingOne", contentType: form, auth: basic(noScopes.ClientID, noScopes.ClientSecret), body: grantForm("ess:account:read").Encode(),
			status: http.StatusBadRequest, code: "invalid_scope"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			target := m.URL + "/oauth2/token"
			if tt.query != "" {
				target += "?" + tt.query
			}
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
				if tt.chunked {
					body = io.MultiReader(body) // hides the length: sent chunked
				}
			}
			req, err := http.NewRequest(method, target, body)
			if err != nil {
				t.Fatal(err)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			if tt.auth2 != "" {
				req.Header.Add("Authorization", tt.auth2)
			}
			a := do(t, hc, req)
			checkOAuthError(t, a, tt.status, tt.code)
			if tt.status == http.StatusMethodNotAllowed {
				if got, want := a.header.Get("Allow"), http.MethodPost; got != want {
					t.Errorf("Allow = %q, want %q", got, want)
				}
			}
			if tt.status != http.StatusUnauthorized && a.header.Get("WWW-Authenticate") != "" {
				t.Errorf("%d with WWW-Authenticate %q", tt.status, a.header.Get("WWW-Authenticate"))
			}
			if bytes.Contains(a.body, []byte(app.ClientSecret)) {
				t.Error("the error response repeats the client secret")
			}
			if tt.status == http.StatusRequestEntityTooLarge {
				// The service refused the body and keeps serving.
				checkGrant(t, postForm(t, hc, m, "/oauth2/token", appBasic, grantForm("")))
			}
		})
	}
}

func TestTokenGrant(t *testing.T) {
	t.Parallel()
	m := newMain(t)
	hc := clientFrom(t, "127.0.0.1")
	app := createAppProcess(t, m, "acme", "Grants", "forensics:account=read-write", "ess:account=read")
	every := []string{"ess:account:read", "forensics:account:read", "forensics:account:write"}
	appBasic := basic(app.ClientID, app.ClientSecret)

	// checkScope checks the granted scope in the response and in the token.
	checkScope := func(t *testing.T, g grantResponse, want []string) {
		t.Helper()
		if got := strings.Split(g.Scope, " "); !sameSet(got, want) {
			t.Errorf("scope = %q, want %q", g.Scope, want)
		}
		if got := mustVerify(t, hc, m, g.AccessToken).claims.Scope; got != g.Scope {
			t.Errorf("token's scope claim = %q, want the response's %q", got, g.Scope)
		}
		if got, want := g.ExpiresIn, int64(time.Hour/time.Second); got != want {
			t.Errorf("expires_in = %d, want the configured TTL %d", got, want)
		}
	}

	for _, tt := range []struct {
		name   string
		auth   string
		form   url.Values
		header map[string]string
		want   []string
	}{
		{name: "ClientSecretBasic", auth: appBasic, form: grantForm(""), want: every},
		{name: "ClientSecretPost", form: postCredentials(app, grantForm("")), want: every},
		{name: "BasicEveryBytePercentEncoded", auth: "Basic " + base64.StdEncoding.EncodeToString([]byte(percentEncodeAll(app.ClientID)+":"+percentEncodeAll(app.ClientSecret))),
			form: grantForm(""), want: every},
		{name: "BasicWithMatchingClientIDInBody", auth: appBasic, form: url.Values{"grant_type": {"client_credentials"}, "client_id": {app.ClientID}}, want: every},
		{name: "BasicSchemeLowerCase", auth: "basic " + strings.TrimPrefix(appBasic, "Basic "), form: grantForm(""), want: every},
		{name: "CharsetUTF8", auth: appBasic, form: grantForm(""), header: map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"}, want: every},
		{name: "UnknownParametersIgnored", auth: appBasic, form: url.Values{"grant_type": {"client_credentials"}, "resource": {"https://api.example.com"}, "foo": {"bar"}}, want: every},
		{name: "EmptyParametersOmitted", auth: appBasic, form: url.Values{"grant_type": {"client_credentials"}, "scope": {""}, "client_secret": {""}}, want: every},
		{name: "ScopeOmittedGrantsEveryScope", auth: appBasic, form: grantForm(""), want: every},
		{name: "ScopeNarrowed", auth: appBasic, form: grantForm("forensics:account:write"), want: []string{"forensics:account:write"}},
		{name: "ScopeNarrowedPost", form: postCredentials(app, grantForm("ess:account:read")), want: []string{"ess:account:read"}},
		{name: "ScopeSubsetAnyOrderRepeated", auth: appBasic, form: grantForm("forensics:account:write ess:account:read forensics:account:write"),
			want: []string{"ess:account:read", "forensics:account:write"}},
		{name: "ScopeExtraSpaces", auth: appBasic, form: grantForm("  forensics:account:read   ess:account:read "), want: []string{"ess:account:read", "forensics:account:read"}},
		{name: "ScopeEvery", auth: appBasic, form: grantForm(strings.Join(every, " ")), want: every},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest(http.MethodPost, m.URL+"/oauth2/token", strings.NewReader(tt.form.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			checkScope(t, checkGrant(t, do(t, hc, req)), tt.want)
		})
	}

	// Clients as they are written: golang.org/x/oauth2's client credentials
	// flow, with each authentication method.
	for _, style := range []struct {
		name  string
		style oauth2.AuthStyle
	}{{"XOAuth2InHeader", oauth2.AuthStyleInHeader}, {"XOAuth2InParams", oauth2.AuthStyleInParams}} {
		t.Run(style.name, func(t *testing.T) {
			t.Parallel()
			cfg := clientcredentials.Config{ClientID: app.ClientID, ClientSecret: app.ClientSecret, TokenURL: m.URL + "/oauth2/token",
				Scopes: []string{"forensics:account:read", "forensics:account:write"}, AuthStyle: style.style}
			tok, err := cfg.Token(context.WithValue(t.Context(), oauth2.HTTPClient, hc))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := tok.Type(), "Bearer"; got != want {
				t.Errorf("token type = %q, want %q", got, want)
			}
			if d := time.Until(tok.Expiry); d < 59*time.Minute || d > time.Hour {
				t.Errorf("token expires in %s, want 1h", d)
			}
			scope, _ := tok.Extra("scope").(string)
			expiresIn, _ := tok.Extra("expires_in").(float64)
			checkScope(t, grantResponse{AccessToken: tok.AccessToken, Scope: scope, ExpiresIn: int64(expiresIn)},
				[]string{"forensics:account:read", "forensics:account:write"})
		})
	}

	t.Run("Claims", func(t *testing.T) {
		t.Parallel()
		before := time.Now().Unix()
		first := grant(t, hc, m, app, "forensics:account:read")
		second := grant(t, hc, m, app, "")
		after := time.Now().Unix()
		jwks := fetchJWKS(t, hc, m)
		v, err := verifyOffline(jwks, first.AccessToken, m.URL, m.URL, time.Now())
		if err != nil {
			t.Fatalf("token does not verify with the JWKS: %v", err)
		}
		if got, want := v.header.Algorithm, "ES256"; got != want {
			t.Errorf("alg = %q, want %q", got, want)
		}
		if got, want := v.header.ExtraHeaders[jose.HeaderType], "at+jwt"; got != want {
			t.Errorf("typ = %q, want %q", got, want)
		}
		if keys := jwks.Key(v.header.KeyID); len(keys) != 1 || keys[0].Algorithm != "ES256" {
			t.Errorf("kid %q is not one ES256 key of the JWKS", v.header.KeyID)
		}
		c := v.claims
		for _, check := range []struct {
			claim     string
			got, want any
		}{
			{"iss", c.Iss, m.URL},
			{"sub", c.Sub, app.ClientID},
			{"client_id", c.ClientID, app.ClientID},
			{"aud", string(c.Aud), strconv.Quote(m.URL)},
			{"account_id", c.AccountID, "acme"},
			{"region", c.Region, "us"},
			{"secret_generation", c.SecretGeneration, 1},
			{"scope", c.Scope, "forensics:account:read"},
			{"nbf", c.Nbf, c.Iat},
			{"exp - iat", c.Exp - c.Iat, int64(time.Hour / time.Second)},
		} {
			if check.got != check.want {
				t.Errorf("%s = %v, want %v", check.claim, check.got, check.want)
			}
		}
		if c.Iat < before || c.Iat > after {
			t.Errorf("iat = %d, want between %d and %d", c.Iat, before, after)
		}
		v2 := mustVerify(t, hc, m, second.AccessToken)
		if c.Jti == "" || c.Jti == v2.claims.Jti {
			t.Errorf("jti %q and %q: want two different ones", c.Jti, v2.claims.Jti)
		}
		var all map[string]any
		payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(first.AccessToken, ".")[1])
		if err := json.Unmarshal(payload, &all); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"iss", "sub", "aud", "client_id", "account_id", "region", "secret_generation", "scope", "iat", "nbf", "exp", "jti"} {
			if _, ok := all[name]; !ok {
				t.Errorf("token lacks the claim %q", name)
			}
		}
	})
}

// sameSet reports whether a and b hold the same strings, each once.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b) && len(slices.Compact(a)) == len(b)
}

// percentEncodeAll percent-encodes every byte of s, which RFC 6749 §2.3.1's
// form-urlencoding allows a client to do.
func percentEncodeAll(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, "%%%02X", s[i])
	}
	return b.String()
}

func TestTokenAudience(t *testing.T) {
	t.Parallel()
	m := newMain(t, func(m *Main) {
		m.Config.TokenAudience = "https://api.example.com"
		m.Config.TokenTTL = 5 * time.Minute
	})
	hc := clientFrom(t, "127.0.0.1")
	app := createAppProcess(t, m, "acme", "Audience", "reporting:reports=read")

	g := grant(t, hc, m, app, "")
	if got, want := g.ExpiresIn, int64(300); got != want {
		t.Errorf("expires_in = %d, want the configured TTL %d", got, want)
	}
	jwks := fetchJWKS(t, hc, m)
	v, err := verifyOffline(jwks, g.AccessToken, m.URL, "https://api.example.com", time.Now())
	if err != nil {
		t.Fatalf("token does not verify for the configured audience: %v", err)
	}
	if got, want := string(v.claims.Aud), `"https://api.example.com"`; got != want {
		t.Errorf("aud = %s, want %s", got, want)
	}
	if got, want := v.claims.Exp-v.claims.Iat, int64(300); got != want {
		t.Errorf("exp - iat = %d, want %d", got, want)
	}
	if _, err := verifyOffline(jwks, g.AccessToken, m.URL, m.URL, time.Now()); err == nil {
		t.Error("a resource server expecting the issuer as audience accepts the token")
	}
	if got := introspect(t, hc, m, app, g.AccessToken); !got.Active || !slices.Equal(audiences(got.Aud), []string{"https://api.example.com"}) {
		t.Errorf("introspection: active %v, aud %s; want active with the configured audience", got.Active, got.Aud)
	}
}

func TestTokenSecretResetAndDelete(t *testing.T) {
	t.Parallel()
	m := newMain(t)
	hc := clientFrom(t, "127.0.0.1")
	app := createAppProcess(t, m, "acme", "Reset me", "forensics:account=read-write")
	watcher := createAppProcess(t, m, "acme", "Resource server", "ess:account=read")

	before := grant(t, hc, m, app, "")
	if got := introspect(t, hc, m, watcher, before.AccessToken); !got.Active {
		t.Fatal("a fresh token is inactive")
	}

	oldSecret := app.ClientSecret
	app.ClientSecret = resetSecretProcess(t, m, app.ClientID)
	if app.ClientSecret == oldSecret {
		t.Fatal("reset-secret kept the secret")
	}
	t.Run("OldSecretRefused", func(t *testing.T) {
		checkOAuthError(t, postForm(t, hc, m, "/oauth2/token", basic(app.ClientID, oldSecret), grantForm("")),
			http.StatusUnauthorized, "invalid_client")
		checkOAuthError(t, postForm(t, hc, m, "/oauth2/token", "", postCredentials(appJSON{ClientID: app.ClientID, ClientSecret: oldSecret}, grantForm(""))),
			http.StatusUnauthorized, "invalid_client")
	})
	after := grant(t, hc, m, app, "")
	t.Run("NewSecretWorks", func(t *testing.T) {
		if got, want := mustVerify(t, hc, m, after.AccessToken).claims.SecretGeneration, 2; got != want {
			t.Errorf("secret_generation = %d, want %d", got, want)
		}
	})
	t.Run("TokenOfOldSecretInactive", func(t *testing.T) {
		if got := introspect(t, hc, m, watcher, before.AccessToken); got.Active {
			t.Error("a token issued before the reset is active")
		}
		if got := introspect(t, hc, m, app, before.AccessToken); got.Active {
			t.Error("a token issued before the reset is active to its own application")
		}
	})
	t.Run("TokenOfNewSecretActive", func(t *testing.T) {
		if got := introspect(t, hc, m, watcher, after.AccessToken); !got.Active {
			t.Error("a token issued after the reset is inactive")
		}
	})

	out := cliProcess(t, "app", "delete", "--data-dir", m.Config.DataDir, "--client-id", app.ClientID)
	if !strings.Contains(out, app.ClientID) {
		t.Errorf("app delete printed %q", out)
	}
	t.Run("DeletedCredentialsRefused", func(t *testing.T) {
		checkOAuthError(t, postForm(t, hc, m, "/oauth2/token", basic(app.ClientID, app.ClientSecret), grantForm("")),
			http.StatusUnauthorized, "invalid_client")
		checkOAuthError(t, postForm(t, hc, m, "/oauth2/introspect", basic(app.ClientID, app.ClientSecret), url.Values{"token": {after.AccessToken}}),
			http.StatusUnauthorized, "invalid_client")
	})
	t.Run("DeletedTokensInactive", func(t *testing.T) {
		if got := introspect(t, hc, m, watcher, after.AccessToken); got.Active {
			t.Error("a token of a deleted application is active")
		}
	})
}

func TestIntrospect(t *testing.T) {
	t.Parallel()
	var clock testClock
	m := newMain(t, clock.configure())
	hc := clientFrom(t, "127.0.0.1")
	app := createAppProcess(t, m, "acme", "Caller", "forensics:account=read-write")
	sibling := createAppProcess(t, m, "acme", "Resource server", "ess:account=read")
	stranger := createAppProcess(t, m, "globex", "Other account", "ess:account=read")
	g := grant(t, hc, m, app, "forensics:account:write")
	claims := mustVerify(t, hc, m, g.AccessToken).claims

	t.Run("Active", func(t *testing.T) {
		for _, caller := range []appJSON{app, sibling} {
			got := introspect(t, hc, m, caller, g.AccessToken)
			want := introspection{Active: true, Scope: "forensics:account:write", ClientID: app.ClientID, TokenType: "Bearer",
				Exp: claims.Exp, Iat: claims.Iat, Sub: app.ClientID, Aud: json.RawMessage(strconv.Quote(m.URL)), Iss: m.URL,
				Jti: claims.Jti, AccountID: "acme"}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("introspection\n got %+v\nwant %+v", got, want)
			}
		}
	})
	t.Run("TokenTypeHint", func(t *testing.T) {
		for _, hint := range []string{"access_token", "refresh_token", "bogus"} {
			a := postForm(t, hc, m, "/oauth2/introspect", basic(sibling.ClientID, sibling.ClientSecret),
				url.Values{"token": {g.AccessToken}, "token_type_hint": {hint}})
			var r introspection
			if a.decodeJSON(t, &r); a.status != http.StatusOK || !r.Active {
				t.Errorf("token_type_hint=%s: %d %s, want active", hint, a.status, a.body)
			}
		}
	})
	t.Run("ClientSecretPost", func(t *testing.T) {
		a := postForm(t, hc, m, "/oauth2/introspect", "", postCredentials(sibling, url.Values{"token": {g.AccessToken}}))
		var r introspection
		if a.decodeJSON(t, &r); a.status != http.StatusOK || !r.Active {
			t.Errorf("%d %s, want active", a.status, a.body)
		}
	})

	parts := strings.Split(g.AccessToken, ".")
	tampered, _ := json.Marshal(map[string]any{"iss": m.URL, "sub": app.ClientID, "aud": m.URL, "client_id": app.ClientID,
		"account_id": "acme", "secret_generation": 1, "scope": "forensics:account:write impersonation:account:write",
		"iat": claims.Iat, "nbf": claims.Nbf, "exp": claims.Exp, "jti": claims.Jti})
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt"}`))
	for _, tt := range []struct{ name, token string }{
		{"Garbage", "not a token at all"},
		{"Malformed", "abc.def.ghi"},
		{"TwoParts", parts[0] + "." + parts[1]},
		{"TamperedClaims", parts[0] + "." + base64.RawURLEncoding.EncodeToString(tampered) + "." + parts[2]},
		{"AlgNone", none + "." + parts[1] + "."},
		{"SignedByAnotherKeyWithTheServiceKid", foreignToken(t, m, app, mustVerify(t, hc, m, g.AccessToken).header.KeyID)},
		{"SignedByAnotherKey", foreignToken(t, m, app, "my-own-key")},
		{"TooLong", g.AccessToken + strings.Repeat("A", 5000)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := introspect(t, hc, m, sibling, tt.token); got.Active {
				t.Errorf("%q is active", tt.token)
			}
		})
	}
	t.Run("EmptyToken", func(t *testing.T) {
		checkOAuthError(t, postForm(t, hc, m, "/oauth2/introspect", basic(sibling.ClientID, sibling.ClientSecret), url.Values{"token": {""}}),
			http.StatusBadRequest, "invalid_request")
		checkOAuthError(t, postForm(t, hc, m, "/oauth2/introspect", basic(sibling.ClientID, sibling.ClientSecret), url.Values{}),
			http.StatusBadRequest, "invalid_request")
	})
	t.Run("CallerOfAnotherAccount", func(t *testing.T) {
		if got := introspect(t, hc, m, stranger, g.AccessToken); got.Active {
			t.Error("another account's application sees the token active")
		}
	})
	t.Run("Unauthenticated", func(t *testing.T) {
		checkOAuthError(t, postForm(t, hc, m, "/oauth2/introspect", "", url.Values{"token": {g.AccessToken}}),
			http.StatusUnauthorized, "invalid_client")
		checkOAuthError(t, postForm(t, hc, m, "/oauth2/introspect", basic(sibling.ClientID, secret.New()), url.Values{"token": {g.AccessToken}}),
			http.StatusUnauthorized, "invalid_client")
		// A token is not a client credential.
		checkOAuthError(t, postForm(t, hc, m, "/oauth2/introspect", "Bearer "+g.AccessToken, url.Values{"token": {g.AccessToken}}),
			http.StatusUnauthorized, "invalid_client")
	})
	t.Run("GET", func(t *testing.T) {
		a := get(t, hc, m.URL+"/oauth2/introspect", nil)
		checkOAuthError(t, a, http.StatusMethodNotAllowed, "invalid_request")
		if got, want := a.header.Get("Allow"), http.MethodPost; got != want {
			t.Errorf("Allow = %q, want %q", got, want)
		}
	})
	t.Run("Revoked", func(t *testing.T) {
		other := grant(t, hc, m, app, "")
		if a := revoke(t, hc, m, app, other.AccessToken); a.status != http.StatusOK {
			t.Fatalf("revoke = %d", a.status)
		}
		if got := introspect(t, hc, m, sibling, other.AccessToken); got.Active {
			t.Error("a revoked token is active")
		}
	})
	t.Run("Expired", func(t *testing.T) {
		if got := introspect(t, hc, m, sibling, g.AccessToken); !got.Active {
			t.Fatal("the token is inactive before its expiry")
		}
		clock.advance(time.Until(time.Unix(claims.Exp, 0)))
		if got := introspect(t, hc, m, sibling, g.AccessToken); got.Active {
			t.Errorf("the token is active at its exp %d (service clock %d)", claims.Exp, m.Now().Unix())
		}
	})
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	m := newMain(t)
	hc := clientFrom(t, "127.0.0.1")
	app := createAppProcess(t, m, "acme", "Revoker", "forensics:account=read")
	sibling := createAppProcess(t, m, "acme", "Sibling", "forensics:account=read")
	stranger := createAppProcess(t, m, "globex", "Stranger", "forensics:account=read")

	// revoked reports whether tok is inactive at introspection.
	revoked := func(t *testing.T, tok string) bool {
		t.Helper()
		return !introspect(t, hc, m, sibling, tok).Active
	}
	checkOK := func(t *testing.T, a *answer) {
		t.Helper()
		if a.status != http.StatusOK {
			t.Fatalf("revoke = %d, want 200\n%s", a.status, a.body)
		}
	}

	t.Run("OwnToken", func(t *testing.T) {
		t.Parallel()
		tok := grant(t, hc, m, app, "").AccessToken
		checkOK(t, revoke(t, hc, m, app, tok))
		if !revoked(t, tok) {
			t.Error("the token is active right after its client revoked it")
		}
		checkOK(t, revoke(t, hc, m, app, tok)) // again: still 200
		if next := grant(t, hc, m, app, "").AccessToken; revoked(t, next) {
			t.Error("a token issued after the revocation is inactive")
		}
	})
	t.Run("OwnTokenPostWithHint", func(t *testing.T) {
		t.Parallel()
		tok := grant(t, hc, m, app, "").AccessToken
		// RFC 7009 §2.1: a wrong hint does not stop the search.
		checkOK(t, postForm(t, hc, m, "/oauth2/revoke", "", postCredentials(app, url.Values{"token": {tok}, "token_type_hint": {"refresh_token"}})))
		if !revoked(t, tok) {
			t.Error("the token is active after its client revoked it")
		}
	})
	t.Run("TokenOfAnotherClientSameAccount", func(t *testing.T) {
		t.Parallel()
		tok := grant(t, hc, m, app, "").AccessToken
		checkOK(t, revoke(t, hc, m, sibling, tok))
		if revoked(t, tok) {
			t.Error("another application of the account revoked the token")
		}
	})
	t.Run("TokenOfAnotherAccount", func(t *testing.T) {
		t.Parallel()
		tok := grant(t, hc, m, app, "").AccessToken
		checkOK(t, revoke(t, hc, m, stranger, tok))
		if revoked(t, tok) {
			t.Error("another account's application revoked the token")
		}
	})
	t.Run("Garbage", func(t *testing.T) {
		t.Parallel()
		for _, tok := range []string{"garbage", "a.b.c", foreignToken(t, m, app, "my-own-key")} {
			checkOK(t, revoke(t, hc, m, app, tok))
		}
	})
	t.Run("MissingToken", func(t *testing.T) {
		t.Parallel()
		checkOAuthError(t, postForm(t, hc, m, "/oauth2/revoke", basic(app.ClientID, app.ClientSecret), url.Values{}),
			http.StatusBadRequest, "invalid_request")
	})
	t.Run("Unauthenticated", func(t *testing.T) {
		t.Parallel()
		tok := grant(t, hc, m, app, "").AccessToken
		checkOAuthError(t, postForm(t, hc, m, "/oauth2/revoke", "", url.Values{"token": {tok}}),
			http.StatusUnauthorized, "invalid_client")
		checkOAuthError(t, postForm(t, hc, m, "/oauth2/revoke", basic(app.ClientID, secret.New()), url.Values{"token": {tok}}),
			http.StatusUnauthorized, "invalid_client")
		if revoked(t, tok) {
			t.Error("an unauthenticated request revoked the token")
		}
	})
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	m := newMain(t)
	local := clientFrom(t, "127.0.0.1")
	attacker := clientFrom(t, "127.0.0.2")
	neighbour := clientFrom(t, "127.0.0.3")
	a := createAppProcess(t, m, "acme", "Client A", "forensics:account=read")
	b := createAppProcess(t, m, "acme", "Client B", "forensics:account=read")

	checkLimited := func(t *testing.T, r *answer) {
		t.Helper()
		checkOAuthError(t, r, http.StatusTooManyRequests, "temporarily_unavailable")
		if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s <= 0 {
			t.Errorf("Retry-After = %q, want a positive number of seconds", r.header.Get("Retry-After"))
		}
	}

	t.Run("PerAddress", func(t *testing.T) {
		t.Parallel()
		// Guess at many clients from one address, each once: only the
		// address's limit (burst 30) can stop it.
		var limited *answer
		for i := 1; i <= 40 && limited == nil; i++ {
			r := postForm(t, attacker, m, "/oauth2/token", basic(secret.NewClientID(), secret.New()), grantForm(""))
			switch {
			case r.status == http.StatusTooManyRequests && i > 30:
				limited = r
			case r.status == http.StatusUnauthorized:
			default:
				t.Fatalf("attempt %d: %d %s", i, r.status, r.body)
			}
		}
		if limited == nil {
			t.Fatal("40 failed authentications from one address, and no 429")
		}
		checkLimited(t, limited)
		checkGrant(t, postForm(t, local, m, "/oauth2/token", basic(a.ClientID, a.ClientSecret), grantForm("")))
		checkLimited(t, postForm(t, attacker, m, "/oauth2/token", basic(a.ClientID, a.ClientSecret), grantForm("")))
		checkLimited(t, postForm(t, attacker, m, "/oauth2/introspect", basic(a.ClientID, a.ClientSecret), url.Values{"token": {"x"}}))
		if r := get(t, attacker, m.URL+"/.well-known/jwks.json", nil); r.status != http.StatusOK {
			t.Errorf("the JWKS from the limited address = %d, want 200", r.status)
		}
	})
	t.Run("PerClientAndAddress", func(t *testing.T) {
		t.Parallel()
		for i := 1; i <= 10; i++ {
			r := postForm(t, neighbour, m, "/oauth2/token", basic(a.ClientID, secret.New()), grantForm(""))
			checkOAuthError(t, r, http.StatusUnauthorized, "invalid_client")
		}
		checkLimited(t, postForm(t, neighbour, m, "/oauth2/token", basic(a.ClientID, secret.New()), grantForm("")))
		checkLimited(t, postForm(t, neighbour, m, "/oauth2/token", basic(a.ClientID, a.ClientSecret), grantForm("")))
		checkGrant(t, postForm(t, neighbour, m, "/oauth2/token", basic(b.ClientID, b.ClientSecret), grantForm("")))
		checkGrant(t, postForm(t, local, m, "/oauth2/token", basic(a.ClientID, a.ClientSecret), grantForm("")))
	})
}

func TestKeysRotateResourceServer(t *testing.T) {
	t.Parallel()
	var clock testClock
	m := newMain(t, clock.configure())
	hc := clientFrom(t, "127.0.0.1")
	app := createAppProcess(t, m, "acme", "Rotating", "forensics:account=read")
	audience, ttl := m.URL, m.Config.TokenTTL

	old := grant(t, hc, m, app, "").AccessToken
	jwks := fetchJWKS(t, hc, m)
	v, err := verifyOffline(jwks, old, m.URL, audience, m.Now())
	if err != nil {
		t.Fatalf("token does not verify offline with the JWKS: %v", err)
	}
	oldKid := v.header.KeyID

	rotatedAt := time.Now()
	newKid := rotateKeysProcess(t, m)
	if newKid == oldKid {
		t.Fatal("keys rotate kept the key")
	}
	var fresh string
	if !waitFor(1500*time.Millisecond, func() bool {
		fresh = grant(t, hc, m, app, "").AccessToken
		v, err := verifyOffline(fetchJWKS(t, hc, m), fresh, m.URL, audience, m.Now())
		return err == nil && v.header.KeyID != oldKid
	}) {
		t.Fatal("1.5s after keys rotate, new tokens are still signed with the old key (or do not verify)")
	}
	jwks = fetchJWKS(t, hc, m)
	if len(jwks.Key(oldKid)) != 1 || len(jwks.Key(newKid)) != 1 {
		t.Fatalf("JWKS after the rotation has %d keys, want the old %s and the new %s", len(jwks.Keys), oldKid, newKid)
	}
	if v, err := verifyOffline(jwks, fresh, m.URL, audience, m.Now()); err != nil {
		t.Errorf("the new token does not verify with the JWKS: %v", err)
	} else if v.header.KeyID != newKid {
		t.Errorf("the new token's kid = %s, want the new key %s", v.header.KeyID, newKid)
	}
	if _, err := verifyOffline(jwks, old, m.URL, audience, m.Now()); err != nil {
		t.Errorf("the token of the old key no longer verifies with the JWKS: %v", err)
	}
	if !introspect(t, hc, m, app, old).Active {
		t.Error("the token of the old key is inactive at introspection")
	}

	// Once every token of the old key has expired, the key leaves the JWKS.
	clock.advance(time.Until(rotatedAt.Add(ttl + time.Minute + time.Second)))
	if !waitFor(1500*time.Millisecond, func() bool { return len(fetchJWKS(t, hc, m).Key(oldKid)) == 0 }) {
		t.Fatalf("the old key %s is still in the JWKS past rotation + TTL + 1 min", oldKid)
	}
	jwks = fetchJWKS(t, hc, m)
	if len(jwks.Key(newKid)) != 1 {
		t.Fatalf("the new key %s left the JWKS", newKid)
	}
	if _, err := verifyOffline(jwks, old, m.URL, audience, m.Now()); err == nil {
		t.Error("the old token still verifies past its expiry")
	}
	later := grant(t, hc, m, app, "").AccessToken
	if v, err := verifyOffline(jwks, later, m.URL, audience, m.Now()); err != nil {
		t.Errorf("a token issued now does not verify with the JWKS: %v", err)
	} else if v.header.KeyID != newKid {
		t.Errorf("a token issued now has kid %s, want %s", v.header.KeyID, newKid)
	}
}

func TestKeysRotateSigningAlg(t *testing.T) {
	t.Parallel()
	m := newMain(t)
	hc := clientFrom(t, "127.0.0.1")
	app := createAppProcess(t, m, "acme", "Algorithms", "forensics:account=read")

	tokens := map[string]string{"ES256": grant(t, hc, m, app, "").AccessToken}
	for _, alg := range []string{"RS256", "EdDSA"} {
		kid := rotateKeysProcess(t, m, "--signing-alg", alg)
		var tok string
		if !waitFor(1500*time.Millisecond, func() bool {
			tok = grant(t, hc, m, app, "").AccessToken
			v, err := verifyOffline(fetchJWKS(t, hc, m), tok, m.URL, m.URL, m.Now())
			return err == nil && v.header.KeyID == kid
		}) {
			t.Fatalf("1.5s after keys rotate --signing-alg %s, no token signed by the new key %s verifies", alg, kid)
		}
		v := mustVerify(t, hc, m, tok)
		if got := v.header.Algorithm; got != alg {
			t.Errorf("alg = %q, want %q", got, alg)
		}
		tokens[alg] = tok
	}
	jwks := fetchJWKS(t, hc, m)
	kty := map[string]string{}
	for _, k := range jwks.Keys {
		switch k.Key.(type) {
		case *ecdsa.PublicKey:
			kty[k.Algorithm] = "EC"
		case *rsa.PublicKey:
			kty[k.Algorithm] = "RSA"
		case ed25519.PublicKey:
			kty[k.Algorithm] = "OKP"
		}
	}
	if want := map[string]string{"ES256": "EC", "RS256": "RSA", "EdDSA": "OKP"}; len(jwks.Keys) != 3 || !maps.Equal(kty, want) {
		t.Errorf("JWKS key types by alg: %v; want %v", kty, want)
	}
	for alg, tok := range tokens {
		if _, err := verifyOffline(jwks, tok, m.URL, m.URL, m.Now()); err != nil {
			t.Errorf("the %s token does not verify with the JWKS: %v", alg, err)
		}
		if !introspect(t, hc, m, app, tok).Active {
			t.Errorf("the %s token is inactive", alg)
		}
	}
	var meta struct {
		Algs []string `json:"access_token_signing_alg_values_supported"`
	}
	get(t, hc, m.URL+"/.well-known/oauth-authorization-server", nil).decodeJSON(t, &meta)
	if !sameSet(meta.Algs, []string{"ES256", "RS256", "EdDSA"}) {
		t.Errorf("access_token_signing_alg_values_supported = %q, want ES256, RS256 and EdDSA", meta.Algs)
	}
	// Without --signing-alg a rotation keeps the current key's algorithm.
	out := cliProcess(t, "keys", "rotate", "--data-dir", m.Config.DataDir, "--json")
	var keys []keyJSON
	if err := json.Unmarshal([]byte(out), &keys); err != nil || len(keys) == 0 || !keys[0].Current || keys[0].Algorithm != "EdDSA" {
		t.Errorf("keys rotate without --signing-alg after EdDSA made %s", out)
	}
}

func TestMetadata(t *testing.T) {
	t.Parallel()
	m := newMain(t)
	hc := clientFrom(t, "127.0.0.1")
	a := get(t, hc, m.URL+"/.well-known/oauth-authorization-server", nil)
	if a.status != http.StatusOK {
		t.Fatalf("metadata = %d\n%s", a.status, a.body)
	}
	if mt, _, _ := mime.ParseMediaType(a.header.Get("Content-Type")); mt != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", a.header.Get("Content-Type"))
	}
	var meta struct {
		Issuer                 string   `json:"issuer"`
		TokenEndpoint          string   `json:"token_endpoint"`
		JWKSURI                string   `json:"jwks_uri"`
		IntrospectionEndpoint  string   `json:"introspection_endpoint"`
		RevocationEndpoint     string   `json:"revocation_endpoint"`
		ScopesSupported        []string `json:"scopes_supported"`
		ResponseTypesSupported []string `json:"response_types_supported"`
		GrantTypesSupported    []string `json:"grant_types_supported"`
		TokenAuthMethods       []string `json:"token_endpoint_auth_methods_supported"`
		IntrospectionMethods   []string `json:"introspection_endpoint_auth_methods_supported"`
		RevocationMethods      []string `json:"revocation_endpoint_auth_methods_supported"`
		SigningAlgs            []string `json:"access_token_signing_alg_values_supported"`
	}
	a.decodeJSON(t, &meta)
	methods := []string{"client_secret_basic", "client_secret_post"}
	for _, check := range []struct {
		name      string
		got, want any
	}{
		{"issuer", meta.Issuer, m.URL},
		{"token_endpoint", meta.TokenEndpoint, m.URL + "/oauth2/token"},
		{"jwks_uri", meta.JWKSURI, m.URL + "/.well-known/jwks.json"},
		{"introspection_endpoint", meta.IntrospectionEndpoint, m.URL + "/oauth2/introspect"},
		{"revocation_endpoint", meta.RevocationEndpoint, m.URL + "/oauth2/revoke"},
		{"grant_types_supported", fmt.Sprint(meta.GrantTypesSupported), "[client_credentials]"},
		{"token_endpoint_auth_methods_supported", sameSet(meta.TokenAuthMethods, methods), true},
		{"introspection_endpoint_auth_methods_supported", sameSet(meta.IntrospectionMethods, methods), true},
		{"revocation_endpoint_auth_methods_supported", sameSet(meta.RevocationMethods, methods), true},
		{"scopes_supported has forensics:account:write", slices.Contains(meta.ScopesSupported, "forensics:account:write"), true},
		{"scopes_supported has ess:account:read", slices.Contains(meta.ScopesSupported, "ess:account:read"), true},
		{"scopes_supported lacks ess:account:write", slices.Contains(meta.ScopesSupported, "ess:account:write"), false},
		{"response_types_supported present", meta.ResponseTypesSupported != nil, true},
		{"access_token_signing_alg_values_supported", fmt.Sprint(meta.SigningAlgs), "[ES256]"},
	} {
		if check.got != check.want {
			t.Errorf("%s = %v, want %v", check.name, check.got, check.want)
		}
	}

	// Every endpoint the metadata lists answers.
	for _, endpoint := range []string{meta.TokenEndpoint, meta.IntrospectionEndpoint, meta.RevocationEndpoint} {
		r := postTo(t, hc, endpoint, "", url.Values{"grant_type": {"client_credentials"}, "token": {"x"}})
		checkOAuthError(t, r, http.StatusUnauthorized, "invalid_client")
	}
	jwks := get(t, hc, meta.JWKSURI, nil)
	if jwks.status != http.StatusOK {
		t.Fatalf("jwks_uri = %d", jwks.status)
	}
	if mt, _, _ := mime.ParseMediaType(jwks.header.Get("Content-Type")); mt != "application/jwk-set+json" && mt != "application/json" {
		t.Errorf("JWKS Content-Type = %q", jwks.header.Get("Content-Type"))
	}
	var set jose.JSONWebKeySet
	jwks.decodeJSON(t, &set)
	if len(set.Keys) != 1 || !set.Keys[0].IsPublic() || set.Keys[0].Algorithm != "ES256" {
		t.Errorf("JWKS = %s, want one public ES256 key", jwks.body)
	}
	if bytes.Contains(jwks.body, []byte(`"d"`)) {
		t.Error("the JWKS holds a private key")
	}
	if etag := jwks.header.Get("ETag"); etag == "" {
		t.Error("JWKS without an ETag")
	} else if r := get(t, hc, meta.JWKSURI, http.Header{"If-None-Match": {etag}}); r.status != http.StatusNotModified {
		t.Errorf("JWKS with If-None-Match its ETag = %d, want 304", r.status)
	}
	// The well-known documents answer other methods with 405, not the
	// portal's sign-in redirect.
	for _, u := range []string{meta.JWKSURI, m.URL + "/.well-known/oauth-authorization-server"} {
		for _, method := range []string{http.MethodPost, http.MethodDelete} {
			req, _ := http.NewRequest(method, u, nil)
			res, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("%s %s = %d, want 405", method, u, res.StatusCode)
			}
		}
		req, _ := http.NewRequest(http.MethodHead, u, nil)
		if res, err := hc.Do(req); err != nil || res.StatusCode != http.StatusOK {
			t.Errorf("HEAD %s = %v, %v; want 200", u, res, err)
		} else {
			res.Body.Close()
		}
	}
}

func TestTokenUsage(t *testing.T) {
	t.Parallel()
	m := newMain(t, func(m *Main) { m.Config.SweepInterval = 50 * time.Millisecond })
	hc := clientFrom(t, "127.0.0.1")
	app := createAppProcess(t, m, "acme", "Counted", "forensics:account=read")
	idle := createAppProcess(t, m, "acme", "Idle", "forensics:account=read")

	const n = 3
	start := time.Now().Truncate(time.Millisecond)
	for range n {
		grant(t, hc, m, app, "")
	}
	end := time.Now()
	// Refusals are not tokens.
	checkOAuthError(t, postForm(t, hc, m, "/oauth2/token", basic(app.ClientID, app.ClientSecret), grantForm("forensics:account:write")),
		http.StatusBadRequest, "invalid_scope")
	checkOAuthError(t, postForm(t, hc, m, "/oauth2/token", basic(app.ClientID, secret.New()), grantForm("")),
		http.StatusUnauthorized, "invalid_client")

	ctx := context.Background()
	var count int
	var last time.Time
	var err error
	waitFor(2*time.Second, func() bool {
		count, last, err = m.Store.TokenUsage(ctx, "acme", app.ClientID, m.Now())
		return err == nil && count >= n
	})
	if err != nil {
		t.Fatal(err)
	}
	if count != n {
		t.Errorf("tokens counted = %d, want %d", count, n)
	}
	if last.Before(start) || last.After(end) {
		t.Errorf("last token issued at %s, want between %s and %s", last, start, end)
	}
	if count, last, err := m.Store.TokenUsage(ctx, "acme", idle.ClientID, m.Now()); err != nil || count != 0 || !last.IsZero() {
		t.Errorf("idle application: %d tokens, last %s, %v; want none", count, last, err)
	}
	if _, _, err := m.Store.TokenUsage(ctx, "globex", app.ClientID, m.Now()); err == nil {
		t.Error("another account reads the application's token usage")
	}
}

// TestRateLimitTrustedProxy: behind a trusted proxy the limits count the
// address X-Forwarded-For names, so one caller's failures do not lock out
// everyone else behind the proxy; without --trusted-proxies the header is
// ignored and cannot be used to dodge the limit.
func TestRateLimitTrustedProxy(t *testing.T) {
	t.Parallel()
	forwarded := func(t *testing.T, hc *http.Client, m *Main, xff, auth string) *answer {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, m.URL+"/oauth2/token", strings.NewReader(grantForm("").Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", auth)
		req.Header.Set("X-Forwarded-For", xff)
		return do(t, hc, req)
	}
	failUntilLimited := func(t *testing.T, send func() *answer) {
		t.Helper()
		for i := 1; i <= 40; i++ {
			if r := send(); r.status == http.StatusTooManyRequests {
				return
			} else if r.status != http.StatusUnauthorized {
				t.Fatalf("attempt %d: %d %s", i, r.status, r.body)
			}
		}
		t.Fatal("40 failures were never limited")
	}

	t.Run("Trusted", func(t *testing.T) {
		t.Parallel()
		m := newMain(t, func(m *Main) { m.Config.TrustedProxies = "127.0.0.5" })
		proxy := clientFrom(t, "127.0.0.5")
		app := createAppProcess(t, m, "acme", "Behind the proxy", "forensics:account=read")
		failUntilLimited(t, func() *answer {
			return forwarded(t, proxy, m, "203.0.113.7", basic(secret.NewClientID(), secret.New()))
		})
		if r := forwarded(t, proxy, m, "203.0.113.8", basic(app.ClientID, app.ClientSecret)); r.status != http.StatusOK {
			t.Fatalf("another client behind the proxy = %d %s, want 200", r.status, r.body)
		}
		// A client cannot pretend to be someone else behind the proxy by
		// adding its own entries: the proxy appends the real address last.
		if r := forwarded(t, proxy, m, "203.0.113.8, 203.0.113.7", basic(app.ClientID, app.ClientSecret)); r.status != http.StatusTooManyRequests {
			t.Fatalf("the limited address with a forged entry in front = %d, want 429", r.status)
		}
	})
	t.Run("NotTrusted", func(t *testing.T) {
		t.Parallel()
		m := newMain(t)
		direct := clientFrom(t, "127.0.0.6")
		app := createAppProcess(t, m, "acme", "Direct", "forensics:account=read")
		n := 0
		failUntilLimited(t, func() *answer {
			n++
			return forwarded(t, direct, m, "198.51.100."+strconv.Itoa(n), basic(secret.NewClientID(), secret.New()))
		})
		if r := forwarded(t, direct, m, "198.51.100.250", basic(app.ClientID, app.ClientSecret)); r.status != http.StatusTooManyRequests {
			t.Fatalf("a forged X-Forwarded-For escaped the limit: %d", r.status)
		}
	})
}
