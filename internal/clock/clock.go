// Package clock holds Tessera's rule about time and the clocks that tests
// run the server on.
//
// The rule: every time that decides something — an expiry, a cookie's
// lifetime, a throttle window, a token's iat and exp, a webhook retry, an
// event's timestamp — comes from the injected clock (auth.Config.Now,
// webhook.Config.Now, guard.Config.Now, ...), never from time.Now. Only
// measuring how long something took (for logs and metrics) and the default
// of a clock option read the wall clock; wallclock_test.go walks the
// module's code and fails on any other time.Now, time.Since or time.Until,
// naming the allow-list of the places that may.
//
// The clocks: Fake, which tests move by hand, and Shifted, real time moved
// by an offset. Test harnesses start them at Epoch, years away from today
// (ahead for some tests, behind for others), so that a wall-clock read in an
// expiry path fails an assertion the day it is written, not a month later.
package clock

import (
	"hash/fnv"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Fake is a clock that only moves when told to. It is safe for concurrent
// use, and counts its readings (a test can wait until code it runs has
// looked at the time again).
type Fake struct {
	mu    sync.Mutex
	t     time.Time
	reads atomic.Int64
}

// NewFake returns a Fake at t.
func NewFake(t time.Time) *Fake { return &Fake{t: t} }

// Now returns the clock's time.
func (c *Fake) Now() time.Time {
	c.reads.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock on by d.
func (c *Fake) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Set moves the clock to t.
func (c *Fake) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// Reads is how many times Now has been called.
func (c *Fake) Reads() int64 { return c.reads.Load() }

// Shifted is real time moved by an offset: it runs, as timeouts and
// tickers need, but shows another date. Safe for concurrent use.
type Shifted struct {
	offset atomic.Int64 // nanoseconds
}

// NewShifted returns a clock that reads as t now and runs from there.
func NewShifted(t time.Time) *Shifted {
	c := &Shifted{}
	c.offset.Store(int64(time.Until(t)))
	return c
}

// NewOffset returns a clock that runs d ahead of real time (behind, for a
// negative d): processes given the same d agree on the time.
func NewOffset(d time.Duration) *Shifted {
	c := &Shifted{}
	c.offset.Store(int64(d))
	return c
}

// Now returns real time plus the offset.
func (c *Shifted) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// Add moves the clock on by d.
func (c *Shifted) Add(d time.Duration) { c.offset.Add(int64(d)) }

// The epochs that tests start their clocks at: years from any date these
// tests will plausibly run on, one ahead and one behind.
var (
	Ahead  = time.Date(2034, 8, 14, 9, 30, 0, 0, time.UTC)
	Behind = time.Date(2019, 2, 18, 16, 45, 0, 0, time.UTC)
)

// Epoch is the time a test's server clock starts at: Ahead or Behind, picked
// by a hash of the test's name, so that across the suite both directions are
// exercised and each test always gets the same one. TESSERA_TEST_EPOCH=ahead
// or =behind forces one, e.g. to run a failing test the other way.
func Epoch(tb testing.TB) time.Time {
	switch os.Getenv("TESSERA_TEST_EPOCH") {
	case "ahead":
		return Ahead
	case "behind":
		return Behind
	}
	h := fnv.New32a()
	h.Write([]byte(tb.Name()))
	if h.Sum32()%2 == 0 {
		return Ahead
	}
	return Behind
}
