package token

import (
	"testing"
	"time"
)

// benchmarkVerify verifies one token signed with a key of alg: what
// introspection does for every request.
func benchmarkVerify(b *testing.B, alg Algorithm) {
	key, err := GenerateKey(alg)
	if err != nil {
		b.Fatal(err)
	}
	s, err := NewSigner(key)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	raw, err := s.Sign(testClaims(now))
	if err != nil {
		b.Fatal(err)
	}
	lookup := func(string) *Key { return key }
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Verify(raw, issuer, lookup, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyES256 is in token_test.go.
func BenchmarkVerifyRS256(b *testing.B) { benchmarkVerify(b, RS256) }
func BenchmarkVerifyEdDSA(b *testing.B) { benchmarkVerify(b, EdDSA) }
