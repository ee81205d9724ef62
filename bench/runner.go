package bench

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

type runner struct {
	opts   Options
	prog   *progress
	rep    *Report
	floors map[string]map[int][]work // floor → concurrency → its workers, for pairing
}

func (r *runner) run(ctx context.Context) (*Report, error) {
	sel, err := selectScenarios(catalog(r.opts), r.opts.Scenarios, r.opts.SkipGrowth)
	if err != nil {
		return nil, err
	}
	r.rep = &Report{Started: time.Now(), Machine: thisMachine(), Options: r.opts.redacted()}
	r.floors = map[string]map[int][]work{}
	remote := r.opts.URL != ""
	storeKind := storeSQLite
	switch {
	case remote:
		storeKind = ""
	case r.opts.Store != "":
		storeKind = storePostgres
	}

	// What can run here, in three phases.
	var throughput, lags []*scenario
	var growthSizes []int
	growthOps := map[int][]*scenario{}
	for _, s := range sel {
		switch {
		case remote && s.local:
			r.note("%s: skipped, it needs the in-process server (the store itself), not --url", s.name)
			continue
		case s.needs == storePostgres && storeKind != storePostgres:
			if len(r.opts.Scenarios) > 0 {
				r.note("%s: skipped, it needs a PostgreSQL store (--store postgres://…)", s.name)
			}
			continue
		}
		switch {
		case s.growth > 0:
			if !slices.Contains(growthSizes, s.growth) {
				growthSizes = append(growthSizes, s.growth)
			}
			growthOps[s.growth] = append(growthOps[s.growth], s)
		case s.kind == KindLag:
			lags = append(lags, s)
		default:
			throughput = append(throughput, s)
		}
	}
	slices.Sort(growthSizes)
	lagSteps := 0
	if hasAny(lags, nLagSession) {
		lagSteps++
	}
	if hasAny(lags, nLagJWT, nLagGuard) {
		lagSteps++
	}
	total := 1 + len(throughput)*len(r.opts.Concurrency) + lagSteps
	for _, n := range growthSizes {
		total += 1 + len(growthOps[n])*len(r.opts.Concurrency)
	}
	r.prog.total = total
	defer r.prog.done()

	e := newEnv(r.opts)
	defer e.close()
	st := r.prog.begin("set-up")
	if err := e.setup(ctx); err != nil {
		st.end("failed")
		return nil, err
	}
	r.rep.Store = e.storeKind
	r.rep.Target = r.describeTarget(e)
	where := e.base
	if e.storeKind != "" {
		where = "in-process, " + e.storeKind + ", " + e.base
	}
	st.end(where)

	for _, c := range r.opts.Concurrency {
		for _, s := range throughput {
			if err := ctx.Err(); err != nil {
				return r.finish(err)
			}
			r.measure(ctx, e, s, c, func(ctx context.Context, c int) ([]work, error) { return s.setup(ctx, e, c) })
		}
	}
	if err := r.runLags(ctx, e, lags); err != nil {
		return r.finish(err)
	}
	for _, n := range growthSizes {
		if err := ctx.Err(); err != nil {
			return r.finish(err)
		}
		st := r.prog.begin("insert " + sizeLabel(n) + " sessions")
		d, method, err := e.growTo(ctx, n)
		if err != nil {
			st.end("failed: " + err.Error())
			r.warn("growth-%s: %v", sizeLabel(n), err)
			r.prog.skip(len(growthOps[n]) * len(r.opts.Concurrency))
			continue
		}
		summary := fmt.Sprintf("%s sessions stored in %s (%s)", sizeLabel(n), d.Round(time.Millisecond), method)
		if slices.ContainsFunc(growthOps[n], func(s *scenario) bool { return s.op == "session" }) {
			t := time.Now()
			m, err := e.warmCache(ctx, n)
			if err != nil {
				r.warn("growth-%s: warming the cache: %v", sizeLabel(n), err)
			}
			summary += fmt.Sprintf("; cache warmed with %s of them in %s", sizeLabel(m), time.Since(t).Round(time.Millisecond))
		}
		st.end(summary)
		for _, c := range r.opts.Concurrency {
			for _, s := range growthOps[n] {
				if err := ctx.Err(); err != nil {
					return r.finish(err)
				}
				res := r.measure(ctx, e, s, c, func(ctx context.Context, c int) ([]work, error) {
					if s.op == "session" {
						return growthSession(e, c, n), nil
					}
					return refreshWorkers(ctx, e, c)
				})
				if res != nil {
					res.StoredSessions, res.InsertTime, res.InsertMethod = n, d, method
					res.RSSMB, _ = rssMB()
				}
			}
		}
	}
	r.addNotes(e, growthSizes)
	return r.finish(nil)
}

func (r *runner) finish(err error) (*Report, error) {
	r.rep.Elapsed = time.Since(r.rep.Started)
	_, r.rep.PeakRSS = rssMB()
	applyGoals(r.rep.Results)
	return r.rep, err
}

func (r *runner) note(format string, args ...any) {
	r.rep.Notes = append(r.rep.Notes, fmt.Sprintf(format, args...))
}

func (r *runner) warn(format string, args ...any) {
	r.rep.Warnings = append(r.rep.Warnings, fmt.Sprintf(format, args...))
}

// measure runs one throughput scenario at concurrency c and appends its
// result; the pointer stays valid until the next append. It returns nil
// when ctx ended during the measurement.
func (r *runner) measure(ctx context.Context, e *env, s *scenario, c int, setup func(context.Context, int) ([]work, error)) *Result {
	res := Result{Name: s.name, Kind: s.kind, Description: s.desc, Concurrency: c, Floor: s.floor}
	if s.kind == KindFloor {
		res.Floor = s.name
	}
	if s.storeOf != nil {
		res.Store = s.storeOf(e)
	}
	st := r.prog.begin(fmt.Sprintf("%s c=%d", s.name, c))
	ws, err := setup(ctx, c)
	if err != nil {
		res.Errors, res.FirstError = 1, err.Error()
		r.warn("%s (c=%d): %v", s.name, c, err)
		st.end("failed: " + err.Error())
		r.rep.Results = append(r.rep.Results, res)
		return &r.rep.Results[len(r.rep.Results)-1]
	}
	var live atomic.Int64
	d := r.opts.Duration
	var o *outcome
	if fws := r.floors[s.floor][c]; s.kind != KindFloor && fws != nil {
		st.bar(pairedTime(d), &live, 0)
		var f *outcome
		o, f = loadPaired(ctx, ws, fws, d, &live)
		res.FloorRPS = f.rps()
		if f.errs > 0 {
			r.warn("%s (c=%d), paired with %s: %d errors, the first: %s", s.floor, c, s.name, f.errs, f.firstError)
		}
	} else {
		st.bar(warmupFor(d)+d, &live, 0)
		o = load(ctx, ws, warmupFor(d), d, &live)
	}
	if ctx.Err() != nil {
		st.end("interrupted")
		return nil // a cut-off measurement says nothing
	}
	res.Requests, res.Errors, res.FirstError = o.ok, o.errs, o.firstError
	res.Seconds = o.window.Seconds()
	res.RPS = o.rps()
	h := &o.hist
	res.P50, res.P90, res.P99, res.P999 = h.Quantile(0.5), h.Quantile(0.9), h.Quantile(0.99), h.Quantile(0.999)
	res.Max, res.Mean = h.Max(), h.Mean()
	switch {
	case s.kind == KindFloor:
		if r.floors[s.name] == nil {
			r.floors[s.name] = map[int][]work{}
		}
		r.floors[s.name][c] = ws
		res.Ratio, res.FloorRPS = 1, res.RPS
	case res.FloorRPS > 0:
		res.Ratio = res.RPS / res.FloorRPS
	}
	if res.Errors > 0 {
		r.warn("%s (c=%d): %d errors, the first: %s", s.name, c, res.Errors, res.FirstError)
	}
	summary := fmt.Sprintf("%s req/s  p50 %s  p99 %s", fmtRate(res.RPS), fmtDur(res.P50), fmtDur(res.P99))
	if s.kind != KindFloor {
		summary += fmt.Sprintf("  %s %s", fmtRatio(res.Ratio), s.floor)
	}
	if res.Errors > 0 {
		summary += fmt.Sprintf("  (%d errors)", res.Errors)
	}
	st.end(summary)
	r.rep.Results = append(r.rep.Results, res)
	return &r.rep.Results[len(r.rep.Results)-1]
}

// runLags measures the selected revocation-lag scenarios.
func (r *runner) runLags(ctx context.Context, e *env, lags []*scenario) error {
	byName := func(n string) *scenario {
		for _, s := range lags {
			if s.name == n {
				return s
			}
		}
		return nil
	}
	n := r.opts.Revocations
	lagSummary := func(res Result) string {
		return fmt.Sprintf("p50 %s  p99 %s  max %s", fmtDur(res.P50), fmtDur(res.P99), fmtDur(res.Max))
	}
	if s := byName(nLagSession); s != nil {
		st := r.prog.begin(fmt.Sprintf("%s ×%d", s.name, n))
		var done atomic.Int64
		st.bar(0, &done, int64(n))
		samples, err := e.lagSession(ctx, n, func() { done.Add(1) })
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			st.end("failed: " + err.Error())
			r.warn("%s: %v", s.name, err)
		} else {
			res := samples.result(s, e.storeKind)
			r.rep.Results = append(r.rep.Results, res)
			st.end(lagSummary(res))
		}
	}
	sg, sj := byName(nLagGuard), byName(nLagJWT)
	if sg == nil && sj == nil {
		return nil
	}
	label := nLagGuard
	if sg == nil {
		label = nLagJWT
	}
	st := r.prog.begin(fmt.Sprintf("%s ×%d", label, n))
	var done atomic.Int64
	st.bar(0, &done, int64(n))
	guarded, plain, err := e.lagTokens(ctx, n, sg != nil, func() { done.Add(1) })
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		st.end("failed: " + err.Error())
		r.warn("%s: %v", label, err)
		return nil
	}
	var parts []string
	if sg != nil {
		res := guarded.result(sg, "")
		r.rep.Results = append(r.rep.Results, res)
		parts = append(parts, "guard "+lagSummary(res))
	}
	if sj != nil {
		res := plain.result(sj, "")
		res.Computed = true
		r.rep.Results = append(r.rep.Results, res)
		parts = append(parts, "plain JWT (computed) p50 "+fmtDur(res.P50))
	}
	st.end(strings.Join(parts, "; "))
	return nil
}

func (r *runner) describeTarget(e *env) string {
	switch {
	case e.remote:
		return "the running server at " + e.base + " (issuer " + e.issuer + ")"
	case e.storeKind == storePostgres:
		where := "PostgreSQL"
		if u, err := url.Parse(r.opts.Store); err == nil {
			where += " at " + u.Host + u.Path
		}
		return fmt.Sprintf("an in-process server at %s over %s, in the fresh schema %s (dropped afterwards)", e.base, where, e.pgSchema)
	default:
		return fmt.Sprintf("an in-process server at %s over a temporary SQLite store (synchronous=%s, removed afterwards)", e.base, r.opts.SQLiteSynchronous)
	}
}

func (r *runner) addNotes(e *env, growth []int) {
	r.note("The load generator runs on the same machine, and the same cores, as the server it measures: absolute requests/s understate a dedicated server. The ratio to a floor measured in the same run, at the same concurrency, is the headline.")
	r.note("Throughput scenarios are closed loops: each worker sends its next request when the previous answer has been read, over keep-alive connections; latency percentiles are nearest-rank, from a log-bucketed histogram (±0.4%%). Each figure is measured for %s after a warm-up of %s.", r.opts.Duration, warmupFor(r.opts.Duration))
	r.note("Each ratio divides a scenario's requests/s by its floor's, measured in %d slices interleaved with the scenario's own (%s of floor in all), so that both see the same background load; the floor's own row is measured on its own first.", roundsFor(r.opts.Duration), r.opts.Duration/2)
	if !e.remote {
		r.note("The in-process server is built as `tessera serve` builds it (auth service with its events follower, HTTP API, http.Server), with request logging off and the sign-in throttles out of the way (they count sign-ins in flight, and the load generator signs one account in from one address); argon2id m=%d KiB, t=%d, p=%d.",
			r.opts.Argon2.Memory, r.opts.Argon2.Time, r.opts.Argon2.Threads)
	} else {
		r.note("argon2id-raw runs on this machine with m=%d KiB, t=%d, p=%d; the remote server's parameters and cores may differ, so login's ratio is indicative only. Its sign-in throttles count sign-ins in flight: login with more workers than its --login-account-burst (default 10) meets 429s.",
			r.opts.Argon2.Memory, r.opts.Argon2.Time, r.opts.Argon2.Threads)
	}
	r.note("Revocation lag is the time from the logout response to the start of the first check that refused the credential, over %d revocations each; a plain JWT checked without guard is accepted until it expires, so its lag is computed as the token's remaining lifetime at logout, not observed.", r.opts.Revocations)
	if len(growth) > 0 {
		r.note("Growth: filler sessions (one refresh token each, %d per user) are stored before each size is measured, up to %s through the store's CreateSession and CreateRefreshToken, in bulk beyond. Before the session checks, the server's cache is warmed with as many of them as it holds (100k by default), and the checks then draw a session uniformly among all: up to 100k every check is a cache hit, beyond it most read the store. The filler sessions count as seen recently, so that no check pays the once-a-minute touch write. RSS is this whole process's (server and load generator).", perUser, sizeLabel(bulkAbove))
	}
}

// applyGoals marks the figures that the issue sets targets for.
func applyGoals(rs []Result) {
	for i := range rs {
		r := &rs[i]
		switch {
		case r.Name == nSessionHit:
			r.Goal, r.GoalMet = "≥ 0.6× the floor's requests/s", r.Ratio >= 0.6
		case r.Name == nLogin:
			r.Goal, r.GoalMet = "≥ 0.9× raw argon2id", r.Ratio >= 0.9
		case r.Name == nRefresh && r.Store == storeSQLite:
			r.Goal, r.GoalMet = "≥ 2,000/s on SQLite (2 cores)", r.RPS >= 2000
		case r.Name == nLagGuard && r.Samples > 0:
			r.Goal, r.GoalMet = "p99 ≤ 50 ms", r.P99 <= 50*time.Millisecond && r.Errors == 0
		case r.StoredSessions >= 1_000_000 && r.RSSMB > 0:
			r.Goal, r.GoalMet = "RSS ≤ 300 MB with 1M sessions", r.RSSMB <= 300
		}
	}
}
