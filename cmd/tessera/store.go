package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/store/sqlite"
)

// Store is what the commands need of a store: the auth service's interface,
// plus schema management and Close. Every store package provides it.
type Store interface {
	auth.Store
	// Migrate applies the embedded migrations that are missing.
	Migrate(ctx context.Context) error
	// SchemaVersion returns the applied and the latest known schema versions.
	SchemaVersion(ctx context.Context) (applied, latest int, err error)
	Close() error
}

var _ Store = (*sqlite.DB)(nil)

// openStore opens the store named by --store (sqlite:<data>/tessera.db by
// default), creating the data folder with mode 0700 first. With migrate it
// brings the schema up to date, refusing a schema newer than this binary;
// without, the caller migrates (tessera migrate). A new kind of store is one
// more case here.
func openStore(ctx context.Context, g *Global, migrate bool) (Store, error) {
	if err := os.MkdirAll(g.Data, 0o700); err != nil {
		return nil, fmt.Errorf("creating the data folder: %w", err)
	}
	u := g.StoreURL()
	scheme, rest, _ := strings.Cut(u, ":")
	switch scheme {
	case "sqlite":
		return openSQLite(ctx, g, rest, migrate)
	}
	return nil, fmt.Errorf("unknown store %q; supported: sqlite:PATH", redact(u))
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
