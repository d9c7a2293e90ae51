package handlers

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"tokenservice"
)

// OIDCConfig says how the portal signs people in through an OpenID Provider
// and how it reads the account and role out of the ID token.
type OIDCConfig struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	RedirectURL  string   // PublicURL + "/auth/callback"
	Scopes       []string // extra scopes beyond openid, email, profile (e.g. "groups")

	// AccountClaim names the claim holding the account: a string or a list.
	// "email_domain" derives the account from the e-mail's domain instead.
	AccountClaim string
	// AccountPrefix, when set, selects the list entry starting with it and
	// strips it (e.g. "account:" with a groups claim).
	AccountPrefix string
	// AccountNameClaim names the claim with the account's display name.
	AccountNameClaim string
	RolesClaim       string // a string or a list
	AdminRole        string // the role value that makes a user an admin
	DefaultRole      string // the role of a user whose token carries none
}

// OIDC is a discovered provider, ready to sign people in.
type OIDC struct {
	cfg        OIDCConfig
	oauth      oauth2.Config
	verifier   *oidc.IDTokenVerifier
	endSession string
}

// NewOIDC discovers the provider at cfg.Issuer.
func NewOIDC(ctx context.Context, cfg OIDCConfig) (*OIDC, error) {
	p, err := oidc.NewProvider(ctx, cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("oidc: discover %s: %w", cfg.Issuer, err)
	}
	var extra struct {
		EndSession string `json:"end_session_endpoint"`
	}
	_ = p.Claims(&extra)
	scopes := []string{oidc.ScopeOpenID, "email", "profile"}
	for _, s := range cfg.Scopes {
		if s != "" && !slices.Contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	return &OIDC{
		cfg: cfg,
		oauth: oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			Endpoint:     p.Endpoint(),
			RedirectURL:  cfg.RedirectURL,
			Scopes:       scopes,
		},
		verifier:   p.Verifier(&oidc.Config{ClientID: cfg.ClientID}),
		endSession: extra.EndSession,
	}, nil
}

// formActionOrigin is the provider's origin, where the logout form's
// redirect goes; "" when the provider has no end-session endpoint.
func (o *OIDC) formActionOrigin() string {
	if o == nil || o.endSession == "" {
		return ""
	}
	u, err := url.Parse(o.endSession)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// userFromClaims builds the portal's user from verified ID-token claims. A
// user whose token names no account gets an empty AccountID (a 403 page).
func (o *OIDC) userFromClaims(claims map[string]any) tokenservice.User {
	str := func(k string) string { s, _ := claims[k].(string); return s }
	u := tokenservice.User{Subject: str("sub"), Email: str("email"), Name: str("name")}
	if u.Name == "" {
		u.Name = u.Email
	}
	if o.cfg.AccountClaim == "email_domain" {
		// Only a verified address may put someone in an account: where
		// users can choose their own e-mail, anyone could claim a domain.
		verified := claims["email_verified"] == true || claims["email_verified"] == "true"
		if i := strings.LastIndex(u.Email, "@"); verified && i > 0 && i < len(u.Email)-1 {
			u.AccountID = strings.ToLower(u.Email[i+1:])
			u.AccountName = u.AccountID
		}
	} else {
		for _, v := range claimValues(claims[o.cfg.AccountClaim]) {
			if o.cfg.AccountPrefix != "" {
				rest, ok := strings.CutPrefix(v, o.cfg.AccountPrefix)
				if !ok {
					continue
				}
				v = rest
			}
			if v = strings.TrimSpace(v); v != "" {
				u.AccountID = v
				break
			}
		}
		u.AccountName = str(o.cfg.AccountNameClaim)
		if u.AccountName == "" {
			u.AccountName = u.AccountID
		}
	}
	roles := claimValues(claims[o.cfg.RolesClaim])
	if len(roles) == 0 && o.cfg.DefaultRole != "" {
		roles = []string{o.cfg.DefaultRole}
	}
	u.Admin = slices.Contains(roles, o.cfg.AdminRole)
	return u
}

// claimValues reads a claim that may be a string or a list of strings.
func claimValues(v any) []string {
	switch v := v.(type) {
	case string:
		if v == "" {
			return nil
		}
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
