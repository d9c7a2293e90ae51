// Package token issues and verifies the service's access tokens: JWTs in the
// RFC 9068 profile ("typ": "at+jwt"), signed with the service's own
// asymmetric keys (ES256 by default, RS256 and EdDSA selectable).
//
// The package knows keys and claims; where keys are stored and which one is
// current is the Keyring's business, and who may have a token is the token
// endpoint's.
package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Type is the "typ" header of every access token (RFC 9068 §2.1).
const Type = "at+jwt"

// Algorithm is a JWS signing algorithm the service can sign with.
type Algorithm string

// The algorithms. ES256 is the default: its signatures are the cheapest of
// the three to make that every JOSE library verifies.
const (
	ES256 Algorithm = "ES256"
	RS256 Algorithm = "RS256"
	EdDSA Algorithm = "EdDSA"
)

// Algorithms lists every supported algorithm.
var Algorithms = []Algorithm{ES256, RS256, EdDSA}

// ParseAlgorithm returns the algorithm named s.
func ParseAlgorithm(s string) (Algorithm, error) {
	for _, a := range Algorithms {
		if strings.EqualFold(s, string(a)) {
			return a, nil
		}
	}
	return "", fmt.Errorf("unknown signing algorithm %q (want ES256, RS256 or EdDSA)", s)
}

// Key is one signing key pair.
type Key struct {
	ID        string // "kid": the RFC 7638 thumbprint of the public key
	Algorithm Algorithm
	Private   crypto.Signer
}

// GenerateKey makes a new key pair for alg: P-256, RSA 2048 or Ed25519.
func GenerateKey(alg Algorithm) (*Key, error) {
	var (
		priv crypto.Signer
		err  error
	)
	switch alg {
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RS256:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("token: generate key: unknown algorithm %q", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("token: generate key: %w", err)
	}
	return newKey(alg, priv)
}

func newKey(alg Algorithm, priv crypto.Signer) (*Key, error) {
	if !keyFits(alg, priv.Public()) {
		return nil, fmt.Errorf("token: key of type %T cannot sign %s", priv, alg)
	}
	jwk := jose.JSONWebKey{Key: priv.Public()}
	thumb, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("token: key thumbprint: %w", err)
	}
	return &Key{ID: base64.RawURLEncoding.EncodeToString(thumb), Algorithm: alg, Private: priv}, nil
}

// keyFits reports whether pub is the kind of key alg signs with.
func keyFits(alg Algorithm, pub crypto.PublicKey) bool {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		return alg == ES256 && k.Curve == elliptic.P256()
	case *rsa.PublicKey:
		return alg == RS256 && k.N.BitLen() >= 2048
	case ed25519.PublicKey:
		return alg == EdDSA
	}
	return false
}

// MarshalPrivate returns the private key as PKCS #8 DER, for storage
// (encrypted: see Keyring).
func (k *Key) MarshalPrivate() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k.Private)
	if err != nil {
		return nil, fmt.Errorf("token: marshal key %s: %w", k.ID, err)
	}
	return der, nil
}

// ParsePrivate is the inverse of MarshalPrivate. The key ID is recomputed
// from the key, so a stored row cannot name another key's ID.
func ParsePrivate(alg Algorithm, der []byte) (*Key, error) {
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("token: parse key: %w", err)
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("token: parse key: %T is not a signing key", priv)
	}
	return newKey(alg, signer)
}

// PublicJWK is the key as the JWKS publishes it.
func (k *Key) PublicJWK() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.Private.Public(), KeyID: k.ID, Algorithm: string(k.Algorithm), Use: "sig"}
}

// Claims are the claims of an access token (RFC 9068 §2.2) plus the
// service's own: the account, the region, the generation of the client
// secret the token was issued under, which retires the token when the
// secret is reset, and the credential, which retires it when that is revoked.
type Claims struct {
	Issuer           string   `json:"iss"`
	Subject          string   `json:"sub"`
	Audience         Audience `json:"aud"`
	ClientID         string   `json:"client_id"`
	AccountID        string   `json:"account_id"`
	Region           string   `json:"region,omitempty"`
	SecretGeneration int      `json:"secret_generation"`
	Credential       string   `json:"cred,omitempty"` // none in tokens issued before credentials
	Scope            string   `json:"scope,omitempty"`
	IssuedAt         int64    `json:"iat"`
	NotBefore        int64    `json:"nbf"`
	Expiry           int64    `json:"exp"`
	ID               string   `json:"jti"`
}

// Audience is the "aud" claim: one string when it has one value (as most
// resource servers expect), an array otherwise (RFC 7519 §4.1.3).
type Audience []string

// MarshalJSON writes a single audience as a string.
func (a Audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

// UnmarshalJSON reads a string or an array of strings.
func (a *Audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = Audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New(`"aud" is neither a string nor an array of strings`)
	}
	*a = many
	return nil
}

// NewID returns a fresh "jti": 128 random bits, base64url.
func NewID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Signer signs access tokens with one key.
type Signer struct {
	key    *Key
	signer jose.Signer
}

// NewSigner returns a Signer for key; its tokens carry the key's "kid" and
// "typ": "at+jwt".
func NewSigner(key *Key) (*Signer, error) {
	s, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.SignatureAlgorithm(key.Algorithm), Key: jose.JSONWebKey{Key: key.Private, KeyID: key.ID}},
		(&jose.SignerOptions{}).WithType(Type),
	)
	if err != nil {
		return nil, fmt.Errorf("token: signer for key %s: %w", key.ID, err)
	}
	return &Signer{key: key, signer: s}, nil
}

// Key is the key the Signer signs with.
func (s *Signer) Key() *Key { return s.key }

// Sign returns the compact serialization of a token carrying c.
func (s *Signer) Sign(c *Claims) (string, error) {
	payload, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("token: sign: %w", err)
	}
	jws, err := s.signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("token: sign: %w", err)
	}
	return jws.CompactSerialize()
}

// ErrInvalid is every reason a token does not verify: malformed, wrong type,
// unknown key, bad signature, wrong issuer, expired or not yet valid. The
// reasons are not told apart to whoever presented the token.
var ErrInvalid = errors.New("token: invalid")

// ErrUnknownKey is ErrInvalid for a token whose "kid" names no key the
// verifier has; a Keyring reloads its keys before it believes that.
var ErrUnknownKey = fmt.Errorf("%w: unknown key", ErrInvalid)

// Leeway is the clock skew allowed between replicas when checking "nbf".
// "exp" is checked strictly: a token is inactive from its expiry on.
const Leeway = 30 * time.Second

// MaxLength is the longest token Verify parses; an RS256 token is about
// 600 bytes, so anything near this is not one of ours.
const MaxLength = 4096

var signatureAlgorithms = []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.EdDSA}

// Verify parses raw, checks its type, its signature against the key its
// "kid" names (lookup returns nil for a key it does not know), its issuer
// and its validity period at now, and returns its claims.
func Verify(raw, issuer string, lookup func(kid string) *Key, now time.Time) (*Claims, error) {
	if len(raw) > MaxLength {
		return nil, fmt.Errorf("%w: too long", ErrInvalid)
	}
	jws, err := jose.ParseSignedCompact(raw, signatureAlgorithms)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if len(jws.Signatures) != 1 {
		return nil, fmt.Errorf("%w: want one signature", ErrInvalid)
	}
	h := jws.Signatures[0].Protected
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(typ, Type) && !strings.EqualFold(typ, "application/"+Type) {
		return nil, fmt.Errorf("%w: typ %q", ErrInvalid, typ)
	}
	key := lookup(h.KeyID)
	if key == nil {
		return nil, ErrUnknownKey
	}
	if string(key.Algorithm) != h.Algorithm {
		return nil, fmt.Errorf("%w: algorithm %q is not the key's", ErrInvalid, h.Algorithm)
	}
	payload, err := jws.Verify(key.Private.Public())
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	var c Claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, fmt.Errorf("%w: claims: %v", ErrInvalid, err)
	}
	if c.Issuer != issuer {
		return nil, fmt.Errorf("%w: issuer %q", ErrInvalid, c.Issuer)
	}
	t := now.Unix()
	if c.Expiry == 0 || t >= c.Expiry {
		return nil, fmt.Errorf("%w: expired", ErrInvalid)
	}
	if t+int64(Leeway/time.Second) < c.NotBefore {
		return nil, fmt.Errorf("%w: not yet valid", ErrInvalid)
	}
	if c.ClientID == "" || c.AccountID == "" || c.ID == "" {
		return nil, fmt.Errorf("%w: missing claims", ErrInvalid)
	}
	return &c, nil
}
