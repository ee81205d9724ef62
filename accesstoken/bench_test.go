package accesstoken

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"strings"
	"testing"
	"time"
)

// benchCase is one algorithm's token, verifier and raw floor.
type benchCase struct {
	key   *Key
	token string
	v     *Verifier
	raw   func() bool // the bare primitive on the same signing input and signature bytes
}

func benchCases(b *testing.B) []benchCase {
	f := getFixtures(b)
	var out []benchCase
	for _, k := range f.keys() {
		tok, err := Sign(k, testClaims())
		if err != nil {
			b.Fatal(err)
		}
		dot := strings.LastIndexByte(tok, '.')
		input := []byte(tok[:dot])
		sig, err := base64.RawURLEncoding.DecodeString(tok[dot+1:])
		if err != nil {
			b.Fatal(err)
		}
		var raw func() bool
		switch pub := k.Public.(type) {
		case ed25519.PublicKey:
			raw = func() bool { return ed25519.Verify(pub, input, sig) }
		case *ecdsa.PublicKey:
			raw = func() bool {
				h := sha256.Sum256(input)
				r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
				return ecdsa.Verify(pub, h[:], r, s)
			}
		case *rsa.PublicKey:
			raw = func() bool {
				h := sha256.Sum256(input)
				return rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig) == nil
			}
		}
		if !raw() {
			b.Fatalf("%s: raw verification fails", k.Alg)
		}
		out = append(out, benchCase{key: k, token: tok, v: f.verifier(), raw: raw})
	}
	return out
}

func BenchmarkSign(b *testing.B) {
	f := getFixtures(b)
	c := testClaims()
	for _, k := range f.keys() {
		b.Run(string(k.Alg), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Sign(k, c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerify measures Verifier.Verify. It also runs the raw primitive
// (see BenchmarkRawVerify) as many times, untimed, in chunks interleaved with
// the timed ones so that both see the same machine load, and reports the
// ratio Verify / raw as "x-raw".
func BenchmarkVerify(b *testing.B) {
	const chunk = 32
	for _, bc := range benchCases(b) {
		b.Run(string(bc.key.Alg), func(b *testing.B) {
			b.ReportAllocs()
			var floor time.Duration
			for i := 0; i < b.N; i += chunk {
				n := min(chunk, b.N-i)
				for range n {
					if _, err := bc.v.Verify(bc.token); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				start := time.Now()
				for range n {
					bc.raw()
				}
				floor += time.Since(start)
				b.StartTimer()
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed())/float64(floor), "x-raw")
		})
	}
}

// BenchmarkRawVerify is the floor: ed25519.Verify, SHA-256 + ecdsa.Verify,
// SHA-256 + rsa.VerifyPKCS1v15 on the bytes BenchmarkVerify checks.
func BenchmarkRawVerify(b *testing.B) {
	for _, bc := range benchCases(b) {
		b.Run(string(bc.key.Alg), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !bc.raw() {
					b.Fatal("raw verification failed")
				}
			}
		})
	}
}
