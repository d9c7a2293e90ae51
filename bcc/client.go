package bcc

import (
	"net/url"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// client is a configured relying party as zitadel's op.Client sees it. A client with a secret
// is confidential (client_secret_basic or client_secret_post at the token endpoint); one
// without is public and must use PKCE with S256.
type client struct {
	id                     string
	name                   string
	secret                 string
	redirectURIs           []string
	postLogoutRedirectURIs []string
	loginURL               string // path of the login page, e.g. "/login"
}

var _ op.Client = (*client)(nil)

func newClient(c Client) *client {
	return &client{
		id:                     c.ID,
		name:                   c.Name,
		secret:                 c.Secret,
		redirectURIs:           slices.Clone(c.RedirectURIs),
		postLogoutRedirectURIs: slices.Clone(c.PostLogoutRedirectURIs),
	}
}

func (c *client) public() bool { return c.secret == "" }

func (c *client) GetID() string                    { return c.id }
func (c *client) RedirectURIs() []string           { return c.redirectURIs }
func (c *client) PostLogoutRedirectURIs() []string { return c.postLogoutRedirectURIs }

// ApplicationType is web for confidential clients (http redirect URIs allowed with the code
// flow) and native for public ones (loopback http redirect URIs allowed).
func (c *client) ApplicationType() op.ApplicationType {
	if c.public() {
		return op.ApplicationTypeNative
	}
	return op.ApplicationTypeWeb
}

// AuthMethod is client_secret_basic for confidential clients; zitadel also accepts the
// credentials in the form body (client_secret_post) because the provider enables AuthMethodPost.
func (c *client) AuthMethod() oidc.AuthMethod {
	if c.public() {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}

func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}

func (c *client) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeCode}
}

func (c *client) LoginURL(authRequestID string) string {
	return c.loginURL + "?" + url.Values{"authRequestID": {authRequestID}}.Encode()
}

func (c *client) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeBearer }
func (c *client) IDTokenLifetime() time.Duration       { return idTokenLifetime }
func (c *client) DevMode() bool                        { return false }
func (c *client) ClockSkew() time.Duration             { return 0 }
func (c *client) IsScopeAllowed(scope string) bool     { return scope == scopeGroups }
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }

func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(scopes []string) []string { return scopes }
}

func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(scopes []string) []string { return scopes }
}

// authRequest is one authorization request between /authorize and the code exchange.
type authRequest struct {
	ID            string
	CreatedAt     time.Time
	ClientID      string
	RedirectURI   string
	State         string
	Nonce         string
	Scopes        []string
	ResponseType  oidc.ResponseType
	ResponseMode  oidc.ResponseMode
	Prompt        []string
	MaxAge        *time.Duration
	LoginHint     string
	HintSubject   string // the subject of the id_token_hint, if one was sent
	CodeChallenge *oidc.CodeChallenge
	Browser       string // browserHash of the browser that started it

	Subject      string
	AuthTime     time.Time
	IsDone       bool
	CodeIssuedAt time.Time
}

var _ op.AuthRequest = (*authRequest)(nil)

func (a *authRequest) clone() *authRequest {
	c := *a
	c.Scopes = slices.Clone(a.Scopes)
	c.Prompt = slices.Clone(a.Prompt)
	return &c
}

func (a *authRequest) GetID() string                         { return a.ID }
func (a *authRequest) GetACR() string                        { return "" }
func (a *authRequest) GetAudience() []string                 { return []string{a.ClientID} }
func (a *authRequest) GetAuthTime() time.Time                { return a.AuthTime }
func (a *authRequest) GetClientID() string                   { return a.ClientID }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge { return a.CodeChallenge }
func (a *authRequest) GetNonce() string                      { return a.Nonce }
func (a *authRequest) GetRedirectURI() string                { return a.RedirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType    { return a.ResponseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode    { return a.ResponseMode }
func (a *authRequest) GetScopes() []string                   { return a.Scopes }
func (a *authRequest) GetState() string                      { return a.State }
func (a *authRequest) GetSubject() string                    { return a.Subject }
func (a *authRequest) Done() bool                            { return a.IsDone }

func (a *authRequest) GetAMR() []string {
	if a.IsDone {
		return []string{"pwd"}
	}
	return nil
}

// needsLogin reports whether the request demands a fresh password entry even though the
// browser has a session that authenticated subject at authTime: prompt=login, an exceeded
// max_age, or an id_token_hint naming someone else.
func (a *authRequest) needsLogin(subject string, authTime time.Time) bool {
	if slices.Contains(a.Prompt, oidc.PromptLogin) {
		return true
	}
	if a.MaxAge != nil && time.Since(authTime) >= *a.MaxAge {
		return true
	}
	return a.HintSubject != "" && a.HintSubject != subject
}

func (a *authRequest) promptNone() bool {
	return slices.Contains(a.Prompt, oidc.PromptNone)
}
