package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/tessera-auth/tessera/node"
)

// startNode runs the server of cfg as serve does: it checks the settings,
// opens and migrates the store, loads the key-encryption secret and starts a
// node on them (package node holds the runtime), logging to log, on the
// clock now. On success the caller closes the node, which closes the store.
// Tests run the whole server in-process with it.
func startNode(ctx context.Context, cfg Config, log *slog.Logger, now func() time.Time) (*node.Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	st, sk, err := openStoreAndSecret(ctx, &cfg.Global, log, true)
	if err != nil {
		return nil, err
	}
	n := node.New(st, sk.KEK, cfg.nodeConfig(log, sk.KEK, now))
	if err := n.Run(ctx); err != nil {
		n.Close()
		return nil, sk.explain(err)
	}
	return n, nil
}

// nodeConfig returns the node's settings for serve's flags.
func (c *Config) nodeConfig(log *slog.Logger, kek []byte, now func() time.Time) node.Config {
	proxies, _ := c.Proxies() // checked by Validate
	acfg := c.AuthConfig(log, kek)
	if c.Issuer == "" {
		// The node derives the default from the address it binds: with
		// port 0, the real port. The audience defaults to the issuer.
		acfg.Tokens.Issuer, acfg.Tokens.Audience = "", c.Audience
	}
	return node.Config{
		Addr:           c.Addr,
		TLSCert:        c.TLSCert,
		TLSKey:         c.TLSKey,
		DrainDelay:     c.DrainDelay,
		EventsPoll:     c.EventsPoll,
		Auth:           acfg,
		Hasher:         c.Hasher(),
		InsecureCookie: c.InsecureCookie,
		TrustedProxies: proxies,
		Logger:         log,
		Now:            now,
		LogSettings: func(issuer string) []any {
			eff := *c
			eff.Issuer = issuer
			return eff.LogAttrs()
		},
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
	n, err := startNode(a.ctx, Config{Global: *a.global, Hashing: c.Hashing, Server: c.Server}, a.log, a.now)
	if err != nil {
		return err
	}
	select {
	case <-a.ctx.Done():
		if a.stopSig != nil {
			a.stopSig()
		}
		a.log.Info("shutting down")
	case err := <-n.Failed():
		n.Close()
		return fmt.Errorf("serving: %w", err)
	}
	if err := n.Close(); err != nil {
		return err
	}
	a.log.Info("stopped")
	return nil
}
