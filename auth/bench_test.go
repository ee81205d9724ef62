package auth_test

import (
	"context"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/argon2"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/password"
	"github.com/tessera-auth/tessera/secret"
	"github.com/tessera-auth/tessera/store/sqlite"
)

// The session check and login, measured against their floors:
//
//	go test ./auth -run x -bench . -benchtime=2s
//
// BenchmarkLogin/OWASP against BenchmarkRawArgon2id is the login's ratio to
// its floor; the cache hit is a map lookup, the miss a SQLite query.

func benchService(b *testing.B, cacheSize int, params password.Params) (*auth.Service, *sqlite.DB) {
	b.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	svc := auth.NewService(db, password.NewHasher(params, 0, 0), auth.Config{CacheSize: cacheSize, AccountBurst: 1 << 30, IPBurst: 1 << 30})
	return svc, db
}

var cheap = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func BenchmarkSessionCheck(b *testing.B) {
	for _, bc := range []struct {
		name  string
		cache int
	}{{"CacheHit", 0}, {"CacheMiss", -1}} {
		b.Run(bc.name, func(b *testing.B) {
			svc, _ := benchService(b, bc.cache, cheap)
			ctx := context.Background()
			if _, err := svc.CreateUser(ctx, auth.NewUser{Email: "bench@example.com", Password: "benchmark-password"}); err != nil {
				b.Fatal(err)
			}
			// 10 000 sessions in the store, as a small deployment holds.
			var toks []secret.Token
			for i := 0; i < 10000; i++ {
				l, err := svc.Login(ctx, auth.LoginRequest{Email: "bench@example.com", Password: "benchmark-password"})
				if err != nil {
					b.Fatal(err)
				}
				toks = append(toks, l.Secret)
			}
			c := auth.Client{IP: "127.0.0.1", UserAgent: "bench"}
			for _, t := range toks {
				svc.Authenticate(ctx, t, c)
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if _, err := svc.Authenticate(ctx, toks[i%len(toks)], c); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		})
	}
}

func BenchmarkLogin(b *testing.B) {
	svc, _ := benchService(b, 0, password.OWASP)
	ctx := context.Background()
	if _, err := svc.CreateUser(ctx, auth.NewUser{Email: "bench@example.com", Password: "benchmark-password"}); err != nil {
		b.Fatal(err)
	}
	b.Run("OWASP", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := svc.Login(ctx, auth.LoginRequest{Email: "bench@example.com", Password: "benchmark-password"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// BenchmarkRawArgon2id is login's floor: argon2id with the same parameters
// on the same cores, nothing else.
func BenchmarkRawArgon2id(b *testing.B) {
	p := password.OWASP
	salt := make([]byte, p.SaltLen)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			argon2.IDKey([]byte("benchmark-password"), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
		}
	})
}
