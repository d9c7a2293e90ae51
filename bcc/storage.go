package bcc

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

const (
	authRequestLifetime = 30 * time.Minute
	// maxAuthRequests bounds the sign-ins in progress, which anyone can start: past it the
	// oldest makes room, so a flood costs bounded memory and new sign-ins still work.
	maxAuthRequests     = 10_000
	codeLifetime        = 5 * time.Minute
	accessTokenLifetime = time.Hour
	idTokenLifetime     = time.Hour

	scopeGroups = "groups"

	claimAccountID   = "account_id"
	claimAccountName = "account_name"
	claimRoles       = "roles"
	claimGroups      = "groups"
)

var (
	errNotFound    = errors.New("bcc: not found")
	errAlreadyDone = errors.New("bcc: auth request already completed")
)

// storage is the provider's in-memory op.Storage: clients from the configuration, users from
// the directory, and the auth requests, codes and access tokens of the running process.
type storage struct {
	clients map[string]*client
	users   *directory
	key     *signingKey

	mu           sync.Mutex
	authRequests map[string]*authRequest
	codes        map[string]string // code → auth request id
	tokens       map[string]*accessToken
}

var (
	_ op.Storage                   = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest = (*storage)(nil)
)

type accessToken struct {
	id        string
	subject   string
	clientID  string
	scopes    []string
	expiresAt time.Time
}

func newStorage(clients []Client, users *directory, loginPath string) (*storage, error) {
	key, err := newSigningKey()
	if err != nil {
		return nil, err
	}
	s := &storage{
		clients:      make(map[string]*client, len(clients)),
		users:        users,
		key:          key,
		authRequests: make(map[string]*authRequest),
		codes:        make(map[string]string),
		tokens:       make(map[string]*accessToken),
	}
	for _, c := range clients {
		nc := newClient(c)
		nc.loginURL = loginPath
		s.clients[c.ID] = nc
	}
	return s, nil
}

// randomID returns n random bytes, hex-encoded.
func randomID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// CreateAuthRequest stores a validated authorization request. PKCE, when used, must be S256;
// a public client must use it.
func (s *storage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, userID string) (op.AuthRequest, error) {
	c, ok := s.clients[req.ClientID]
	if !ok {
		return nil, oidc.ErrInvalidClient().WithDescription("unknown client")
	}
	if req.CodeChallenge != "" && req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	}
	if c.public() && req.CodeChallenge == "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE (code_challenge with S256) is required for this client")
	}
	browser := browserOf(ctx)
	if browser == "" {
		return nil, errors.New("bcc: auth request not bound to a browser")
	}

	a := &authRequest{
		ID:           randomID(16),
		CreatedAt:    time.Now(),
		ClientID:     req.ClientID,
		RedirectURI:  req.RedirectURI,
		State:        req.State,
		Nonce:        req.Nonce,
		Scopes:       slices.Clone([]string(req.Scopes)),
		ResponseType: req.ResponseType,
		ResponseMode: req.ResponseMode,
		Prompt:       slices.Clone([]string(req.Prompt)),
		LoginHint:    req.LoginHint,
		HintSubject:  userID,
		Browser:      browser,
	}
	if req.MaxAge != nil {
		d := time.Duration(*req.MaxAge) * time.Second
		a.MaxAge = &d
	}
	if req.CodeChallenge != "" {
		a.CodeChallenge = &oidc.CodeChallenge{Challenge: req.CodeChallenge, Method: req.CodeChallengeMethod}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked(time.Now())
	if len(s.authRequests) >= maxAuthRequests {
		s.dropOldestLocked()
	}
	s.authRequests[a.ID] = a
	return a.clone(), nil
}

// dropOldestLocked forgets the oldest auth request and its code.
func (s *storage) dropOldestLocked() {
	var oldest *authRequest
	for _, a := range s.authRequests {
		if oldest == nil || a.CreatedAt.Before(oldest.CreatedAt) {
			oldest = a
		}
	}
	if oldest == nil {
		return
	}
	delete(s.authRequests, oldest.ID)
	for code, id := range s.codes {
		if id == oldest.ID {
			delete(s.codes, code)
		}
	}
}

// sweepLocked forgets expired auth requests, codes and tokens.
func (s *storage) sweepLocked(now time.Time) {
	for id, a := range s.authRequests {
		if now.Sub(a.CreatedAt) > authRequestLifetime {
			delete(s.authRequests, id)
		}
	}
	for code, id := range s.codes {
		if _, ok := s.authRequests[id]; !ok {
			delete(s.codes, code)
		}
	}
	for id, t := range s.tokens {
		if now.After(t.expiresAt) {
			delete(s.tokens, id)
		}
	}
}

func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	a, err := s.authRequest(id)
	if err != nil {
		return nil, err
	}
	return a, nil
}

// authRequest returns a copy of the live auth request with the id.
func (s *storage) authRequest(id string) (*authRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.authRequests[id]
	if !ok || time.Since(a.CreatedAt) > authRequestLifetime {
		return nil, fmt.Errorf("auth request %w", errNotFound)
	}
	return a.clone(), nil
}

// completeAuthRequest marks the auth request as authenticated by the user at authTime, once:
// a completed request is never completed again, for the same user or another. From then on it
// belongs to the browser hash given (the one a sign-in has just set).
func (s *storage) completeAuthRequest(id, subject string, authTime time.Time, browser string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.authRequests[id]
	if !ok || time.Since(a.CreatedAt) > authRequestLifetime {
		return fmt.Errorf("auth request %w", errNotFound)
	}
	if a.IsDone {
		return errAlreadyDone
	}
	a.Subject = subject
	a.AuthTime = authTime
	a.IsDone = true
	a.Browser = browser
	return nil
}

func (s *storage) AuthRequestByCode(_ context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.codes[code]
	if !ok {
		return nil, errors.New("code invalid or already used")
	}
	a, ok := s.authRequests[id]
	if !ok || !a.IsDone || time.Since(a.CodeIssuedAt) > codeLifetime {
		return nil, errors.New("code expired")
	}
	return a.clone(), nil
}

// SaveAuthCode records the code of a completed auth request; a request yields one code, once.
func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.authRequests[id]
	if !ok {
		return fmt.Errorf("auth request %w", errNotFound)
	}
	if !a.IsDone || !a.CodeIssuedAt.IsZero() {
		return errors.New("bcc: auth request not completed or its code already issued")
	}
	a.CodeIssuedAt = time.Now()
	s.codes[code] = id
	return nil
}

// DeleteAuthRequest is called once the code has been exchanged, which makes the code single-use.
func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.authRequests, id)
	for code, requestID := range s.codes {
		if requestID == id {
			delete(s.codes, code)
		}
	}
	return nil
}

func (s *storage) CreateAccessToken(_ context.Context, req op.TokenRequest) (string, time.Time, error) {
	var clientID string
	if a, ok := req.(*authRequest); ok {
		clientID = a.ClientID
	}
	t := &accessToken{
		id:        randomID(16),
		subject:   req.GetSubject(),
		clientID:  clientID,
		scopes:    slices.Clone(req.GetScopes()),
		expiresAt: time.Now().Add(accessTokenLifetime),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[t.id] = t
	return t.id, t.expiresAt, nil
}

// CreateAccessAndRefreshTokens is never reached: no client has the refresh_token grant.
func (s *storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, oidc.ErrUnsupportedGrantType().WithDescription("refresh tokens are not issued")
}

func (s *storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, op.ErrInvalidRefreshToken
}

// TerminateSession ends the user's access tokens for the client; the browser's sign-in
// session is ended by the end_session handler, which can see its cookie.
func (s *storage) TerminateSession(_ context.Context, userID, clientID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, t := range s.tokens {
		if t.subject == userID && t.clientID == clientID {
			delete(s.tokens, id)
		}
	}
	return nil
}

func (s *storage) RevokeToken(_ context.Context, tokenOrTokenID, _, clientID string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[tokenOrTokenID]
	if !ok {
		return nil
	}
	if t.clientID != clientID {
		return oidc.ErrInvalidClient().WithDescription("token was not issued for this client")
	}
	delete(s.tokens, t.id)
	return nil
}

func (s *storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) {
	return s.key, nil
}

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{s.key.SignatureAlgorithm()}, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{&publicKey{s.key}}, nil
}

func (s *storage) GetClientByClientID(_ context.Context, clientID string) (op.Client, error) {
	c, ok := s.clients[clientID]
	if !ok {
		return nil, fmt.Errorf("client %w", errNotFound)
	}
	return c, nil
}

// AuthorizeClientIDSecret checks a confidential client's secret in constant time.
func (s *storage) AuthorizeClientIDSecret(_ context.Context, clientID, clientSecret string) error {
	c, ok := s.clients[clientID]
	if !ok || c.public() {
		return errors.New("invalid client")
	}
	got, want := sha256.Sum256([]byte(clientSecret)), sha256.Sum256([]byte(c.secret))
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		return errors.New("invalid client secret")
	}
	return nil
}

// SetUserinfoFromScopes is deprecated in zitadel/oidc and left empty; SetUserinfoFromRequest
// fills the ID token.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest puts the user's claims into the ID token.
func (s *storage) SetUserinfoFromRequest(_ context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	return s.setUserinfo(info, req.GetSubject(), scopes)
}

// SetUserinfoFromToken answers the userinfo endpoint from the access token's scopes.
func (s *storage) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	s.mu.Lock()
	t, ok := s.tokens[tokenID]
	s.mu.Unlock()
	if !ok || time.Now().After(t.expiresAt) || t.subject != subject {
		return errors.New("access token invalid or expired")
	}
	return s.setUserinfo(info, subject, t.scopes)
}

func (s *storage) SetIntrospectionFromToken(_ context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	s.mu.Lock()
	t, ok := s.tokens[tokenID]
	s.mu.Unlock()
	if !ok || time.Now().After(t.expiresAt) || t.subject != subject || t.clientID != clientID {
		return errors.New("token inactive")
	}
	info := new(oidc.UserInfo)
	if err := s.setUserinfo(info, subject, t.scopes); err != nil {
		return err
	}
	resp.SetUserInfo(info)
	resp.Scope = t.scopes
	resp.ClientID = t.clientID
	resp.Expiration = oidc.FromTime(t.expiresAt)
	return nil
}

// setUserinfo fills info with the user's claims: sub, account_id, account_name and roles
// always; email and email_verified with the email scope; name and preferred_username with the
// profile scope; groups with the groups scope.
func (s *storage) setUserinfo(info *oidc.UserInfo, subject string, scopes []string) error {
	u, ok := s.users.user(subject)
	if !ok {
		return fmt.Errorf("user %w", errNotFound)
	}
	info.Subject = u.Subject
	if u.AccountID != "" {
		info.AppendClaims(claimAccountID, u.AccountID)
		info.AppendClaims(claimAccountName, u.AccountName)
	}
	info.AppendClaims(claimRoles, slices.Clone(u.Roles))
	for _, scope := range scopes {
		switch scope {
		case oidc.ScopeEmail:
			info.Email = u.Email
			info.EmailVerified = true
		case oidc.ScopeProfile:
			info.Name = u.Name
			info.PreferredUsername = u.Email
		case scopeGroups:
			info.AppendClaims(claimGroups, slices.Clone(u.Groups))
		}
	}
	return nil
}

// GetPrivateClaimsFromScopes is used for JWT access tokens, which this provider does not issue.
func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("bcc: private_key_jwt is not supported")
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("bcc: JWT profile grant is not supported")
}

func (s *storage) Health(context.Context) error { return nil }

// signingKey is the RSA key the ID tokens are signed with, generated at start.
type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

func newSigningKey() (*signingKey, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("bcc: generate signing key: %w", err)
	}
	return &signingKey{id: randomID(8), key: key}, nil
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *signingKey) Key() any                                    { return k.key }
func (k *signingKey) ID() string                                  { return k.id }

// publicKey is the signing key as published in the JWKS.
type publicKey struct{ *signingKey }

func (k *publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *publicKey) Use() string                        { return "sig" }
func (k *publicKey) Key() any                           { return &k.key.PublicKey }
