package token_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"tokenservice"
	"tokenservice/db"
	"tokenservice/token"
)

const issuer = "https://us.tokens.example.com"

func openStore(t *testing.T) *db.DB {
	t.Helper()
	store, err := db.Open(context.Background(), filepath.Join(t.TempDir(), "ts.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

func serverKey(b byte) []byte {
	k := make([]byte, 32)
	for i := range k {
		k[i] = b
	}
	return k
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newKeyring(t *testing.T, store *db.DB, key []byte, clk *clock) *token.Keyring {
	t.Helper()
	kr, err := token.NewKeyring(store, key, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	kr.SetClock(clk.now)
	return kr
}

func sign(t *testing.T, kr *token.Keyring, now time.Time) (string, string) {
	t.Helper()
	s, err := kr.Signer(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := s.Sign(&token.Claims{Issuer: issuer, Subject: "c", Audience: token.Audience{issuer}, ClientID: "c",
		AccountID: "acme", IssuedAt: now.Unix(), NotBefore: now.Unix(), Expiry: now.Add(time.Hour).Unix(), ID: token.NewID()})
	if err != nil {
		t.Fatal(err)
	}
	return raw, s.Key().ID
}

func jwksKids(t *testing.T, kr *token.Keyring) []string {
	t.Helper()
	body, _, err := kr.JWKS(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatalf("jwks %s: %v", body, err)
	}
	var kids []string
	for _, k := range set.Keys {
		if !k.IsPublic() {
			t.Fatalf("the JWKS publishes a private key: %s", body)
		}
		kids = append(kids, k.KeyID)
	}
	return kids
}

func TestKeyringLifecycle(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	clk := &clock{t: time.Now()}
	kr := newKeyring(t, store, serverKey(1), clk)

	if alg, err := kr.Ensure(ctx, token.ES256); err != nil || alg != token.ES256 {
		t.Fatalf("Ensure = %s, %v", alg, err)
	}
	oldToken, oldKid := sign(t, kr, clk.now())
	// A second start (or replica) keeps the key.
	kr2 := newKeyring(t, store, serverKey(1), clk)
	if _, err := kr2.Ensure(ctx, token.ES256); err != nil {
		t.Fatal(err)
	}
	if _, kid := sign(t, kr2, clk.now()); kid != oldKid {
		t.Fatalf("a second start made a new key %s, want %s", kid, oldKid)
	}

	// Another process rotates; this keyring sees it within RefreshInterval.
	newKey, err := kr2.Rotate(ctx, token.RS256)
	if err != nil {
		t.Fatal(err)
	}
	if _, kid := sign(t, kr, clk.now()); kid != oldKid {
		t.Fatalf("reloaded before the refresh interval")
	}
	clk.add(token.RefreshInterval)
	newToken, kid := sign(t, kr, clk.now())
	if kid != newKey.ID {
		t.Fatalf("signs with %s after the rotation, want %s", kid, newKey.ID)
	}
	if got := jwksKids(t, kr); len(got) != 2 || got[0] != newKey.ID || got[1] != oldKid {
		t.Fatalf("JWKS kids = %v, want [%s %s]", got, newKey.ID, oldKid)
	}
	for _, raw := range []string{oldToken, newToken} {
		if _, err := kr.Verify(ctx, raw, issuer); err != nil {
			t.Fatalf("verify after rotation: %v", err)
		}
	}

	// Once every token of the old key has expired, it leaves the JWKS and
	// the store.
	clk.add(time.Hour + token.Leeway + token.RefreshInterval)
	if got := jwksKids(t, kr); len(got) != 1 || got[0] != newKey.ID {
		t.Fatalf("JWKS kids = %v after the old key's tokens expired, want [%s]", got, newKey.ID)
	}
	if n, err := kr.Prune(ctx); err != nil || n != 1 {
		t.Fatalf("Prune = %d, %v; want 1", n, err)
	}
	stored, _ := store.SigningKeys(ctx)
	if len(stored) != 1 {
		t.Fatalf("%d keys stored, want 1", len(stored))
	}

	// A restart configured for another algorithm keeps the rotated key
	// (replicas with different settings must not rotate back and forth)
	// and says which algorithm is current.
	kr3 := newKeyring(t, store, serverKey(1), clk)
	if alg, err := kr3.Ensure(ctx, token.EdDSA); err != nil || alg != token.RS256 {
		t.Fatalf("Ensure(EdDSA) after a rotation to RS256 = %s, %v; want RS256", alg, err)
	}
	if s, _ := kr3.Signer(ctx); s.Key().ID != newKey.ID {
		t.Fatalf("signs with %s, want the rotated key %s", s.Key().ID, newKey.ID)
	}
}

func TestKeyringStoredEncrypted(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	clk := &clock{t: time.Now()}
	kr := newKeyring(t, store, serverKey(1), clk)
	if _, err := kr.Ensure(ctx, token.ES256); err != nil {
		t.Fatal(err)
	}
	s, _ := kr.Signer(ctx)
	der, _ := s.Key().MarshalPrivate()
	stored, _ := store.SigningKeys(ctx)
	if len(stored) != 1 || strings.Contains(string(stored[0].Ciphertext), string(der)) {
		t.Fatal("the private key is stored in the clear")
	}
	// Under another server key the stored key cannot be opened: a clear
	// error, not a new key silently replacing it.
	other := newKeyring(t, store, serverKey(2), clk)
	_, err := other.Ensure(ctx, token.ES256)
	if err == nil || !strings.Contains(err.Error(), "server key") {
		t.Fatalf("Ensure under another server key = %v, want an error naming the server key", err)
	}
	// Nor can it rotate: nothing is written.
	if _, err := other.Rotate(ctx, token.ES256); err == nil {
		t.Fatal("Rotate under another server key succeeded")
	}
	if after, _ := store.SigningKeys(ctx); len(after) != 1 || after[0].ID != s.Key().ID || !after[0].RetiredAt.IsZero() {
		t.Fatalf("a refused rotation changed the keys: %+v", after)
	}
}

// TestKeyringUnknownKid: a token signed by a key another process made a
// moment ago verifies at once, without waiting for the refresh interval.
func TestKeyringUnknownKid(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	clk := &clock{t: time.Now()}
	verifier := newKeyring(t, store, serverKey(1), clk)
	if _, err := verifier.Ensure(ctx, token.ES256); err != nil {
		t.Fatal(err)
	}
	signer := newKeyring(t, store, serverKey(1), clk)
	if _, err := signer.Rotate(ctx, token.ES256); err != nil {
		t.Fatal(err)
	}
	clk.add(200 * time.Millisecond) // well within RefreshInterval
	raw, _ := sign(t, signer, clk.now())
	if _, err := verifier.Verify(ctx, raw, issuer); err != nil {
		t.Fatalf("a token of a key rotated elsewhere a moment ago: %v", err)
	}
}

func TestKeyringConcurrentFirstStart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "ts.db")
	var wg sync.WaitGroup
	kids := make([]string, 4)
	for i := range kids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			store, err := db.Open(ctx, path)
			if err != nil {
				t.Error(err)
				return
			}
			defer store.Close()
			kr, _ := token.NewKeyring(store, serverKey(1), time.Hour)
			if _, err := kr.Ensure(ctx, token.ES256); err != nil {
				t.Error(err)
				return
			}
			s, _ := kr.Signer(ctx)
			kids[i] = s.Key().ID
		}()
	}
	wg.Wait()
	for _, k := range kids[1:] {
		if k != kids[0] {
			t.Fatalf("replicas starting together made different keys: %v", kids)
		}
	}
}

// failingStore is a real store whose reads can be made to fail, as when the
// database is unreachable.
type failingStore struct {
	*db.DB
	fail bool
}

func (s *failingStore) SigningKeys(ctx context.Context) ([]tokenservice.SigningKey, error) {
	if s.fail {
		return nil, errors.New("database is unreachable")
	}
	return s.DB.SigningKeys(ctx)
}

// TestKeyringReloadFails: while the keys cannot be reloaded the keyring
// keeps signing with what it has for a while, then stops rather than sign
// with a key that may have been retired and deleted meanwhile.
func TestKeyringReloadFails(t *testing.T) {
	ctx := context.Background()
	store := &failingStore{DB: openStore(t)}
	clk := &clock{t: time.Now()}
	kr, err := token.NewKeyring(store, serverKey(1), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	kr.SetClock(clk.now)
	kr.SetLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if _, err := kr.Ensure(ctx, token.ES256); err != nil {
		t.Fatal(err)
	}
	if _, err := kr.Signer(ctx); err != nil {
		t.Fatal(err)
	}
	store.fail = true
	clk.add(token.RefreshInterval)
	if _, err := kr.Signer(ctx); err != nil {
		t.Fatalf("a failed reload just after the refresh interval: %v", err)
	}
	clk.add(token.Leeway)
	if _, err := kr.Signer(ctx); err == nil {
		t.Fatal("still signing with keys not reloaded for over 30 s")
	}
	store.fail = false
	if _, err := kr.Signer(ctx); err != nil {
		t.Fatalf("after the store is back: %v", err)
	}
}

// TestKeyringRetirementFollowsLongestTTL: a key one replica signed 24-hour
// tokens with stays published 24 hours after its retirement, even for a
// process configured with 1-hour tokens (say, after --token-ttl was
// lowered); a key retired before it signed anything leaves at once.
func TestKeyringRetirementFollowsLongestTTL(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	clk := &clock{t: time.Now()}
	long, _ := token.NewKeyring(store, serverKey(1), 24*time.Hour)
	long.SetClock(clk.now)
	if _, err := long.Ensure(ctx, token.ES256); err != nil {
		t.Fatal(err)
	}
	_, signedKid := sign(t, long, clk.now())

	short := newKeyring(t, store, serverKey(1), clk) // 1-hour tokens
	unused, err := short.Rotate(ctx, token.ES256)    // retires the key long signed with
	if err != nil {
		t.Fatal(err)
	}
	if _, err := short.Rotate(ctx, token.ES256); err != nil { // retires a key nobody signed with
		t.Fatal(err)
	}
	clk.add(time.Minute) // past the margin for clock skew
	kids := jwksKids(t, short)
	if len(kids) != 2 || kids[1] != signedKid {
		t.Fatalf("JWKS kids = %v, want the new key and %s (not %s, which signed nothing)", kids, signedKid, unused.ID)
	}
	clk.add(2 * time.Hour)
	if kids := jwksKids(t, short); len(kids) != 2 || kids[1] != signedKid {
		t.Fatalf("2 hours later: JWKS kids = %v, want %s still there", kids, signedKid)
	}
	if n, _ := short.Prune(ctx); n != 1 {
		t.Fatalf("Prune deleted %d keys, want only the one that signed nothing", n)
	}
	clk.add(22 * time.Hour)
	if kids := jwksKids(t, short); len(kids) != 1 {
		t.Fatalf("24 hours later: JWKS kids = %v, want only the current key", kids)
	}
	if n, _ := short.Prune(ctx); n != 1 {
		t.Fatalf("Prune deleted %d keys 24 hours later, want 1", n)
	}
}
