package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tessera-auth/tessera/accesstoken"
	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/secret"
)

// Request headers and limits.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
	UserAgent       = "Tessera-Webhooks/1"
	// MaxResponse is how much of a response body is read (and discarded).
	MaxResponse = 64 << 10
)

// batch is how many events a worker reads from the log at a time.
const batch = 100

// storeTimeout bounds the store writes that finish an attempt, which run even
// while the deliverer is stopping so that an answered request is recorded.
const storeTimeout = 5 * time.Second

// Deliverer sends due events to every webhook; see the package doc for the
// contract. Run it on every node: the leases share the work out.
type Deliverer struct {
	store  Store
	kek    []byte
	cfg    Config
	client *http.Client
	wake   chan struct{}

	mu      sync.Mutex
	active  map[string]bool // webhooks that a worker of this deliverer is on
	held    map[string]bool // webhooks whose lease this deliverer took
	warned  map[string]bool // webhooks whose secret would not open (logged once)
	workers sync.WaitGroup

	delivered, failed, gaveUp atomic.Uint64
}

// Stats counts what a Deliverer did since it was made.
type Stats struct {
	Delivered uint64 // events answered with 2xx
	Failed    uint64 // failed attempts, the last one of a given-up event included
	GaveUp    uint64 // events skipped after MaxAttempts failed attempts
}

// NewDeliverer returns a Deliverer over st; kek is the 32-byte
// key-encryption secret that opens the signing secrets.
func NewDeliverer(st Store, kek []byte, cfg Config) (*Deliverer, error) {
	if len(kek) != accesstoken.KEKSize {
		return nil, fmt.Errorf("webhook: the key-encryption secret must be %d bytes", accesstoken.KEKSize)
	}
	cfg.setDefaults()
	if cfg.Lease <= 2*cfg.Timeout {
		return nil, fmt.Errorf("webhook: Lease (%s) must be more than twice Timeout (%s)", cfg.Lease, cfg.Timeout)
	}
	if cfg.Owner == "" {
		host, _ := os.Hostname()
		cfg.Owner = host + "-" + secret.RandomID(6)
	}
	rt := cfg.Transport
	if rt == nil {
		rt = http.DefaultTransport.(*http.Transport).Clone()
	}
	return &Deliverer{
		store: st,
		kek:   kek,
		cfg:   cfg,
		client: &http.Client{
			Transport: rt,
			// A redirect is answered as a failure: the registered URL is the
			// one that receives the events.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		wake:   make(chan struct{}, 1),
		active: make(map[string]bool),
		held:   make(map[string]bool),
		warned: make(map[string]bool),
	}, nil
}

// Owner returns the name under which this deliverer takes leases.
func (d *Deliverer) Owner() string { return d.cfg.Owner }

// Stats returns the deliverer's counters.
func (d *Deliverer) Stats() Stats {
	return Stats{Delivered: d.delivered.Load(), Failed: d.failed.Load(), GaveUp: d.gaveUp.Load()}
}

// Wake makes Run look for due events now rather than at the next Poll.
func (d *Deliverer) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers events until ctx ends: at once, then every Poll and whenever
// woken (by Wake or by Config.Feed), it starts a worker for each webhook that
// has events after its cursor, is due, and whose lease is free or its own.
// When ctx ends, requests in flight are abandoned (not counted as attempts:
// their events are sent again by the next deliverer to run), answers already
// received are recorded, the leases are released and Run returns nil.
func (d *Deliverer) Run(ctx context.Context) error {
	if d.cfg.Feed != nil {
		go d.follow(ctx)
	}
	t := time.NewTicker(d.cfg.Poll)
	defer t.Stop()
	var pruned time.Time
	for {
		if now := d.cfg.Now(); now.Sub(pruned) >= time.Hour {
			pruned = now
			if _, err := d.store.DeleteDeliveriesBefore(ctx, now.Add(-d.cfg.Retention)); err != nil && ctx.Err() == nil {
				d.cfg.Logger.Warn("webhooks: pruning the delivery log", "err", err)
			}
		}
		d.pass(ctx)
		select {
		case <-ctx.Done():
			d.workers.Wait()
			d.releaseAll()
			d.client.CloseIdleConnections()
			return nil
		case <-t.C:
		case <-d.wake:
		}
	}
}

// follow turns the feed's events into wake-ups, subscribing again when the
// feed drops the subscription for falling behind.
func (d *Deliverer) follow(ctx context.Context) {
	for ctx.Err() == nil {
		sub := d.cfg.Feed.Subscribe(64)
		stop := context.AfterFunc(ctx, sub.Close)
		for range sub.C {
			d.Wake()
		}
		stop()
		d.Wake() // events may have been missed while dropped
	}
}

// pass starts a worker for every webhook with due events.
func (d *Deliverer) pass(ctx context.Context) {
	last, err := d.store.LastEventSeq(ctx)
	if err != nil {
		if ctx.Err() == nil {
			d.cfg.Logger.Warn("webhooks: reading the events log", "err", err)
		}
		return
	}
	ws, err := d.store.Webhooks(ctx)
	if err != nil {
		if ctx.Err() == nil {
			d.cfg.Logger.Warn("webhooks: listing webhooks", "err", err)
		}
		return
	}
	now := d.cfg.Now()
	for _, w := range ws {
		if w.Cursor >= last || w.NextAttemptAt.After(now) || (w.LeaseOwner != d.cfg.Owner && w.LeaseUntil.After(now)) {
			continue
		}
		d.mu.Lock()
		busy := d.active[w.ID]
		d.active[w.ID] = true
		d.mu.Unlock()
		if busy {
			continue
		}
		d.workers.Add(1)
		go d.work(ctx, w.ID)
	}
}

// work delivers the webhook's due events in order, while it holds the lease,
// until none is left or one must wait for a retry.
func (d *Deliverer) work(ctx context.Context, id string) {
	defer func() {
		d.mu.Lock()
		delete(d.active, id)
		d.mu.Unlock()
		d.workers.Done()
	}()
	l := &lease{d: d, id: id}
	if !l.take(ctx) {
		return
	}
	// Read the state again now that it is ours: another node may have moved
	// the cursor since the pass listed it.
	w, err := d.store.WebhookByID(ctx, id)
	if err != nil {
		d.storeErr(ctx, "reading webhook", id, err)
		return
	}
	if w.NextAttemptAt.After(d.cfg.Now()) {
		return
	}
	var sec Secret
	for {
		evs, err := d.store.EventsAfter(ctx, w.Cursor, batch)
		if err != nil {
			d.storeErr(ctx, "reading the events log", id, err)
			return
		}
		if len(evs) == 0 {
			return
		}
		skipTo := w.Cursor // events not subscribed to are passed over in one write
		for _, ev := range evs {
			if !w.Wants(ev.Type) {
				skipTo = ev.Seq
				continue
			}
			if skipTo > w.Cursor && !d.advance(ctx, w, l, skipTo, 0, time.Time{}) {
				return
			}
			if sec.IsZero() {
				if sec, err = openSecret(d.kek, w); err != nil {
					d.warnOnce(w.ID, err)
					return
				}
			}
			if ctx.Err() != nil || !l.keep(ctx) || !d.deliver(ctx, w, l, sec, ev) {
				return
			}
		}
		if skipTo > w.Cursor && !d.advance(ctx, w, l, skipTo, 0, time.Time{}) {
			return
		}
	}
}

// deliver makes one attempt at sending ev, records it and moves the
// webhook's state on. It reports whether the worker may go on to the next
// event: the event was delivered or given up, and the lease is still held.
func (d *Deliverer) deliver(ctx context.Context, w *Webhook, l *lease, sec Secret, ev auth.Event) bool {
	del := &Delivery{WebhookID: w.ID, Seq: ev.Seq, EventType: ev.Type, Attempt: w.Attempts + 1, At: d.cfg.Now()}
	status, reason := d.send(ctx, w, sec, ev, del)
	ok := status >= 200 && status <= 299
	if !ok && ctx.Err() != nil {
		return false // interrupted by shutdown: not an attempt; the next run sends it again
	}
	// Record the answer even when shutdown begins now.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	log := d.cfg.Logger.With("webhook", w.ID, "seq", ev.Seq, "type", ev.Type, "attempt", del.Attempt)
	switch {
	case ok:
		del.Outcome = OutcomeDelivered
		d.record(sctx, del)
		d.delivered.Add(1)
		log.Debug("webhook delivered", "status", status)
		return d.advance(sctx, w, l, ev.Seq, 0, time.Time{})
	case del.Attempt >= d.cfg.MaxAttempts:
		del.Outcome, del.Error = OutcomeGaveUp, reason
		d.record(sctx, del)
		d.failed.Add(1)
		d.gaveUp.Add(1)
		log.Warn("webhook delivery given up", "error", reason)
		return d.advance(sctx, w, l, ev.Seq, 0, time.Time{})
	default:
		del.Outcome, del.Error = OutcomeFailed, reason
		d.record(sctx, del)
		d.failed.Add(1)
		wait := d.backoff(del.Attempt)
		log.Info("webhook delivery failed; will retry", "error", reason, "retry_in", wait)
		d.advance(sctx, w, l, w.Cursor, del.Attempt, d.cfg.Now().Add(wait))
		return false
	}
}

// send posts ev to w, filling del's StatusCode and Duration, and returns
// the status (0 without an answer) and, for a failure, why.
func (d *Deliverer) send(ctx context.Context, w *Webhook, sec Secret, ev auth.Event, del *Delivery) (int, string) {
	body, err := marshalPayload(ev)
	if err != nil {
		return 0, "encoding the event: " + err.Error()
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return 0, "the URL cannot be requested"
	}
	id := MessageID(ev.Seq)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set(HeaderID, id)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(del.At.Unix(), 10))
	req.Header.Set(HeaderSignature, sec.Sign(id, del.At, body))
	start := time.Now()
	resp, err := d.client.Do(req)
	if err != nil {
		del.Duration = time.Since(start)
		if errors.Is(err, context.DeadlineExceeded) {
			return 0, fmt.Sprintf("no answer within %s", d.cfg.Timeout)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold a token
		}
		return 0, err.Error()
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, MaxResponse))
	resp.Body.Close()
	del.Duration = time.Since(start)
	del.StatusCode = resp.StatusCode
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return resp.StatusCode, ""
	}
	reason := "answered " + resp.Status
	if resp.StatusCode >= 300 && resp.StatusCode <= 399 {
		reason += " (redirects are not followed)"
	}
	return resp.StatusCode, reason
}

// backoff returns the wait after the attempt-th failed attempt: MinBackoff
// doubled attempt-1 times, ±10%, at most MaxBackoff.
func (d *Deliverer) backoff(attempt int) time.Duration {
	b := d.cfg.MaxBackoff
	if attempt-1 < 40 {
		if x := d.cfg.MinBackoff << (attempt - 1); x > 0 && x < b {
			b = x
		}
	}
	b += time.Duration((rand.Float64()*0.2 - 0.1) * float64(b))
	return min(b, d.cfg.MaxBackoff)
}

// advance stores the webhook's new delivery state and reports whether the
// worker still holds the lease.
func (d *Deliverer) advance(ctx context.Context, w *Webhook, l *lease, cursor int64, attempts int, next time.Time) bool {
	ok, err := d.store.AdvanceWebhook(ctx, w.ID, d.cfg.Owner, cursor, attempts, next)
	if err != nil {
		d.storeErr(ctx, "advancing webhook", w.ID, err)
		return false
	}
	if !ok {
		d.cfg.Logger.Warn("webhooks: lease lost; another deliverer took the webhook over", "webhook", w.ID)
		l.until = time.Time{}
		return false
	}
	w.Cursor, w.Attempts, w.NextAttemptAt = cursor, attempts, next
	return true
}

func (d *Deliverer) record(ctx context.Context, del *Delivery) {
	if err := d.store.RecordDelivery(ctx, del); err != nil {
		d.storeErr(ctx, "recording a delivery", del.WebhookID, err)
	}
}

func (d *Deliverer) storeErr(ctx context.Context, what, id string, err error) {
	if ctx.Err() != nil || errors.Is(err, auth.ErrNotFound) {
		return // stopping, or the webhook was removed meanwhile
	}
	d.cfg.Logger.Warn("webhooks: "+what, "webhook", id, "err", err)
}

// warnOnce logs a webhook whose signing secret cannot be opened (a wrong
// key-encryption secret) once per deliverer; its events wait.
func (d *Deliverer) warnOnce(id string, err error) {
	d.mu.Lock()
	first := !d.warned[id]
	d.warned[id] = true
	d.mu.Unlock()
	if first {
		d.cfg.Logger.Error("webhooks: cannot sign; events wait until the key-encryption secret is right", "webhook", id, "err", err)
	}
}

// lease is a worker's hold on a webhook.
type lease struct {
	d     *Deliverer
	id    string
	until time.Time // as far as this worker knows
}

// take leases the webhook for Lease from now.
func (l *lease) take(ctx context.Context) bool {
	now := l.d.cfg.Now()
	until := now.Add(l.d.cfg.Lease)
	ok, err := l.d.store.LeaseWebhook(ctx, l.id, l.d.cfg.Owner, now, until)
	if err != nil {
		l.d.storeErr(ctx, "leasing webhook", l.id, err)
		return false
	}
	if ok {
		l.until = until
		l.d.mu.Lock()
		l.d.held[l.id] = true
		l.d.mu.Unlock()
	}
	return ok
}

// keep renews the lease unless more than half of it is left: enough, since
// Lease is more than twice Timeout, for a request and its recording.
func (l *lease) keep(ctx context.Context) bool {
	if l.until.Sub(l.d.cfg.Now()) > l.d.cfg.Lease/2 {
		return true
	}
	return l.take(ctx)
}

// releaseAll frees the leases this deliverer took, so that another node may
// take the webhooks over at once rather than when the leases run out.
func (d *Deliverer) releaseAll() {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	d.mu.Lock()
	defer d.mu.Unlock()
	for id := range d.held {
		now := d.cfg.Now()
		if _, err := d.store.LeaseWebhook(ctx, id, d.cfg.Owner, now, now); err != nil && !errors.Is(err, auth.ErrNotFound) {
			d.cfg.Logger.Warn("webhooks: releasing lease", "webhook", id, "err", err)
		}
		delete(d.held, id)
	}
}
