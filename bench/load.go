package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// work is one request of a closed-loop worker: it returns when the answer
// has been read, with an error when the answer was not the expected one.
type work func(ctx context.Context) error

// outcome is what the load generator measured.
type outcome struct {
	hist       Histogram
	ok, errs   int64   // answers completed in the window
	work       float64 // successful requests done in the window, pro rata (see load)
	firstError string
	window     time.Duration
}

// add merges the measurements of another window.
func (o *outcome) add(p *outcome) {
	o.hist.Merge(&p.hist)
	o.ok += p.ok
	o.errs += p.errs
	o.work += p.work
	o.window += p.window
	if o.firstError == "" {
		o.firstError = p.firstError
	}
}

// rps is the rate of successful requests over the window.
func (o *outcome) rps() float64 {
	if o.window <= 0 {
		return 0
	}
	return o.work / o.window.Seconds()
}

// warmupFor is the unmeasured lead-in of a measurement of d: it fills
// caches and opens the keep-alive connections.
func warmupFor(d time.Duration) time.Duration { return min(d/5, time.Second) }

// roundsFor is how many slices a scenario and its floor are interleaved
// in: up to 8, each of the scenario's at least 250 ms. Short slices follow
// the bursts of other work on a shared machine; the pro-rata rate of load
// keeps them unbiased however long a request takes.
func roundsFor(d time.Duration) int { return min(8, max(1, int(d/(250*time.Millisecond)))) }

// load runs one closed-loop worker per element of workers for warm and then
// d, and measures the window of d: the latency of the answers that
// complete in it, and the requests done in it, each successful request
// counting for the share of its time that fell inside the window. That
// rate needs no warm-up and is exact for windows a few requests long (an
// argon2id hash of 200 ms in a 250 ms slice), where counting completions
// would round to whole requests. live counts completions as they come, for
// the progress line.
func load(ctx context.Context, workers []work, warm, d time.Duration, live *atomic.Int64) *outcome {
	start := time.Now()
	measureFrom := start.Add(warm)
	end := measureFrom.Add(d)
	// Requests still running well after the end are cut.
	rctx, cancel := context.WithDeadline(ctx, end.Add(30*time.Second))
	defer cancel()

	type tally struct {
		hist     Histogram
		ok, errs int64
		work     float64
		first    string
	}
	tallies := make([]tally, len(workers))
	// When no answer completes inside the window (the machine stalled for
	// longer than it), the first one after it gives the latency figures.
	var counted atomic.Int64
	var wg sync.WaitGroup
	for i, w := range workers {
		wg.Go(func() {
			t := &tallies[i]
			for {
				t0 := time.Now()
				if !t0.Before(end) || rctx.Err() != nil {
					return
				}
				err := w(rctx)
				t1 := time.Now()
				if d == 0 || t1.Before(measureFrom) {
					continue
				}
				if err == nil {
					if in := earlier(t1, end).Sub(later(t0, measureFrom)); in > 0 {
						t.work += float64(in) / float64(max(t1.Sub(t0), 1))
					}
				}
				if !t1.Before(end) && (err != nil || counted.Load() > 0) {
					continue
				}
				if err != nil {
					if rctx.Err() != nil {
						return
					}
					t.errs++
					if t.first == "" {
						t.first = err.Error()
					}
					continue
				}
				t.hist.Record(t1.Sub(t0))
				t.ok++
				counted.Add(1)
				if live != nil {
					live.Add(1)
				}
			}
		})
	}
	wg.Wait()
	o := &outcome{window: d}
	for i := range tallies {
		t := &tallies[i]
		o.add(&outcome{hist: t.hist, ok: t.ok, errs: t.errs, work: t.work, firstError: t.first})
	}
	return o
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// loadPaired measures a scenario and its floor in interleaved slices: after
// a warm-up of each, n = roundsFor(d) slices of d/n of the scenario, each
// after one of d/2n of the floor, so that both see the same background
// load and the ratio of their rates holds on a busy machine.
func loadPaired(ctx context.Context, ws, floor []work, d time.Duration, live *atomic.Int64) (o, f *outcome) {
	o, f = &outcome{}, &outcome{}
	warm := warmupFor(d)
	load(ctx, floor, warm/2, 0, nil)
	load(ctx, ws, warm, 0, nil)
	n := time.Duration(roundsFor(d))
	for range n {
		if ctx.Err() != nil {
			break
		}
		f.add(load(ctx, floor, 0, d/(2*n), nil))
		o.add(load(ctx, ws, 0, d/n, live))
	}
	return o, f
}

// pairedTime is how long loadPaired takes.
func pairedTime(d time.Duration) time.Duration { return warmupFor(d)*3/2 + d*3/2 }

// request is a prepared HTTP request of a worker: method, URL, headers and
// body, sent as often as the worker loops, with the status it must answer.
type request struct {
	hc     *http.Client
	method string
	url    string
	header http.Header
	body   string
	want   int
}

// do sends the request and drains the answer.
func (q *request) do(ctx context.Context) error {
	var body io.Reader
	if q.body != "" {
		body = strings.NewReader(q.body)
	}
	req, err := http.NewRequestWithContext(ctx, q.method, q.url, body)
	if err != nil {
		return err
	}
	for k, v := range q.header {
		req.Header[k] = v
	}
	resp, err := q.hc.Do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != q.want {
		return fmt.Errorf("%s %s answered %d, want %d", q.method, pathOf(q.url), resp.StatusCode, q.want)
	}
	return nil
}

func pathOf(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		if j := strings.IndexByte(u[i+3:], '/'); j >= 0 {
			return u[i+3+j:]
		}
	}
	return u
}

// progress shows where a run is: one line redrawn with \r on a terminal,
// one plain line per finished step otherwise.
type progress struct {
	w     io.Writer
	tty   bool
	mu    sync.Mutex
	total int
	step  int
	width int // of the last line drawn on a terminal
}

func newProgress(w io.Writer) *progress {
	if w == nil {
		w = io.Discard
	}
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

// draw replaces the terminal line, cut to the terminal's width (COLUMNS,
// else 100) so that it never wraps.
func (p *progress) draw(line string) {
	cols := 100
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 20 {
		cols = n
	}
	if r := []rune(line); len(r) > cols-1 {
		line = string(r[:cols-2]) + "…"
	}
	pad := ""
	if n := p.width - len([]rune(line)); n > 0 {
		pad = strings.Repeat(" ", n)
	}
	fmt.Fprint(p.w, "\r"+line+pad)
	p.width = len([]rune(line))
}

// step is one step of the run on the progress display.
type step struct {
	p     *progress
	n     int
	label string
	stop  chan struct{}
	wg    sync.WaitGroup
}

// begin starts a step; until bar is called it shows as being set up.
func (p *progress) begin(label string) *step {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.step++
	s := &step{p: p, n: p.step, label: label}
	if p.tty {
		p.draw(fmt.Sprintf("[%*d/%d] %s: setting up", digits(p.total), s.n, p.total, label))
	}
	return s
}

// bar shows the step advancing on a terminal: over total with a count of
// requests, or, with total = 0, as live out of of.
func (s *step) bar(total time.Duration, live *atomic.Int64, of int64) {
	if !s.p.tty {
		return
	}
	s.stop = make(chan struct{})
	start := time.Now()
	s.wg.Go(func() {
		t := time.NewTicker(150 * time.Millisecond)
		defer t.Stop()
		for {
			s.p.mu.Lock()
			s.p.draw(s.p.barLine(s.n, s.label, start, total, live, of))
			s.p.mu.Unlock()
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	})
}

// end finishes the step with a summary: the last state of the line on a
// terminal, a line of its own otherwise.
func (s *step) end(summary string) {
	if s.stop != nil {
		close(s.stop)
		s.wg.Wait()
	}
	p := s.p
	p.mu.Lock()
	defer p.mu.Unlock()
	line := fmt.Sprintf("[%*d/%d] %s: %s", digits(p.total), s.n, p.total, s.label, summary)
	if p.tty {
		p.draw(line)
		return
	}
	fmt.Fprintln(p.w, line)
}

func (p *progress) barLine(n int, label string, start time.Time, total time.Duration, live *atomic.Int64, of int64) string {
	el := time.Since(start)
	const width = 24
	f := 0.0
	tail := ""
	switch {
	case total > 0:
		f = float64(el) / float64(total)
		tail = fmt.Sprintf("%4.1f/%.1fs", el.Seconds(), total.Seconds())
		if live != nil {
			tail += fmt.Sprintf("  %d requests", live.Load())
		}
	case of > 0 && live != nil:
		f = float64(live.Load()) / float64(of)
		tail = fmt.Sprintf("%d/%d  %.1fs", live.Load(), of, el.Seconds())
	default:
		tail = fmt.Sprintf("%.1fs", el.Seconds())
	}
	k := int(min(max(f, 0), 1) * width)
	bar := strings.Repeat("█", k) + strings.Repeat("·", width-k)
	return fmt.Sprintf("[%*d/%d] %-30s %s %s", digits(p.total), n, p.total, label, bar, tail)
}

// skip counts n steps that will not run.
func (p *progress) skip(n int) {
	p.mu.Lock()
	p.step += n
	p.mu.Unlock()
}

// done ends the progress display.
func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && p.width > 0 {
		fmt.Fprint(p.w, "\r"+strings.Repeat(" ", p.width)+"\r")
		p.width = 0
	}
}

func digits(n int) int { return len(fmt.Sprint(n)) }
