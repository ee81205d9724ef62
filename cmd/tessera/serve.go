package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/httpapi"
	"github.com/tessera-auth/tessera/metrics"
	"github.com/tessera-auth/tessera/web"
	"github.com/tessera-auth/tessera/webhook"
)

// Timeouts of the HTTP server and of the jobs around it.
const (
	shutdownTimeout = 10 * time.Second // in-flight requests get this long after SIGTERM
	purgeEvery      = 10 * time.Minute // how often long-dead sessions are deleted
	purgeAfter      = 24 * time.Hour   // ended sessions are kept this long (for the device list and audits)
	keysEvery       = time.Minute      // how often the signing keys are rotated when due and pruned

	// With a shared store: how often the notification connection's state is
	// checked, and how often the events log is read while it is down.
	watchEvery = 20 * time.Millisecond
	fastPoll   = 100 * time.Millisecond
)

// Main is a running server: the store, the auth service, the HTTP API and the
// background jobs that keep it honest, started by Run and stopped by Close.
// Tests build one with NewMain to run the whole server in-process.
type Main struct {
	Config Config
	Log    *slog.Logger

	Store     Store
	Auth      *auth.Service
	Metrics   *metrics.Metrics   // served at /metrics
	Webhooks  *webhook.Service   // registers webhooks (the admin API)
	Deliverer *webhook.Deliverer // sends their events
	API       *httpapi.Server
	HTTP      *http.Server

	listener   net.Listener
	followFrom int64      // the events log's end before serving: Follow starts after it
	served     chan error // Serve's error, if it fails
	stop       context.CancelFunc
	jobs       sync.WaitGroup
	closeOnce  sync.Once
	closeErr   error

	// cacheTrusted is false while this node may be missing other nodes'
	// changes: a shared store's notification connection is down, or back
	// but the follower has not yet read the events log up to where it
	// stood at the reconnect. Always true with SQLite. See watchNotifications.
	cacheTrusted atomic.Bool
}

// NewMain returns a server with the given settings, logging to log.
func NewMain(cfg Config, log *slog.Logger) *Main {
	return &Main{Config: cfg, Log: log, served: make(chan error, 1)}
}

// Run opens and migrates the store, loads the signing keys (creating the
// first one), starts listening and serving, and starts the background jobs:
// following the events log (changes made by the CLI or other nodes reach this
// node within --events-poll), with a PostgreSQL store listening for other
// nodes' changes (which then arrive in milliseconds), delivering webhooks,
// deleting long-dead sessions, and rotating and dropping signing keys. It
// returns once the server accepts connections; Close stops it. ctx bounds
// only the start-up.
func (m *Main) Run(ctx context.Context) error {
	cfg := &m.Config
	if err := cfg.Validate(); err != nil {
		return err
	}
	proxies, _ := cfg.Proxies() // checked by Validate
	st, sk, err := openStoreAndSecret(ctx, &cfg.Global, m.Log, true)
	if err != nil {
		return err
	}
	m.Store = st
	// The follower starts after the last event that exists before anything
	// is served: a change made (by the CLI, another node) from here on is
	// applied, even one made before the follower's goroutine runs.
	m.followFrom, err = st.LastEventSeq(ctx)
	if err != nil {
		return fmt.Errorf("reading the events log: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Addr, err)
	}
	if cfg.Issuer == "" {
		// The default issuer names the address actually bound: with port 0,
		// the real port.
		cfg.Issuer = issuerForAddr(cfg.scheme(), ln.Addr().String())
	}
	m.Metrics = metrics.New()
	hasher := cfg.Hasher()
	acfg := cfg.AuthConfig(m.Log, sk.KEK)
	acfg.Recorder = m.Metrics
	// Store latency is timed at the service boundary.
	m.Auth = auth.NewService(m.Metrics.WrapStore(st), hasher, acfg)
	if err := m.Auth.LoadKeys(ctx); err != nil {
		ln.Close()
		return sk.explain(err)
	}
	m.Webhooks, err = webhook.NewService(st, sk.KEK, webhook.Config{Logger: m.Log})
	if err != nil {
		ln.Close()
		return err
	}
	// Every node runs a deliverer: leases in the store give each webhook to
	// one node at a time, so an event is sent once across the cluster.
	m.Deliverer, err = webhook.NewDeliverer(st, sk.KEK, webhook.Config{Logger: m.Log, Feed: m.Auth})
	if err != nil {
		ln.Close()
		return err
	}
	m.Metrics.ObserveService(m.Auth)
	m.Metrics.ObserveHasher(hasher)
	m.Metrics.ObserveWebhooks(m.Deliverer)
	m.API = httpapi.New(m.Auth, httpapi.Config{InsecureCookie: cfg.InsecureCookie, TrustedProxies: proxies, Logger: m.Log, Webhooks: m.Webhooks, Metrics: m.Metrics})
	web.New(m.Auth, web.Config{InsecureCookie: cfg.InsecureCookie, TrustedProxies: proxies, Logger: m.Log}).Mount(m.API)
	m.HTTP = &http.Server{
		Handler:           m.API,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(m.Log.Handler(), slog.LevelWarn),
	}
	m.Log.Info("configuration", cfg.LogAttrs()...)

	jobs, stop := context.WithCancel(context.WithoutCancel(ctx))
	m.stop = stop
	m.jobs.Go(func() { m.follow(jobs) })
	if n, ok := st.(notifier); ok {
		m.setCacheTrusted(false) // until listening and caught up
		m.jobs.Go(func() { m.listen(jobs, n) })
		m.jobs.Go(func() { m.watchNotifications(jobs, n) })
	} else {
		m.cacheTrusted.Store(true) // every writer is a process on this machine, polled
	}
	m.jobs.Go(func() { m.deliver(jobs) })
	m.jobs.Go(func() { m.purge(jobs) })
	m.jobs.Go(func() { m.maintainKeys(jobs) })

	m.listener = ln
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			ln.Close()
			return fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		m.HTTP.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	go func() {
		var err error
		if m.HTTP.TLSConfig != nil {
			err = m.HTTP.ServeTLS(ln, "", "")
		} else {
			err = m.HTTP.Serve(ln)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			m.served <- err
		}
	}()
	m.Log.Info("listening on "+cfg.scheme()+"://"+ln.Addr().String(), "addr", ln.Addr().String(), "issuer", cfg.Issuer)
	return nil
}

// Addr is the address the server listens on (with the real port when
// --addr asked for port 0).
func (m *Main) Addr() net.Addr { return m.listener.Addr() }

// Failed delivers the error of a server that stopped serving on its own.
func (m *Main) Failed() <-chan error { return m.served }

// Close stops the server gracefully: /readyz turns 503, the listener closes,
// in-flight requests get shutdownTimeout to finish; then the background jobs
// stop and the store closes. It is safe after a failed Run.
func (m *Main) Close() error {
	var errs []error
	if m.listener != nil {
		// /readyz turns 503 first; after --drain-delay the listener closes,
		// event streams end (subscribers resume elsewhere) and in-flight
		// requests get shutdownTimeout to finish.
		m.API.SetDraining()
		time.Sleep(m.Config.DrainDelay)
		m.API.CloseStreams()
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if err := m.HTTP.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("requests still running after %s; closed them: %w", shutdownTimeout, err))
			m.HTTP.Close()
		}
	}
	if m.stop != nil {
		m.stop()
		m.jobs.Wait()
	}
	if m.Store != nil {
		if err := m.Store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing the store: %w", err))
		}
	}
	return errors.Join(errs...)
}

// follow applies the events log to the cache until ctx ends, restarting
// after a failure.
func (m *Main) follow(ctx context.Context) {
	from := m.followFrom
	for {
		err := m.Auth.Follow(ctx, from, m.Config.EventsPoll)
		from = m.Auth.Followed()
		if ctx.Err() != nil {
			return
		}
		m.Log.Error("following the events log; retrying in 1s", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// listen wakes the follower whenever any node appends events (PostgreSQL's
// LISTEN/NOTIFY), so that a logout on another node reaches this node's cache
// in milliseconds; --events-poll stays as the safety net. n reconnects by
// itself after a loss, and wakes the follower once connected again, which
// then reads everything appended meanwhile from the events log.
func (m *Main) listen(ctx context.Context, n notifier) {
	if err := n.Listen(ctx, m.Auth.Wake); err != nil && ctx.Err() == nil {
		m.Log.Error("listening for other nodes' changes; polling the events log every --events-poll instead", "err", err)
	}
}

// watchNotifications tracks whether this node can trust its cache (see
// cacheTrusted). While the notification connection is down, it reads the
// events log every fastPoll instead of every --events-poll, so that other
// nodes' revocations still arrive within fastPoll. When the connection is
// back, the cache is trusted again once the follower has read the log up to
// its end as of the reconnect.
func (m *Main) watchNotifications(ctx context.Context, n notifier) {
	t := time.NewTicker(watchEvery)
	defer t.Stop()
	var (
		target   int64 = -1 // the Seq to catch up with, once listening again
		lastPoll time.Time
		lost     time.Time // when the connection was found down
	)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !n.Listening() {
			if m.cacheTrusted.Load() {
				m.setCacheTrusted(false)
				lost = time.Now()
				m.Log.Warn("notifications from the other nodes are down: reading the events log every "+fastPoll.String()+" until they are back", "poll", fastPoll)
			}
			target = -1
			if time.Since(lastPoll) >= fastPoll && m.pingStore(ctx) {
				// Only while the database answers: when it is down, the
				// follower's own polling reports that.
				m.Auth.Wake()
				lastPoll = time.Now()
			}
			continue
		}
		if m.cacheTrusted.Load() {
			continue
		}
		if target < 0 {
			// LISTEN is up: whatever is appended from now on wakes the
			// follower. What was appended before is in the log up to here.
			seq, err := m.Store.LastEventSeq(ctx)
			if err != nil {
				continue // try again at the next tick
			}
			target = seq
		}
		if m.Auth.Followed() >= target {
			m.setCacheTrusted(true)
			if lost.IsZero() {
				m.Log.Info("listening for the other nodes' changes (PostgreSQL LISTEN/NOTIFY)", "seq", target)
			} else {
				m.Log.Info("notifications from the other nodes are back; caught up with the events log", "seq", target, "down_for", time.Since(lost).Round(time.Millisecond))
			}
			target = -1
		}
	}
}

// setCacheTrusted records whether the session cache may be trusted. (The
// auth service cannot yet be told to bypass its cache meanwhile; until it
// can, watchNotifications' fast polling bounds how stale the cache gets.)
func (m *Main) setCacheTrusted(ok bool) {
	m.cacheTrusted.Store(ok)
	m.Auth.SetCacheEnabled(ok)
}

// CacheTrusted reports whether this node is known to have applied every
// change made elsewhere up to a few milliseconds ago (see cacheTrusted).
func (m *Main) CacheTrusted() bool { return m.cacheTrusted.Load() }

// pingStore reports whether the store answers within fastPoll.
func (m *Main) pingStore(ctx context.Context) bool {
	p, ok := m.Store.(interface{ Ping(context.Context) error })
	if !ok {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, fastPoll)
	defer cancel()
	return p.Ping(ctx) == nil
}

// deliver runs the webhook deliverer until ctx ends.
func (m *Main) deliver(ctx context.Context) {
	if err := m.Deliverer.Run(ctx); err != nil && ctx.Err() == nil {
		m.Log.Error("delivering webhooks stopped", "err", err)
	}
}

// purge deletes sessions that ended more than purgeAfter ago, or that have
// been idle past --idle-timeout, now and every purgeEvery. The idle cut-off
// is one touch interval late: the store's last-seen time may trail the one
// in memory by that much.
func (m *Main) purge(ctx context.Context) {
	t := time.NewTicker(purgeEvery)
	defer t.Stop()
	for {
		now := time.Now()
		n, err := m.Store.DeleteSessionsBefore(ctx, now.Add(-purgeAfter), now.Add(-m.Config.IdleTimeout-m.Config.TouchInterval))
		switch {
		case err != nil && ctx.Err() == nil:
			m.Log.Warn("deleting old sessions", "err", err)
		case n > 0:
			m.Log.Info("deleted old sessions", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// maintainKeys rotates the signing key when --key-rotation says it is due
// and drops keys that no unexpired token can need, now and every keysEvery.
// Several nodes may do it at once: the store lets one rotation win, and the
// others load the new key from the events log.
func (m *Main) maintainKeys(ctx context.Context) {
	t := time.NewTicker(keysEvery)
	defer t.Stop()
	for {
		if err := m.Auth.MaintainKeys(ctx); err != nil && ctx.Err() == nil {
			m.Log.Warn("maintaining signing keys", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

type serveCmd struct {
	Hashing `embed:""`
	Server  `embed:""`
}

func (c *serveCmd) Help() string {
	return `Serves the HTTP API on --addr, with its data in --data: the database is
created and migrated on first start. Logs go to stderr; the line
"listening on http://ADDR" says the server is up. SIGINT or SIGTERM stops it
gracefully (in-flight requests get 10s). The server also delivers the
webhooks (tessera webhook add).

Examples:

    tessera serve
    tessera serve --addr 0.0.0.0:8080 --data /var/lib/tessera --log-format json
    TESSERA_ADDR=127.0.0.1:9000 tessera serve --config /etc/tessera.json

Behind a TLS-terminating proxy, trust its address for the client IP:

    tessera serve --trusted-proxies 10.0.0.0/8

Several nodes behind a load balancer share one PostgreSQL database, one
key-encryption secret and one public issuer URL (the README's "Scaling out"):

    export TESSERA_STORE='postgres://tessera@db.internal:5432/tessera?sslmode=verify-full'
    export TESSERA_SECRET_KEY=$(cat /etc/tessera/secret-key)  # the same on every node
    tessera serve --addr 0.0.0.0:8080 --issuer https://auth.example.com`
}

func (c *serveCmd) Run(a *app) error {
	m := NewMain(Config{Global: *a.global, Hashing: c.Hashing, Server: c.Server}, a.log)
	if err := m.Run(a.ctx); err != nil {
		m.Close()
		return err
	}
	select {
	case <-a.ctx.Done():
		if a.stopSig != nil {
			a.stopSig()
		}
		m.Log.Info("shutting down")
	case err := <-m.Failed():
		m.Close()
		return fmt.Errorf("serving: %w", err)
	}
	if err := m.Close(); err != nil {
		return err
	}
	m.Log.Info("stopped")
	return nil
}
