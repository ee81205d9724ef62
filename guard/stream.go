package guard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"strconv"
	"time"
)

// The revocation stream: GET {Issuer}/v1/events, server-sent events.

// Event types Guard acts on.
const (
	evHello             = "hello"
	evReset             = "reset"
	evHeartbeat         = "heartbeat"
	evSessionRevoked    = "session.revoked"
	evTokensInvalidated = "user.tokens_invalidated"
	evUserDeleted       = "user.deleted"
	evRefreshReuse      = "refresh.reuse_detected"
	evKeyRotated        = "key.rotated"
	evClientRemoved     = "client.removed"
)

// wireEvent is the data of a sequenced event.
type wireEvent struct {
	Seq       int64           `json:"seq"`
	Type      string          `json:"type"`
	At        time.Time       `json:"at"`
	UserID    string          `json:"user_id"`
	SessionID string          `json:"sid"`
	Data      json.RawMessage `json:"data"`
}

type helloData struct {
	TokenLifetimeSeconds int64 `json:"token_lifetime_seconds"`
	LatestSeq            int64 `json:"latest_seq"`
	Resumed              bool  `json:"resumed"`
}

// errProtocol marks a stream that broke the wire format: the connection is
// dropped and made again (and Fast falls back to introspection if that
// lasts).
var errProtocol = errors.New("guard: event stream protocol error")

// connState is what one connection has seen.
type connState struct {
	hello     bool
	latestSeq int64 // the hello's latest_seq
	maxSeq    int64 // highest seq applied on this connection
	heartbeat bool  // a heartbeat arrived
}

// runStream keeps the stream connected until ctx ends, reconnecting with
// exponential backoff (100 ms doubling to 5 s, with jitter) and resuming from
// the last applied event.
func (g *Guard) runStream(ctx context.Context) {
	backoff := minBackoff
	failures := 0
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			g.stats.reconnects.Add(1)
		}
		hello, err := g.streamOnce(ctx)
		g.connected.Store(false)
		if ctx.Err() != nil {
			return
		}
		g.setStreamErr(err)
		if hello {
			backoff, failures = minBackoff, 0
			g.log.Info("guard: event stream disconnected; reconnecting", "err", err, "last_event_id", g.lastSeq.Load())
		} else if failures++; failures == 1 || failures%50 == 0 {
			g.log.Warn("guard: cannot connect to the event stream; retrying", "url", g.eventsURL, "err", err, "attempts", failures)
		}
		// Full jitter in [backoff/2, backoff].
		d := backoff/2 + rand.N(backoff/2+1)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// streamOnce makes one connection and reads it until it fails. It reports
// whether the server said hello.
func (g *Guard) streamOnce(ctx context.Context) (bool, error) {
	resp, err := g.connect(ctx, false)
	if err == nil && resp.StatusCode == http.StatusUnauthorized {
		// Guard's token expired or was revoked: get a new one first.
		resp.Body.Close()
		resp, err = g.connect(ctx, true)
	}
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return false, fmt.Errorf("guard: event stream: HTTP %d: %.200q", resp.StatusCode, bytes.TrimSpace(body))
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		return false, fmt.Errorf("guard: event stream: Content-Type %.100q, want text/event-stream", resp.Header.Get("Content-Type"))
	}

	// A silent connection is dropped after the idle timeout: a dead peer
	// must not hold the stream forever (Fast falls back meanwhile).
	idle := max(g.cfg.Staleness, 15*time.Second)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	watchdog := time.AfterFunc(idle, func() { cancel(); resp.Body.Close() })
	defer watchdog.Stop()
	go func() { <-rctx.Done(); resp.Body.Close() }()

	dec := newSSEDecoder(resp.Body, maxSSELine, maxSSEEvent)
	var cs connState
	for {
		ev, err := dec.next()
		if err != nil {
			if rctx.Err() != nil && ctx.Err() == nil {
				err = fmt.Errorf("guard: event stream silent for %v", idle)
			}
			return cs.hello, err
		}
		watchdog.Reset(idle)
		if err := g.apply(ev, &cs); err != nil {
			return cs.hello, err
		}
	}
}

// connect sends the stream request.
func (g *Guard) connect(ctx context.Context, freshToken bool) (*http.Response, error) {
	tok, err := g.clientToken(ctx, freshToken)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.eventsURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	if g.lastEventID != "" {
		req.Header.Set("Last-Event-ID", g.lastEventID)
	}
	return g.stream.Do(req)
}

// heard records that the stream spoke.
func (g *Guard) heard() {
	g.lastHeard.Store(g.now().UnixNano())
	if g.outage.Load() && g.synced.Load() && g.outage.CompareAndSwap(true, false) {
		g.log.Info("guard: the event stream is live again; Fast checks are local again")
	}
}

// apply acts on one event.
func (g *Guard) apply(ev sseEvent, cs *connState) error {
	typ := ev.Type
	switch typ {
	case evHello:
		var h helloData
		if err := json.Unmarshal([]byte(ev.Data), &h); err != nil {
			return fmt.Errorf("%w: hello: %v", errProtocol, err)
		}
		if h.TokenLifetimeSeconds > 0 {
			g.lifetime.Store(int64(time.Duration(min(h.TokenLifetimeSeconds, 366*24*3600)) * time.Second))
		}
		cs.hello, cs.latestSeq = true, h.LatestSeq
		g.connected.Store(true)
		if h.Resumed {
			cs.maxSeq = max(cs.maxSeq, g.lastSeq.Load())
			if !g.fresh(g.now().UnixNano()) {
				// After an outage longer than Staleness, Fast keeps
				// falling back until the missed events are applied.
				g.synced.Store(false)
			}
		} else {
			g.resetState() // a reset follows; the replay rebuilds the state
		}
	case evReset:
		g.resetState()
	case evHeartbeat:
		cs.heartbeat = true
	default:
		var w wireEvent
		if err := json.Unmarshal([]byte(ev.Data), &w); err != nil {
			return fmt.Errorf("%w: event %.64q: %v", errProtocol, ev.LastID, err)
		}
		if typ == "message" && w.Type != "" {
			typ = w.Type
		}
		if err := g.applyEvent(typ, &w); err != nil {
			return err
		}
		g.stats.applied.Add(1)
		if w.Seq > 0 {
			g.lastSeq.Store(w.Seq)
			cs.maxSeq = max(cs.maxSeq, w.Seq)
		} else if seq, err := strconv.ParseInt(ev.LastID, 10, 64); err == nil {
			g.lastSeq.Store(seq)
			cs.maxSeq = max(cs.maxSeq, seq)
		}
		g.lastEventID = ev.LastID
	}
	g.heard()
	if !g.synced.Load() && cs.hello && (cs.heartbeat || cs.maxSeq >= cs.latestSeq) {
		g.synced.Store(true)
		g.heard()
		g.readyOnce.Do(func() { close(g.ready) })
	}
	return nil
}

// resetState drops the revocation state: it is rebuilt by the replay that
// follows, and Fast falls back to introspection until then.
func (g *Guard) resetState() {
	g.synced.Store(false)
	g.revGen.Add(1)
	g.deny.reset()
	g.strict.clear()
}

// applyEvent applies a sequenced event. Revocation events that lack what they
// need are protocol errors: ignoring them could let a revoked token pass.
func (g *Guard) applyEvent(typ string, w *wireEvent) error {
	until := w.At.Add(time.Duration(g.lifetime.Load()))
	need := func(ok bool, what string) error {
		if !ok || w.At.IsZero() {
			return fmt.Errorf("%w: %s event %d without %s or at", errProtocol, typ, w.Seq, what)
		}
		return nil
	}
	switch typ {
	case evSessionRevoked:
		if err := need(w.SessionID != "", "sid"); err != nil {
			return err
		}
		g.revGen.Add(1)
		g.deny.revokeSession(w.SessionID, until)
		g.strict.dropIf(func(p *Principal) bool { return p.SessionID == w.SessionID })
	case evTokensInvalidated, evUserDeleted:
		if err := need(w.UserID != "", "user_id"); err != nil {
			return err
		}
		g.revGen.Add(1)
		g.deny.invalidateUser(w.UserID, w.At, until)
		g.strict.dropIf(func(p *Principal) bool { return p.Subject == w.UserID })
	case evClientRemoved:
		var d struct {
			ClientID string `json:"client_id"`
		}
		if len(w.Data) > 0 {
			if err := json.Unmarshal(w.Data, &d); err != nil {
				return fmt.Errorf("%w: client.removed event %d: %v", errProtocol, w.Seq, err)
			}
		}
		if err := need(d.ClientID != "", "data.client_id"); err != nil {
			return err
		}
		g.revGen.Add(1)
		g.deny.removeClient(d.ClientID, until)
		g.strict.dropIf(func(p *Principal) bool { return p.SessionID == "" && p.ClientID == d.ClientID })
	case evKeyRotated:
		g.fetcher.trigger(true)
	case evRefreshReuse:
		// Informational: the session.revoked that accompanies it does the work.
	default:
		// Unknown or irrelevant types are ignored.
	}
	return nil
}
