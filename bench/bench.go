// Package bench is the engine behind `tessera bench`: it measures the
// session-versus-JWT trade-off on the user's own machine and store, and
// reports every figure as a ratio to a floor measured in the same run.
//
//	opts := bench.Options{Duration: 5 * time.Second}   // zero values are the defaults
//	report, err := bench.Run(ctx, opts, os.Stderr)      // progress on stderr
//	report.WriteTable(os.Stdout)                         // or WriteJSON
//	report.WriteHTML(f)                                  // self-contained, inline SVG charts
//
// # What it runs against
//
// With no URL, Run starts a Tessera server in this process on a loopback
// port, over a temporary SQLite store in a temporary folder (removed
// afterwards), or over PostgreSQL when Options.Store is a postgres:// URL (in
// a fresh schema, dropped afterwards). It is the real stack: the auth
// service with its events follower, the HTTP API and an http.Server, built
// as `tessera serve` builds them, with request logging off. It creates its
// own user, sessions and OAuth client. With a URL it drives a running
// deployment instead, creating its user and client through the admin API
// (/admin/v1, with Options.Token) and deleting them at the end; the
// scenarios that need the store itself (cache off, growth) are then skipped.
//
// # How it measures
//
// Every throughput scenario is a closed loop: Concurrency workers, each
// sending its next request when the previous one has been answered, over
// HTTP/1.1 keep-alive connections, for Duration after a warm-up of a fifth
// of it (at most 1 s). Latencies go into a log-bucketed histogram (see
// Histogram); requests/s counts the answers that completed inside the
// measured window. Each scenario names its floor — the same stack doing the
// least it can (GET /healthz; a resource server without guard; raw argon2id
// with the same parameters) — and reports its ratio to it: the floor is
// measured in the same run, at the same concurrency, in slices interleaved
// with the scenario's (up to eight of each), so that both see the same
// background load. The load generator shares the machine with the server, so absolute
// figures understate a dedicated server; the ratio is the headline.
//
// Revocation lag is the time from the revoking response (POST /v1/logout)
// to the start of the first check that refused the credential; with a
// session that is 0, with guard following the events stream a few
// milliseconds, and a plain JWT checked without guard stays valid until it
// expires: that lag is computed (the token's remaining lifetime), not
// observed, and is labelled so.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tessera-auth/tessera/password"
)

// Options configures a run. The zero value of every field is its default.
type Options struct {
	// URL is a running Tessera server to measure (e.g.
	// "https://auth.example.com"). Empty: start one in this process on
	// loopback, over a temporary store.
	URL string
	// Token is a bearer token the admin API accepts (a client token with
	// the "admin" scope, or an admin user's token); required with URL.
	Token string
	// Store is a PostgreSQL URL (postgres://…) for the in-process server;
	// the run uses a fresh schema in it and drops it afterwards. Empty: a
	// temporary SQLite file.
	Store string
	// SQLiteSynchronous is the SQLite store's synchronous pragma, FULL (the
	// default, as `tessera serve`) or NORMAL.
	SQLiteSynchronous string
	// Duration is the measured time of each scenario at each concurrency;
	// default 5s.
	Duration time.Duration
	// Concurrency lists the numbers of closed-loop workers to sweep;
	// default [8].
	Concurrency []int
	// Scenarios selects scenarios by name or name prefix ("session" selects
	// session-cache-hit and the session-cache-off ones; "growth" the growth
	// scenarios but growth-1m, which runs only when named). Empty: all but
	// growth-1m. The floors the selected scenarios need always run.
	Scenarios []string
	// SkipGrowth leaves out the growth scenarios (they insert 100k sessions
	// by default), unless Scenarios names them.
	SkipGrowth bool
	// GrowthSizes overrides the stored-session counts of the growth
	// scenarios (default 10k, 100k, and 1M when growth-1m is selected).
	GrowthSizes []int
	// Revocations is the number of revocations each lag scenario observes;
	// default 50.
	Revocations int
	// Argon2 are the password parameters of the in-process server and of
	// the raw argon2id floor; zero: password.OWASP (the server default).
	Argon2 password.Params
	// JSON and Out are for the caller (the CLI): print WriteJSON instead of
	// WriteTable, and the HTML report's path (default tessera-bench.html).
	// Run only records them in the report.
	JSON bool
	Out  string
}

// DefaultOut is the HTML report's default path.
const DefaultOut = "tessera-bench.html"

func (o *Options) setDefaults() error {
	if o.Duration == 0 {
		o.Duration = 5 * time.Second
	}
	if len(o.Concurrency) == 0 {
		o.Concurrency = []int{8}
	}
	if o.Revocations == 0 {
		o.Revocations = 50
	}
	if o.Argon2 == (password.Params{}) {
		o.Argon2 = password.OWASP
	}
	if o.SQLiteSynchronous == "" {
		o.SQLiteSynchronous = "FULL"
	}
	if o.Out == "" {
		o.Out = DefaultOut
	}
	o.SQLiteSynchronous = strings.ToUpper(o.SQLiteSynchronous)
	var errs []error
	if o.Duration < 10*time.Millisecond {
		errs = append(errs, errors.New("bench: the duration must be at least 10ms"))
	}
	for _, c := range o.Concurrency {
		if c < 1 || c > 4096 {
			errs = append(errs, fmt.Errorf("bench: concurrency %d: use 1 to 4096", c))
		}
	}
	if o.Revocations < 1 || o.Revocations > 100_000 {
		errs = append(errs, errors.New("bench: revocations must be 1 to 100000"))
	}
	for _, n := range o.GrowthSizes {
		if n < 1 || n > 100_000_000 {
			errs = append(errs, fmt.Errorf("bench: growth size %d: use 1 to 100000000", n))
		}
	}
	if o.SQLiteSynchronous != "FULL" && o.SQLiteSynchronous != "NORMAL" {
		errs = append(errs, fmt.Errorf("bench: SQLite synchronous must be FULL or NORMAL, not %q", o.SQLiteSynchronous))
	}
	if o.URL != "" {
		u, err := url.Parse(o.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, errors.New("bench: the URL must be an http or https URL such as https://auth.example.com"))
		}
		if o.Token == "" {
			errs = append(errs, errors.New("bench: a URL needs a token for its admin API (a client token with the \"admin\" scope)"))
		}
		if o.Store != "" {
			errs = append(errs, errors.New("bench: give a URL (a running server) or a store (for the in-process server), not both"))
		}
	}
	if o.Store != "" && !strings.HasPrefix(o.Store, "postgres://") && !strings.HasPrefix(o.Store, "postgresql://") {
		errs = append(errs, errors.New("bench: the store must be a postgres:// URL (the default is a temporary SQLite file)"))
	}
	return errors.Join(errs...)
}

// redacted returns the options as they may be shown: no token, no password
// in the store URL.
func (o Options) redacted() Options {
	if o.Token != "" {
		o.Token = "REDACTED"
	}
	if u, err := url.Parse(o.Store); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "REDACTED")
			o.Store = u.String()
		}
	}
	o.Concurrency = slices.Clone(o.Concurrency)
	o.Scenarios = slices.Clone(o.Scenarios)
	return o
}

// Report is the outcome of a run.
type Report struct {
	Started  time.Time
	Elapsed  time.Duration
	Machine  Machine
	Options  Options // as run, defaults filled in, secrets redacted
	Target   string  // what was measured, in words
	Store    string  // "sqlite", "postgres", or "" for a remote server
	Results  []Result
	Notes    []string // how to read the figures, skipped scenarios
	PeakRSS  float64  // this process's peak RSS in MiB (server and load generator)
	Warnings []string // scenarios that had errors
}

// Kinds of results.
const (
	KindFloor      = "floor"
	KindThroughput = "throughput"
	KindLag        = "lag"
)

// Result is one scenario at one concurrency (throughput), or one
// revocation mode (lag).
type Result struct {
	Name        string
	Kind        string // KindFloor, KindThroughput or KindLag
	Description string
	Store       string // the store behind the server measured, when known
	Concurrency int    // workers; 0 for lag

	// Throughput scenarios and floors.
	Requests   int64 // answered as expected inside the window
	Errors     int64 // failed or unexpected answers inside the window
	FirstError string
	Seconds    float64 // the measured window
	RPS        float64
	Floor      string  // the floor's name (a floor names itself)
	FloorRPS   float64 // the floor's requests/s, measured interleaved with this scenario
	Ratio      float64 // RPS / FloorRPS

	// Latency (throughput), or lag (KindLag): nearest-rank percentiles.
	P50, P90, P99, P999, Max, Mean time.Duration

	// Lag scenarios.
	Samples  int  // revocations observed
	Computed bool // the lag is computed (a JWT's remaining lifetime), not observed

	// Growth scenarios.
	StoredSessions int
	InsertTime     time.Duration // to bring the store to StoredSessions
	InsertMethod   string
	RSSMB          float64 // this process's RSS after the scenario (server and load generator)

	// Goal is the target for this figure, when it has one, and
	// GoalMet whether this run reached it.
	Goal    string
	GoalMet bool
}

// Run measures the selected scenarios and returns the report. Progress goes
// to progress (a single line redrawn in place when it is a terminal, plain
// lines otherwise; nil: none). A scenario that fails part-way is reported
// with its errors rather than ending the run; Run fails when the target
// cannot be set up, or when ctx ends.
func Run(ctx context.Context, opts Options, progress io.Writer) (*Report, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	r := &runner{opts: opts, prog: newProgress(progress)}
	return r.run(ctx)
}
