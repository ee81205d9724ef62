package auth

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// throttle counts failures per key (an account's email, a client IP) in token
// buckets: burst failures are free, then one more every interval. While a
// key's bucket is empty its attempts are refused before any password hashing,
// so brute force costs the attacker time and the server nothing.
//
// An attempt counts against its key from begin, before its password is
// hashed, until end: otherwise a burst of concurrent attempts would all pass
// the check before the first failure was recorded, and one address could
// fill the hashing queue every time its bucket gained a token.
type throttle struct {
	every time.Duration
	burst int
	max   int // keys kept before idle, full buckets are swept

	mu sync.Mutex
	m  map[string]*bucket
}

type bucket struct {
	failures *rate.Limiter
	pending  int // attempts begun and not yet ended
}

func newThrottle(burst int, every time.Duration, max int) *throttle {
	return &throttle{every: every, burst: burst, max: max, m: make(map[string]*bucket)}
}

// begin starts an attempt for key. It returns 0 when the attempt may go
// ahead, which then counts against key until end is called; otherwise how
// long key must wait, and nothing is counted.
func (t *throttle) begin(key string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.bucket(key, now)
	tokens := b.failures.TokensAt(now) - float64(b.pending)
	if tokens >= 1 {
		b.pending++
		return 0
	}
	d := time.Duration((1 - tokens) * float64(t.every))
	return max(d.Round(time.Second), time.Second)
}

// end finishes an attempt begun for key; a failed one (a wrong password) is
// counted as a failure, any other (the right password, or a check that could
// not run) is forgotten.
func (t *throttle) end(key string, now time.Time, failed bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	b, ok := t.m[key]
	if ok && b.pending > 0 {
		b.pending--
	}
	if failed {
		t.bucket(key, now).failures.AllowN(now, 1)
	}
}

// reset forgets key's failures (after a successful sign-in to the account);
// attempts still running keep counting.
func (t *throttle) reset(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if b, ok := t.m[key]; ok {
		b.failures = rate.NewLimiter(rate.Every(t.every), t.burst)
	}
}

// bucket returns key's bucket, made full if it has none. Called with mu held.
func (t *throttle) bucket(key string, now time.Time) *bucket {
	b, ok := t.m[key]
	if !ok {
		if len(t.m) >= t.max {
			t.sweep(now)
		}
		b = &bucket{failures: rate.NewLimiter(rate.Every(t.every), t.burst)}
		t.m[key] = b
	}
	return b
}

// sweep drops buckets that have refilled and have no attempt running (they
// hold no state) and, if the map is still full, arbitrary others: under a
// flood of distinct keys memory stays bounded at the cost of forgetting some
// counts.
func (t *throttle) sweep(now time.Time) {
	for k, b := range t.m {
		if b.pending == 0 && b.failures.TokensAt(now) >= float64(t.burst)-math.SmallestNonzeroFloat64 {
			delete(t.m, k)
		}
	}
	for k := range t.m {
		if len(t.m) < t.max*3/4 {
			break
		}
		delete(t.m, k)
	}
}
