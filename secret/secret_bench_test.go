package secret

import "testing"

// BenchmarkCheck is the token endpoint's whole secret check: the shape and
// checksum of the presented secret (WellFormed, which refuses typos and
// garbage before any key is touched), then the constant-time keyed-hash
// comparison with the stored hash. No slow password hash: the secret has
// 256 bits of entropy.
func BenchmarkCheck(b *testing.B) {
	k, err := NewKeys(make([]byte, KeySize))
	if err != nil {
		b.Fatal(err)
	}
	s := New()
	h := k.Hash(s)
	b.ReportAllocs()
	for b.Loop() {
		if !WellFormed(s) || !k.Verify(s, h) {
			b.Fatal("the secret does not check")
		}
	}
}

// BenchmarkWellFormed is the shape and checksum check alone.
func BenchmarkWellFormed(b *testing.B) {
	s := New()
	b.ReportAllocs()
	for b.Loop() {
		if !WellFormed(s) {
			b.Fatal("not well formed")
		}
	}
}
