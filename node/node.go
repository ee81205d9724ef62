// Package node is a running Tessera node: the store, the auth service, the
// HTTP server and the background jobs that keep it honest. cmd/tessera
// parses the flags, opens the store and hands both to New; tests run a whole
// node in-process the same way.
package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/metrics"
	"github.com/tessera-auth/tessera/password"
	"github.com/tessera-auth/tessera/server"
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

// Store is what a node needs of a store: the auth service's and the
// webhooks' interfaces, and Close. Every store package provides it.
type Store interface {
	auth.Store
	webhook.Store
	Close() error
}

// Notifier is a store shared by several processes that tells them when any
// of them appends events (PostgreSQL's LISTEN/NOTIFY). A node whose store
// is one listens (see Node.listen); with any other store, every writer is a
// process on the same machine, and polling the events log suffices.
type Notifier interface {
	// Listen calls wake on every append by anyone and after every
	// (re)connect, until ctx ends.
	Listen(ctx context.Context, wake func()) error
	// Listening reports whether the notification connection is up.
	Listening() bool
}

// Config is what a node runs with. The caller (cmd/tessera) has checked the
// values; zero values are the defaults where one is named.
type Config struct {
	// Addr is the TCP address to listen on, HOST:PORT; port 0 picks a free
	// port (Node.Addr tells which).
	Addr string
	// TLSCert and TLSKey are PEM files of a certificate (chain) and its key:
	// with them the node serves HTTPS itself.
	TLSCert, TLSKey string
	// DrainDelay is how long Close answers /readyz with 503 before closing
	// the listener, so that load balancers stop sending traffic first.
	DrainDelay time.Duration
	// EventsPoll is how often the events log is read to apply changes made
	// by other processes (the CLI, other nodes).
	EventsPoll time.Duration

	// Auth configures the auth service. Tokens.Issuer may be empty: the node
	// then uses DefaultIssuer for the address it bound (with port 0, the
	// real port), and an empty Tokens.Audience defaults to that issuer.
	// Tokens.KEK is New's kek, Recorder the node's metrics. The session
	// purge reads its IdleTimeout and TouchInterval.
	Auth   auth.Config
	Hasher *password.Hasher // default password.NewHasher(password.OWASP, 0, 0)

	// InsecureCookie and TrustedProxies are the HTTP server's settings; see
	// server.Config.
	InsecureCookie bool
	TrustedProxies []netip.Prefix

	Logger *slog.Logger // default slog.Default(); also the auth service's, unless Auth.Logger is set
	// Now is the node's clock: the auth service's and the webhooks', and
	// what the session purge's cut-offs are taken from. Default Auth.Now,
	// which in turn defaults to the wall clock.
	Now func() time.Time
	// LogSettings, when set, returns the settings that Run logs as one
	// "configuration" line before it starts serving, as slog attributes,
	// given the effective issuer.
	LogSettings func(issuer string) []any
}

// Node is a running server: the store, the auth service, the HTTP API and
// the background jobs that keep it honest, started by Run and stopped by
// Close.
type Node struct {
	Store     Store
	Auth      *auth.Service
	Metrics   *metrics.Metrics   // served at /metrics
	Webhooks  *webhook.Service   // registers webhooks (the admin API)
	Deliverer *webhook.Deliverer // sends their events
	API       *server.Server
	HTTP      *http.Server

	cfg        Config
	kek        []byte
	log        *slog.Logger
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
	// stood at the reconnect. Always true with a store that is not a
	// Notifier (SQLite). See watchNotifications.
	cacheTrusted atomic.Bool
}

// New returns a node over st, an open and migrated store, which the node
// closes in Close. kek is the key-encryption secret that seals the signing
// keys and the webhooks' secrets at rest.
func New(st Store, kek []byte, cfg Config) *Node {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = cfg.Auth.Now // nil too: the auth service's default, set in Run
	}
	if cfg.Hasher == nil {
		cfg.Hasher = password.NewHasher(password.OWASP, 0, 0)
	}
	return &Node{Store: st, cfg: cfg, kek: kek, log: cfg.Logger, served: make(chan error, 1)}
}

// Run loads the signing keys (creating the first one), starts listening and
// serving, and starts the background jobs: following the events log
// (changes made by the CLI or other nodes reach this node within
// EventsPoll), with a Notifier store listening for other nodes' changes
// (which then arrive in milliseconds), delivering webhooks, deleting
// long-dead sessions, and rotating and dropping signing keys. It returns
// once the server accepts connections; Close stops it, also after an error.
// ctx bounds only the start-up.
func (n *Node) Run(ctx context.Context) error {
	cfg := &n.cfg
	st := n.Store
	// The follower starts after the last event that exists before anything
	// is served: a change made (by the CLI, another node) from here on is
	// applied, even one made before the follower's goroutine runs.
	var err error
	n.followFrom, err = st.LastEventSeq(ctx)
	if err != nil {
		return fmt.Errorf("reading the events log: %w", err)
	}
	var tlsConfig *tls.Config
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return fmt.Errorf("loading the TLS certificate and key: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Addr, err)
	}
	acfg := cfg.Auth
	if acfg.Tokens.Issuer == "" {
		// The default issuer names the address actually bound: with port 0,
		// the real port.
		acfg.Tokens.Issuer = DefaultIssuer(ln.Addr().String(), cfg.TLSCert != "")
	}
	acfg.Tokens.KEK = n.kek
	acfg.Now = cfg.Now
	if acfg.Logger == nil {
		acfg.Logger = n.log
	}
	n.Metrics = metrics.New()
	acfg.Recorder = n.Metrics
	// Store latency is timed at the service boundary.
	n.Auth = auth.NewService(n.Metrics.WrapStore(st), cfg.Hasher, acfg)
	cfg.Now = n.Auth.Config().Now // one clock for the service, the webhooks and the purge
	issuer := n.Auth.Config().Tokens.Issuer
	if err := n.Auth.LoadKeys(ctx); err != nil {
		ln.Close()
		return err
	}
	n.Webhooks, err = webhook.NewService(st, n.kek, webhook.Config{Logger: n.log, Now: cfg.Now})
	if err != nil {
		ln.Close()
		return err
	}
	// Every node runs a deliverer: leases in the store give each webhook to
	// one node at a time, so an event is sent once across the cluster.
	n.Deliverer, err = webhook.NewDeliverer(st, n.kek, webhook.Config{Logger: n.log, Feed: n.Auth, Now: cfg.Now})
	if err != nil {
		ln.Close()
		return err
	}
	n.Metrics.ObserveService(n.Auth)
	n.Metrics.ObserveHasher(cfg.Hasher)
	n.Metrics.ObserveWebhooks(n.Deliverer)
	n.API = server.New(n.Auth, server.Config{InsecureCookie: cfg.InsecureCookie, TrustedProxies: cfg.TrustedProxies, Logger: n.log, Webhooks: n.Webhooks, Metrics: n.Metrics})
	n.HTTP = &http.Server{
		Handler:           n.API,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(n.log.Handler(), slog.LevelWarn),
		TLSConfig:         tlsConfig,
	}
	if cfg.LogSettings != nil {
		n.log.Info("configuration", cfg.LogSettings(issuer)...)
	}

	jobs, stop := context.WithCancel(context.WithoutCancel(ctx))
	n.stop = stop
	n.jobs.Go(func() { n.follow(jobs) })
	if nt, ok := st.(Notifier); ok {
		n.setCacheTrusted(false) // until listening and caught up
		n.jobs.Go(func() { n.listen(jobs, nt) })
		n.jobs.Go(func() { n.watchNotifications(jobs, nt) })
	} else {
		n.cacheTrusted.Store(true) // every writer is a process on this machine, polled
	}
	n.jobs.Go(func() { n.deliver(jobs) })
	n.jobs.Go(func() { n.purge(jobs) })
	n.jobs.Go(func() { n.maintainKeys(jobs) })

	n.listener = ln
	go func() {
		var err error
		if n.HTTP.TLSConfig != nil {
			err = n.HTTP.ServeTLS(ln, "", "")
		} else {
			err = n.HTTP.Serve(ln)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			n.served <- err
		}
	}()
	n.log.Info("listening on "+n.scheme()+"://"+ln.Addr().String(), "addr", ln.Addr().String(), "issuer", issuer)
	return nil
}

// scheme is https when the node terminates TLS itself.
func (n *Node) scheme() string {
	if n.cfg.TLSCert != "" {
		return "https"
	}
	return "http"
}

// DefaultIssuer is the default issuer for a listening address:
// http://HOST:PORT, or https:// when the node serves TLS itself, with
// 127.0.0.1 for an unspecified host (empty, 0.0.0.0, ::), since the wildcard
// is no address a client can use.
func DefaultIssuer(addr string, https bool) string {
	scheme := "http"
	if https {
		scheme = "https"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return scheme + "://" + addr
	}
	if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.Unmap().IsUnspecified()) {
		host = "127.0.0.1"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// Addr is the address the server listens on (with the real port when
// Config.Addr asked for port 0).
func (n *Node) Addr() net.Addr { return n.listener.Addr() }

// Failed delivers the error of a server that stopped serving on its own.
func (n *Node) Failed() <-chan error { return n.served }

// Close stops the node gracefully: /readyz turns 503, the listener closes,
// in-flight requests get shutdownTimeout to finish; then the background jobs
// stop and the store closes. It is safe after a failed Run, and more than
// once: the later calls return the first one's error.
func (n *Node) Close() error {
	n.closeOnce.Do(func() { n.closeErr = n.close() })
	return n.closeErr
}

func (n *Node) close() error {
	var errs []error
	if n.listener != nil {
		// /readyz turns 503 first; after DrainDelay the listener closes,
		// event streams end (subscribers resume elsewhere) and in-flight
		// requests get shutdownTimeout to finish.
		n.API.SetDraining()
		time.Sleep(n.cfg.DrainDelay)
		n.API.CloseStreams()
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if err := n.HTTP.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("requests still running after %s; closed them: %w", shutdownTimeout, err))
			n.HTTP.Close()
		}
	}
	if n.stop != nil {
		n.stop()
		n.jobs.Wait()
	}
	if n.Store != nil {
		if err := n.Store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing the store: %w", err))
		}
	}
	return errors.Join(errs...)
}

// follow applies the events log to the cache until ctx ends, restarting
// after a failure.
func (n *Node) follow(ctx context.Context) {
	from := n.followFrom
	for {
		err := n.Auth.Follow(ctx, from, n.cfg.EventsPoll)
		from = n.Auth.Followed()
		if ctx.Err() != nil {
			return
		}
		n.log.Error("following the events log; retrying in 1s", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// listen wakes the follower whenever any node appends events (PostgreSQL's
// LISTEN/NOTIFY), so that a logout on another node reaches this node's cache
// in milliseconds; EventsPoll stays as the safety net. nt reconnects by
// itself after a loss, and wakes the follower once connected again, which
// then reads everything appended meanwhile from the events log.
func (n *Node) listen(ctx context.Context, nt Notifier) {
	if err := nt.Listen(ctx, n.Auth.Wake); err != nil && ctx.Err() == nil {
		n.log.Error("listening for other nodes' changes; polling the events log every "+n.cfg.EventsPoll.String()+" instead", "err", err)
	}
}

// watchNotifications tracks whether this node can trust its cache (see
// cacheTrusted). While the notification connection is down, it reads the
// events log every fastPoll instead of every EventsPoll, so that other
// nodes' revocations still arrive within fastPoll. When the connection is
// back, the cache is trusted again once the follower has read the log up to
// its end as of the reconnect.
//
// It reads the wall clock, not Config.Now: only to pace the fast polling
// and to say in a log line how long the notifications were down, neither of
// which decides anything stored.
func (n *Node) watchNotifications(ctx context.Context, nt Notifier) {
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
		if !nt.Listening() {
			if n.cacheTrusted.Load() {
				n.setCacheTrusted(false)
				lost = time.Now()
				n.log.Warn("notifications from the other nodes are down: reading the events log every "+fastPoll.String()+" until they are back", "poll", fastPoll)
			}
			target = -1
			if time.Since(lastPoll) >= fastPoll && n.pingStore(ctx) {
				// Only while the database answers: when it is down, the
				// follower's own polling reports that.
				n.Auth.Wake()
				lastPoll = time.Now()
			}
			continue
		}
		if n.cacheTrusted.Load() {
			continue
		}
		if target < 0 {
			// LISTEN is up: whatever is appended from now on wakes the
			// follower. What was appended before is in the log up to here.
			seq, err := n.Store.LastEventSeq(ctx)
			if err != nil {
				continue // try again at the next tick
			}
			target = seq
		}
		if n.Auth.Followed() >= target {
			n.setCacheTrusted(true)
			if lost.IsZero() {
				n.log.Info("listening for the other nodes' changes (PostgreSQL LISTEN/NOTIFY)", "seq", target)
			} else {
				n.log.Info("notifications from the other nodes are back; caught up with the events log", "seq", target, "down_for", time.Since(lost).Round(time.Millisecond))
			}
			target = -1
		}
	}
}

// setCacheTrusted records whether the session cache may be trusted. (The
// auth service cannot yet be told to bypass its cache meanwhile; until it
// can, watchNotifications' fast polling bounds how stale the cache gets.)
func (n *Node) setCacheTrusted(ok bool) {
	n.cacheTrusted.Store(ok)
	n.Auth.SetCacheEnabled(ok)
}

// CacheTrusted reports whether this node is known to have applied every
// change made elsewhere up to a few milliseconds ago (see cacheTrusted).
func (n *Node) CacheTrusted() bool { return n.cacheTrusted.Load() }

// pingStore reports whether the store answers within fastPoll.
func (n *Node) pingStore(ctx context.Context) bool {
	p, ok := n.Store.(interface{ Ping(context.Context) error })
	if !ok {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, fastPoll)
	defer cancel()
	return p.Ping(ctx) == nil
}

// deliver runs the webhook deliverer until ctx ends.
func (n *Node) deliver(ctx context.Context) {
	if err := n.Deliverer.Run(ctx); err != nil && ctx.Err() == nil {
		n.log.Error("delivering webhooks stopped", "err", err)
	}
}

// purge deletes sessions that ended more than purgeAfter ago, or that have
// been idle past the idle timeout, now and every purgeEvery. The idle
// cut-off is one touch interval late: the store's last-seen time may trail
// the one in memory by that much. The cut-offs come from the node's clock,
// like the expiries they are compared with.
func (n *Node) purge(ctx context.Context) {
	acfg := n.Auth.Config()
	t := time.NewTicker(purgeEvery)
	defer t.Stop()
	for {
		now := n.cfg.Now()
		count, err := n.Store.DeleteSessionsBefore(ctx, now.Add(-purgeAfter), now.Add(-acfg.IdleTimeout-acfg.TouchInterval))
		switch {
		case err != nil && ctx.Err() == nil:
			n.log.Warn("deleting old sessions", "err", err)
		case count > 0:
			n.log.Info("deleted old sessions", "count", count)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// maintainKeys rotates the signing key when Auth.Tokens.KeyRotation says it
// is due and drops keys that no unexpired token can need, now and every
// keysEvery. Several nodes may do it at once: the store lets one rotation
// win, and the others load the new key from the events log.
func (n *Node) maintainKeys(ctx context.Context) {
	t := time.NewTicker(keysEvery)
	defer t.Stop()
	for {
		if err := n.Auth.MaintainKeys(ctx); err != nil && ctx.Err() == nil {
			n.log.Warn("maintaining signing keys", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
