package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/tessera-auth/tessera/node"
	"github.com/tessera-auth/tessera/store/postgres"
	"github.com/tessera-auth/tessera/store/sqlite"
)

// Store is what the commands need of a store: what a node runs on (the auth
// service's and the webhooks' interfaces, and Close), plus schema
// management. Every store package provides it.
type Store interface {
	node.Store
	// Migrate applies the embedded migrations that are missing.
	Migrate(ctx context.Context) error
	// SchemaVersion returns the applied and the latest known schema versions.
	SchemaVersion(ctx context.Context) (applied, latest int, err error)
}

var (
	_ Store         = (*sqlite.DB)(nil)
	_ Store         = (*postgres.DB)(nil)
	_ node.Notifier = (*postgres.DB)(nil) // else serve would only poll
)

// openStoreAndSecret opens the store like openStore and loads the
// key-encryption secret (loadSecretKey). A shared store's secret is checked
// first, so that a node without it fails before it touches the database; a
// SQLite store is opened first, so that a secret is generated only next to a
// database that opened.
func openStoreAndSecret(ctx context.Context, g *Global, log *slog.Logger, migrate bool) (Store, *secretKey, error) {
	kind := g.StoreKind()
	var sk *secretKey
	if kind != "sqlite" {
		var err error
		if sk, err = loadSecretKey(g, kind, log); err != nil {
			return nil, nil, err
		}
	}
	st, err := openStore(ctx, g, log, migrate)
	if err != nil {
		return nil, nil, err
	}
	if sk == nil {
		if sk, err = loadSecretKey(g, kind, log); err != nil {
			st.Close()
			return nil, nil, err
		}
	}
	return st, sk, nil
}

// openStore opens the store named by --store (sqlite:<data>/tessera.db by
// default; the SQLite store's folder is created with mode 0700 first). With
// migrate it brings the schema up to date, refusing a schema newer than this
// binary; without, the caller migrates (tessera migrate). A new kind of store
// is one more case here.
// log receives a PostgreSQL store's reports of lost connections.
func openStore(ctx context.Context, g *Global, log *slog.Logger, migrate bool) (Store, error) {
	u := g.StoreURL()
	scheme, rest, _ := strings.Cut(u, ":")
	switch strings.ToLower(scheme) {
	case "sqlite":
		if err := os.MkdirAll(g.Data, 0o700); err != nil {
			return nil, fmt.Errorf("creating the data folder: %w", err)
		}
		return openSQLite(ctx, g, rest, migrate)
	case "postgres", "postgresql":
		return openPostgres(ctx, g, u, log, migrate)
	}
	return nil, fmt.Errorf("unknown store %q; supported: sqlite:PATH, postgres://USER@HOST:5432/DB?sslmode=verify-full", redact(u))
}

func openSQLite(ctx context.Context, g *Global, path string, migrate bool) (Store, error) {
	if path == "" {
		return nil, fmt.Errorf("store %q names no file; use sqlite:PATH", g.StoreURL())
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating the database's folder: %w", err)
	}
	opt := sqlite.Options{Synchronous: g.SQLiteSynchronous}
	open := func(ctx context.Context, path string, opt sqlite.Options) (*sqlite.DB, error) {
		return sqlite.OpenNoMigrate(path, opt)
	}
	if migrate {
		open = sqlite.Open
	}
	db, err := open(ctx, path, opt)
	if err != nil {
		return nil, err
	}
	return db, nil
}

// openPostgres opens the PostgreSQL database at url, which goes to pgx whole
// (sslmode, search_path and the other parameters included). Its errors name
// the store with its credentials hidden.
func openPostgres(ctx context.Context, g *Global, rawURL string, log *slog.Logger, migrate bool) (Store, error) {
	if _, err := url.Parse(rawURL); err != nil {
		return nil, fmt.Errorf("store %s is not a valid URL; the form is postgres://USER[:PASSWORD]@HOST:5432/DB?sslmode=verify-full, with special characters of the password percent-encoded", redact(rawURL))
	}
	opt := postgres.Options{MaxConns: int32(g.PGMaxConns), MinConns: int32(g.PGMinConns), Logger: log}
	open := postgres.OpenNoMigrate
	if migrate {
		open = postgres.Open
	}
	db, err := open(ctx, rawURL, opt)
	if err != nil {
		return nil, &scrubbedError{msg: "store " + redact(rawURL) + ": " + scrub(err.Error(), rawURL), err: err}
	}
	return db, nil
}

// scrubbedError is an error whose message had the store's credentials
// removed; it unwraps to the original.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// scrub replaces in msg every credential of the store URL raw (its password
// and its credential parameters, raw and decoded), so that no driver error
// can print one.
func scrub(msg, raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "[error hidden: the store URL does not parse]"
	}
	var secrets []string
	if pw, ok := u.User.Password(); ok {
		secrets = append(secrets, pw, url.PathEscape(pw), url.QueryEscape(pw))
	}
	for k, vs := range u.Query() {
		switch strings.ToLower(k) {
		case "password", "sslpassword", "pass", "secret", "token", "key", "sslkey":
			for _, v := range vs {
				secrets = append(secrets, v, url.QueryEscape(v))
			}
		}
	}
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "xxxxx")
		}
	}
	return msg
}
