// Package secret owns client credentials: generating Client IDs and Client
// Secrets, the keyed hash that verifies a secret, and the encryption that keeps
// a secret's plaintext readable during its reveal window only.
//
// A Client Secret looks like "tss_" + 43 base62 characters (256 random bits) +
// a 6-character base62 CRC-32 of everything before it. The prefix lets secret
// scanners recognise a leaked secret; the checksum lets the token endpoint
// reject a mistyped or made-up secret without a database lookup.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"hash/crc32"
	"math/big"
	"strings"
	"time"

	"tokenservice"
)

// Prefix starts every Client Secret.
const Prefix = "tss_"

const (
	bodyLen     = 43 // base62 digits for 256 bits
	checksumLen = 6  // base62 digits for 32 bits
	// Len is the length of a Client Secret.
	Len = len(Prefix) + bodyLen + checksumLen
)

const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

var clientIDEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewClientID returns a random, URL-safe Client ID of 26 characters (128 bits).
func NewClientID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return clientIDEncoding.EncodeToString(b)
}

// ValidClientID reports whether s has the shape of a Client ID, so that
// malformed input is refused before it reaches the database.
func ValidClientID(s string) bool {
	if len(s) != 26 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// New returns a new Client Secret with 256 bits from crypto/rand.
func New() string {
	b := make([]byte, 32)
	rand.Read(b)
	body := Prefix + base62(b, bodyLen)
	return body + checksum(body)
}

// WellFormed reports whether s has the prefix, length, alphabet and checksum
// of a Client Secret. It does not say whether any application has it.
func WellFormed(s string) bool {
	if len(s) != Len || !strings.HasPrefix(s, Prefix) {
		return false
	}
	for i := len(Prefix); i < len(s); i++ {
		if strings.IndexByte(alphabet, s[i]) < 0 {
			return false
		}
	}
	body := s[:len(s)-checksumLen]
	return hmac.Equal([]byte(checksum(body)), []byte(s[len(body):]))
}

func checksum(body string) string {
	var b [4]byte
	c := crc32.ChecksumIEEE([]byte(body))
	b[0], b[1], b[2], b[3] = byte(c>>24), byte(c>>16), byte(c>>8), byte(c)
	return base62(b[:], checksumLen)
}

// base62 encodes b as a big-endian number in exactly n base62 digits.
func base62(b []byte, n int) string {
	v := new(big.Int).SetBytes(b)
	out := make([]byte, n)
	base := big.NewInt(62)
	mod := new(big.Int)
	for i := n - 1; i >= 0; i-- {
		v.DivMod(v, base, mod)
		out[i] = alphabet[mod.Int64()]
	}
	return string(out)
}

// Keys are the server-side keys derived from the server key: one to hash
// secrets for verification, one to encrypt them for the reveal window.
type Keys struct {
	hash []byte
	aead cipher.AEAD
}

// KeySize is the length of the server key in bytes.
const KeySize = 32

// NewKeys derives the hashing and encryption keys from a 32-byte server key
// with HKDF-SHA-256, each under its own label, so neither key is ever used for
// two purposes.
func NewKeys(serverKey []byte) (*Keys, error) {
	if len(serverKey) != KeySize {
		return nil, fmt.Errorf("secret: server key must be %d bytes, got %d", KeySize, len(serverKey))
	}
	hashKey, err := Derive(serverKey, "tokenservice client secret hmac v1")
	if err != nil {
		return nil, err
	}
	encKey, err := Derive(serverKey, "tokenservice client secret reveal aes-gcm v1")
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Keys{hash: hashKey, aead: aead}, nil
}

// Derive returns a 32-byte key for purpose, derived from the server key.
func Derive(serverKey []byte, purpose string) ([]byte, error) {
	return hkdf.Key(sha256.New, serverKey, nil, purpose, 32)
}

// Hash returns HMAC-SHA-256(secret) under the hashing key. A 256-bit random
// secret needs no slow password hash; the key keeps a stolen database from
// being enough to check guesses.
func (k *Keys) Hash(secret string) []byte {
	m := hmac.New(sha256.New, k.hash)
	m.Write([]byte(secret))
	return m.Sum(nil)
}

// Verify reports, in constant time, whether secret matches hash.
func (k *Keys) Verify(secret string, hash []byte) bool {
	return hmac.Equal(k.Hash(secret), hash)
}

// Encrypt seals secret with AES-256-GCM under a random nonce, bound to the
// application's Client ID so a ciphertext cannot be moved to another row.
func (k *Keys) Encrypt(secret, clientID string) []byte {
	nonce := make([]byte, k.aead.NonceSize())
	rand.Read(nonce)
	return k.aead.Seal(nonce, nonce, []byte(secret), []byte(clientID))
}

// ErrDecrypt means a ciphertext was not made by these keys for this Client ID.
var ErrDecrypt = errors.New("secret: cannot decrypt")

// Decrypt opens a ciphertext made by Encrypt for clientID.
func (k *Keys) Decrypt(ciphertext []byte, clientID string) (string, error) {
	n := k.aead.NonceSize()
	if len(ciphertext) < n {
		return "", ErrDecrypt
	}
	pt, err := k.aead.Open(nil, ciphertext[:n], ciphertext[n:], []byte(clientID))
	if err != nil {
		return "", ErrDecrypt
	}
	return string(pt), nil
}

// NewStored generates a Client Secret for clientID and returns it with what
// the store keeps of it: the keyed hash, and the ciphertext for the reveal
// window ending at revealUntil.
func (k *Keys) NewStored(clientID string, revealUntil time.Time) (string, tokenservice.StoredSecret) {
	s := New()
	return s, tokenservice.StoredSecret{Hash: k.Hash(s), Ciphertext: k.Encrypt(s, clientID), RevealUntil: revealUntil, Hint: tokenservice.SecretHint(s)}
}

// ValidCredentialID reports whether s has the shape of a credential id: 10
// lowercase hex digits, as the store makes them.
func ValidCredentialID(s string) bool {
	if len(s) != 10 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
