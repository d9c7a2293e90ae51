package token

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

const issuer = "https://us.tokens.example.com"

func testClaims(now time.Time) *Claims {
	return &Claims{
		Issuer: issuer, Subject: "c1", Audience: Audience{issuer}, ClientID: "c1", AccountID: "acme",
		Region: "us", SecretGeneration: 3, Scope: "forensics:account:read forensics:account:write",
		IssuedAt: now.Unix(), NotBefore: now.Unix(), Expiry: now.Add(time.Hour).Unix(), ID: NewID(),
	}
}

func TestSignVerify(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	for _, alg := range Algorithms {
		t.Run(string(alg), func(t *testing.T) {
			key, err := GenerateKey(alg)
			if err != nil {
				t.Fatal(err)
			}
			s, err := NewSigner(key)
			if err != nil {
				t.Fatal(err)
			}
			want := testClaims(now)
			raw, err := s.Sign(want)
			if err != nil {
				t.Fatal(err)
			}
			header := decodeSegment(t, raw, 0)
			if header["typ"] != "at+jwt" || header["alg"] != string(alg) || header["kid"] != key.ID {
				t.Fatalf("header = %v", header)
			}
			lookup := func(kid string) *Key {
				if kid == key.ID {
					return key
				}
				return nil
			}
			got, err := Verify(raw, issuer, lookup, now.Add(time.Minute))
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if got.ClientID != want.ClientID || got.Scope != want.Scope || got.SecretGeneration != 3 || got.ID != want.ID ||
				len(got.Audience) != 1 || got.Audience[0] != issuer {
				t.Fatalf("claims = %+v, want %+v", got, want)
			}
			// Verified by a standard JOSE library against the public JWK alone.
			jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
			if err != nil {
				t.Fatal(err)
			}
			jwk := key.PublicJWK()
			if _, err := jws.Verify(&jwk); err != nil {
				t.Fatalf("go-jose verify: %v", err)
			}
		})
	}
}

func decodeSegment(t *testing.T, raw string, i int) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestVerifyRefuses(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	key, _ := GenerateKey(ES256)
	other, _ := GenerateKey(ES256)
	signer, _ := NewSigner(key)
	otherSigner, _ := NewSigner(other)
	lookup := func(kid string) *Key {
		if kid == key.ID {
			return key
		}
		return nil
	}
	sign := func(s *Signer, edit func(*Claims)) string {
		c := testClaims(now)
		if edit != nil {
			edit(c)
		}
		raw, err := s.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	good := sign(signer, nil)
	parts := strings.Split(good, ".")
	// An ID token or any other JWT signed with our key is not an access token.
	idSigner, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key.Private, KeyID: key.ID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	payload, _ := json.Marshal(testClaims(now))
	idJWS, _ := idSigner.Sign(payload)
	idToken, _ := idJWS.CompactSerialize()
	// The same claims under a key claiming our kid.
	forged, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: other.Private, KeyID: key.ID}},
		(&jose.SignerOptions{}).WithType(Type))
	forgedJWS, _ := forged.Sign(payload)
	forgedToken, _ := forgedJWS.CompactSerialize()

	for _, tt := range []struct {
		name string
		raw  string
		at   time.Time
	}{
		{"Empty", "", now},
		{"Garbage", "not a token", now},
		{"TooLong", strings.Repeat("a", MaxLength+1), now},
		{"Unsigned", parts[0] + "." + parts[1] + ".", now},
		{"TamperedClaims", parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"`+issuer+`","client_id":"x","account_id":"evil","jti":"j","exp":9999999999}`)) + "." + parts[2], now},
		{"AlgNone", base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt","kid":"`+key.ID+`"}`)) + "." + parts[1] + ".", now},
		{"UnknownKey", sign(otherSigner, nil), now},
		{"ForgedKid", forgedToken, now},
		{"NotAnAccessToken", idToken, now},
		{"OtherIssuer", sign(signer, func(c *Claims) { c.Issuer = "https://uk.tokens.example.com" }), now},
		{"Expired", good, now.Add(time.Hour)},
		{"NotYetValid", good, now.Add(-Leeway - time.Minute)},
		{"NoExpiry", sign(signer, func(c *Claims) { c.Expiry = 0 }), now},
		{"NoAccount", sign(signer, func(c *Claims) { c.AccountID = "" }), now},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Verify(tt.raw, issuer, lookup, tt.at); !errors.Is(err, ErrInvalid) {
				t.Fatalf("Verify = %v, want ErrInvalid", err)
			}
		})
	}
	t.Run("ValidOneSecondBeforeExpiry", func(t *testing.T) {
		if _, err := Verify(good, issuer, lookup, now.Add(time.Hour-time.Second)); err != nil {
			t.Fatal(err)
		}
	})
}

func TestAudience(t *testing.T) {
	for _, tt := range []struct {
		aud  Audience
		json string
	}{
		{Audience{"a"}, `"a"`},
		{Audience{"a", "b"}, `["a","b"]`},
	} {
		b, _ := json.Marshal(tt.aud)
		if string(b) != tt.json {
			t.Errorf("marshal %v = %s, want %s", tt.aud, b, tt.json)
		}
		var back Audience
		if err := json.Unmarshal(b, &back); err != nil || len(back) != len(tt.aud) {
			t.Errorf("unmarshal %s = %v, %v", b, back, err)
		}
	}
	var a Audience
	if err := json.Unmarshal([]byte(`42`), &a); err == nil {
		t.Error("a number is not an audience")
	}
}

func TestPrivateRoundTrip(t *testing.T) {
	for _, alg := range Algorithms {
		key, _ := GenerateKey(alg)
		der, err := key.MarshalPrivate()
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParsePrivate(alg, der)
		if err != nil {
			t.Fatal(err)
		}
		if back.ID != key.ID {
			t.Fatalf("%s: kid %s after round trip, want %s", alg, back.ID, key.ID)
		}
	}
	key, _ := GenerateKey(ES256)
	der, _ := key.MarshalPrivate()
	if _, err := ParsePrivate(RS256, der); err == nil {
		t.Fatal("an EC key was accepted as an RS256 key")
	}
}

func FuzzVerify(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	key, _ := GenerateKey(ES256)
	s, _ := NewSigner(key)
	good, _ := s.Sign(testClaims(now))
	f.Add(good)
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	lookup := func(kid string) *Key {
		if kid == key.ID {
			return key
		}
		return nil
	}
	want, _ := Verify(good, issuer, lookup, now)
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := Verify(raw, issuer, lookup, now)
		if err == nil && !reflect.DeepEqual(c, want) {
			// Whatever else verifies must carry our signature over claims we
			// issued: impossible without the key.
			t.Fatalf("accepted %q as %+v", raw, c)
		}
	})
}

func benchmarkSign(b *testing.B, alg Algorithm) {
	key, _ := GenerateKey(alg)
	s, _ := NewSigner(key)
	c := testClaims(time.Now())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign(c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignES256(b *testing.B) { benchmarkSign(b, ES256) }
func BenchmarkSignRS256(b *testing.B) { benchmarkSign(b, RS256) }
func BenchmarkSignEdDSA(b *testing.B) { benchmarkSign(b, EdDSA) }

func BenchmarkVerifyES256(b *testing.B) {
	key, _ := GenerateKey(ES256)
	s, _ := NewSigner(key)
	now := time.Now()
	raw, _ := s.Sign(testClaims(now))
	lookup := func(string) *Key { return key }
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Verify(raw, issuer, lookup, now); err != nil {
			b.Fatal(err)
		}
	}
}
