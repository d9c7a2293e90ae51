package secret

import (
	"bytes"
	"strings"
	"testing"
)

func testKeys(t *testing.T, fill byte) *Keys {
	t.Helper()
	k, err := NewKeys(bytes.Repeat([]byte{fill}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestNew(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		s := New()
		if got, want := len(s), Len; got != want {
			t.Fatalf("len(%q) = %d, want %d", s, got, want)
		}
		if !strings.HasPrefix(s, Prefix) {
			t.Fatalf("%q lacks prefix %q", s, Prefix)
		}
		if !WellFormed(s) {
			t.Fatalf("WellFormed(%q) = false", s)
		}
		if seen[s] {
			t.Fatalf("duplicate secret %q", s)
		}
		seen[s] = true
	}
}

func TestWellFormed(t *testing.T) {
	good := New()
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b)
	}
	for _, tt := range []struct {
		name string
		in   string
		want bool
	}{
		{"Good", good, true},
		{"Empty", "", false},
		{"NoPrefix", "xxx_" + good[4:], false},
		{"Short", good[:len(good)-1], false},
		{"Long", good + "a", false},
		{"TypoInBody", flip(good, 10), false},
		{"TypoInChecksum", flip(good, len(good)-1), false},
		{"BadAlphabet", good[:10] + "-" + good[11:], false},
		{"Whitespace", " " + good[1:], false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := WellFormed(tt.in); got != tt.want {
				t.Fatalf("WellFormed(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestClientID(t *testing.T) {
	a, b := NewClientID(), NewClientID()
	if a == b {
		t.Fatal("two client IDs are equal")
	}
	for _, id := range []string{a, b} {
		if !ValidClientID(id) {
			t.Fatalf("ValidClientID(%q) = false", id)
		}
	}
	for _, bad := range []string{"", "abc", strings.Repeat("A", 26), strings.Repeat("a", 25) + "/", strings.Repeat("a", 27)} {
		if ValidClientID(bad) {
			t.Errorf("ValidClientID(%q) = true", bad)
		}
	}
}

func TestHashVerify(t *testing.T) {
	k := testKeys(t, 1)
	s := New()
	h := k.Hash(s)
	if !k.Verify(s, h) {
		t.Fatal("Verify(own hash) = false")
	}
	if k.Verify(New(), h) {
		t.Fatal("Verify(other secret) = true")
	}
	if testKeys(t, 2).Verify(s, h) {
		t.Fatal("Verify under another server key = true")
	}
	if bytes.Contains(h, []byte(s)) {
		t.Fatal("hash contains the secret")
	}
}

func TestEncryptDecrypt(t *testing.T) {
	k := testKeys(t, 1)
	s := New()
	ct := k.Encrypt(s, "client-a")
	if bytes.Contains(ct, []byte(s)) {
		t.Fatal("ciphertext contains the plaintext")
	}
	if bytes.Equal(ct, k.Encrypt(s, "client-a")) {
		t.Fatal("two encryptions are equal: nonce reused")
	}
	got, err := k.Decrypt(ct, "client-a")
	if err != nil || got != s {
		t.Fatalf("Decrypt = %q, %v; want %q", got, err, s)
	}
	t.Run("OtherClientID", func(t *testing.T) {
		if _, err := k.Decrypt(ct, "client-b"); err != ErrDecrypt {
			t.Fatalf("err = %v, want ErrDecrypt", err)
		}
	})
	t.Run("OtherKey", func(t *testing.T) {
		if _, err := testKeys(t, 2).Decrypt(ct, "client-a"); err != ErrDecrypt {
			t.Fatalf("err = %v, want ErrDecrypt", err)
		}
	})
	t.Run("Tampered", func(t *testing.T) {
		bad := append([]byte(nil), ct...)
		bad[len(bad)-1] ^= 1
		if _, err := k.Decrypt(bad, "client-a"); err != ErrDecrypt {
			t.Fatalf("err = %v, want ErrDecrypt", err)
		}
	})
	t.Run("Short", func(t *testing.T) {
		if _, err := k.Decrypt([]byte{1, 2}, "client-a"); err != ErrDecrypt {
			t.Fatalf("err = %v, want ErrDecrypt", err)
		}
	})
}

func TestNewKeysSize(t *testing.T) {
	if _, err := NewKeys(make([]byte, 16)); err == nil {
		t.Fatal("NewKeys(16 bytes) succeeded")
	}
}

func FuzzWellFormed(f *testing.F) {
	f.Add(New())
	f.Add("tss_")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		if WellFormed(s) && (len(s) != Len || !strings.HasPrefix(s, Prefix)) {
			t.Fatalf("WellFormed(%q) = true for a bad shape", s)
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	k, _ := NewKeys(make([]byte, KeySize))
	s := New()
	h := k.Hash(s)
	for b.Loop() {
		k.Verify(s, h)
	}
}
