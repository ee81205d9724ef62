package guard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tessera-auth/tessera/accesstoken"
)

// Guard verifies Tessera access tokens for a resource server. Make one with
// [New] and share it; it is safe for concurrent use. Close it when done.
type Guard struct {
	cfg       Config
	log       *slog.Logger
	now       func() time.Time
	http      *http.Client // ordinary requests: timeout, no redirects
	stream    *http.Client // the event stream: no timeout, no redirects
	meta      metadata
	eventsURL string

	keys     *accesstoken.AtomicKeySet
	verifier *accesstoken.Verifier
	leeway   time.Duration // the verifier's clock-skew allowance

	cache   *tokenCache // Fast: verified tokens
	strict  *tokenCache // Strict: positive introspection answers, 1 s
	deny    *denySet
	fetcher *keyFetcher
	ctok    clientToken

	// Stream state.
	lastHeard   atomic.Int64 // g.now() of the last event of any kind, Unix ns
	synced      atomic.Bool  // the revocation state is complete up to lastHeard
	connected   atomic.Bool
	outage      atomic.Bool   // Fast is falling back (logged once per outage)
	revGen      atomic.Uint64 // bumped by every revocation and reset
	lifetime    atomic.Int64  // longest token lifetime (ns), from hello
	lastSeq     atomic.Int64
	lastEventID string // SSE last event ID of the last applied event; stream goroutine only
	readyOnce   sync.Once
	ready       chan struct{} // closed once the first replay is applied
	streamErr   atomic.Pointer[error]

	closed atomic.Bool
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	stats counters
}

type counters struct {
	fast, cached, strict, fallbacks, refused atomic.Uint64
	introspections, keyFetches               atomic.Uint64
	reconnects, applied                      atomic.Uint64
}

// New discovers the server's metadata at {Issuer}/.well-known/oauth-authorization-server
// (its "issuer" must equal Config.Issuer exactly), fetches the JWKS and a
// client_credentials token for Guard's client, subscribes to the event
// stream {Issuer}/v1/events, and waits until the server's replay of recent
// revocations has been applied: a Guard never trusts a token before it knows
// the revocations. All of that is bounded by Config.StartTimeout (10 s); if
// any step fails, New returns an error and starts nothing.
func New(cfg Config) (*Guard, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	g := &Guard{
		cfg:     cfg,
		log:     cfg.Logger,
		now:     cfg.Now,
		keys:    accesstoken.NewAtomicKeySet(nil),
		leeway:  accesstoken.DefaultLeeway,
		cache:   newTokenCache(cfg.CacheSize),
		strict:  newTokenCache(max(cfg.CacheSize, 1000)),
		deny:    newDenySet(),
		fetcher: newKeyFetcher(),
		ready:   make(chan struct{}),
	}
	g.http, g.stream = cfg.httpClients()
	g.verifier = &accesstoken.Verifier{
		Keys:          g.keys,
		Issuer:        cfg.Issuer,
		Audience:      cfg.Audience,
		Leeway:        g.leeway,
		Now:           cfg.Now,
		MaxTokenBytes: cfg.MaxTokenBytes,
	}
	g.lifetime.Store(int64(defaultTokenLifetime))
	g.ctx, g.cancel = context.WithCancel(context.Background())

	ctx, cancel := context.WithTimeout(g.ctx, cfg.StartTimeout)
	defer cancel()
	if err := g.start(ctx); err != nil {
		g.Close()
		return nil, err
	}
	return g, nil
}

func (g *Guard) start(ctx context.Context) error {
	if err := g.discover(ctx); err != nil {
		return err
	}
	if err := g.fetchKeys(ctx); err != nil {
		return err
	}
	if _, err := g.clientToken(ctx, false); err != nil {
		return err
	}
	g.wg.Add(3)
	go func() { defer g.wg.Done(); g.fetcher.run(g.ctx, g, time.Now()) }()
	go func() { defer g.wg.Done(); g.runStream(g.ctx) }()
	go func() { defer g.wg.Done(); g.janitor(g.ctx) }()
	select {
	case <-g.ready:
		return nil
	case <-ctx.Done():
		msg := "no answer yet"
		switch p := g.streamErr.Load(); {
		case g.connected.Load():
			msg = "connected, but the replay had not ended (no heartbeat yet)"
		case p != nil:
			msg = (*p).Error()
		}
		return fmt.Errorf("guard: the event stream %s did not deliver its initial replay within %v (last error: %s)", g.eventsURL, g.cfg.StartTimeout, msg)
	}
}

// Close stops the event stream and the background work. Verifications after
// Close fail with ErrClosed.
func (g *Guard) Close() error {
	if g.closed.Swap(true) {
		return nil
	}
	g.cancel()
	g.wg.Wait()
	return nil
}

// janitor drops expired cache and deny entries.
func (g *Guard) janitor(ctx context.Context) {
	t := time.NewTicker(pruneEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			g.prune()
		}
	}
}

func (g *Guard) prune() {
	now := g.now().UnixNano()
	g.cache.prune(now)
	g.strict.prune(now)
	// Deny entries outlive their tokens by the maximum leeway, so that a
	// verifier whose clock runs behind the server's still refuses them.
	g.deny.prune(now - int64(accesstoken.MaxLeeway))
}

// Stats are Guard's counters, for the user to export to their metrics system
// (Guard itself depends on none).
type Stats struct {
	FastVerifications   uint64 // Fast checks that verified a signature (repeated-token cache misses)
	CachedVerifications uint64 // Fast checks answered from the repeated-token cache
	StrictVerifications uint64 // Strict checks (VerifyStrict, Strict), whatever their outcome
	Fallbacks           uint64 // Fast checks done by introspection because the stream was stale or catching up
	Refused             uint64 // checks that refused a token (any 401 reason)
	Introspections      uint64 // introspection requests sent
	KeyFetches          uint64 // successful JWKS fetches, the first included
	StreamReconnects    uint64 // event-stream connection attempts after the first
	EventsApplied       uint64 // sequenced events applied (revocations, key rotations, others)
	LastEventID         int64  // seq of the last applied event; 0 before the first
	StreamConnected     bool   // the stream is connected now
	LastHeard           time.Time
	CachedTokens        int // entries in the repeated-token cache
	DeniedSessions      int // revoked sessions remembered
	DeniedUsers         int // users with a tokens-issued-before cutoff
	DeniedClients       int // removed clients remembered
}

// Stats returns a snapshot of the counters.
func (g *Guard) Stats() Stats {
	s := Stats{
		FastVerifications:   g.stats.fast.Load(),
		CachedVerifications: g.stats.cached.Load(),
		StrictVerifications: g.stats.strict.Load(),
		Fallbacks:           g.stats.fallbacks.Load(),
		Refused:             g.stats.refused.Load(),
		Introspections:      g.stats.introspections.Load(),
		KeyFetches:          g.stats.keyFetches.Load(),
		StreamReconnects:    g.stats.reconnects.Load(),
		EventsApplied:       g.stats.applied.Load(),
		LastEventID:         g.lastSeq.Load(),
		StreamConnected:     g.connected.Load(),
		CachedTokens:        g.cache.len(),
	}
	if ns := g.lastHeard.Load(); ns != 0 {
		s.LastHeard = time.Unix(0, ns)
	}
	s.DeniedSessions, s.DeniedUsers, s.DeniedClients = g.deny.sizes()
	return s
}

// setStreamErr records the stream's latest failure for New's error message.
func (g *Guard) setStreamErr(err error) {
	if err != nil && !errors.Is(err, context.Canceled) {
		g.streamErr.Store(&err)
	}
}
