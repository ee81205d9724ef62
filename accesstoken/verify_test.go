package accesstoken

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestRoundTrip(t *testing.T) {
	f := getFixtures(t)
	for _, k := range f.keys() {
		t.Run(string(k.Alg)+"/claims_preserved", func(t *testing.T) {
			want := testClaims()
			tok, err := Sign(k, want)
			if err != nil {
				t.Fatal(err)
			}
			h, _, _ := parts(tok)
			hdr, _ := base64.RawURLEncoding.DecodeString(h)
			if wantHdr := fmt.Sprintf(`{"alg":%q,"kid":%q,"typ":"at+jwt"}`, k.Alg, k.ID); string(hdr) != wantHdr {
				t.Errorf("header %s, want %s", hdr, wantHdr)
			}
			got, err := f.verifier().Verify(tok)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got.Issuer != want.Issuer || got.Subject != want.Subject || !slices.Equal(got.Audience, want.Audience) ||
				!got.ExpiresAt.Equal(want.ExpiresAt) || !got.IssuedAt.Equal(want.IssuedAt) || !got.NotBefore.Equal(want.NotBefore) ||
				got.ID != want.ID || got.SessionID != want.SessionID || got.Scope != want.Scope ||
				!slices.Equal(got.Roles, want.Roles) || got.ClientID != want.ClientID {
				t.Errorf("claims changed:\n got %+v\nwant %+v", got, want)
			}
		})
	}
	f2 := getFixtures(t)
	t.Run("aud_single_is_a_string", func(t *testing.T) {
		tok, err := Sign(f2.ed, testClaims())
		if err != nil {
			t.Fatal(err)
		}
		if aud := rawClaim(t, tok, "aud"); aud != `"`+testAud+`"` {
			t.Errorf("aud = %s, want a string", aud)
		}
	})
	t.Run("aud_several_is_an_array_and_verifies", func(t *testing.T) {
		c := testClaims()
		c.Audience = []string{"https://other.test", testAud}
		tok, err := Sign(f2.ed, c)
		if err != nil {
			t.Fatal(err)
		}
		if aud := rawClaim(t, tok, "aud"); aud != `["https://other.test","`+testAud+`"]` {
			t.Errorf("aud = %s, want an array", aud)
		}
		got, err := f2.verifier().Verify(tok)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Audience, c.Audience) {
			t.Errorf("aud = %v", got.Audience)
		}
	})
	t.Run("client_credentials_without_sid_nbf_roles", func(t *testing.T) {
		c := testClaims()
		c.SessionID, c.Roles, c.NotBefore, c.Subject = "", nil, time.Time{}, c.ClientID
		tok, err := Sign(f2.es, c)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"sid", "roles", "nbf"} {
			if v := rawClaim(t, tok, name); v != "" {
				t.Errorf("%s = %s, want omitted", name, v)
			}
		}
		got, err := f2.verifier().Verify(tok)
		if err != nil {
			t.Fatal(err)
		}
		if got.SessionID != "" || got.Roles != nil || !got.NotBefore.IsZero() || got.Subject != c.ClientID {
			t.Errorf("claims %+v", got)
		}
	})
	t.Run("subsecond_times_are_truncated", func(t *testing.T) {
		c := testClaims()
		c.IssuedAt = testNow.Add(-400 * time.Millisecond)
		tok, err := Sign(f2.ed, c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := f2.verifier().Verify(tok)
		if err != nil {
			t.Fatal(err)
		}
		if !got.IssuedAt.Equal(testNow.Add(-time.Second)) {
			t.Errorf("iat %v", got.IssuedAt)
		}
	})
}

// rawClaim returns the raw JSON of one claim of tok, "" if absent.
func rawClaim(t *testing.T, tok, name string) string {
	t.Helper()
	_, p, _ := parts(tok)
	b, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return string(m[name])
}

func TestAccepted(t *testing.T) {
	f := getFixtures(t)
	v := f.verifier()
	for _, tc := range []struct {
		name    string
		header  map[string]any
		payload map[string]any
	}{
		{"typ_uppercase", map[string]any{"typ": "AT+JWT"}, nil},
		{"typ_media_type", map[string]any{"typ": "application/at+jwt"}, nil},
		{"typ_media_type_mixed_case", map[string]any{"typ": "Application/At+JWT"}, nil},
		{"unknown_header_parameter_ignored", map[string]any{"cty": "x"}, nil},
		{"aud_array_containing_ours", nil, map[string]any{"aud": []string{"https://x.test", testAud}}},
		{"exp_within_leeway", nil, map[string]any{"exp": testNow.Add(-29 * time.Second).Unix(), "iat": testNow.Add(-time.Minute).Unix(), "nbf": drop}},
		{"nbf_within_leeway", nil, map[string]any{"nbf": testNow.Add(29 * time.Second).Unix()}},
		{"iat_within_leeway", nil, map[string]any{"iat": testNow.Add(29 * time.Second).Unix()}},
		{"nbf_absent", nil, map[string]any{"nbf": drop}},
		{"fractional_exp", nil, map[string]any{"exp": json.RawMessage(fmt.Sprintf("%d.5", testNow.Add(time.Minute).Unix()))}},
		{"unknown_claims_ignored", nil, map[string]any{"ext": map[string]any{"a": []any{1, "b", nil}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := craft(t, f.ed, headerJSON(f.ed, tc.header), payloadJSON(tc.payload))
			if _, err := v.Verify(tok); err != nil {
				t.Fatalf("refused: %v", err)
			}
		})
	}
	t.Run("zero_value_defaults_use_time_Now", func(t *testing.T) {
		c := testClaims()
		now := time.Now()
		c.IssuedAt, c.NotBefore, c.ExpiresAt = now, now, now.Add(time.Minute)
		tok, err := Sign(f.rs, c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := (&Verifier{Keys: f.set, Issuer: testIss, Audience: testAud}).Verify(tok); err != nil {
			t.Fatal(err)
		}
	})
}

func TestRefusedStructure(t *testing.T) {
	f := getFixtures(t)
	v := f.verifier()
	good, err := Sign(f.ed, testClaims())
	if err != nil {
		t.Fatal(err)
	}
	h, p, s := parts(good)
	// flipTrailingBits makes the last character of a segment whose length is
	// not a multiple of 4 carry non-zero padding bits.
	flipTrailingBits := func(seg string) string {
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		if len(seg)%4 == 0 {
			t.Fatalf("segment %q has no padding bits", seg)
		}
		i := strings.IndexByte(alphabet, seg[len(seg)-1])
		return seg[:len(seg)-1] + string(alphabet[i|1])
	}
	// An Ed25519 signature is 64 bytes: 86 characters, the last carrying 4
	// padding bits. Pad header and payload to a length not divisible by 3.
	hdr2 := headerJSON(f.ed, map[string]any{"x": strings.Repeat("a", 3-(len(headerJSON(f.ed, map[string]any{"x": ""}))%3)+1)})
	pay2 := payloadJSON(map[string]any{"x": strings.Repeat("a", 3-(len(payloadJSON(map[string]any{"x": ""}))%3)+1)})
	tok2 := craft(t, f.ed, hdr2, pay2)
	h2, p2, _ := parts(tok2)
	if _, err := v.Verify(tok2); err != nil {
		t.Fatalf("base token for the trailing-bit cases refused: %v", err)
	}
	sig2 := b64b(signInput(t, f.ed, flipTrailingBits(h2)+"."+p2))
	sig3 := b64b(signInput(t, f.ed, h2+"."+flipTrailingBits(p2)))

	for _, tc := range []struct {
		name, token string
		want        error
	}{
		{"empty", "", ErrMalformed},
		{"one_segment", h, ErrMalformed},
		{"two_segments", h + "." + p, ErrMalformed},
		{"empty_signature", h + "." + p + ".", ErrMalformed},
		{"empty_header", "." + p + "." + s, ErrMalformed},
		{"empty_payload", h + ".." + s, ErrMalformed},
		{"four_segments", good + ".x", ErrMalformed},
		{"JWE_five_segments", h + "." + p + "." + s + "." + p + "." + s, ErrMalformed},
		{"JSON_serialization", `{"payload":"` + p + `","protected":"` + h + `","signature":"` + s + `"}`, ErrMalformed},
		{"padding", h + "." + p + "." + s + "==", ErrMalformed},
		{"plus_in_signature", h + "." + p + "." + s[:10] + "+" + s[11:], ErrMalformed},
		{"slash_in_payload", h + "." + p[:10] + "/" + p[11:] + "." + s, ErrMalformed},
		{"newline", h + ".\n" + p + "." + s, ErrMalformed},
		{"CRLF_inside", h + "." + p[:4] + "\r\n" + p[4:] + "." + s, ErrMalformed},
		{"space", " " + good, ErrMalformed},
		{"NUL", good + "\x00", ErrMalformed},
		{"non_ASCII", good + "é", ErrMalformed},
		{"trailing_bits_in_signature", h + "." + p + "." + flipTrailingBits(s), ErrMalformed},
		{"trailing_bits_in_header_validly_signed", flipTrailingBits(h2) + "." + p2 + "." + sig2, ErrMalformed},
		{"trailing_bits_in_payload_validly_signed", h2 + "." + flipTrailingBits(p2) + "." + sig3, ErrMalformed},
		{"impossible_base64_length", h + "." + p + "." + s[:len(s)-1], ErrMalformed},
		{"token_16KiB", h + "." + p + strings.Repeat("A", 16<<10) + "." + s, ErrTooLarge},
		{"header_1MiB", b64s(`{"alg":"EdDSA","x":"`+strings.Repeat("a", 1<<20)+`"}`) + "." + p + "." + s, ErrTooLarge},
		{"oversize_garbage_refused_before_decoding", strings.Repeat("!", DefaultMaxTokenBytes+1), ErrTooLarge},
		{"claims_100k", b64s(`{"alg":"EdDSA"}`) + "." + b64s(strings.Repeat(`"c":1,`, 100000)) + "." + s, ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := v.Verify(tc.token)
			expectRefused(t, c, err, tc.want)
		})
	}
}

func TestRefusedHeader(t *testing.T) {
	f := getFixtures(t)
	v := f.verifier()
	pay := payloadJSON(nil)
	type tc struct {
		name   string
		signer *Key
		header string
		want   error
	}
	cases := []tc{
		{"duplicate_alg_EdDSA_then_none", f.ed, `{"alg":"EdDSA","alg":"none","kid":"` + f.ed.ID + `","typ":"at+jwt"}`, ErrMalformed},
		{"duplicate_alg_none_then_EdDSA", f.ed, `{"alg":"none","alg":"EdDSA","kid":"` + f.ed.ID + `","typ":"at+jwt"}`, ErrMalformed},
		{"duplicate_kid", f.ed, `{"alg":"EdDSA","kid":"unknown","kid":"` + f.ed.ID + `","typ":"at+jwt"}`, ErrMalformed},
		{"duplicate_typ", f.ed, `{"alg":"EdDSA","kid":"` + f.ed.ID + `","typ":"JWT","typ":"at+jwt"}`, ErrMalformed},
		{"case_variant_duplicate_ALG", f.ed, `{"alg":"EdDSA","ALG":"none","kid":"` + f.ed.ID + `","typ":"at+jwt"}`, ErrMalformed},
		{"escaped_duplicate_alg", f.ed, `{"alg":"EdDSA","\u0061lg":"EdDSA","kid":"` + f.ed.ID + `","typ":"at+jwt"}`, ErrMalformed},
		{"header_is_an_array", f.ed, `["EdDSA"]`, ErrMalformed},
		{"header_is_a_string", f.ed, `"EdDSA"`, ErrMalformed},
		{"header_not_JSON", f.ed, `{"alg":"EdDSA",`, ErrMalformed},
		{"header_trailing_object", f.ed, headerJSON(f.ed, nil) + `{"alg":"none"}`, ErrMalformed},
		{"header_trailing_garbage", f.ed, headerJSON(f.ed, nil) + `x`, ErrMalformed},
		{"typ_JWT", f.ed, headerJSON(f.ed, map[string]any{"typ": "JWT"}), ErrType},
		{"typ_missing", f.ed, headerJSON(f.ed, map[string]any{"typ": drop}), ErrType},
		{"typ_id_token", f.ed, headerJSON(f.ed, map[string]any{"typ": "id_token+jwt"}), ErrType},
		{"typ_with_space", f.ed, headerJSON(f.ed, map[string]any{"typ": "at+jwt "}), ErrType},
		{"typ_number", f.ed, headerJSON(f.ed, map[string]any{"typ": 1}), ErrType},
		{"kid_missing", f.ed, headerJSON(f.ed, map[string]any{"kid": drop}), ErrHeader},
		{"kid_number", f.ed, headerJSON(f.ed, map[string]any{"kid": 1}), ErrHeader},
		{"kid_unknown", f.ed, headerJSON(f.ed, map[string]any{"kid": "no-such-key"}), ErrUnknownKey},
		{"kid_path_traversal", f.ed, headerJSON(f.ed, map[string]any{"kid": "../../../../dev/null"}), ErrUnknownKey},
		{"kid_SQL_injection", f.ed, headerJSON(f.ed, map[string]any{"kid": "' OR '1'='1"}), ErrUnknownKey},
		{"kid_NUL", f.ed, headerJSON(f.ed, map[string]any{"kid": f.ed.ID + "\x00"}), ErrUnknownKey},
		{"kid_CRLF", f.ed, headerJSON(f.ed, map[string]any{"kid": f.ed.ID + "\r\n"}), ErrUnknownKey},
		{"kid_case_changed", f.ed, headerJSON(f.ed, map[string]any{"kid": strings.ToUpper(f.ed.ID)}), ErrUnknownKey},
		{"kid_64KiB", f.ed, headerJSON(f.ed, map[string]any{"kid": strings.Repeat("k", 64<<10)}), ErrTooLarge},
		{"alg_missing", f.ed, headerJSON(f.ed, map[string]any{"alg": drop}), ErrAlgorithm},
		{"alg_number", f.ed, headerJSON(f.ed, map[string]any{"alg": 1}), ErrAlgorithm},
		{"alg_Ed25519_fully_specified_name", f.ed, headerJSON(f.ed, map[string]any{"alg": "Ed25519"}), ErrAlgorithm},
		{"alg_ES256_with_EdDSA_kid", f.attackerES, headerJSON(f.ed, map[string]any{"alg": "ES256"}), ErrAlgorithm},
		{"alg_EdDSA_with_ES256_kid", f.attackerEd, headerJSON(f.es, map[string]any{"alg": "EdDSA"}), ErrAlgorithm},
		{"alg_PS256", f.rs, headerJSON(f.rs, map[string]any{"alg": "PS256"}), ErrAlgorithm},
		{"alg_RS384", f.rs, headerJSON(f.rs, map[string]any{"alg": "RS384"}), ErrAlgorithm},
		{"signed_by_attacker_with_our_kid", f.attackerEd, headerJSON(f.ed, nil), ErrSignature},
		{"crit_exp", f.ed, headerJSON(f.ed, map[string]any{"crit": []string{"exp"}, "exp": 1}), ErrHeader},
		{"crit_empty", f.ed, headerJSON(f.ed, map[string]any{"crit": []string{}}), ErrHeader},
		{"crit_alg", f.ed, headerJSON(f.ed, map[string]any{"crit": []string{"alg"}}), ErrHeader},
		{"b64_false", f.ed, headerJSON(f.ed, map[string]any{"b64": false, "crit": []string{"b64"}}), ErrHeader},
		{"b64_false_without_crit", f.ed, headerJSON(f.ed, map[string]any{"b64": false}), ErrHeader},
		{"zip_DEF", f.ed, headerJSON(f.ed, map[string]any{"zip": "DEF"}), ErrHeader},
		{"enc_JWE", f.ed, headerJSON(f.ed, map[string]any{"enc": "A256GCM"}), ErrHeader},
		{"x5t", f.ed, headerJSON(f.ed, map[string]any{"x5t": "AAAA"}), ErrHeader},
		{"x5t_S256", f.ed, headerJSON(f.ed, map[string]any{"x5t#S256": "AAAA"}), ErrHeader},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			claims, err := v.Verify(craft(t, c.signer, c.header, pay))
			expectRefused(t, claims, err, c.want)
		})
	}
	t.Run("kid_64KiB_with_a_large_limit", func(t *testing.T) {
		v := f.verifier()
		v.MaxTokenBytes = 1 << 20
		claims, err := v.Verify(craft(t, f.ed, headerJSON(f.ed, map[string]any{"kid": strings.Repeat("k", 64<<10)}), pay))
		expectRefused(t, claims, err, ErrUnknownKey)
	})
	t.Run("RS256_when_disabled", func(t *testing.T) {
		v := f.verifier()
		v.Algorithms = []Alg{EdDSA, ES256}
		tok, err := Sign(f.rs, testClaims())
		if err != nil {
			t.Fatal(err)
		}
		claims, err := v.Verify(tok)
		expectRefused(t, claims, err, ErrAlgorithm)
	})
}

func TestRefusedAlgNone(t *testing.T) {
	f := getFixtures(t)
	v := f.verifier()
	good, err := Sign(f.ed, testClaims())
	if err != nil {
		t.Fatal(err)
	}
	_, p, s := parts(good)
	for _, alg := range []string{"none", "None", "NONE", "nOnE"} {
		h := b64s(headerJSON(f.ed, map[string]any{"alg": alg}))
		t.Run(alg+"/empty_signature", func(t *testing.T) {
			claims, err := v.Verify(h + "." + p + ".")
			expectRefused(t, claims, err, ErrMalformed)
		})
		t.Run(alg+"/signature_kept", func(t *testing.T) {
			claims, err := v.Verify(h + "." + p + "." + s)
			expectRefused(t, claims, err, ErrAlgorithm)
		})
		t.Run(alg+"/without_kid_and_typ", func(t *testing.T) {
			claims, err := v.Verify(b64s(`{"alg":"`+alg+`"}`) + "." + p + "." + s)
			expectRefused(t, claims, err, ErrAlgorithm)
		})
	}
}

func TestRefusedHMACKeyConfusion(t *testing.T) {
	f := getFixtures(t)
	v := f.verifier()
	pay := payloadJSON(nil)
	for _, k := range f.keys() {
		der, err := x509.MarshalPKIXPublicKey(k.Public)
		if err != nil {
			t.Fatal(err)
		}
		pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		jwk, err := json.Marshal(k.PublicJWK())
		if err != nil {
			t.Fatal(err)
		}
		secrets := map[string][]byte{
			"PEM":            pemBytes,
			"PEM_without_LF": []byte(strings.TrimSuffix(string(pemBytes), "\n")),
			"DER":            der,
			"JWK":            jwk,
			"empty":          {},
		}
		switch pub := k.Public.(type) {
		case ed25519.PublicKey:
			secrets["raw"] = pub
		case *ecdsa.PublicKey:
			raw, _ := pub.Bytes()
			secrets["raw"] = raw
		}
		for form, secret := range secrets {
			for _, alg := range []string{"HS256", "HS384", "HS512"} {
				t.Run(string(k.Alg)+"/"+alg+"/"+form, func(t *testing.T) {
					input := b64s(headerJSON(k, map[string]any{"alg": alg})) + "." + b64s(pay)
					sig, err := jwt.GetSigningMethod(alg).Sign(input, secret)
					if err != nil {
						t.Fatal(err)
					}
					claims, err := v.Verify(input + "." + b64b(sig))
					expectRefused(t, claims, err, ErrAlgorithm)
				})
			}
		}
	}
	t.Run("HS256_kid_dev_null_empty_key", func(t *testing.T) {
		input := b64s(`{"alg":"HS256","kid":"../../../../dev/null","typ":"at+jwt"}`) + "." + b64s(pay)
		sig, _ := jwt.SigningMethodHS256.Sign(input, []byte{})
		claims, err := v.Verify(input + "." + b64b(sig))
		expectRefused(t, claims, err, ErrAlgorithm)
	})
}

// TestRefusedKeysFromToken: jku/x5u must never be fetched, jwk/x5c never
// used.
func TestRefusedKeysFromToken(t *testing.T) {
	f := getFixtures(t)
	v := f.verifier()
	pay := payloadJSON(nil)
	attackerSet, err := NewKeySet(f.attackerEd)
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := attackerSet.MarshalJWKS()
	if err != nil {
		t.Fatal(err)
	}
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(jwks)
	}))
	defer srv.Close()

	cert := selfSignedCert(t, f.attackerEd)
	attackerJWK := f.attackerEd.PublicJWK()
	for _, tc := range []struct {
		name   string
		kid    string
		header map[string]any
	}{
		{"jku_attacker_kid", f.attackerEd.ID, map[string]any{"jku": srv.URL + "/jwks.json"}},
		{"jku_our_kid", f.ed.ID, map[string]any{"jku": srv.URL + "/jwks.json"}},
		{"x5u_attacker_kid", f.attackerEd.ID, map[string]any{"x5u": srv.URL + "/cert.pem"}},
		{"x5u_our_kid", f.ed.ID, map[string]any{"x5u": srv.URL + "/cert.pem"}},
		{"jwk_attacker_kid", f.attackerEd.ID, map[string]any{"jwk": attackerJWK}},
		{"jwk_our_kid", f.ed.ID, map[string]any{"jwk": attackerJWK}},
		{"jwk_without_kid", "", map[string]any{"jwk": attackerJWK}},
		{"x5c_self_signed", f.attackerEd.ID, map[string]any{"x5c": []string{base64.StdEncoding.EncodeToString(cert)}}},
		{"x5c_our_kid", f.ed.ID, map[string]any{"x5c": []string{base64.StdEncoding.EncodeToString(cert)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mods := map[string]any{"kid": tc.kid}
			if tc.kid == "" {
				mods["kid"] = drop
			}
			for k, val := range tc.header {
				mods[k] = val
			}
			claims, err := v.Verify(craft(t, f.attackerEd, headerJSON(f.attackerEd, mods), pay))
			expectRefused(t, claims, err, ErrHeader)
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the attacker's server got %d hits, want 0", n)
	}
}

func selfSignedCert(t *testing.T, k *Key) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "attacker"},
		NotBefore:    testNow.Add(-time.Hour),
		NotAfter:     testNow.Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public, k.Private)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestRefusedSignature(t *testing.T) {
	f := getFixtures(t)
	v := f.verifier()
	t.Run("ES256_r_s_zero_psychic_signature", func(t *testing.T) {
		input := b64s(headerJSON(f.es, nil)) + "." + b64s(payloadJSON(nil))
		claims, err := v.Verify(input + "." + strings.Repeat("A", 86))
		expectRefused(t, claims, err, ErrSignature)
	})
	t.Run("ES256_r_s_n", func(t *testing.T) {
		n := f.es.Public.(*ecdsa.PublicKey).Curve.Params().N
		sig := make([]byte, 64)
		n.FillBytes(sig[:32])
		n.FillBytes(sig[32:])
		input := b64s(headerJSON(f.es, nil)) + "." + b64s(payloadJSON(nil))
		claims, err := v.Verify(input + "." + b64b(sig))
		expectRefused(t, claims, err, ErrSignature)
	})
	t.Run("ES256_DER_signature", func(t *testing.T) {
		input := b64s(headerJSON(f.es, nil)) + "." + b64s(payloadJSON(nil))
		digest := sha256Sum(input)
		der, err := ecdsa.SignASN1(rand.Reader, f.es.Private.(*ecdsa.PrivateKey), digest[:])
		if err != nil {
			t.Fatal(err)
		}
		claims, err := v.Verify(input + "." + b64b(der))
		expectRefused(t, claims, err, ErrSignature)
	})
	for _, k := range f.keys() {
		t.Run(string(k.Alg)+"/signature_from_another_token", func(t *testing.T) {
			c1, c2 := testClaims(), testClaims()
			c2.Subject = "admin"
			t1, _ := Sign(k, c1)
			t2, _ := Sign(k, c2)
			h1, p1, _ := parts(t1)
			_, _, s2 := parts(t2)
			claims, err := v.Verify(h1 + "." + p1 + "." + s2)
			expectRefused(t, claims, err, ErrSignature)
		})
		t.Run(string(k.Alg)+"/changed_payload", func(t *testing.T) {
			tok, _ := Sign(k, testClaims())
			h, _, s := parts(tok)
			c := testClaims()
			c.Roles = append(c.Roles, "superuser")
			forged, _ := Sign(k, c)
			_, p2, _ := parts(forged)
			claims, err := v.Verify(h + "." + p2 + "." + s)
			expectRefused(t, claims, err, ErrSignature)
		})
		t.Run(string(k.Alg)+"/truncated_signature", func(t *testing.T) {
			tok, _ := Sign(k, testClaims())
			h, p, s := parts(tok)
			sig, _ := base64.RawURLEncoding.DecodeString(s)
			claims, err := v.Verify(h + "." + p + "." + b64b(sig[:len(sig)-1]))
			expectRefused(t, claims, err, ErrSignature)
		})
		t.Run(string(k.Alg)+"/extended_signature", func(t *testing.T) {
			tok, _ := Sign(k, testClaims())
			h, p, s := parts(tok)
			sig, _ := base64.RawURLEncoding.DecodeString(s)
			claims, err := v.Verify(h + "." + p + "." + b64b(append(sig, 0)))
			expectRefused(t, claims, err, ErrSignature)
		})
	}
	t.Run("EdDSA_malleated_S_plus_L", func(t *testing.T) {
		tok, _ := Sign(f.ed, testClaims())
		h, p, s := parts(tok)
		sig, _ := base64.RawURLEncoding.DecodeString(s)
		// S is little-endian in sig[32:]; add the group order L.
		l, _ := new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
		le := slices.Clone(sig[32:])
		slices.Reverse(le)
		S := new(big.Int).SetBytes(le)
		S.Add(S, l)
		be := S.FillBytes(make([]byte, 32))
		slices.Reverse(be)
		copy(sig[32:], be)
		claims, err := v.Verify(h + "." + p + "." + b64b(sig))
		expectRefused(t, claims, err, ErrSignature)
	})
	t.Run("retired_key", func(t *testing.T) {
		old, _ := GenerateKey(EdDSA, nil, testNow)
		tok, err := Sign(old, testClaims())
		if err != nil {
			t.Fatal(err)
		}
		ring := NewAtomicKeySet(mustKeySet(t, old, f.ed))
		v := &Verifier{Keys: ring, Issuer: testIss, Audience: testAud, Now: func() time.Time { return testNow }}
		if _, err := v.Verify(tok); err != nil {
			t.Fatalf("refused before rotation: %v", err)
		}
		ring.Store(mustKeySet(t, f.ed))
		claims, err := v.Verify(tok)
		expectRefused(t, claims, err, ErrUnknownKey)
	})
	t.Run("empty_atomic_key_set", func(t *testing.T) {
		tok, _ := Sign(f.ed, testClaims())
		v := &Verifier{Keys: &AtomicKeySet{}, Issuer: testIss, Audience: testAud, Now: func() time.Time { return testNow }}
		claims, err := v.Verify(tok)
		expectRefused(t, claims, err, ErrUnknownKey)
	})
}

func mustKeySet(t testing.TB, keys ...*Key) *KeySet {
	t.Helper()
	s, err := NewKeySet(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRefusedClaims(t *testing.T) {
	f := getFixtures(t)
	v := f.verifier()
	unix := func(d time.Duration) int64 { return testNow.Add(d).Unix() }
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	for _, tc := range []struct {
		name    string
		payload string
		want    error
	}{
		{"duplicate_sub", `{"iss":"` + testIss + `","sub":"alice","sub":"admin","aud":"` + testAud + `","exp":` + fmt.Sprint(unix(time.Minute)) + `,"iat":` + fmt.Sprint(unix(0)) + `}`, ErrMalformed},
		{"case_variant_sub_SUB", `{"iss":"` + testIss + `","sub":"alice","SUB":"admin","aud":"` + testAud + `","exp":` + fmt.Sprint(unix(time.Minute)) + `,"iat":` + fmt.Sprint(unix(0)) + `}`, ErrMalformed},
		{"unicode_fold_variant_long_s", `{"iss":"` + testIss + `","sub":"alice","ſub":"admin","aud":"` + testAud + `","exp":` + fmt.Sprint(unix(time.Minute)) + `,"iat":` + fmt.Sprint(unix(0)) + `}`, ErrMalformed},
		{"duplicate_exp", `{"iss":"` + testIss + `","sub":"alice","aud":"` + testAud + `","exp":1,"exp":` + fmt.Sprint(unix(time.Minute)) + `,"iat":` + fmt.Sprint(unix(0)) + `}`, ErrMalformed},
		{"payload_array", `[]`, ErrMalformed},
		{"payload_string", `"sub"`, ErrMalformed},
		{"payload_not_JSON", `{"sub":`, ErrMalformed},
		{"payload_trailing_data", payloadJSON(nil) + `{}`, ErrMalformed},
		// encoding/json would read "alice\ufffd"; a verifier that compared
		// raw bytes would see another subject.
		{"invalid_UTF8_in_sub", `{"iss":"` + testIss + `","sub":"alice` + "\xff" + `","aud":"` + testAud + `","exp":` + fmt.Sprint(unix(time.Minute)) + `,"iat":` + fmt.Sprint(unix(0)) + `}`, ErrMalformed},
		{"escaped_lone_surrogate_in_sub", `{"iss":"` + testIss + `","sub":"alice\ud800","aud":"` + testAud + `","exp":` + fmt.Sprint(unix(time.Minute)) + `,"iat":` + fmt.Sprint(unix(0)) + `}`, ErrMalformed},
		{"duplicate_inside_unknown_claim", payloadJSON(map[string]any{"ext": raw(`{"role":"user","role":"admin"}`)}), ErrMalformed},
		{"exp_missing", payloadJSON(map[string]any{"exp": drop}), ErrClaims},
		{"exp_string", payloadJSON(map[string]any{"exp": fmt.Sprint(unix(time.Minute))}), ErrClaims},
		{"exp_1e400", payloadJSON(map[string]any{"exp": raw("1e400")}), ErrClaims},
		{"exp_negative", payloadJSON(map[string]any{"exp": -1}), ErrClaims},
		{"exp_beyond_9999", payloadJSON(map[string]any{"exp": raw("1e20")}), ErrClaims},
		{"exp_null", payloadJSON(map[string]any{"exp": nil}), ErrClaims},
		{"exp_bool", payloadJSON(map[string]any{"exp": true}), ErrClaims},
		{"exp_expired", payloadJSON(map[string]any{"exp": unix(-31 * time.Second), "iat": unix(-time.Hour), "nbf": drop}), ErrExpired},
		{"exp_expired_long_ago", payloadJSON(map[string]any{"exp": 1, "iat": 0, "nbf": drop}), ErrExpired},
		{"nbf_future", payloadJSON(map[string]any{"nbf": unix(31 * time.Second)}), ErrNotYetValid},
		{"nbf_string", payloadJSON(map[string]any{"nbf": "0"}), ErrClaims},
		{"iat_future", payloadJSON(map[string]any{"iat": unix(31 * time.Second), "nbf": drop}), ErrNotYetValid},
		{"iat_missing", payloadJSON(map[string]any{"iat": drop}), ErrClaims},
		{"iat_negative", payloadJSON(map[string]any{"iat": -5}), ErrClaims},
		{"iss_evil", payloadJSON(map[string]any{"iss": "https://evil"}), ErrIssuer},
		{"iss_trailing_slash", payloadJSON(map[string]any{"iss": testIss + "/"}), ErrIssuer},
		{"iss_uppercase", payloadJSON(map[string]any{"iss": strings.ToUpper(testIss)}), ErrIssuer},
		{"iss_missing", payloadJSON(map[string]any{"iss": drop}), ErrIssuer},
		{"iss_array", payloadJSON(map[string]any{"iss": []string{testIss}}), ErrIssuer},
		{"aud_missing", payloadJSON(map[string]any{"aud": drop}), ErrAudience},
		{"aud_empty_array", payloadJSON(map[string]any{"aud": []string{}}), ErrAudience},
		{"aud_empty_string", payloadJSON(map[string]any{"aud": ""}), ErrAudience},
		{"aud_other", payloadJSON(map[string]any{"aud": "https://other.test"}), ErrAudience},
		{"aud_other_array", payloadJSON(map[string]any{"aud": []string{"https://other.test"}}), ErrAudience},
		{"aud_prefix", payloadJSON(map[string]any{"aud": testAud + "/x"}), ErrAudience},
		{"aud_number_array", payloadJSON(map[string]any{"aud": []any{1}}), ErrAudience},
		{"aud_object", payloadJSON(map[string]any{"aud": map[string]any{testAud: true}}), ErrAudience},
		{"sub_missing", payloadJSON(map[string]any{"sub": drop}), ErrClaims},
		{"sub_number", payloadJSON(map[string]any{"sub": 42}), ErrClaims},
		{"sid_number", payloadJSON(map[string]any{"sid": 1}), ErrClaims},
		{"roles_string", payloadJSON(map[string]any{"roles": "admin"}), ErrClaims},
		{"roles_nested", payloadJSON(map[string]any{"roles": []any{[]string{"admin"}}}), ErrClaims},
		{"scope_array", payloadJSON(map[string]any{"scope": []string{"admin"}}), ErrClaims},
	} {
		t.Run(tc.name, func(t *testing.T) {
			claims, err := v.Verify(craft(t, f.ed, headerJSON(f.ed, nil), tc.payload))
			expectRefused(t, claims, err, tc.want)
		})
	}
	t.Run("leeway_is_clamped_to_60s", func(t *testing.T) {
		v := f.verifier()
		v.Leeway = time.Hour
		tok := craft(t, f.ed, headerJSON(f.ed, nil), payloadJSON(map[string]any{"exp": unix(-61 * time.Second), "iat": unix(-time.Hour), "nbf": drop}))
		claims, err := v.Verify(tok)
		expectRefused(t, claims, err, ErrExpired)
	})
	t.Run("negative_leeway_means_none", func(t *testing.T) {
		v := f.verifier()
		v.Leeway = -1
		tok := craft(t, f.ed, headerJSON(f.ed, nil), payloadJSON(map[string]any{"nbf": unix(time.Second)}))
		claims, err := v.Verify(tok)
		expectRefused(t, claims, err, ErrNotYetValid)
	})
	t.Run("nesting_20000_deep", func(t *testing.T) {
		v := f.verifier()
		v.MaxTokenBytes = 1 << 20
		deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
		tok := craft(t, f.ed, headerJSON(f.ed, nil), strings.TrimSuffix(payloadJSON(nil), "}")+`,"x":`+deep+`}`)
		claims, err := v.Verify(tok)
		expectRefused(t, claims, err, ErrMalformed)
	})
	t.Run("nesting_within_default_limit", func(t *testing.T) {
		deep := strings.Repeat("[", 2000) + strings.Repeat("]", 2000)
		tok := craft(t, f.ed, headerJSON(f.ed, nil), payloadJSON(map[string]any{"x": raw(deep)}))
		if _, err := v.Verify(tok); err != nil {
			t.Fatalf("a signed token with a nested unknown claim: %v", err)
		}
	})
	t.Run("many_claims_duplicate_found_beyond_linear_scan", func(t *testing.T) {
		var b strings.Builder
		b.WriteString(strings.TrimSuffix(payloadJSON(nil), "}"))
		for i := range 100 {
			fmt.Fprintf(&b, `,"c%d":%d`, i, i)
		}
		b.WriteString(`,"C57":0}`)
		claims, err := v.Verify(craft(t, f.ed, headerJSON(f.ed, nil), b.String()))
		expectRefused(t, claims, err, ErrMalformed)
	})
}

func TestVerifierConfig(t *testing.T) {
	f := getFixtures(t)
	tok, _ := Sign(f.ed, testClaims())
	for name, v := range map[string]*Verifier{
		"nil_verifier":      nil,
		"no_keys":           {Issuer: testIss, Audience: testAud},
		"no_issuer":         {Keys: f.set, Audience: testAud},
		"no_audience":       {Keys: f.set, Issuer: testIss},
		"HS256_allowed":     {Keys: f.set, Issuer: testIss, Audience: testAud, Algorithms: []Alg{"HS256"}},
		"none_allowed":      {Keys: f.set, Issuer: testIss, Audience: testAud, Algorithms: []Alg{EdDSA, "none"}},
		"Ed25519_spelled":   {Keys: f.set, Issuer: testIss, Audience: testAud, Algorithms: []Alg{"Ed25519"}},
		"lowercase_allowed": {Keys: f.set, Issuer: testIss, Audience: testAud, Algorithms: []Alg{"eddsa"}},
	} {
		t.Run(name, func(t *testing.T) {
			claims, err := v.Verify(tok)
			if claims != nil || !errors.Is(err, ErrVerifierConfig) {
				t.Fatalf("got %v, %v; want ErrVerifierConfig", claims, err)
			}
			if errors.Is(err, ErrInvalid) {
				t.Errorf("a configuration error matches ErrInvalid: %v", err)
			}
		})
	}
}

func TestSentinelsAreDistinct(t *testing.T) {
	all := []error{ErrTooLarge, ErrMalformed, ErrHeader, ErrAlgorithm, ErrType, ErrUnknownKey, ErrSignature,
		ErrExpired, ErrNotYetValid, ErrIssuer, ErrAudience, ErrClaims}
	for i, a := range all {
		if !errors.Is(a, ErrInvalid) {
			t.Errorf("%v does not match ErrInvalid", a)
		}
		for j, b := range all {
			if i != j && errors.Is(a, b) {
				t.Errorf("%v matches %v", a, b)
			}
		}
	}
	for _, e := range []error{ErrVerifierConfig, ErrUnsupportedAlg, ErrKey, ErrNoPrivateKey, ErrBadClaims, ErrJWKS, ErrKEK, ErrSealed} {
		if errors.Is(e, ErrInvalid) {
			t.Errorf("%v matches ErrInvalid", e)
		}
	}
}

func TestSignRefuses(t *testing.T) {
	f := getFixtures(t)
	pub, err := f.ed.publicOnly()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("nil_key", func(t *testing.T) {
		if _, err := Sign(nil, testClaims()); !errors.Is(err, ErrNoPrivateKey) {
			t.Fatal(err)
		}
	})
	t.Run("public_only_key", func(t *testing.T) {
		if _, err := Sign(pub, testClaims()); !errors.Is(err, ErrNoPrivateKey) {
			t.Fatal(err)
		}
	})
	t.Run("alg_does_not_match_private_key", func(t *testing.T) {
		k := *f.ed
		k.Alg = ES256
		if _, err := Sign(&k, testClaims()); !errors.Is(err, ErrKey) {
			t.Fatal(err)
		}
	})
	t.Run("unsupported_alg", func(t *testing.T) {
		k := *f.ed
		k.Alg = "HS256"
		if _, err := Sign(&k, testClaims()); !errors.Is(err, ErrUnsupportedAlg) {
			t.Fatal(err)
		}
	})
	t.Run("bad_kid", func(t *testing.T) {
		k := *f.ed
		k.ID = "a b"
		if _, err := Sign(&k, testClaims()); !errors.Is(err, ErrKey) {
			t.Fatal(err)
		}
	})
	for name, mod := range map[string]func(*Claims){
		"no_issuer":           func(c *Claims) { c.Issuer = "" },
		"no_subject":          func(c *Claims) { c.Subject = "" },
		"no_audience":         func(c *Claims) { c.Audience = nil },
		"empty_audience":      func(c *Claims) { c.Audience = []string{""} },
		"no_jti":              func(c *Claims) { c.ID = "" },
		"no_client_id":        func(c *Claims) { c.ClientID = "" },
		"no_iat":              func(c *Claims) { c.IssuedAt = time.Time{} },
		"no_exp":              func(c *Claims) { c.ExpiresAt = time.Time{} },
		"exp_before_iat":      func(c *Claims) { c.ExpiresAt = c.IssuedAt.Add(-time.Second) },
		"exp_before_nbf":      func(c *Claims) { c.NotBefore = c.ExpiresAt.Add(time.Second) },
		"invalid_UTF8":        func(c *Claims) { c.Subject = "alice\xff" },
		"invalid_UTF8_role":   func(c *Claims) { c.Roles = []string{"\xfe"} },
		"time_before_1970":    func(c *Claims) { c.IssuedAt = time.Unix(-10, 0) },
		"time_after_9999_exp": func(c *Claims) { c.ExpiresAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) },
	} {
		t.Run("claims_"+name, func(t *testing.T) {
			c := testClaims()
			mod(&c)
			if _, err := Sign(f.ed, c); !errors.Is(err, ErrBadClaims) {
				t.Fatalf("got %v, want ErrBadClaims", err)
			}
		})
	}
}
