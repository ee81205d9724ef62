//go:build linux

package hostile

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/internal/e2e/e2etest"
)

// TestLoginFlood: a flood of logins against a server that hashes one
// password at a time and lets four more wait (--argon2-concurrency 1
// --argon2-queue 4), with the OWASP argon2id cost (19 MiB, t=2). Login
// throttling is set out of the way, so that the hashing bound is what is
// tested. The flood gets 401s at the hashing rate and 503 busy with
// Retry-After for the rest, never anything else; the server's memory stays
// flat (an unbounded server would hold 19 MiB per login in flight); and a
// legitimate user who retries after Retry-After still signs in.
func TestLoginFlood(t *testing.T) {
	t.Parallel()
	flood := 20 * time.Second
	if testing.Short() {
		flood = 6 * time.Second
	}
	const attackers = 48
	st := e2etest.SQLite(t)
	st.AddUser(t, bin, "legit@example.com", userPassword)
	srv := e2etest.Start(t, bin, st,
		[]string{"TESSERA_ARGON2_MEMORY=19456", "TESSERA_ARGON2_TIME=2"},
		"--argon2-concurrency", "1", "--argon2-queue", "4",
		"--login-ip-burst", "1000000000", "--login-account-burst", "1000000000")
	ctx := context.Background()

	// Warm up: one login (which also re-hashes the CLI's cheap hash with
	// the server's parameters), then the baseline memory.
	c := e2etest.NewClient(srv.URL, attackers+2)
	defer c.Close()
	if r, err := login(ctx, c, "legit@example.com", userPassword); err != nil || r.Status != 200 {
		t.Fatalf("warm-up login: %v %+v", err, r)
	}
	time.Sleep(500 * time.Millisecond)
	baseline, err := srv.RSS()
	if err != nil {
		t.Fatal(err)
	}

	fctx, stop := context.WithTimeout(ctx, flood)
	defer stop()
	var wg sync.WaitGroup
	var n401, n503, other atomic.Int64
	for i := range attackers {
		wg.Go(func() {
			for j := 0; fctx.Err() == nil; j++ {
				r, err := login(fctx, c, fmt.Sprintf("nobody%d-%d@example.com", i, j), "wrong-password-"+strconv.Itoa(j))
				switch {
				case err != nil:
					if fctx.Err() == nil {
						t.Errorf("attacker: %v", err)
						other.Add(1)
					}
					return
				case r.Status == 401:
					n401.Add(1)
				case r.Status == 503 && r.Header.Get("Retry-After") != "":
					n503.Add(1)
				default:
					other.Add(1)
					t.Errorf("attacker: status %d (Retry-After %q): %s", r.Status, r.Header.Get("Retry-After"), r.Body)
					return
				}
			}
		})
	}

	// The legitimate user, who honours Retry-After, from the flood's
	// second second on (when the queue is full).
	var signedIn []time.Duration
	wg.Go(func() {
		time.Sleep(time.Second)
		for fctx.Err() == nil {
			start := time.Now()
			for fctx.Err() == nil {
				r, err := login(fctx, c, "legit@example.com", userPassword)
				if err != nil {
					break
				}
				if r.Status == 200 {
					signedIn = append(signedIn, time.Since(start))
					break
				}
				if r.Status != 503 {
					t.Errorf("legitimate login: status %d: %s", r.Status, r.Body)
					return
				}
				wait, _ := strconv.Atoi(r.Header.Get("Retry-After"))
				select {
				case <-fctx.Done():
				case <-time.After(time.Duration(max(wait, 1)) * time.Second):
				}
			}
		}
	})

	// Memory, every 250 ms.
	var peak int64
	var samples []int64
	tick := time.NewTicker(250 * time.Millisecond)
	for fctx.Err() == nil {
		select {
		case <-tick.C:
			if rss, err := srv.RSS(); err == nil {
				peak = max(peak, rss)
				samples = append(samples, rss)
			}
		case <-fctx.Done():
		}
	}
	tick.Stop()
	wg.Wait()

	t.Logf("%v of %d attackers: %d × 401, %d × 503 busy; the legitimate user signed in %d times (after %v); RSS baseline %s, peak %s",
		flood, attackers, n401.Load(), n503.Load(), len(signedIn), signedIn, e2etest.MiB(baseline), e2etest.MiB(peak))
	if n503.Load() == 0 {
		t.Error("no 503: the hashing queue never filled, so the bound was not tested")
	}
	if other.Load() > 0 {
		t.Errorf("%d answers other than 401 and 503", other.Load())
	}
	// One argon2id hash holds 19 MiB; the bound allows one at a time. An
	// unbounded server would hold one per request in flight (48 × 19 MiB).
	if peak > baseline+160<<20 {
		t.Errorf("RSS grew from %s to %s during the flood", e2etest.MiB(baseline), e2etest.MiB(peak))
	}
	if n := len(samples); n >= 8 {
		first, last := avg(samples[:n/4]), avg(samples[n-n/4:])
		if last > first*3/2 && last-first > 32<<20 {
			t.Errorf("RSS keeps growing during the flood: %s in its first quarter, %s in its last", e2etest.MiB(first), e2etest.MiB(last))
		}
	}
	healthy(t, srv.URL)

	// With throttling set out of the way, nothing tells the legitimate user
	// from the flood: attackers that ignore Retry-After take the freed queue
	// places. What keeps legitimate users signing in is the per-IP throttle,
	// shown by TestLoginFloodFromAnotherAddress.
	t.Logf("with throttling off, the legitimate user (honouring Retry-After) signed in %d times", len(signedIn))
}

// TestLoginFloodFromAnotherAddress: the same flood, from another address
// (127.0.0.2) and with the default login throttling. The flood's failures
// meet the per-IP throttle (429, before any hashing) and the legitimate user
// on 127.0.0.1 signs in every time.
func TestLoginFloodFromAnotherAddress(t *testing.T) {
	t.Parallel()
	flood := 15 * time.Second
	if testing.Short() {
		flood = 5 * time.Second
	}
	const attackers = 48
	st := e2etest.SQLite(t)
	st.AddUser(t, bin, "legit@example.com", userPassword)
	srv := e2etest.Start(t, bin, st,
		[]string{"TESSERA_ARGON2_MEMORY=19456", "TESSERA_ARGON2_TIME=2"},
		"--argon2-concurrency", "1", "--argon2-queue", "4")
	ctx := context.Background()

	legit := e2etest.NewClient(srv.URL, 2)
	defer legit.Close()
	flooder := e2etest.NewClient(srv.URL, attackers)
	defer flooder.Close()
	flooder.HTTP.Transport.(*http.Transport).DialContext = (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}).DialContext

	fctx, stop := context.WithTimeout(ctx, flood)
	defer stop()
	var wg sync.WaitGroup
	var hashed, throttled, busy atomic.Int64
	for i := range attackers {
		wg.Go(func() {
			for j := 0; fctx.Err() == nil; j++ {
				r, err := login(fctx, flooder, fmt.Sprintf("nobody%d-%d@example.com", i, j), "wrong-password-"+strconv.Itoa(j))
				switch {
				case err != nil:
					if fctx.Err() == nil {
						t.Errorf("attacker: %v", err)
					}
					return
				case r.Status == 401:
					hashed.Add(1)
				case r.Status == 429:
					throttled.Add(1)
				case r.Status == 503:
					busy.Add(1)
				default:
					t.Errorf("attacker: status %d: %s", r.Status, r.Body)
					return
				}
			}
		})
	}
	time.Sleep(time.Second) // the flood is on
	attempts, ok := 0, 0
	for fctx.Err() == nil {
		attempts++
		if r, err := login(fctx, legit, "legit@example.com", userPassword); err == nil && r.Status == 200 {
			ok++
		} else if err == nil {
			t.Logf("legitimate login: %d", r.Status)
		}
		select {
		case <-fctx.Done():
		case <-time.After(time.Second):
		}
	}
	wg.Wait()
	t.Logf("%v of %d attackers from 127.0.0.2: %d hashed (401), %d throttled (429), %d busy (503); the legitimate user signed in %d of %d times",
		flood, attackers, hashed.Load(), throttled.Load(), busy.Load(), ok, attempts)
	if throttled.Load() == 0 {
		t.Error("the flood was never throttled")
	}
	if ok < attempts-1 || ok == 0 {
		t.Errorf("the legitimate user signed in %d of %d times during the flood", ok, attempts)
	}
}

func avg(xs []int64) int64 {
	var s int64
	for _, x := range xs {
		s += x
	}
	return s / int64(len(xs))
}
