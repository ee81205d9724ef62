package accesstoken

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testIss = "https://auth.tessera.test"
	testAud = "https://api.tessera.test"
)

// testNow is the fixed clock of the tests.
var testNow = time.Unix(1900000000, 0).UTC()

// fixtures are generated once per test binary (RSA generation is slow).
type fixtures struct {
	ed, es, rs *Key // trusted keys
	attackerEd *Key // a key the verifier does not trust
	attackerES *Key
	set        *KeySet
}

var (
	fixOnce sync.Once
	fix     fixtures
)

func getFixtures(t testing.TB) *fixtures {
	t.Helper()
	fixOnce.Do(func() {
		mk := func(alg Alg) *Key {
			k, err := GenerateKey(alg, nil, testNow)
			if err != nil {
				panic(err)
			}
			return k
		}
		fix.ed, fix.es, fix.rs = mk(EdDSA), mk(ES256), mk(RS256)
		fix.attackerEd, fix.attackerES = mk(EdDSA), mk(ES256)
		s, err := NewKeySet(fix.ed, fix.es, fix.rs)
		if err != nil {
			panic(err)
		}
		fix.set = s
	})
	return &fix
}

func (f *fixtures) keys() []*Key { return []*Key{f.ed, f.es, f.rs} }

// verifier returns a Verifier over the trusted set at testNow.
func (f *fixtures) verifier() *Verifier {
	return &Verifier{Keys: f.set, Issuer: testIss, Audience: testAud, Now: func() time.Time { return testNow }}
}

// testClaims are valid claims at testNow.
func testClaims() Claims {
	return Claims{
		Issuer:    testIss,
		Subject:   "user-0190a0c2",
		Audience:  []string{testAud},
		ExpiresAt: testNow.Add(5 * time.Minute),
		IssuedAt:  testNow,
		NotBefore: testNow,
		ID:        "jti-1",
		SessionID: "sid-abc",
		Scope:     "openid profile",
		Roles:     []string{"admin", "user"},
		ClientID:  "tessera-web",
	}
}

func b64s(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
func b64b(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// drop, as a value in the mods of headerJSON/payloadJSON, removes the member.
type dropT struct{}

var drop = dropT{}

// headerJSON is the header of a token signed by k, with mods applied.
func headerJSON(k *Key, mods map[string]any) string {
	m := map[string]any{"alg": string(k.Alg), "kid": k.ID, "typ": "at+jwt"}
	return objJSON(m, mods)
}

// payloadJSON is a valid claims set at testNow, with mods applied.
func payloadJSON(mods map[string]any) string {
	m := map[string]any{
		"iss": testIss, "sub": "user-1", "aud": testAud,
		"exp": testNow.Add(5 * time.Minute).Unix(), "iat": testNow.Unix(), "nbf": testNow.Unix(),
		"jti": "jti-1", "client_id": "app",
	}
	return objJSON(m, mods)
}

func objJSON(m, mods map[string]any) string {
	m = maps.Clone(m)
	for k, v := range mods {
		if v == drop {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// signInput signs a JWS signing input with k's private key through
// golang-jwt's method for k.Alg.
func signInput(t testing.TB, k *Key, input string) []byte {
	t.Helper()
	sig, err := k.Alg.method().Sign(input, k.Private)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return sig
}

// craft builds a compact JWS from raw header and payload JSON, signed by k.
func craft(t testing.TB, k *Key, header, payload string) string {
	t.Helper()
	input := b64s(header) + "." + b64s(payload)
	return input + "." + b64b(signInput(t, k, input))
}

// parts splits a compact token.
func parts(tok string) (h, p, s string) {
	x := strings.Split(tok, ".")
	return x[0], x[1], x[2]
}

// expectRefused asserts that err matches ErrInvalid and want.
func expectRefused(t *testing.T, claims *Claims, err, want error) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted, want %v; claims %+v", want, claims)
	}
	if claims != nil {
		t.Errorf("claims returned with an error: %+v", claims)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("error %q does not match ErrInvalid", err)
	}
	if !errors.Is(err, want) {
		t.Errorf("error %q, want %v", err, want)
	}
}

func sha256Sum(s string) [32]byte { return sha256.Sum256([]byte(s)) }
