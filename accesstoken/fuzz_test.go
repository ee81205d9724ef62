package accesstoken

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/base64"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"
)

// FuzzVerify checks that Verify never panics, only ever fails with an
// ErrInvalid error, and never accepts a token other than one signed during
// the setup (byte for byte, with one documented exception: the (r, n-s) twin
// of an ES256 signature, as ECDSA signatures are malleable).
func FuzzVerify(f *testing.F) {
	fx := getFixtures(f)
	ed, err := GenerateKey(EdDSA, bytes.NewReader(bytes.Repeat([]byte{1}, 64)), testNow)
	if err != nil {
		f.Fatal(err)
	}
	set := mustKeySet(f, ed, fx.es, fx.rs)
	v := &Verifier{Keys: set, Issuer: testIss, Audience: testAud, Now: func() time.Time { return testNow }}

	signed := map[string]bool{}
	var tokens []string
	for _, k := range []*Key{ed, fx.es, fx.rs} {
		for _, mod := range []func(*Claims){
			func(*Claims) {},
			func(c *Claims) { c.Audience = []string{"https://other.test", testAud}; c.Roles = nil },
			func(c *Claims) { c.SessionID, c.NotBefore = "", time.Time{} },
		} {
			c := testClaims()
			mod(&c)
			tok, err := Sign(k, c)
			if err != nil {
				f.Fatal(err)
			}
			signed[tok] = true
			tokens = append(tokens, tok)
			if k.Alg == ES256 {
				twin := ecdsaTwin(f, tok, k)
				if _, err := v.Verify(twin); err != nil {
					f.Fatalf("the (r, n-s) twin of an ES256 token is refused: %v", err)
				}
				signed[twin] = true
			}
		}
	}
	for _, tok := range tokens {
		if _, err := v.Verify(tok); err != nil {
			f.Fatalf("seed token refused: %v", err)
		}
		f.Add(tok)
		for _, n := range []int{1, 2, 10, len(tok) / 2, len(tok) - 90} {
			f.Add(tok[:len(tok)-n])
		}
		h, p, s := parts(tok)
		f.Add(h + "." + p + ".")
		f.Add(h + "." + p)
		f.Add(tok + "." + s)
		f.Add(b64s(`{"alg":"none","typ":"at+jwt","kid":"`+ed.ID+`"}`) + "." + p + ".")
		f.Add(b64s(`{"alg":"EdDSA","alg":"none"}`) + "." + p + "." + s)
	}
	for _, s := range []string{
		"", ".", "..", "...", "a.b.c", "e30.e30.e30", "e30.e30.", "=.=.=",
		"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg",
		strings.Repeat("A", 100) + "." + strings.Repeat("A", 100) + "." + strings.Repeat("A", 86),
		b64s(`{"alg":"ES256","kid":"`+fx.es.ID+`","typ":"at+jwt"}`) + "." + b64s(payloadJSON(nil)) + "." + strings.Repeat("A", 86),
		b64s(`{"alg":"EdDSA","kid":"`+ed.ID+`","typ":"at+jwt"}`) + "." + b64s(`{"exp":1e400}`) + "." + strings.Repeat("A", 86),
	} {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, token string) {
		claims, err := v.Verify(token)
		if err != nil {
			if claims != nil {
				t.Fatalf("claims returned with error %v", err)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not match ErrInvalid", err)
			}
			return
		}
		if claims == nil {
			t.Fatal("nil claims without error")
		}
		if !signed[token] {
			t.Fatalf("accepted a token that was never signed: %q", token)
		}
	})
}

// ecdsaTwin returns tok with its ES256 signature (r, s) replaced by the
// equally valid (r, n-s).
func ecdsaTwin(t testing.TB, tok string, k *Key) string {
	h, p, s := parts(tok)
	sig, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(sig) != 64 {
		t.Fatalf("ES256 signature: %v", err)
	}
	n := k.Public.(*ecdsa.PublicKey).Curve.Params().N
	sv := new(big.Int).SetBytes(sig[32:])
	sv.Sub(n, sv)
	sv.FillBytes(sig[32:])
	return h + "." + p + "." + b64b(sig)
}
