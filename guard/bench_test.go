package guard_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/accesstoken"
	"github.com/tessera-auth/tessera/guard"
)

// The benchmarks of the Fast path. Their figures, and the commands that make
// them, are in the package documentation's Performance section.

// BenchmarkVerifyRepeated: the same token again (the repeated-token cache,
// with the deny-set check). Goal: under 1 µs, 0 allocations.
func BenchmarkVerifyRepeated(b *testing.B) {
	f := newFake(b)
	g, _ := mustGuard(b, f)
	tok := f.userToken("user", "sess", []string{"admin"}, "read write")
	if _, err := g.Verify(bg, tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Verify(bg, tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyRepeatedParallel(b *testing.B) {
	f := newFake(b)
	g, _ := mustGuard(b, f)
	toks := make([]string, 64)
	for i := range toks {
		toks[i] = f.userToken("user", "sess", nil, "read")
		g.Verify(bg, toks[i])
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := g.Verify(bg, toks[i%len(toks)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// freshTokens signs n distinct tokens with the fake's key.
func freshTokens(b *testing.B, f *fakeServer, n int) []string {
	toks := make([]string, n)
	for i := range toks {
		toks[i] = f.userToken("user", "sess", []string{"admin"}, "read write")
	}
	return toks
}

// rawParts returns the Ed25519 public key, signing input and signature of tok.
func rawParts(b *testing.B, f *fakeServer, tok string) (ed25519.PublicKey, []byte, []byte) {
	dot := strings.LastIndexByte(tok, '.')
	sig, err := base64.RawURLEncoding.DecodeString(tok[dot+1:])
	if err != nil {
		b.Fatal(err)
	}
	f.mu.Lock()
	pub := f.keys[len(f.keys)-1].Public.(ed25519.PublicKey)
	f.mu.Unlock()
	return pub, []byte(tok[:dot]), sig
}

// ratioToRaw runs verify b.N times, timed, interleaved in chunks with as
// many untimed ed25519.Verify calls on the same bytes (so that both see the
// same machine load), and reports the ratio of the two as "x-raw".
func ratioToRaw(b *testing.B, f *fakeServer, toks []string, verify func(tok string) error) {
	const chunk = 32
	pub, msg, sig := rawParts(b, f, toks[0])
	b.ReportAllocs()
	b.ResetTimer()
	var floor time.Duration
	for i := 0; i < b.N; i += chunk {
		n := min(chunk, b.N-i)
		for j := range n {
			if err := verify(toks[(i+j)%len(toks)]); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		start := time.Now()
		for range n {
			if !ed25519.Verify(pub, msg, sig) {
				b.Fatal("raw verify failed")
			}
		}
		floor += time.Since(start)
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed())/float64(floor), "x-raw")
}

// BenchmarkVerifyFresh: a token never seen before (signature check, claims,
// Principal, deny check, cache insertion). It reports x-raw, its ratio to
// ed25519.Verify on the same bytes in the same run. Goal: ≤ 1.25.
func BenchmarkVerifyFresh(b *testing.B) {
	f := newFake(b)
	g, _ := mustGuard(b, f, func(c *guard.Config) { c.CacheSize = 1 }) // every token is a miss
	toks := freshTokens(b, f, 1024)
	ratioToRaw(b, f, toks, func(tok string) error { _, err := g.Verify(bg, tok); return err })
}

// BenchmarkAccesstokenVerify: accesstoken.Verifier alone on the same kind of
// token, to tell guard's overhead from the JWT library's.
func BenchmarkAccesstokenVerify(b *testing.B) {
	f := newFake(b)
	v := &accesstoken.Verifier{Keys: f.keySet(), Issuer: f.issuer, Audience: f.issuer}
	ratioToRaw(b, f, freshTokens(b, f, 1), func(tok string) error { _, err := v.Verify(tok); return err })
}

// BenchmarkRawEd25519: the floor, ed25519.Verify on a token's signing input
// and signature bytes.
func BenchmarkRawEd25519(b *testing.B) {
	f := newFake(b)
	pub, msg, sig := rawParts(b, f, freshTokens(b, f, 1)[0])
	b.ReportAllocs()
	for b.Loop() {
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("verify failed")
		}
	}
}

// BenchmarkFastHandler: the Fast middleware on a repeated token, end to end
// through net/http's handler interface (the Principal goes into a new
// request context, which allocates).
func BenchmarkFastHandler(b *testing.B) {
	f := newFake(b)
	g, _ := mustGuard(b, f)
	tok := f.userToken("user", "sess", nil, "")
	h := g.Fast(okHandler())
	r := httptest.NewRequest("GET", "/api/x", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		w.Body.Reset()
		h.ServeHTTP(w, r)
	}
	if w.Code != 200 {
		b.Fatal(w.Code)
	}
}
