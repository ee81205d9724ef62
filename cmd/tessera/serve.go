package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/httpapi"
)

// Timeouts of the HTTP server and of the jobs around it.
const (
	shutdownTimeout = 10 * time.Second // in-flight requests get this long after SIGTERM
	purgeEvery      = 10 * time.Minute // how often long-dead sessions are deleted
	purgeAfter      = 24 * time.Hour   // ended sessions are kept this long (for the device list and audits)
	keysEvery       = time.Minute      // how often the signing keys are rotated when due and pruned
)

// Main is a running server: the store, the auth service, the HTTP API and the
// background jobs that keep it honest, started by Run and stopped by Close.
// Tests build one with NewMain to run the whole server in-process.
type Main struct {
	Config Config
	Log    *slog.Logger

	Store Store
	Auth  *auth.Service
	API   *httpapi.Server
	HTTP  *http.Server

	listener   net.Listener
	followFrom int64      // the events log's end before serving: Follow starts after it
	served     chan error // Serve's error, if it fails
	stop       context.CancelFunc
	jobs       sync.WaitGroup
	closeOnce  sync.Once
	closeErr   error
}

// NewMain returns a server with the given settings, logging to log.
func NewMain(cfg Config, log *slog.Logger) *Main {
	return &Main{Config: cfg, Log: log, served: make(chan error, 1)}
}

// Run opens and migrates the store, loads the signing keys (creating the
// first one), starts listening and serving, and starts the background jobs:
// following the events log (changes made by the CLI or other nodes reach this
// node within --events-poll), deleting long-dead sessions, and rotating and
// dropping signing keys. It returns once the server accepts connections;
// Close stops it. ctx bounds only the start-up.
func (m *Main) Run(ctx context.Context) error {
	cfg := &m.Config
	if err := cfg.Validate(); err != nil {
		return err
	}
	proxies, _ := cfg.Proxies() // checked by Validate
	st, err := openStore(ctx, &cfg.Global, true)
	if err != nil {
		return err
	}
	m.Store = st
	sk, err := loadSecretKey(&cfg.Global, cfg.StoreKind(), m.Log)
	if err != nil {
		return err
	}
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
		cfg.Issuer = issuerForAddr(ln.Addr().String())
	}
	m.Auth = auth.NewService(st, cfg.Hasher(), cfg.AuthConfig(m.Log, sk.KEK))
	if err := m.Auth.LoadKeys(ctx); err != nil {
		ln.Close()
		return sk.explain(err)
	}
	m.API = httpapi.New(m.Auth, httpapi.Config{InsecureCookie: cfg.InsecureCookie, TrustedProxies: proxies, Logger: m.Log})
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
	m.jobs.Go(func() { m.purge(jobs) })
	m.jobs.Go(func() { m.maintainKeys(jobs) })

	m.listener = ln
	go func() {
		if err := m.HTTP.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			m.served <- err
		}
	}()
	m.Log.Info("listening on http://"+ln.Addr().String(), "addr", ln.Addr().String(), "issuer", cfg.Issuer)
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
		m.API.SetDraining()
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
gracefully (in-flight requests get 10s).

Examples:

    tessera serve
    tessera serve --addr 0.0.0.0:8080 --data /var/lib/tessera --log-format json
    TESSERA_ADDR=127.0.0.1:9000 tessera serve --config /etc/tessera.json

Behind a TLS-terminating proxy, trust its address for the client IP:

    tessera serve --trusted-proxies 10.0.0.0/8`
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
