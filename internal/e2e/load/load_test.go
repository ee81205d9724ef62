//go:build linux

// Package load puts the real server under load on loopback. TestLoad finds
// the saturation point of the session check (closed loop, concurrency
// doubling until requests per second stop growing), then holds about that
// concurrency for a minute (5 s with -short) with a mix of logins and
// logouts, and checks that valid credentials never fail and that the
// server's memory stays flat. TestMillionSessions (opt-in: -million) reports
// the server's memory and the database's size with a million stored
// sessions.
package load

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/internal/e2e/e2etest"
)

var bin string

func TestMain(m *testing.M) { os.Exit(e2etest.Main(m, &bin)) }

const userPassword = "correct-horse-battery"

// TestLoad: saturation, then a hold at saturation. The logins use the
// production argon2id cost (19 MiB, t=2), so they are a real share of the
// work, at a fixed rate beside the closed loop of session checks.
func TestLoad(t *testing.T) {
	hold, step := time.Minute, 2*time.Second
	if testing.Short() {
		hold, step = 5*time.Second, time.Second
	}
	st := e2etest.SQLite(t)
	const users = 8
	for i := range users {
		st.AddUser(t, bin, fmt.Sprintf("user%d@example.com", i), userPassword)
	}
	srv := e2etest.Start(t, bin, st, []string{"TESSERA_ARGON2_MEMORY=19456", "TESSERA_ARGON2_TIME=2"})
	ctx := context.Background()
	c := e2etest.NewClient(srv.URL, 256)
	defer c.Close()

	// A pool of sessions to check.
	var cookies []string
	for i := range 32 {
		l, r, err := c.Login(ctx, fmt.Sprintf("user%d@example.com", i%users), userPassword, "session")
		if err != nil || l == nil {
			t.Fatalf("login: %v %+v", err, r)
		}
		cookies = append(cookies, l.Secret)
	}

	// check is one session check with a random valid cookie.
	var errs atomic.Int64
	var firstErr atomic.Value
	fail := func(format string, args ...any) {
		if errs.Add(1) == 1 {
			firstErr.Store(fmt.Sprintf(format, args...))
		}
	}
	check := func() {
		status, _, err := c.Session(ctx, e2etest.CookieHeader(cookies[rand.IntN(len(cookies))]))
		if err != nil || status != 200 {
			fail("session check with a valid cookie: status %d, %v", status, err)
		}
	}
	// run runs check in a closed loop with n workers for d and returns the
	// requests per second.
	run := func(n int, d time.Duration, during func(stop <-chan struct{})) float64 {
		stop := make(chan struct{})
		var done atomic.Int64
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					check()
					done.Add(1)
				}
			})
		}
		if during != nil {
			wg.Go(func() { during(stop) })
		}
		start := time.Now()
		time.Sleep(d)
		close(stop)
		wg.Wait()
		return float64(done.Load()) / time.Since(start).Seconds()
	}

	// Saturation: double the concurrency until the rate grows by less than
	// 10%; keep the best.
	run(4, step/2, nil) // warm-up
	best, bestN := 0.0, 1
	var curve []string
	for n := 1; n <= 256; n *= 2 {
		rps := run(n, step, nil)
		curve = append(curve, fmt.Sprintf("%d→%.0f", n, rps))
		grew := rps >= best*1.1
		if rps > best {
			best, bestN = rps, n
		}
		if !grew {
			break
		}
	}
	t.Logf("saturation: %.0f session checks/s at concurrency %d (concurrency→rps: %v)", best, bestN, curve)
	if errs.Load() > 0 {
		t.Fatalf("%d errors while measuring saturation; first: %v", errs.Load(), firstErr.Load())
	}

	// The hold: bestN workers of session checks, plus sign-ins at a fixed
	// rate (each followed by a check and a logout of the new session),
	// while the server's RSS is sampled every second.
	var logins atomic.Int64
	var rss []int64
	rps := run(bestN, hold, func(stop <-chan struct{}) {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		login := time.NewTicker(100 * time.Millisecond)
		defer login.Stop()
		var lw sync.WaitGroup
		defer lw.Wait()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
				if n, err := srv.RSS(); err == nil {
					rss = append(rss, n)
				}
			case <-login.C:
				lw.Go(func() {
					l, r, err := c.Login(ctx, fmt.Sprintf("user%d@example.com", i%users), userPassword, "session")
					if err != nil || l == nil {
						fail("login with valid credentials: %v %+v", err, r)
						return
					}
					logins.Add(1)
					if status, _, err := c.Session(ctx, e2etest.CookieHeader(l.Secret)); err != nil || status != 200 {
						fail("the new session: status %d, %v", status, err)
					}
					if r, err := c.Logout(ctx, e2etest.CookieHeader(l.Secret)); err != nil || r.Status != 204 {
						fail("logout: %v %+v", err, r)
					}
				})
			}
		}
	})
	t.Logf("hold: %v at concurrency %d: %.0f session checks/s, %d sign-ins; RSS %s", hold, bestN, rps, logins.Load(), rssSummary(rss))
	if errs.Load() > 0 {
		t.Errorf("%d errors for valid credentials during the hold; first: %v", errs.Load(), firstErr.Load())
	}
	if logins.Load() == 0 {
		t.Error("no sign-in succeeded during the hold")
	}

	// Memory: after a warm-up (a sixth of the hold), the average of the
	// last sixth must not exceed 1.5× that of the first.
	if w := len(rss) / 6; w >= 1 {
		first, last := avg(rss[w:2*w]), avg(rss[len(rss)-w:])
		if last > first*3/2 {
			t.Errorf("the server's RSS grew from %s to %s during the hold: %s", e2etest.MiB(first), e2etest.MiB(last), rssSummary(rss))
		}
	}
}

func avg(xs []int64) int64 {
	var s int64
	for _, x := range xs {
		s += x
	}
	return s / int64(len(xs))
}

func rssSummary(rss []int64) string {
	if len(rss) == 0 {
		return "not sampled"
	}
	return fmt.Sprintf("%s at the start, %s at the end, %s at most (%d samples)",
		e2etest.MiB(rss[0]), e2etest.MiB(rss[len(rss)-1]), e2etest.MiB(slices.Max(rss)), len(rss))
}
