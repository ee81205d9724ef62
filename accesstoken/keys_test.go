package accesstoken

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

func TestParseAlg(t *testing.T) {
	for _, s := range []string{"EdDSA", "ES256", "RS256"} {
		if a, err := ParseAlg(s); err != nil || string(a) != s {
			t.Errorf("ParseAlg(%q) = %q, %v", s, a, err)
		}
	}
	for _, s := range []string{"", "Ed25519", "eddsa", "EDDSA", "es256", "none", "None", "HS256", "PS256", "ES384", " EdDSA"} {
		if _, err := ParseAlg(s); !errors.Is(err, ErrUnsupportedAlg) {
			t.Errorf("ParseAlg(%q): %v, want ErrUnsupportedAlg", s, err)
		}
	}
}

func TestGenerateKey(t *testing.T) {
	f := getFixtures(t)
	seen := map[string]bool{}
	for _, k := range append(f.keys(), f.attackerEd, f.attackerES) {
		if len(k.ID) != 22 || strings.Trim(k.ID, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			t.Errorf("kid %q is not 16 bytes of base64url", k.ID)
		}
		if seen[k.ID] {
			t.Errorf("duplicate kid %q", k.ID)
		}
		seen[k.ID] = true
		if err := checkPrivate(k.Alg, k.Private); err != nil {
			t.Errorf("%s: %v", k.Alg, err)
		}
		if !k.CreatedAt.Equal(testNow) {
			t.Errorf("CreatedAt %v", k.CreatedAt)
		}
	}
	if n := f.rs.Public.(*rsa.PublicKey).N.BitLen(); n != 2048 {
		t.Errorf("RSA key of %d bits", n)
	}
	t.Run("Ed25519_is_deterministic_in_the_reader", func(t *testing.T) {
		seed := bytes.Repeat([]byte{7}, 64)
		a, err := GenerateKey(EdDSA, bytes.NewReader(seed), testNow)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := GenerateKey(EdDSA, bytes.NewReader(seed), testNow)
		if a.ID != b.ID || !a.Public.(ed25519.PublicKey).Equal(b.Public) {
			t.Error("same reader, different keys")
		}
	})
	t.Run("unsupported_alg", func(t *testing.T) {
		for _, alg := range []Alg{"", "HS256", "Ed25519", "none"} {
			if _, err := GenerateKey(alg, nil, testNow); !errors.Is(err, ErrUnsupportedAlg) {
				t.Errorf("%q: %v", alg, err)
			}
		}
	})
	t.Run("failing_reader", func(t *testing.T) {
		if _, err := GenerateKey(EdDSA, io.LimitReader(rand.Reader, 4), testNow); err == nil {
			t.Error("no error from a short reader")
		}
	})
}

func TestPrivateKeyRoundTrip(t *testing.T) {
	f := getFixtures(t)
	for _, k := range f.keys() {
		t.Run(string(k.Alg), func(t *testing.T) {
			der, err := k.MarshalPrivate()
			if err != nil {
				t.Fatal(err)
			}
			back, err := ParsePrivateKey(k.ID, k.Alg, der, k.CreatedAt)
			if err != nil {
				t.Fatal(err)
			}
			if back.ID != k.ID || back.Alg != k.Alg || !back.CreatedAt.Equal(k.CreatedAt) {
				t.Errorf("metadata changed: %v", back)
			}
			if !privateEqual(back.Private, k.Private) || !publicEqual(back.Public, k.Public) {
				t.Error("key material changed")
			}
			tok, err := Sign(back, testClaims())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.verifier().Verify(tok); err != nil {
				t.Fatalf("token of the re-parsed key: %v", err)
			}
			// The same DER under every other algorithm is refused.
			for _, other := range []Alg{EdDSA, ES256, RS256} {
				if other == k.Alg {
					continue
				}
				if _, err := ParsePrivateKey(k.ID, other, der, testNow); !errors.Is(err, ErrKey) {
					t.Errorf("as %s: %v, want ErrKey", other, err)
				}
			}
		})
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	for name, tc := range map[string]struct {
		id   string
		alg  Alg
		priv any
		der  []byte
		want error
	}{
		"P384_as_ES256":      {"k1", ES256, p384, nil, ErrKey},
		"RSA1024_as_RS256":   {"k1", RS256, rsa1024, nil, ErrKey},
		"garbage_DER":        {"k1", EdDSA, nil, []byte("not DER"), ErrKey},
		"empty_kid":          {"", EdDSA, f.ed.Private, nil, ErrKey},
		"kid_with_space":     {"a b", EdDSA, f.ed.Private, nil, ErrKey},
		"kid_with_newline":   {"a\n", EdDSA, f.ed.Private, nil, ErrKey},
		"kid_too_long":       {strings.Repeat("k", 257), EdDSA, f.ed.Private, nil, ErrKey},
		"unsupported_alg":    {"k1", "HS256", f.ed.Private, nil, ErrUnsupportedAlg},
		"Ed25519_alg_string": {"k1", "Ed25519", f.ed.Private, nil, ErrUnsupportedAlg},
	} {
		t.Run(name, func(t *testing.T) {
			der := tc.der
			if tc.priv != nil {
				var err error
				if der, err = x509.MarshalPKCS8PrivateKey(tc.priv); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := ParsePrivateKey(tc.id, tc.alg, der, testNow); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("public_only_key_has_nothing_to_marshal", func(t *testing.T) {
		pub, _ := f.ed.publicOnly()
		if _, err := pub.MarshalPrivate(); !errors.Is(err, ErrNoPrivateKey) {
			t.Error(err)
		}
	})
}

func privateEqual(a, b any) bool {
	e, ok := a.(interface{ Equal(crypto.PrivateKey) bool })
	return ok && e.Equal(b)
}

func publicEqual(a, b any) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}

func TestSealOpen(t *testing.T) {
	kek := bytes.Repeat([]byte{0x42}, 32)
	plain := []byte("PKCS#8 DER would go here")
	sealed, err := Seal(kek, "kid-1", plain, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("round_trip", func(t *testing.T) {
		got, err := Open(kek, "kid-1", sealed)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("Open = %q, %v", got, err)
		}
	})
	t.Run("ciphertext_hides_plaintext_and_nonce_is_random", func(t *testing.T) {
		if bytes.Contains(sealed, plain[:8]) {
			t.Error("plaintext visible")
		}
		again, _ := Seal(kek, "kid-1", plain, nil)
		if bytes.Equal(again, sealed) {
			t.Error("two seals are identical")
		}
	})
	t.Run("wrong_kek", func(t *testing.T) {
		other := bytes.Repeat([]byte{0x43}, 32)
		if _, err := Open(other, "kid-1", sealed); !errors.Is(err, ErrSealed) {
			t.Error(err)
		}
	})
	t.Run("wrong_kid_row_swap", func(t *testing.T) {
		for _, kid := range []string{"kid-2", "kid-1 ", "", "KID-1"} {
			if _, err := Open(kek, kid, sealed); !errors.Is(err, ErrSealed) {
				t.Errorf("%q: %v", kid, err)
			}
		}
	})
	t.Run("every_flipped_byte", func(t *testing.T) {
		for i := range sealed {
			c := slices.Clone(sealed)
			c[i] ^= 0x01
			if _, err := Open(kek, "kid-1", c); !errors.Is(err, ErrSealed) {
				t.Fatalf("byte %d flipped: %v", i, err)
			}
		}
	})
	t.Run("every_truncation", func(t *testing.T) {
		for n := range len(sealed) {
			if _, err := Open(kek, "kid-1", sealed[:n]); !errors.Is(err, ErrSealed) {
				t.Fatalf("truncated to %d: %v", n, err)
			}
		}
		if _, err := Open(kek, "kid-1", append(slices.Clone(sealed), 0)); !errors.Is(err, ErrSealed) {
			t.Fatalf("extended: %v", err)
		}
	})
	t.Run("kek_size", func(t *testing.T) {
		for _, n := range []int{0, 16, 24, 31, 33, 64} {
			k := make([]byte, n)
			if _, err := Seal(k, "kid-1", plain, nil); !errors.Is(err, ErrKEK) {
				t.Errorf("Seal with %d-byte kek: %v", n, err)
			}
			if _, err := Open(k, "kid-1", sealed); !errors.Is(err, ErrKEK) {
				t.Errorf("Open with %d-byte kek: %v", n, err)
			}
		}
	})
	t.Run("private_key_round_trip", func(t *testing.T) {
		f := getFixtures(t)
		der, _ := f.ed.MarshalPrivate()
		s, err := Seal(kek, f.ed.ID, der, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der2, err := Open(kek, f.ed.ID, s)
		if err != nil {
			t.Fatal(err)
		}
		k, err := ParsePrivateKey(f.ed.ID, EdDSA, der2, f.ed.CreatedAt)
		if err != nil || !privateEqual(k.Private, f.ed.Private) {
			t.Fatal(err)
		}
	})
}

// TestKeyFormattingHidesPrivateKey prints keys every way a careless caller
// might and looks for any encoding of the private material.
func TestKeyFormattingHidesPrivateKey(t *testing.T) {
	f := getFixtures(t)
	for _, k := range f.keys() {
		t.Run(string(k.Alg), func(t *testing.T) {
			der, err := k.MarshalPrivate()
			if err != nil {
				t.Fatal(err)
			}
			secrets := map[string][]byte{"PKCS8 DER": der}
			switch p := k.Private.(type) {
			case ed25519.PrivateKey:
				secrets["seed"] = p.Seed()
			case *ecdsa.PrivateKey:
				d, _ := p.Bytes()
				secrets["D"] = d
			case *rsa.PrivateKey:
				secrets["D"] = p.D.Bytes()
				secrets["P"] = p.Primes[0].Bytes()
			}
			var outputs []string
			type holder struct {
				Key    Key
				KeyPtr *Key
			}
			for _, v := range []any{k, *k, holder{*k, k}, []*Key{k}, map[string]*Key{"a": k}} {
				for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
					outputs = append(outputs, fmt.Sprintf(verb, v))
				}
				outputs = append(outputs, fmt.Sprintf("%T %v", v, v))
			}
			outputs = append(outputs, k.String(), k.GoString(), fmt.Sprint(k), fmt.Sprintln(*k))
			var logBuf bytes.Buffer
			slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("key", "key", k, "value", *k)
			slog.New(slog.NewTextHandler(&logBuf, nil)).Info("key", "key", k)
			outputs = append(outputs, logBuf.String())
			j1, err := json.Marshal(k)
			if err != nil {
				t.Fatal(err)
			}
			j2, _ := json.Marshal(holder{*k, k})
			outputs = append(outputs, string(j1), string(j2))

			for _, out := range outputs {
				if !strings.Contains(out, k.ID) {
					t.Errorf("output without the kid: %q", out)
				}
				for name, secret := range secrets {
					for enc, s := range map[string]string{
						"raw":       string(secret),
						"hex":       hex.EncodeToString(secret),
						"HEX":       strings.ToUpper(hex.EncodeToString(secret)),
						"base64":    base64.StdEncoding.EncodeToString(secret),
						"base64url": base64.RawURLEncoding.EncodeToString(secret),
						"decimal":   bigDecimal(secret),
					} {
						if strings.Contains(out, s) {
							t.Errorf("%s of the %s appears in %q", enc, name, out)
						}
					}
				}
			}
			if s := k.String(); s != "accesstoken.Key{kid="+k.ID+" alg="+string(k.Alg)+" private}" {
				t.Errorf("String() = %q", s)
			}
		})
	}
}

func bigDecimal(b []byte) string {
	return new(big.Int).SetBytes(b).String()
}

func TestJWKS(t *testing.T) {
	f := getFixtures(t)
	data, err := f.set.MarshalJWKS()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("public_members_only", func(t *testing.T) {
		var doc struct {
			Keys []map[string]any `json:"keys"`
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.Keys) != 3 {
			t.Fatalf("%d keys", len(doc.Keys))
		}
		wantKty := map[string]string{"EdDSA": "OKP", "ES256": "EC", "RS256": "RSA"}
		for i, m := range doc.Keys {
			k := f.keys()[i]
			for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"} {
				if _, ok := m[private]; ok {
					t.Errorf("%s JWK has %q", k.Alg, private)
				}
			}
			if m["alg"] != string(k.Alg) || m["use"] != "sig" || m["kid"] != k.ID || m["kty"] != wantKty[string(k.Alg)] {
				t.Errorf("JWK %v", m)
			}
			if k.Alg == EdDSA && m["crv"] != "Ed25519" {
				t.Errorf("Ed25519 JWK %v", m)
			}
		}
		if bytes.Contains(data, []byte(`"Ed25519"`)) && bytes.Contains(data, []byte(`"alg":"Ed25519"`)) {
			t.Error(`alg "Ed25519" in the JWKS`)
		}
	})
	t.Run("round_trip", func(t *testing.T) {
		set, err := ParseJWKS(data)
		if err != nil {
			t.Fatal(err)
		}
		if set.Len() != 3 {
			t.Fatalf("%d keys", set.Len())
		}
		for _, k := range f.keys() {
			got, ok := set.Lookup(k.ID)
			if !ok || got.Alg != k.Alg || got.Private != nil || !publicEqual(got.Public, k.Public) {
				t.Errorf("%s: %v %v", k.Alg, got, ok)
			}
			tok, _ := Sign(k, testClaims())
			v := &Verifier{Keys: set, Issuer: testIss, Audience: testAud, Now: func() time.Time { return testNow }}
			if _, err := v.Verify(tok); err != nil {
				t.Errorf("%s token with the parsed JWKS: %v", k.Alg, err)
			}
		}
		again, _ := set.MarshalJWKS()
		if !bytes.Equal(again, data) {
			t.Errorf("JWKS changed:\n%s\n%s", data, again)
		}
	})
	t.Run("empty_set", func(t *testing.T) {
		s, _ := NewKeySet()
		b, err := s.MarshalJWKS()
		if err != nil || string(b) != `{"keys":[]}` {
			t.Errorf("%s %v", b, err)
		}
		if s2, err := ParseJWKS(b); err != nil || s2.Len() != 0 {
			t.Errorf("%v %v", s2, err)
		}
	})

	jwkOf := func(k *Key, mods map[string]any) string {
		b, err := json.Marshal(k.PublicJWK())
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		return objJSON(m, mods)
	}
	privateJWK := func(k *Key) string {
		b, err := json.Marshal(jose.JSONWebKey{Key: k.Private, KeyID: k.ID, Algorithm: string(k.Alg), Use: "sig"})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	p384, _ := GenerateKeyP384(t)
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	small := &Key{ID: "small", Alg: RS256, Public: &rsa1024.PublicKey}
	smallJWK, _ := json.Marshal(jose.JSONWebKey{Key: small.Public, KeyID: "small", Algorithm: "RS256"})
	set := func(keys ...string) []byte { return []byte(`{"keys":[` + strings.Join(keys, ",") + `]}`) }

	t.Run("refused", func(t *testing.T) {
		for name, doc := range map[string][]byte{
			"private_Ed25519":       set(privateJWK(f.ed)),
			"private_ES256":         set(privateJWK(f.es)),
			"private_RS256":         set(privateJWK(f.rs)),
			"d_member_on_public":    set(jwkOf(f.ed, map[string]any{"d": "AAAA"})),
			"symmetric_oct":         set(`{"kty":"oct","k":"c2VjcmV0","alg":"HS256","kid":"h"}`),
			"ES256_on_OKP":          set(jwkOf(f.ed, map[string]any{"alg": "ES256"})),
			"EdDSA_on_EC":           set(jwkOf(f.es, map[string]any{"alg": "EdDSA"})),
			"RS256_on_EC":           set(jwkOf(f.es, map[string]any{"alg": "RS256"})),
			"ES256_on_P384":         set(jwkOf(p384, map[string]any{"alg": "ES256"})),
			"EdDSA_on_X25519":       set(jwkOf(f.ed, map[string]any{"crv": "X25519"})),
			"RSA_1024":              set(string(smallJWK)),
			"no_kid":                set(jwkOf(f.ed, map[string]any{"kid": drop})),
			"empty_kid":             set(jwkOf(f.ed, map[string]any{"kid": ""})),
			"kid_not_a_string":      set(jwkOf(f.ed, map[string]any{"kid": 7})),
			"duplicate_kid":         set(jwkOf(f.ed, nil), jwkOf(f.attackerEd, map[string]any{"kid": f.ed.ID})),
			"duplicate_member":      set(strings.Replace(jwkOf(f.ed, nil), `{`, `{"alg":"ES256",`, 1)),
			"bad_x":                 set(jwkOf(f.ed, map[string]any{"x": "AAAA"})),
			"EC_point_off_curve":    set(jwkOf(f.es, map[string]any{"y": jwkField(t, f.attackerES, "y")})),
			"not_JSON":              []byte(`{"keys":[`),
			"not_an_object":         []byte(`[]`),
			"no_keys_member":        []byte(`{"kids":[]}`),
			"keys_null":             []byte(`{"keys":null}`),
			"keys_object":           []byte(`{"keys":{}}`),
			"key_not_an_object":     []byte(`{"keys":[1]}`),
			"duplicate_keys_member": []byte(`{"keys":[],"keys":[` + jwkOf(f.ed, nil) + `]}`),
			"trailing_data":         append(set(jwkOf(f.ed, nil)), '!'),
		} {
			t.Run(name, func(t *testing.T) {
				s, err := ParseJWKS(doc)
				if !errors.Is(err, ErrJWKS) || s != nil {
					t.Fatalf("got %v, %v; want ErrJWKS", s, err)
				}
			})
		}
	})
	t.Run("skipped", func(t *testing.T) {
		for name, jwk := range map[string]string{
			"unknown_alg_ES384":      jwkOf(p384, map[string]any{"alg": "ES384"}),
			"alg_PS256":              jwkOf(f.rs, map[string]any{"alg": "PS256"}),
			"alg_absent":             jwkOf(f.es, map[string]any{"alg": drop}),
			"alg_Ed25519_RFC9864":    jwkOf(f.ed, map[string]any{"alg": "Ed25519"}),
			"use_enc":                jwkOf(f.rs, map[string]any{"use": "enc"}),
			"key_ops_encrypt":        jwkOf(f.rs, map[string]any{"key_ops": []string{"encrypt"}}),
			"unknown_kty_AKP":        `{"kty":"AKP","alg":"ML-DSA-44","pub":"AAAA","kid":"pq"}`,
			"unknown_kty_with_EdDSA": `{"kty":"XYZ","alg":"EdDSA","kid":"x"}`,
			"EdDSA_Ed448":            `{"kty":"OKP","crv":"Ed448","alg":"EdDSA","kid":"e448","x":"AAAA"}`,
		} {
			t.Run(name, func(t *testing.T) {
				s, err := ParseJWKS(set(jwk, jwkOf(f.es, nil)))
				if err != nil {
					t.Fatal(err)
				}
				if s.Len() != 1 {
					t.Fatalf("%d keys, want only the ES256 one", s.Len())
				}
				if _, ok := s.Lookup(f.es.ID); !ok {
					t.Fatal("the good key is missing")
				}
			})
		}
		t.Run("use_sig_and_key_ops_verify_accepted", func(t *testing.T) {
			s, err := ParseJWKS(set(jwkOf(f.ed, map[string]any{"key_ops": []string{"verify"}})))
			if err != nil || s.Len() != 1 {
				t.Fatalf("%v %v", s, err)
			}
		})
	})
}

func jwkField(t *testing.T, k *Key, name string) string {
	b, _ := json.Marshal(k.PublicJWK())
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m[name].(string)
}

func GenerateKeyP384(t *testing.T) (*Key, error) {
	p, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &Key{ID: "p384", Alg: ES256, Private: p, Public: &p.PublicKey}, nil
}

func TestNewKeySet(t *testing.T) {
	f := getFixtures(t)
	t.Run("drops_private_parts", func(t *testing.T) {
		for _, k := range f.set.Keys() {
			if k.Private != nil {
				t.Errorf("%v has a private part", k)
			}
		}
		if got := f.set.Keys(); len(got) != 3 || got[0].ID != f.ed.ID || got[2].ID != f.rs.ID {
			t.Errorf("order %v", got)
		}
	})
	t.Run("lookup_returns_a_copy", func(t *testing.T) {
		k, _ := f.set.Lookup(f.ed.ID)
		k.Alg = ES256
		if k2, _ := f.set.Lookup(f.ed.ID); k2.Alg != EdDSA {
			t.Error("the set was modified through Lookup")
		}
	})
	t.Run("lookup_is_exact", func(t *testing.T) {
		for _, kid := range []string{"", strings.ToUpper(f.ed.ID), f.ed.ID + " ", f.ed.ID[1:]} {
			if _, ok := f.set.Lookup(kid); ok {
				t.Errorf("found %q", kid)
			}
		}
	})
	p384, _ := GenerateKeyP384(t)
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	for name, keys := range map[string][]*Key{
		"nil_key":          {nil},
		"duplicate_kid":    {f.ed, f.ed},
		"bad_alg":          {{ID: "x", Alg: "HS256", Public: f.ed.Public}},
		"no_public":        {{ID: "x", Alg: EdDSA}},
		"wrong_type":       {{ID: "x", Alg: ES256, Public: f.ed.Public}},
		"P384_as_ES256":    {p384},
		"RSA_1024":         {{ID: "x", Alg: RS256, Public: &rsa1024.PublicKey}},
		"bad_kid":          {{ID: "a\nb", Alg: EdDSA, Public: f.ed.Public}},
		"Ed25519_short":    {{ID: "x", Alg: EdDSA, Public: ed25519.PublicKey(make([]byte, 31))}},
		"private_mismatch": {{ID: "x", Alg: RS256, Private: f.ed.Private}},
	} {
		t.Run("refuses_"+name, func(t *testing.T) {
			if s, err := NewKeySet(keys...); !errors.Is(err, ErrKey) || s != nil {
				t.Fatalf("got %v, %v; want ErrKey", s, err)
			}
		})
	}
	t.Run("derives_public_from_private", func(t *testing.T) {
		s, err := NewKeySet(&Key{ID: "x", Alg: EdDSA, Private: f.ed.Private})
		if err != nil {
			t.Fatal(err)
		}
		k, _ := s.Lookup("x")
		if !publicEqual(k.Public, f.ed.Public) {
			t.Error("public key not derived")
		}
	})
	t.Run("nil_set_is_empty", func(t *testing.T) {
		var s *KeySet
		if _, ok := s.Lookup("x"); ok || s.Len() != 0 || len(s.Keys()) != 0 {
			t.Error("nil set not empty")
		}
	})
}
