package token

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"

	"tokenservice"
	"tokenservice/secret"
)

// KeyStore is where the Keyring keeps its keys.
type KeyStore interface {
	// SigningKeys returns every stored key, the current one first, then the
	// retired ones newest first.
	SigningKeys(ctx context.Context) ([]tokenservice.SigningKey, error)
	// AddSigningKey makes k the current key and retires the current one, in
	// one transaction; with onlyIfNone, only when there is no current key.
	// It reports whether k was added.
	AddSigningKey(ctx context.Context, k tokenservice.SigningKey, onlyIfNone bool, now time.Time) (bool, error)
	// RaiseSigningKeyTTL records that tokens of lifetime ttl are signed
	// with the key; the stored MaxTokenTTL only grows.
	RaiseSigningKeyTTL(ctx context.Context, kid string, ttl time.Duration) error
	// DeleteSigningKeys deletes the retired keys whose tokens all expired
	// before t (retired before t minus their MaxTokenTTL).
	DeleteSigningKeys(ctx context.Context, expiredBefore time.Time) (int, error)
}

// RefreshInterval is how stale the Keyring's copy of the stored keys may
// get: a key rotated by another process (the CLI, another replica) is
// signed with and published within it.
const RefreshInterval = time.Second

// retireMargin is how long past the last possible expiry of its tokens a
// retired key stays published: the refresh interval (another replica may
// sign with it that much later) plus the clock skew between replicas.
const retireMargin = RefreshInterval + Leeway

// Keyring holds the service's signing keys: the current one, which signs,
// and the retired ones, which verify until their tokens expire. The private
// keys are stored encrypted under a key derived from the server key.
type Keyring struct {
	store  KeyStore
	aead   cipher.AEAD
	ttl    time.Duration
	now    func() time.Time
	logger *slog.Logger

	mu    sync.Mutex // serializes reloads
	state atomic.Pointer[keyState]
}

// keyState is one load of the stored keys.
type keyState struct {
	loaded    time.Time
	signer    *Signer
	signerTTL time.Duration   // the current key's stored MaxTokenTTL
	keys      map[string]*Key // every published key by kid
	published []KeyInfo       // current first
	jwks      []byte
}

// KeyInfo describes a stored key for the JWKS and the operator.
type KeyInfo struct {
	ID        string
	Algorithm Algorithm
	CreatedAt time.Time
	RetiredAt time.Time // zero for the current key
	// Until is when a retired key leaves the JWKS and is deleted.
	Until time.Time
}

// Current reports whether the key is the one that signs.
func (k KeyInfo) Current() bool { return k.RetiredAt.IsZero() }

// NewKeyring returns a Keyring over store. tokenTTL is the lifetime of the
// tokens it signs, recorded with the key before the first of them, so that
// every process publishes a retired key until its last token has expired.
func NewKeyring(store KeyStore, serverKey []byte, tokenTTL time.Duration) (*Keyring, error) {
	if len(serverKey) != 32 {
		return nil, errors.New("token: keyring: server key must be 32 bytes")
	}
	k, err := secret.Derive(serverKey, "tokenservice signing keys aes v1")
	if err != nil {
		return nil, fmt.Errorf("token: keyring: %w", err)
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, fmt.Errorf("token: keyring: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("token: keyring: %w", err)
	}
	return &Keyring{store: store, aead: aead, ttl: tokenTTL, now: time.Now, logger: slog.Default()}, nil
}

// SetClock replaces time.Now, for tests.
func (r *Keyring) SetClock(now func() time.Time) { r.now = now }

// SetLogger sets where failed reloads are reported.
func (r *Keyring) SetLogger(l *slog.Logger) { r.logger = l }

// Ensure loads the keys, which must decrypt with the server key, adds a first
// key of alg if there is none (replicas starting together add one between
// them), and returns the current key's algorithm: alg, or the last rotation's.
func (r *Keyring) Ensure(ctx context.Context, alg Algorithm) (Algorithm, error) {
	if err := r.load(ctx); err != nil {
		return "", err
	}
	if s := r.state.Load(); s.signer != nil {
		return s.signer.Key().Algorithm, nil
	}
	if _, err := r.add(ctx, alg, true); err != nil {
		return "", err
	}
	if err := r.load(ctx); err != nil {
		return "", err
	}
	s := r.state.Load()
	if s.signer == nil {
		return "", errors.New("token: no current signing key after adding one")
	}
	return s.signer.Key().Algorithm, nil
}

// Rotate makes a new key of alg the current one; the previous one stays
// published until its tokens expire. It decrypts every stored key first, so a
// rotation under the wrong server key changes nothing.
func (r *Keyring) Rotate(ctx context.Context, alg Algorithm) (*Key, error) {
	if err := r.load(ctx); err != nil {
		return nil, err
	}
	k, err := r.add(ctx, alg, false)
	if err != nil {
		return nil, err
	}
	return k, r.load(ctx)
}

func (r *Keyring) add(ctx context.Context, alg Algorithm, onlyIfNone bool) (*Key, error) {
	k, err := GenerateKey(alg)
	if err != nil {
		return nil, err
	}
	der, err := k.MarshalPrivate()
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, r.aead.NonceSize())
	rand.Read(nonce)
	ct := r.aead.Seal(nonce, nonce, der, aad(k.ID, k.Algorithm))
	now := r.now()
	if _, err := r.store.AddSigningKey(ctx, tokenservice.SigningKey{
		ID: k.ID, Algorithm: string(alg), Ciphertext: ct, CreatedAt: now,
	}, onlyIfNone, now); err != nil {
		return nil, fmt.Errorf("token: add key: %w", err)
	}
	return k, nil
}

func aad(kid string, alg Algorithm) []byte {
	return []byte("tokenservice signing key\x00" + kid + "\x00" + string(alg))
}

// load reads the stored keys and replaces the state. Keys already decrypted
// are reused.
func (r *Keyring) load(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.loadLocked(ctx)
}

func (r *Keyring) loadLocked(ctx context.Context) error {
	stored, err := r.store.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("token: load keys: %w", err)
	}
	now := r.now()
	prev := r.state.Load()
	next := &keyState{loaded: now, keys: map[string]*Key{}}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for _, sk := range stored {
		info := KeyInfo{ID: sk.ID, Algorithm: Algorithm(sk.Algorithm), CreatedAt: sk.CreatedAt, RetiredAt: sk.RetiredAt}
		if !info.Current() {
			info.Until = sk.RetiredAt.Add(sk.MaxTokenTTL + retireMargin)
			if !now.Before(info.Until) {
				continue
			}
		} else if next.signer != nil {
			continue // only the newest current key signs (the store keeps one)
		}
		key := (*Key)(nil)
		if prev != nil {
			key = prev.keys[sk.ID]
		}
		if key == nil {
			if key, err = r.open(sk); err != nil {
				return err
			}
		}
		if info.Current() {
			if next.signer, err = NewSigner(key); err != nil {
				return err
			}
			next.signerTTL = sk.MaxTokenTTL
		}
		next.keys[key.ID] = key
		next.published = append(next.published, info)
		set.Keys = append(set.Keys, key.PublicJWK())
	}
	if next.jwks, err = json.Marshal(set); err != nil {
		return fmt.Errorf("token: jwks: %w", err)
	}
	r.state.Store(next)
	return nil
}

// open decrypts a stored key.
func (r *Keyring) open(sk tokenservice.SigningKey) (*Key, error) {
	alg, err := ParseAlgorithm(sk.Algorithm)
	if err != nil {
		return nil, fmt.Errorf("token: key %s: %w", sk.ID, err)
	}
	ns := r.aead.NonceSize()
	if len(sk.Ciphertext) < ns {
		return nil, fmt.Errorf("token: key %s: ciphertext too short", sk.ID)
	}
	der, err := r.aead.Open(nil, sk.Ciphertext[:ns], sk.Ciphertext[ns:], aad(sk.ID, alg))
	if err != nil {
		return nil, fmt.Errorf("token: signing key %s cannot be decrypted: the server key is not the one it was stored with", sk.ID)
	}
	key, err := ParsePrivate(alg, der)
	if err != nil {
		return nil, err
	}
	if key.ID != sk.ID {
		return nil, fmt.Errorf("token: key %s: stored under another key's id", sk.ID)
	}
	return key, nil
}

// maxStale is how long the keys loaded last may serve while reloading them
// fails: past it the current key may have been retired and deleted
// elsewhere, so nothing is signed or verified until a reload succeeds.
const maxStale = Leeway

// unknownKidReload is the least time between two reloads that a token
// with an unknown "kid" causes (a key rotated by another process a moment
// ago), so made-up kids cannot make the keyring reload all the time.
const unknownKidReload = 100 * time.Millisecond

// current returns the loaded state, reloading it first when it is older
// than RefreshInterval. Only one caller reloads; the others go on with the
// state they have.
func (r *Keyring) current(ctx context.Context) (*keyState, error) {
	s := r.state.Load()
	if s != nil && r.now().Sub(s.loaded) < RefreshInterval {
		return s, nil
	}
	if s == nil {
		if err := r.load(ctx); err != nil {
			return nil, err
		}
		return r.state.Load(), nil
	}
	return r.reload(ctx, s)
}

// reload reloads the state s unless another caller is at it, and returns
// the newest state. A failed reload is logged and keeps s while s is
// younger than maxStale.
func (r *Keyring) reload(ctx context.Context, s *keyState) (*keyState, error) {
	if !r.mu.TryLock() {
		return s, nil
	}
	err := r.loadLocked(ctx)
	r.mu.Unlock()
	if err == nil {
		return r.state.Load(), nil
	}
	r.logger.Error("reload signing keys", "err", err)
	if r.now().Sub(s.loaded) > maxStale {
		return nil, fmt.Errorf("token: signing keys not reloaded for %s: %w", r.now().Sub(s.loaded).Round(time.Second), err)
	}
	return s, nil
}

// Signer returns the signer of the current key.
func (r *Keyring) Signer(ctx context.Context) (*Signer, error) {
	s, err := r.current(ctx)
	if err != nil {
		return nil, err
	}
	if s.signer == nil {
		return nil, errors.New("token: no current signing key")
	}
	if s.signerTTL < r.ttl {
		// Record this lifetime with the key before the first token of it.
		if err := r.store.RaiseSigningKeyTTL(ctx, s.signer.Key().ID, r.ttl); err != nil {
			return nil, fmt.Errorf("token: record the token lifetime of key %s: %w", s.signer.Key().ID, err)
		}
		if err := r.load(ctx); err != nil {
			return nil, err
		}
		if s = r.state.Load(); s.signer == nil || s.signerTTL < r.ttl {
			return nil, errors.New("token: the current signing key changed; try again")
		}
	}
	return s.signer, nil
}

// Verify verifies raw (see the package function Verify) against the
// published keys.
func (r *Keyring) Verify(ctx context.Context, raw, issuer string) (*Claims, error) {
	s, err := r.current(ctx)
	if err != nil {
		return nil, err
	}
	claims, err := Verify(raw, issuer, func(kid string) *Key { return s.keys[kid] }, r.now())
	if errors.Is(err, ErrUnknownKey) && r.now().Sub(s.loaded) >= unknownKidReload {
		// Perhaps a key another process made a moment ago.
		if s, rerr := r.reload(ctx, s); rerr == nil {
			claims, err = Verify(raw, issuer, func(kid string) *Key { return s.keys[kid] }, r.now())
		}
	}
	return claims, err
}

// JWKS returns the JSON Web Key Set of the published public keys, current
// first, and an entity tag for it.
func (r *Keyring) JWKS(ctx context.Context) (body []byte, etag string, err error) {
	s, err := r.current(ctx)
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(s.jwks)
	return s.jwks, `"` + hex.EncodeToString(sum[:8]) + `"`, nil
}

// Published describes the published keys, current first.
func (r *Keyring) Published(ctx context.Context) ([]KeyInfo, error) {
	s, err := r.current(ctx)
	if err != nil {
		return nil, err
	}
	return s.published, nil
}

// Prune deletes the retired keys no token can need any more.
func (r *Keyring) Prune(ctx context.Context) (int, error) {
	return r.store.DeleteSigningKeys(ctx, r.now().Add(-retireMargin))
}
