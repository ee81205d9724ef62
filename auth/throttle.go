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
type throttle struct {
	every time.Duration
	burst int
	max   int // keys kept before full buckets are swept

	mu sync.Mutex
	m  map[string]*rate.Limiter
}

func newThrottle(burst int, every time.Duration, max int) *throttle {
	return &throttle{every: every, burst: burst, max: max, m: make(map[string]*rate.Limiter)}
}

// wait returns how long key must wait before its next attempt; 0 allows it now.
func (t *throttle) wait(key string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	l, ok := t.m[key]
	if !ok {
		return 0
	}
	tokens := l.TokensAt(now)
	if tokens >= 1 {
		return 0
	}
	d := time.Duration((1 - tokens) * float64(t.every))
	return max(d.Round(time.Second), time.Second)
}

// fail records one failed attempt for key.
func (t *throttle) fail(key string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	l, ok := t.m[key]
	if !ok {
		if len(t.m) >= t.max {
			t.sweep(now)
		}
		l = rate.NewLimiter(rate.Every(t.every), t.burst)
		t.m[key] = l
	}
	l.AllowN(now, 1)
}

// reset forgets key's failures (after a successful sign-in to the account).
func (t *throttle) reset(key string) {
	t.mu.Lock()
	delete(t.m, key)
	t.mu.Unlock()
}

// sweep drops buckets that have refilled (they hold no state) and, if the map
// is still full, arbitrary others: under a flood of distinct keys memory stays
// bounded at the cost of forgetting some counts.
func (t *throttle) sweep(now time.Time) {
	for k, l := range t.m {
		if l.TokensAt(now) >= float64(t.burst)-math.SmallestNonzeroFloat64 {
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
