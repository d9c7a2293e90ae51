package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"tokenservice/scope"
	"tokenservice/secret"
	"tokenservice/token"
)

// Baseline is the best-case token endpoint: the client-credentials grant
// of handlers.OAuth.issueToken with nothing around it. The client table is
// an in-memory map instead of the database, and there is no framework, no
// middleware, no request log and no rate limiter; the parsing, the secret
// check (secret.WellFormed, then the constant-time keyed hash of
// secret.Keys), the claims and their signature (token.Signer) and the JSON
// response are the product's.
type Baseline struct {
	jwks, jwksETag []byte // the JWKS, made once: it changes only with the key
	revoked        map[string]bool
	keys           *secret.Keys
	signer         *token.Signer
	clients        map[string]*baselineClient
	issuer         string
	audience       token.Audience
	region         string
	ttl            time.Duration
}

// baselineClient is what the grant needs of an application: what the
// product reads from the database per token request.
type baselineClient struct {
	hash       []byte   // secret.Keys.Hash of the Client Secret
	older      [32]byte // the hash of an older secret still live: matched by none
	accountID  string
	scopes     []string // every OAuth scope of the application, in the product's order
	generation int
}

// BaselineConfig configures a Baseline with its one application.
type BaselineConfig struct {
	ServerKey    []byte // 32 bytes, as in <data-dir>/server.key
	Algorithm    token.Algorithm
	Issuer       string // also the audience, as the product's default
	Region       string
	TTL          time.Duration
	ClientID     string
	ClientSecret string
	AccountID    string
	Scopes       []string
	Generation   int
}

// NewBaseline returns a Baseline that knows one application and signs
// with a new key of cfg.Algorithm.
func NewBaseline(cfg BaselineConfig) (*Baseline, error) {
	if !secret.ValidClientID(cfg.ClientID) {
		return nil, fmt.Errorf("baseline: %q is not a Client ID", cfg.ClientID)
	}
	if !secret.WellFormed(cfg.ClientSecret) {
		return nil, errors.New("baseline: the Client Secret is not well-formed")
	}
	if len(cfg.Scopes) == 0 {
		return nil, errors.New("baseline: the application needs at least one scope")
	}
	keys, err := secret.NewKeys(cfg.ServerKey)
	if err != nil {
		return nil, err
	}
	key, err := token.GenerateKey(cfg.Algorithm)
	if err != nil {
		return nil, err
	}
	signer, err := token.NewSigner(key)
	if err != nil {
		return nil, err
	}
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{key.PublicJWK()}})
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(jwks)
	return &Baseline{
		jwks: jwks, jwksETag: []byte(`"` + hex.EncodeToString(sum[:8]) + `"`), revoked: map[string]bool{},
		keys: keys, signer: signer, issuer: cfg.Issuer, audience: token.Audience{cfg.Issuer},
		region: cfg.Region, ttl: cfg.TTL,
		clients: map[string]*baselineClient{cfg.ClientID: {
			hash: keys.Hash(cfg.ClientSecret), accountID: cfg.AccountID,
			scopes: slices.Clone(cfg.Scopes), generation: cfg.Generation,
		}},
	}, nil
}

// Key is the key the Baseline signs with, for verifying its tokens.
func (b *Baseline) Key() *token.Key { return b.signer.Key() }

// Handler serves POST /oauth2/token, POST /oauth2/introspect, GET
// /.well-known/jwks.json and GET /readyz.
func (b *Baseline) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth2/token", b.issueToken)
	mux.HandleFunc("POST /oauth2/introspect", b.introspect)
	mux.HandleFunc("GET /.well-known/jwks.json", b.serveJWKS)
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ready\n") })
	return mux
}

// maxBaselineBody is the largest request body read, as the product's.
const maxBaselineBody = 8 << 10

// baselineToken is a successful token response (RFC 6749 §5.1), the
// product's tokenResponse.
type baselineToken struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope,omitempty"`
}

// issueToken is the client-credentials grant.
func (b *Baseline) issueToken(w http.ResponseWriter, r *http.Request) {
	form, id, client := b.readClientRequest(w, r)
	if client == nil {
		return
	}
	if form.Get("grant_type") != "client_credentials" {
		writeBaselineError(w, http.StatusBadRequest, "unsupported_grant_type", "Only the client_credentials grant type is supported.")
		return
	}
	scopes, ok := narrowScopes(client.scopes, form.Get("scope"))
	if !ok {
		writeBaselineError(w, http.StatusBadRequest, "invalid_scope", "The requested scope is not granted to this application.")
		return
	}
	iat := time.Now().Unix()
	claims := &token.Claims{
		Issuer: b.issuer, Subject: id, Audience: b.audience,
		ClientID: id, AccountID: client.accountID, Region: b.region,
		SecretGeneration: client.generation, Credential: seededCredential, Scope: strings.Join(scopes, " "),
		IssuedAt: iat, NotBefore: iat, Expiry: iat + int64(b.ttl/time.Second), ID: token.NewID(),
	}
	raw, err := b.signer.Sign(claims)
	if err != nil {
		http.Error(w, "signing failed", http.StatusInternalServerError)
		return
	}
	writeBaselineJSON(w, http.StatusOK, baselineToken{
		AccessToken: raw, TokenType: "Bearer", ExpiresIn: int64(b.ttl / time.Second), Scope: claims.Scope,
	})
}

// readClientRequest reads a form request of an authenticated client, as
// the product's authenticate does, or answers it with an error and returns
// a nil client.
func (b *Baseline) readClientRequest(w http.ResponseWriter, r *http.Request) (url.Values, string, *baselineClient) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBaselineBody+1))
	if err != nil || len(body) > maxBaselineBody {
		writeBaselineError(w, http.StatusBadRequest, "invalid_request", "The request body could not be read.")
		return nil, "", nil
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		writeBaselineError(w, http.StatusBadRequest, "invalid_request", "The request body must be application/x-www-form-urlencoded.")
		return nil, "", nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		writeBaselineError(w, http.StatusBadRequest, "invalid_request", "The request body is not valid form encoding.")
		return nil, "", nil
	}
	id, sec, ok := parseBasicAuth(r.Header.Get("Authorization"))
	if !ok {
		writeBaselineError(w, http.StatusUnauthorized, "invalid_client", "Client authentication is required: use HTTP Basic.")
		return nil, "", nil
	}
	client := b.authenticate(id, sec)
	if client == nil {
		writeBaselineError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed: unknown client or wrong secret.")
		return nil, "", nil
	}
	return form, id, client
}

// baselineIntrospection is an introspection response (RFC 7662 §2.2), the
// product's introspection.
type baselineIntrospection struct {
	Active    bool           `json:"active"`
	Scope     string         `json:"scope,omitempty"`
	ClientID  string         `json:"client_id,omitempty"`
	TokenType string         `json:"token_type,omitempty"`
	Exp       int64          `json:"exp,omitempty"`
	Iat       int64          `json:"iat,omitempty"`
	Nbf       int64          `json:"nbf,omitempty"`
	Sub       string         `json:"sub,omitempty"`
	Aud       token.Audience `json:"aud,omitempty"`
	Iss       string         `json:"iss,omitempty"`
	Jti       string         `json:"jti,omitempty"`
	AccountID string         `json:"account_id,omitempty"`
	Region    string         `json:"region,omitempty"`
}

// introspect is token introspection as the product does it: the caller's
// credentials checked like a token request's, the token's signature and
// times verified by token.Verify, then its account and region, its
// application's secret generation and the revocation list, all in memory.
func (b *Baseline) introspect(w http.ResponseWriter, r *http.Request) {
	form, _, caller := b.readClientRequest(w, r)
	if caller == nil {
		return
	}
	raw := form.Get("token")
	if raw == "" {
		writeBaselineError(w, http.StatusBadRequest, "invalid_request", "The token parameter is required.")
		return
	}
	key := b.signer.Key()
	claims, err := token.Verify(raw, b.issuer, func(kid string) *token.Key {
		if kid == key.ID {
			return key
		}
		return nil
	}, time.Now())
	active := err == nil && claims.AccountID == caller.accountID && claims.Region == b.region
	if active {
		c := b.clients[claims.ClientID]
		active = c != nil && c.accountID == claims.AccountID && c.generation == claims.SecretGeneration &&
			claims.Credential == seededCredential && !b.revoked[claims.ID]
	}
	if !active {
		writeBaselineJSON(w, http.StatusOK, baselineIntrospection{Active: false})
		return
	}
	writeBaselineJSON(w, http.StatusOK, baselineIntrospection{
		Active: true, Scope: claims.Scope, ClientID: claims.ClientID, TokenType: "Bearer",
		Exp: claims.Expiry, Iat: claims.IssuedAt, Nbf: claims.NotBefore, Sub: claims.Subject,
		Aud: claims.Audience, Iss: claims.Issuer, Jti: claims.ID, AccountID: claims.AccountID, Region: claims.Region,
	})
}

// serveJWKS serves the key set as the product does (the same headers and
// conditional GET), from bytes made once.
func (b *Baseline) serveJWKS(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "public, max-age=60")
	h.Set("ETag", string(b.jwksETag))
	if match := r.Header.Get("If-None-Match"); match != "" && match == string(b.jwksETag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "application/jwk-set+json")
	w.WriteHeader(http.StatusOK)
	w.Write(b.jwks)
}

// authenticate returns the client if secret is its secret, checked as the
// product checks it: malformed IDs and secrets are refused without a
// lookup, and the hash comparison is constant time.
func (b *Baseline) authenticate(clientID, clientSecret string) *baselineClient {
	if !secret.ValidClientID(clientID) || !secret.WellFormed(clientSecret) {
		return nil
	}
	c := b.clients[clientID]
	if c == nil {
		return nil
	}
	// Two live secrets, as the product's seeded clients have: one keyed
	// hash, compared with both.
	h := b.keys.Hash(clientSecret)
	newer, older := hmac.Equal(h, c.hash), hmac.Equal(h, c.older[:])
	if !newer && !older {
		return nil
	}
	return c
}

// parseBasicAuth decodes client_secret_basic credentials (RFC 6749
// §2.3.1: base64 of urlencoded ID ":" urlencoded secret).
func parseBasicAuth(header string) (id, sec string, ok bool) {
	scheme, creds, _ := strings.Cut(header, " ")
	if !strings.EqualFold(scheme, "Basic") {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimLeft(creds, " "))
	if err != nil {
		return "", "", false
	}
	rawID, rawSecret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", false
	}
	id, err1 := url.QueryUnescape(rawID)
	sec, err2 := url.QueryUnescape(rawSecret)
	if err1 != nil || err2 != nil || id == "" {
		return "", "", false
	}
	return id, sec, true
}

// narrowScopes returns the scopes a request is granted: the requested
// ones in the application's order, or all of them when none are
// requested; ok is false when a requested scope is not the application's.
func narrowScopes(all []string, requested string) ([]string, bool) {
	fields := strings.Fields(requested)
	if len(fields) == 0 {
		return all, true
	}
	for _, s := range fields {
		if !slices.Contains(all, s) {
			return nil, false
		}
	}
	out := make([]string, 0, len(fields))
	for _, s := range all {
		if slices.Contains(fields, s) {
			out = append(out, s)
		}
	}
	return out, true
}

// writeBaselineJSON writes a JSON response of the token endpoint.
func writeBaselineJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encoding failed", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	w.Write(body)
}

// writeBaselineError writes an RFC 6749 §5.2 error.
func writeBaselineError(w http.ResponseWriter, status int, code, description string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="tokenservice", charset="UTF-8"`)
	}
	writeBaselineJSON(w, status, struct {
		Code        string `json:"error"`
		Description string `json:"error_description,omitempty"`
	}{code, description})
}

// defaultScopes is what `tokenservice app create` grants without --scope:
// read access to every scope of the default catalogue, in the order the
// store returns them (by key).
func defaultScopes() []string {
	entries := slices.Clone(scope.Default().Entries)
	slices.SortFunc(entries, func(a, b scope.Entry) int { return strings.Compare(a.Key, b.Key) })
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.Key + ":read"
	}
	return out
}

// runBaseline is "loadgen baseline": serve the Baseline until ctx is done.
func runBaseline(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("loadgen baseline", stderr)
	var (
		cfg        BaselineConfig
		addr       string
		serverKey  string
		alg        string
		scopes     string
		generation int
	)
	fs.StringVar(&addr, "addr", "127.0.0.1:8090", "address to listen on")
	fs.StringVar(&serverKey, "server-key", "", "the service's server key: 64 hex characters (<data-dir>/server.key)")
	fs.StringVar(&cfg.ClientID, "client-id", "", "Client ID of the one application")
	fs.StringVar(&cfg.ClientSecret, "client-secret", "", "its Client Secret")
	fs.StringVar(&alg, "signing-alg", "ES256", "algorithm of the signing key: ES256, RS256 or EdDSA")
	fs.StringVar(&cfg.AccountID, "account", "acme", "the application's account")
	fs.StringVar(&scopes, "scope", strings.Join(defaultScopes(), " "), "the application's scopes, space-separated")
	fs.StringVar(&cfg.Issuer, "issuer", "", `"iss" and "aud" of the tokens (default http://<addr>)`)
	fs.StringVar(&cfg.Region, "region", "us", "region claim")
	fs.DurationVar(&cfg.TTL, "token-ttl", time.Hour, "lifetime of the tokens")
	fs.IntVar(&generation, "generation", 1, "secret generation claim")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	k, err := hex.DecodeString(strings.TrimSpace(serverKey))
	if err != nil || len(k) != secret.KeySize {
		return errors.New("baseline: --server-key must be 64 hex characters")
	}
	cfg.ServerKey = k
	if cfg.Algorithm, err = token.ParseAlgorithm(alg); err != nil {
		return fmt.Errorf("baseline: --signing-alg: %w", err)
	}
	cfg.Scopes = strings.Fields(scopes)
	cfg.Generation = generation
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	if cfg.Issuer == "" {
		cfg.Issuer = "http://" + ln.Addr().String()
	}
	b, err := NewBaseline(cfg)
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{Handler: b.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "baseline token endpoint on http://%s/oauth2/token (%s)\n", ln.Addr(), cfg.Algorithm)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}
