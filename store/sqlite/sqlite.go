// Package sqlite is Tessera's embedded store: one SQLite file in WAL mode,
// through the pure-Go modernc.org/sqlite driver, so that `go build` gives one
// static binary and the default set-up needs nothing installed.
//
// SQLite allows one writer at a time, so the DB keeps two pools: a single
// connection for writes, whose transactions start IMMEDIATE (taking the write
// lock up front instead of failing on upgrade), and a pool of readers that WAL
// lets run beside it. Every connection waits on a busy lock rather than failing,
// which also lets the CLI write while a server runs on the same file.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/store/migrations"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// DB is the SQLite store. It implements auth.Store.
type DB struct {
	path   string
	write  *sql.DB
	read   *sql.DB
	writer *writer
}

// Options tune the store. Zero values are the defaults.
type Options struct {
	// Synchronous is SQLite's synchronous pragma: "FULL" (default: a commit is
	// on disk before the call returns, surviving power loss) or "NORMAL"
	// (survives a crash of the process, not of the machine; faster writes).
	Synchronous string
	ReadConns   int // default 2×GOMAXPROCS
}

// Open opens (creating if needed) the database at path and migrates it.
// It refuses a database whose schema is newer than this binary.
func Open(ctx context.Context, path string, opt Options) (*DB, error) {
	db, err := open(path, opt)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// OpenNoMigrate opens the database without migrating; Check reports whether
// it is current.
func OpenNoMigrate(path string, opt Options) (*DB, error) { return open(path, opt) }

func open(path string, opt Options) (*DB, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty path")
	}
	sync := strings.ToUpper(opt.Synchronous)
	if sync == "" {
		sync = "FULL"
	}
	if sync != "FULL" && sync != "NORMAL" {
		return nil, fmt.Errorf("sqlite: synchronous must be FULL or NORMAL, not %q", opt.Synchronous)
	}
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(" + sync + ")"} {
		q.Add("_pragma", p)
	}
	dsn := "file:" + path + "?" + q.Encode()
	write, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: opening %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	// The first connection creates the file and switches it to WAL; do it on
	// the writer before any reader opens.
	if err := write.Ping(); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: opening %s: %w", path, err)
	}
	read, err := sql.Open("sqlite", dsn+"&mode=ro")
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: opening %s: %w", path, err)
	}
	n := opt.ReadConns
	if n <= 0 {
		n = 2 * runtime.GOMAXPROCS(0)
	}
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	return &DB{path: path, write: write, read: read, writer: newWriter(write)}, nil
}

// Close stops the writer (queued writes fail) and closes both pools.
func (db *DB) Close() error {
	db.writer.close()
	return errors.Join(db.read.Close(), db.write.Close())
}

// Path returns the database file's path.
func (db *DB) Path() string { return db.path }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	return db.read.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

func loadMigrations() ([]migrations.Migration, error) {
	ms, err := migrations.Load(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return ms, nil
}

// ErrSchemaTooNew is returned when the database was migrated by a newer binary.
var ErrSchemaTooNew = errors.New("sqlite: database schema is newer than this binary; upgrade tessera")

// SchemaVersion returns the applied and the latest known schema versions.
func (db *DB) SchemaVersion(ctx context.Context) (applied, latest int, err error) {
	ms, err := loadMigrations()
	if err != nil {
		return 0, 0, err
	}
	latest = migrations.Latest(ms)
	err = db.write.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&applied)
	if err != nil && strings.Contains(err.Error(), "no such table") {
		return 0, latest, nil
	}
	return applied, latest, err
}

// Migrate applies the embedded migrations that are not yet applied, each in
// its own transaction, recording them in schema_migrations.
func (db *DB) Migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT (datetime('now')))`); err != nil {
		return fmt.Errorf("sqlite: creating schema_migrations: %w", err)
	}
	applied, latest, err := db.SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("sqlite: reading schema version: %w", err)
	}
	if err := migrations.CheckApplied(applied, latest, ErrSchemaTooNew); err != nil {
		return err
	}
	for _, m := range ms {
		if m.Version <= applied {
			continue
		}
		err := db.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", m.Version, m.Name)
			return err
		})
		if err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", m.Name, err)
		}
	}
	return nil
}

// tx runs fn in a write transaction, committed with whatever other writes are
// queued at the time (see writer.go); it returns once fn's changes are
// committed, or with fn's error, having changed nothing.
//
// fn gets a context without cancellation to use for its statements: once
// queued, a write must not be interrupted (see writer.do).
func (db *DB) tx(ctx context.Context, fn func(context.Context, *sql.Tx) error) error {
	return db.writer.do(ctx, fn)
}

// deleteByID runs del, a DELETE of the row with the given id, and appends
// evs; it fails with auth.ErrNotFound, changing nothing, when there is no
// such row.
func (db *DB) deleteByID(ctx context.Context, del, id string, evs []auth.Event) error {
	return db.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, del, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return auth.ErrNotFound
		}
		return appendEvents(ctx, tx, evs)
	})
}

// notFound translates sql.ErrNoRows to auth.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return auth.ErrNotFound
	}
	return err
}

// lookup is the result of a query for one row, whose missing row is
// auth.ErrNotFound.
type lookup struct{ *sql.Row }

func (r lookup) Scan(dest ...any) error { return notFound(r.Row.Scan(dest...)) }

// isConstraint reports a UNIQUE or PRIMARY KEY violation.
func isConstraint(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return true
		}
	}
	return false
}
