package postgres_test

import (
	"testing"
	"time"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/secret"
	"github.com/tessera-auth/tessera/store/postgres"
	"github.com/tessera-auth/tessera/store/storetest"
)

// The benchmarks run against the server in TESSERA_TEST_POSTGRES, over
// whatever network lies between (loopback here), in a fresh schema:
//
//	TESSERA_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//		go test -run '^$' -bench . -benchtime 3s ./store/postgres/

// BenchmarkSessionByHash: the uncached session check, a primary-key lookup
// among 10,000 sessions; one round trip.
func BenchmarkSessionByHash(b *testing.B) {
	db := mustOpen(b, newSchema(b), postgres.Options{})
	u := storetest.MustCreateUser(b, db, storetest.NewUser("bench@example.com"))
	hashes := make([]secret.Hash, 10_000)
	for i := range hashes {
		s := storetest.NewSession(u.ID, storetest.Base)
		hashes[i] = s.SecretHash
	}
	if _, err := db.Pool().CopyFrom(b.Context(), []string{"sessions"},
		[]string{"id", "secret_hash", "user_id", "created_at", "last_seen_at", "expires_at"}, sessionRows(u.ID, hashes)); err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	b.Run("Serial", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := db.SessionByHash(ctx, hashes[i%len(hashes)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("Parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := db.SessionByHash(ctx, hashes[i%len(hashes)]); err != nil {
					b.Error(err)
					return
				}
				i += 7
			}
		})
	})
}

type copyRows struct {
	userID string
	hashes []secret.Hash
	i      int
}

func sessionRows(userID string, hashes []secret.Hash) *copyRows {
	return &copyRows{userID: userID, hashes: hashes, i: -1}
}

func (r *copyRows) Next() bool { r.i++; return r.i < len(r.hashes) }
func (r *copyRows) Err() error { return nil }
func (r *copyRows) Values() ([]any, error) {
	now := storetest.Base.UnixNano()
	return []any{secret.RandomID(16), r.hashes[r.i][:], r.userID, now, now, now + int64(30*24*time.Hour)}, nil
}

// BenchmarkRotateRefresh: one refresh-token rotation as the service makes it
// (a compare-and-swap UPDATE and the successor's INSERT in one transaction,
// no events), each on its own token chain so that rotations do not wait for
// one another.
func BenchmarkRotateRefresh(b *testing.B) {
	db := mustOpen(b, newSchema(b), postgres.Options{})
	u := storetest.MustCreateUser(b, db, storetest.NewUser("bench@example.com"))
	sess := storetest.MustCreateSession(b, db, storetest.NewSession(u.ID, storetest.Base))
	ctx := b.Context()
	// chain rotates its own token chain; step makes one rotation.
	chain := func(b *testing.B, withEvent bool) func() bool {
		cur := storetest.MustCreateRefreshToken(b, db, storetest.NewRefreshToken(sess.ID, storetest.Base))
		return func() bool {
			next := *cur
			next.Hash, next.CreatedAt = secret.New().Hash(), time.Now()
			var evs []auth.Event
			if withEvent {
				evs = append(evs, auth.Event{Type: auth.EventTokenIssued, At: next.CreatedAt, SessionID: sess.ID})
			}
			ok, err := db.RotateRefreshToken(ctx, cur.Hash, next.CreatedAt, &next, evs...)
			if err != nil || !ok {
				b.Errorf("RotateRefreshToken = %v, %v", ok, err)
				return false
			}
			cur = &next
			return true
		}
	}
	b.Run("Serial", func(b *testing.B) {
		step := chain(b, false)
		for b.Loop() {
			if !step() {
				return
			}
		}
	})
	parallel := func(withEvent bool) func(b *testing.B) {
		return func(b *testing.B) {
			b.SetParallelism(4) // 4×GOMAXPROCS concurrent chains
			b.RunParallel(func(pb *testing.PB) {
				step := chain(b, withEvent)
				for pb.Next() {
					if !step() {
						return
					}
				}
			})
		}
	}
	b.Run("Parallel", parallel(false))
	// With an event the transaction also holds the events lock until COMMIT:
	// such transactions commit one at a time.
	b.Run("ParallelWithEvent", parallel(true))
}
