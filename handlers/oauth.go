package handlers

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"tokenservice"
	"tokenservice/ratelimit"
	"tokenservice/secret"
	"tokenservice/token"
)

// TokenStore is what the OAuth endpoints need from the database.
type TokenStore interface {
	Client(ctx context.Context, clientID string) (*tokenservice.Client, error)
	RevokeToken(ctx context.Context, jti, accountID string, expiresAt time.Time) error
	TokenRevoked(ctx context.Context, jti string) (bool, error)
	AddTokenUsage(ctx context.Context, usage []tokenservice.TokenUsage) error
}

// secretHasher makes the keyed hash a client secret is stored as, as
// secret.Keys does.
type secretHasher interface {
	Hash(secret string) []byte
}

// OAuth serves the authorization server: the client credentials grant,
// introspection, revocation, the JWKS and the RFC 8414 metadata, and takes
// reports of leaked client secrets.
type OAuth struct {
	store     TokenStore
	keys      secretHasher
	keyring   *token.Keyring
	issuer    string
	audience  token.Audience
	region    string
	ttl       time.Duration
	supported []string // every OAuth scope of the catalogue
	now       func() time.Time

	// Failed client authentication is limited per source address and per
	// (client, source address) pair; see ratelimit.
	perAddress *ratelimit.Limiter
	perClient  *ratelimit.Limiter
	// Leak reports are limited per source address, every one counted.
	leakReports *ratelimit.Limiter
	// apps acts on leak reports.
	apps    tokenservice.ApplicationService
	usage   *usageCounter
	metrics *Metrics
}

// Failed-authentication limits, per source address and per client ID from
// one address. Guessing a 256-bit secret is hopeless anyway: they keep a
// misbehaving caller from costing the service more than a trickle.
const (
	addressBurst = 30
	addressEvery = 2 * time.Second
	clientBurst  = 10
	clientEvery  = 6 * time.Second
	limiterSize  = 16384
)

func newOAuth(cfg Config, metrics *Metrics) *OAuth {
	aud := token.Audience(cfg.Audience)
	if len(aud) == 0 {
		aud = token.Audience{cfg.PublicURL}
	}
	return &OAuth{
		store: cfg.TokenStore, keys: cfg.ClientSecretKeys, keyring: cfg.SigningKeys,
		issuer: cfg.PublicURL, audience: aud, region: cfg.Region, ttl: cfg.TokenTTL,
		supported: cfg.Catalogue.Supported(), now: cfg.Now,
		perAddress:  ratelimit.New(addressBurst, addressEvery, limiterSize),
		perClient:   ratelimit.New(clientBurst, clientEvery, limiterSize),
		leakReports: ratelimit.New(leakBurst, leakEvery, limiterSize),
		apps:        cfg.Applications,
		usage:       newUsageCounter(),
		metrics:     metrics,
	}
}

// tokenResponse is a successful token response (RFC 6749 §5.1).
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope,omitempty"`
}

// issueToken is POST /oauth2/token: the client credentials grant (RFC 6749 §4.4).
func (o *OAuth) issueToken(c echo.Context) (err error) {
	defer func() {
		if err != nil {
			o.metrics.tokenRefused(err) // every refusal, by reason: see refusalReason
		}
	}()
	req, client, err := o.authenticate(c)
	if err != nil {
		return err
	}
	switch gt := req.Form.Get("grant_type"); gt {
	case "client_credentials":
	case "":
		return invalidRequest("The grant_type parameter is required.")
	default:
		return &oauthError{Status: http.StatusBadRequest, Code: "unsupported_grant_type",
			Description: "Only the client_credentials grant type is supported."}
	}
	scopes, oerr := grantedScopes(client, req.Form.Get("scope"))
	if oerr != nil {
		return oerr
	}
	raw, claims, err := o.mint(c.Request().Context(), client, req.credential.ID, req.ClientSecret, scopes)
	if err != nil {
		return err
	}
	o.metrics.tokenIssued(req.AuthMethod)
	return writeOAuthJSON(c, http.StatusOK, tokenResponse{
		AccessToken: raw, TokenType: "Bearer", ExpiresIn: int64(o.ttl / time.Second), Scope: claims.Scope,
	})
}

// mint signs an access token for client, issued under its credential with
// scopes, and counts it for the Details page. The token endpoint and the
// portal's test token both come here, so their tokens are alike.
func (o *OAuth) mint(ctx context.Context, client *tokenservice.Client, credentialID, presented string, scopes []string) (string, *token.Claims, error) {
	signer, err := o.keyring.Signer(ctx)
	if err != nil {
		return "", nil, err
	}
	now := o.now()
	iat := now.Unix()
	claims := &token.Claims{
		Issuer: o.issuer, Subject: client.ClientID, Audience: o.audience,
		ClientID: client.ClientID, AccountID: client.AccountID, Region: o.region,
		SecretGeneration: client.SecretGeneration, Credential: credentialID, Scope: strings.Join(scopes, " "),
		IssuedAt: iat, NotBefore: iat, Expiry: iat + int64(o.ttl/time.Second), ID: token.NewID(),
	}
	raw, err := signer.Sign(claims)
	if err != nil {
		return "", nil, err
	}
	o.usage.add(client.ApplicationID, client.ClientID, credentialID, presented, now)
	return raw, claims, nil
}

// grantedScopes returns the scopes a token request is granted: the
// requested ones (RFC 6749 §3.3, space-separated), or every scope of the
// client when none are requested, in the order of the client's scopes.
func grantedScopes(client *tokenservice.Client, requested string) ([]string, *oauthError) {
	all := client.OAuthScopes()
	if len(all) == 0 {
		return nil, &oauthError{Status: http.StatusBadRequest, Code: "invalid_scope",
			Description: "The application has no access to any scope. An admin can grant it scopes in the portal."}
	}
	if strings.Trim(requested, " ") == "" {
		return all, nil
	}
	want := map[string]bool{}
	for _, s := range strings.Split(requested, " ") {
		if s == "" {
			continue
		}
		if !validScopeToken(s) || !slices.Contains(all, s) {
			return nil, &oauthError{Status: http.StatusBadRequest, Code: "invalid_scope",
				Description: "The requested scope is not granted to this application: " + quoteParam(s) + "."}
		}
		want[s] = true
	}
	out := make([]string, 0, len(want))
	for _, s := range all {
		if want[s] {
			out = append(out, s)
		}
	}
	return out, nil
}

// revoke is POST /oauth2/revoke (RFC 7009). A client revokes its own
// tokens; for any other token, an invalid or an expired one, the answer is
// the same 200 and nothing changes (§2.2).
func (o *OAuth) revoke(c echo.Context) error {
	caller, raw, err := o.authenticateWithToken(c)
	if err != nil {
		return err
	}
	claims, verr := o.keyring.Verify(c.Request().Context(), raw, o.issuer)
	if verr == nil && claims.ClientID == caller.ClientID && claims.AccountID == caller.AccountID {
		if err := o.store.RevokeToken(c.Request().Context(), claims.ID, claims.AccountID, time.Unix(claims.Expiry, 0)); err != nil {
			return err
		}
	}
	setNoStore(c)
	return c.NoContent(http.StatusOK)
}

// authenticate reads a request to an OAuth endpoint and authenticates its
// client, refusing addresses and clients that failed too often.
func (o *OAuth) authenticate(c echo.Context) (*clientRequest, *tokenservice.Client, error) {
	r := c.Request()
	if r.Method != http.MethodPost {
		c.Response().Header().Set("Allow", http.MethodPost)
		return nil, nil, &oauthError{Status: http.StatusMethodNotAllowed, Code: "invalid_request", Description: "Use POST."}
	}
	addr := limitAddress(c.RealIP())
	now := o.now()
	if wait := o.perAddress.Wait(addr, now); wait > 0 {
		return nil, nil, tooManyFailures(wait)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxOAuthBody+1))
	if err != nil {
		return nil, nil, invalidRequest("The request body could not be read.")
	}
	if len(body) > maxOAuthBody {
		return nil, nil, &oauthError{Status: http.StatusRequestEntityTooLarge, Code: "invalid_request",
			Description: "The request body is larger than " + strconv.Itoa(maxOAuthBody) + " bytes."}
	}
	if len(r.Header.Values("Authorization")) > 1 {
		return nil, nil, invalidRequest("The request includes more than one Authorization header; send one set of credentials.")
	}
	req, oerr := parseClientRequest(r.Header.Get("Content-Type"), r.Header.Get("Authorization"), r.URL.RawQuery, body)
	if oerr != nil {
		if oerr.Code == "invalid_client" {
			o.perAddress.Fail(addr, now)
		}
		return nil, nil, oerr
	}
	// Only well-formed client IDs get a key of their own: a malformed one
	// (any length up to the header limit) shares one per address, so the
	// limiter's memory stays bounded by its size, not by what is sent.
	pairID := req.ClientID
	if !secret.ValidClientID(pairID) {
		pairID = "malformed"
	}
	pair := pairID + "\x00" + addr
	if wait := o.perClient.Wait(pair, now); wait > 0 {
		return nil, nil, tooManyFailures(wait)
	}
	client, cred, err := o.checkCredentials(r.Context(), req.ClientID, req.ClientSecret)
	if err != nil {
		return nil, nil, err
	}
	if client == nil {
		o.perAddress.Fail(addr, now)
		o.perClient.Fail(pair, now)
		return nil, nil, invalidClient("Client authentication failed: unknown client or wrong secret.")
	}
	if !cred.Usable(now) {
		o.perClient.Fail(pair, now)
		if !cred.ExpiresAt.IsZero() && !now.Before(cred.ExpiresAt) {
			return nil, nil, invalidClient("Client authentication failed: the client secret expired on " +
				cred.ExpiresAt.UTC().Format("2 Jan 2006 at 15:04 UTC") + ". An admin can rotate it in the portal.")
		}
		return nil, nil, invalidClient("Client authentication failed: the client secret was revoked after a rotation.")
	}
	req.credential = cred
	return req, client, nil
}

// authenticateWithToken authenticates a request that is about a token
// (introspection, revocation) and returns its caller and the token.
func (o *OAuth) authenticateWithToken(c echo.Context) (*tokenservice.Client, string, error) {
	req, caller, err := o.authenticate(c)
	if err != nil {
		return nil, "", err
	}
	raw := req.Form.Get("token")
	if raw == "" {
		return nil, "", invalidRequest("The token parameter is required.")
	}
	return caller, raw, nil
}

// checkCredentials returns the client and the secret of it that matches, or
// nil if none does. Malformed credentials say nothing about an application,
// so they skip the lookup; an unknown well-formed ID, or a client with one
// secret, costs what a client with two does.
func (o *OAuth) checkCredentials(ctx context.Context, clientID, clientSecret string) (*tokenservice.Client, *tokenservice.ClientSecret, error) {
	if !secret.ValidClientID(clientID) || !secret.WellFormed(clientSecret) {
		return nil, nil, nil
	}
	client, err := o.store.Client(ctx, clientID)
	switch {
	case err == nil:
	case tokenservice.ErrorCode(err) == tokenservice.ENOTFOUND:
		client = nil
	default:
		return nil, nil, err
	}
	hash := o.keys.Hash(clientSecret)
	var match *tokenservice.ClientSecret
	n := tokenservice.MaxLiveSecrets
	if client != nil {
		n = max(n, len(client.Secrets))
	}
	for i := range n {
		stored := unknownClientHash
		if client != nil && i < len(client.Secrets) {
			stored = client.Secrets[i].Hash
		}
		if hmac.Equal(hash, stored) && client != nil && match == nil {
			match = &client.Secrets[i]
		}
	}
	if match == nil {
		return nil, nil, nil
	}
	return client, match, nil
}

// unknownClientHash stands in for the secret hash of a client ID that no
// application has: as long as a real one (HMAC-SHA-256), and matched by no
// secret.
var unknownClientHash = make([]byte, sha256.Size)

// limitAddress is the part of a client address the rate limits count by:
// an IPv4 address, or the /64 network of an IPv6 one (what one subscriber
// usually gets, so its 2^64 addresses share one limit).
func limitAddress(addr string) string { return ratelimit.AddressKey(addr) }

func tooManyFailures(wait time.Duration) *oauthError {
	secs := int((wait + time.Second - 1) / time.Second)
	return &oauthError{Status: http.StatusTooManyRequests, Code: "temporarily_unavailable", RetryAfter: secs,
		Description: "Too many failed authentication attempts. Retry after " + strconv.Itoa(secs) + " seconds."}
}

// onlyGET answers any method but GET and HEAD with 405.
func onlyGET(c echo.Context) error {
	if m := c.Request().Method; m != http.MethodGet && m != http.MethodHead {
		c.Response().Header().Set("Allow", "GET, HEAD")
		return echo.NewHTTPError(http.StatusMethodNotAllowed)
	}
	return nil
}

// jwks is GET /.well-known/jwks.json: the public keys tokens are signed
// with, the current one and those whose tokens may not have expired yet.
func (o *OAuth) jwks(c echo.Context) error {
	if err := onlyGET(c); err != nil {
		return err
	}
	body, etag, err := o.keyring.JWKS(c.Request().Context())
	if err != nil {
		return err
	}
	h := c.Response().Header()
	// Resource servers cache the set; a rotated key signs at once, so
	// verifiers refetch on an unknown "kid" (as go-oidc's does) or at the
	// latest after this max-age.
	h.Set("Cache-Control", "public, max-age=60")
	h.Set("ETag", etag)
	if match := c.Request().Header.Get("If-None-Match"); match != "" && match == etag {
		return c.NoContent(http.StatusNotModified)
	}
	return c.Blob(http.StatusOK, "application/jwk-set+json", body)
}

// serverMetadata is RFC 8414 §2.
type serverMetadata struct {
	Issuer                           string   `json:"issuer"`
	TokenEndpoint                    string   `json:"token_endpoint"`
	JWKSURI                          string   `json:"jwks_uri"`
	IntrospectionEndpoint            string   `json:"introspection_endpoint"`
	RevocationEndpoint               string   `json:"revocation_endpoint"`
	ScopesSupported                  []string `json:"scopes_supported"`
	ResponseTypesSupported           []string `json:"response_types_supported"`
	GrantTypesSupported              []string `json:"grant_types_supported"`
	TokenEndpointAuthMethods         []string `json:"token_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthMethods []string `json:"introspection_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethods    []string `json:"revocation_endpoint_auth_methods_supported"`
	AccessTokenSigningAlgValues      []string `json:"access_token_signing_alg_values_supported,omitempty"`
}

// metadata is GET /.well-known/oauth-authorization-server (RFC 8414).
func (o *OAuth) metadata(c echo.Context) error {
	if err := onlyGET(c); err != nil {
		return err
	}
	methods := []string{authBasic, authPost}
	algs := []string{}
	if keys, err := o.keyring.Published(c.Request().Context()); err == nil {
		for _, k := range keys {
			if !slices.Contains(algs, string(k.Algorithm)) {
				algs = append(algs, string(k.Algorithm))
			}
		}
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	return c.JSON(http.StatusOK, serverMetadata{
		Issuer:                           o.issuer,
		TokenEndpoint:                    o.issuer + "/oauth2/token",
		JWKSURI:                          o.issuer + "/.well-known/jwks.json",
		IntrospectionEndpoint:            o.issuer + "/oauth2/introspect",
		RevocationEndpoint:               o.issuer + "/oauth2/revoke",
		ScopesSupported:                  o.supported,
		ResponseTypesSupported:           []string{},
		GrantTypesSupported:              []string{"client_credentials"},
		TokenEndpointAuthMethods:         methods,
		IntrospectionEndpointAuthMethods: methods,
		RevocationEndpointAuthMethods:    methods,
		AccessTokenSigningAlgValues:      algs,
	})
}

// setNoStore marks a response that must not be cached (RFC 6749 §5.1).
func setNoStore(c echo.Context) {
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
}

// writeOAuthJSON writes a JSON response of the OAuth endpoints.
func writeOAuthJSON(c echo.Context, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	setNoStore(c)
	return c.Blob(status, "application/json;charset=UTF-8", body)
}

// writeOAuthError writes e as RFC 6749 §5.2 prescribes: invalid_client is
// 401 with a WWW-Authenticate challenge for HTTP Basic.
func writeOAuthError(c echo.Context, e *oauthError) error {
	if e.Status == http.StatusUnauthorized {
		c.Response().Header().Set("WWW-Authenticate", `Basic realm="tokenservice", charset="UTF-8"`)
	}
	if e.RetryAfter > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	return writeOAuthJSON(c, e.Status, e)
}
