package bench

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, for the bulk path

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/password"
	"github.com/tessera-auth/tessera/secret"
	"github.com/tessera-auth/tessera/server/httpx"
	"github.com/tessera-auth/tessera/store/sqlite"
)

// filler makes the stored sessions of the growth scenarios: session i has a
// secret derived from a per-run seed and i, so that the load generator can
// present any of them without keeping a million secrets, and one refresh
// token (a token-mode sign-in stores both). They belong to filler users, one
// per perUser sessions.
type filler struct {
	seed  [16]byte
	n     int // sessions stored so far
	users int // filler users stored so far
	phc   string
	at    time.Time
}

const (
	perUser   = 1000
	bulkBatch = 20_000
)

// bulkAbove is the store size above which rows are written in large
// transactions (or COPY) rather than one CreateSession call each; a
// variable so that tests can cover both paths with small sizes.
var bulkAbove = 10_000

func (f *filler) derive(kind string, i int) [32]byte {
	var b [16 + 8 + 8]byte
	copy(b[:16], f.seed[:])
	copy(b[16:24], kind)
	binary.BigEndian.PutUint64(b[24:], uint64(i))
	return sha256.Sum256(b[:])
}

// token is the secret of stored session i.
func (f *filler) token(i int) secret.Token {
	h := f.derive("secret", i)
	return secret.MustFrom(bytes.NewReader(h[:]))
}

func (f *filler) sessionID(i int) string {
	h := f.derive("sid", i)
	return base64.RawURLEncoding.EncodeToString(h[:16])
}

func (f *filler) userID(u int) string {
	return fmt.Sprintf("bench-filler-%x-%07d", f.seed[:4], u)
}

func (f *filler) session(i int) *auth.Session {
	return &auth.Session{
		ID: f.sessionID(i), SecretHash: f.token(i).Hash(), UserID: f.userID(i / perUser),
		// Seen "later" than now: the checks measure the lookup, not the
		// once-a-minute touch write of a session unseen for a minute.
		CreatedAt: f.at, LastSeenAt: f.at.Add(time.Hour), ExpiresAt: f.at.Add(30 * 24 * time.Hour),
		CreatedIP: "127.0.0.1", LastIP: "127.0.0.1", CreatedUA: "tessera-bench", LastUA: "tessera-bench",
	}
}

func (f *filler) refreshToken(i int) *auth.RefreshToken {
	return &auth.RefreshToken{
		Hash: f.derive("refresh", i), SessionID: f.sessionID(i), ClientID: auth.FirstPartyClientID,
		FamilyID:  base64.RawURLEncoding.EncodeToString(func() []byte { h := f.derive("family", i); return h[:16] }()),
		CreatedAt: f.at, ExpiresAt: f.at.Add(30 * 24 * time.Hour),
	}
}

// growTo brings the store to n filler sessions (it only adds) and says how
// long that took and how.
func (e *env) growTo(ctx context.Context, n int) (time.Duration, string, error) {
	if e.main == nil {
		return 0, "", fmt.Errorf("bench: the growth scenarios need the in-process server")
	}
	f := e.fill
	if f == nil {
		f = &filler{at: time.Now()}
		crand.Read(f.seed[:])
		h := password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 1, 1)
		phc, err := h.Hash(ctx, secret.RandomID(16)) // filler users never sign in
		if err != nil {
			return 0, "", err
		}
		f.phc = phc
		e.fill = f
	}
	start := time.Now()
	st := e.main.store
	for ; f.users*perUser < n; f.users++ {
		u := &auth.User{ID: f.userID(f.users), Email: fmt.Sprintf("filler-%x-%d@tessera-bench.invalid", f.seed[:4], f.users),
			PasswordHash: f.phc, CreatedAt: f.at, UpdatedAt: f.at}
		if err := st.CreateUser(ctx, u); err != nil {
			return 0, "", fmt.Errorf("bench: creating filler users: %w", err)
		}
	}
	var method string
	var err error
	switch {
	case n <= bulkAbove:
		method = "CreateSession and CreateRefreshToken, 8 at a time"
		err = e.growContract(ctx, f, n)
	case e.storeKind == storeSQLite:
		method = fmt.Sprintf("bulk: INSERT in transactions of %dk rows (database/sql on the SQLite file)", bulkBatch/1000)
		err = e.growSQLite(ctx, f, n)
	default:
		method = fmt.Sprintf("bulk: COPY in batches of %dk rows", bulkBatch/1000)
		err = e.growPostgres(ctx, f, n)
	}
	if err != nil {
		return 0, "", fmt.Errorf("bench: inserting sessions: %w", err)
	}
	f.n = n
	return time.Since(start), method, nil
}

// growContract inserts through the store's own methods.
func (e *env) growContract(ctx context.Context, f *filler, n int) error {
	st := e.main.store
	next := make(chan int, 1024)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range 8 {
		wg.Go(func() {
			for i := range next {
				err := st.CreateSession(ctx, f.session(i))
				if err == nil {
					err = st.CreateRefreshToken(ctx, f.refreshToken(i))
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel()
				}
			}
		})
	}
	for i := f.n; i < n && ctx.Err() == nil; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return firstErr
}

// growSQLite writes rows in large transactions on a connection of its own to
// the store's file (WAL lets the server keep reading meanwhile).
func (e *env) growSQLite(ctx context.Context, f *filler, n int) error {
	path := e.main.store.(*sqlite.DB).Path()
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(NORMAL)", "cache_size(-65536)"} {
		q.Add("_pragma", p)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode()+"&_txlock=immediate")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for lo := f.n; lo < n; lo += bulkBatch {
		hi := min(lo+bulkBatch, n)
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		err = func() error {
			ss, err := tx.PrepareContext(ctx, `INSERT INTO sessions (id, secret_hash, user_id, created_at, last_seen_at, expires_at, created_ip, created_ua, last_ip, last_ua)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
			if err != nil {
				return err
			}
			defer ss.Close()
			rs, err := tx.PrepareContext(ctx, `INSERT INTO refresh_tokens (hash, session_id, client_id, family_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`)
			if err != nil {
				return err
			}
			defer rs.Close()
			for i := lo; i < hi; i++ {
				s, rt := f.session(i), f.refreshToken(i)
				if _, err := ss.ExecContext(ctx, s.ID, s.SecretHash[:], s.UserID, s.CreatedAt.UnixNano(), s.LastSeenAt.UnixNano(), s.ExpiresAt.UnixNano(),
					s.CreatedIP, s.CreatedUA, s.LastIP, s.LastUA); err != nil {
					return err
				}
				if _, err := rs.ExecContext(ctx, rt.Hash[:], rt.SessionID, rt.ClientID, rt.FamilyID, rt.CreatedAt.UnixNano(), rt.ExpiresAt.UnixNano()); err != nil {
					return err
				}
			}
			return nil
		}()
		if err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// growPostgres copies rows into the run's schema.
func (e *env) growPostgres(ctx context.Context, f *filler, n int) error {
	conn, err := pgx.Connect(ctx, e.opts.Store)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for lo := f.n; lo < n; lo += bulkBatch {
		hi := min(lo+bulkBatch, n)
		_, err := conn.CopyFrom(ctx, pgx.Identifier{e.pgSchema, "sessions"},
			[]string{"id", "secret_hash", "user_id", "created_at", "last_seen_at", "expires_at", "created_ip", "created_ua", "last_ip", "last_ua"},
			pgx.CopyFromFunc(func() func() ([]any, error) {
				i := lo
				return func() ([]any, error) {
					if i >= hi {
						return nil, nil
					}
					s := f.session(i)
					i++
					return []any{s.ID, s.SecretHash[:], s.UserID, s.CreatedAt.UnixNano(), s.LastSeenAt.UnixNano(), s.ExpiresAt.UnixNano(),
						s.CreatedIP, s.CreatedUA, s.LastIP, s.LastUA}, nil
				}
			}()))
		if err != nil {
			return err
		}
		_, err = conn.CopyFrom(ctx, pgx.Identifier{e.pgSchema, "refresh_tokens"},
			[]string{"hash", "session_id", "client_id", "family_id", "created_at", "expires_at"},
			pgx.CopyFromFunc(func() func() ([]any, error) {
				i := lo
				return func() ([]any, error) {
					if i >= hi {
						return nil, nil
					}
					rt := f.refreshToken(i)
					i++
					return []any{rt.Hash[:], rt.SessionID, rt.ClientID, rt.FamilyID, rt.CreatedAt.UnixNano(), rt.ExpiresAt.UnixNano()}, nil
				}
			}()))
		if err != nil {
			return err
		}
	}
	return nil
}

// warmCache checks stored sessions in-process until the server's session
// cache is as full as it gets (all n when they fit), so that the growth
// session checks measure the steady state, not a cache filling up. It
// returns how many sessions it checked.
func (e *env) warmCache(ctx context.Context, n int) (int, error) {
	m := min(n, e.main.svc.Config().CacheSize)
	next := make(chan int, 1024)
	var wg sync.WaitGroup
	var failed atomic.Int64
	cl := auth.Client{IP: "127.0.0.1", UserAgent: "tessera-bench"}
	for range 8 {
		wg.Go(func() {
			for i := range next {
				if _, err := e.main.svc.Authenticate(ctx, e.fill.token(i), cl); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	for i := range m {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if f := failed.Load(); f > 0 {
		return m, fmt.Errorf("bench: %d of %d stored sessions failed their check", f, m)
	}
	return m, ctx.Err()
}

// growthSession returns workers that check sessions drawn uniformly among
// the n stored ones.
func growthSession(e *env, c, n int) []work {
	f := e.fill
	ws := make([]work, c)
	for w := range ws {
		rng := rand.New(rand.NewPCG(rand.Uint64(), uint64(w)))
		q := &request{hc: e.hc, method: "GET", url: e.base + "/v1/session", want: 200}
		ws[w] = func(ctx context.Context) error {
			tok := f.token(rng.IntN(n))
			q.header = http.Header{"Cookie": {httpx.CookieName + "=" + tok.Reveal()}}
			return q.do(ctx)
		}
	}
	return ws
}
