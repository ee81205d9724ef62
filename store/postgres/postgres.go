// Package postgres is Tessera's shared store: one PostgreSQL database that
// any number of stateless `tessera serve` nodes use at once, through pgx and
// a pgxpool pool.
//
// # Schema
//
// The schema mirrors the SQLite store's: times are BIGINT Unix nanoseconds
// (exact, and ordered alike in both stores), roles, scopes and event data are
// JSON text, secret hashes are BYTEA, and text keys use the "C" collation so
// that ordering and comparison are bytewise, as in SQLite. Migrations are
// embedded (migrations/NNNN_name.sql), numbered like SQLite's, applied each
// in its own transaction and recorded in schema_migrations. Migrate holds a
// session-level advisory lock while it works, so that nodes starting at once
// migrate once; a database migrated by a newer binary is refused
// (ErrSchemaTooNew).
//
// # Events
//
// Followers tail the events log with EventsAfter(lastSeq), so Seq must grow
// in the order in which events become visible, not merely in the order in
// which they were numbered: with a plain sequence, a transaction that drew
// Seq 10 may commit after one that drew 11, and a follower that has read 11
// skips 10 for good. Every transaction that appends events therefore takes
// the transaction-level advisory lock eventsLockKey right before inserting
// them and holds it until it commits: appends are serialised from their first
// Seq to their commit, so Seqs become visible in increasing order. The lock
// is taken after every change that could wait for another transaction,
// which keeps it short and free of deadlocks: a holder waits for nothing but
// its commit. The price is that appending transactions commit one at a time
// (a few hundred microseconds each on a local server with synchronous
// commit). A connection idle in a transaction for 15 s is ended by the
// server (idle_in_transaction_session_timeout, unless the URL sets it), so
// that a node frozen or cut off while holding the lock stalls the others
// for no longer.
//
// In the same transaction, the append notifies the channel tessera_events
// (Options.NotifyChannel) with the last Seq; Listen turns those notifications
// into wake-ups of the auth service's follower on every node.
//
// # Text
//
// PostgreSQL text holds neither NUL nor invalid UTF-8. Free-form text taken
// from clients (session IP and user agent, client names) is stored with such
// bytes replaced or dropped, and a lookup by a key that cannot be stored
// finds nothing (ErrNotFound) instead of failing.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/store/migrations"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Advisory lock keys, fixed for every Tessera database ("TESSERA" and a
// number). They are database-wide: deployments in several schemas of one
// database share them, which costs throughput, never correctness.
const (
	migrateLockKey int64 = 0x54455353455241_01 // Migrate, session-level
	eventsLockKey  int64 = 0x54455353455241_02 // appending events, until commit
	keysLockKey    int64 = 0x54455353455241_03 // AddSigningKey's expectActive check
)

// DefaultNotifyChannel is the channel on which appends notify and Listen
// listens.
const DefaultNotifyChannel = "tessera_events"

// DB is the PostgreSQL store. It implements auth.Store.
type DB struct {
	pool    *pgxpool.Pool
	channel string
	log     *slog.Logger

	// ctx ends at Close, which stops Listen.
	ctx    context.Context
	cancel context.CancelFunc

	listening atomic.Int32 // Listen loops whose LISTEN connection is up

	// For tests only: eventsHook runs after events are inserted, before
	// COMMIT; noEventsLock leaves out eventsLockKey, to show what it is for.
	eventsHook   func()
	noEventsLock bool
}

var _ auth.Store = (*DB)(nil)

// Options tune the store. Zero values are the defaults.
type Options struct {
	// MaxConns is the pool size of this node (default 10). The pool_max_conns
	// parameter of the URL is overridden. Listen uses one more connection,
	// outside the pool.
	MaxConns int32
	// MinConns is the number of connections kept open while idle (default 0).
	MinConns int32
	// Schema, when set, is the search_path of every connection: the store's
	// tables live there (it must exist). Without it the URL's search_path, if
	// any, or the server's default applies.
	Schema string
	// NotifyChannel is the LISTEN/NOTIFY channel (default "tessera_events").
	// Every node of one deployment must use the same one.
	NotifyChannel string
	// Logger receives Listen's connection losses (default slog.Default()).
	Logger *slog.Logger
}

// Open connects to the database at url (a postgres:// URL or a key=value
// DSN, as pgx parses them) and migrates it. It refuses a database whose
// schema is newer than this binary (ErrSchemaTooNew).
func Open(ctx context.Context, url string, opt Options) (*DB, error) {
	db, err := OpenNoMigrate(ctx, url, opt)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// OpenNoMigrate connects to the database without migrating it;
// SchemaVersion reports whether it is current.
func OpenNoMigrate(ctx context.Context, url string, opt Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parsing the store URL: %w", err)
	}
	switch {
	case opt.MaxConns < 0 || opt.MinConns < 0:
		return nil, errors.New("postgres: MaxConns and MinConns must not be negative")
	case opt.MaxConns == 0:
		opt.MaxConns = 10
	}
	if opt.MinConns > opt.MaxConns {
		return nil, fmt.Errorf("postgres: MinConns %d is above MaxConns %d", opt.MinConns, opt.MaxConns)
	}
	cfg.MaxConns, cfg.MinConns = opt.MaxConns, opt.MinConns
	if cfg.ConnConfig.DefaultQueryExecMode == pgx.QueryExecModeSimpleProtocol {
		// The simple protocol interpolates parameters on the client, where
		// pgx's SQL injection advisories lie (CVE-2024-27289,
		// GHSA-j88v-2chj-qfwx); every query here binds them on the server.
		return nil, errors.New("postgres: default_query_exec_mode=simple_protocol is not supported")
	}
	rp := cfg.ConnConfig.RuntimeParams
	if rp["application_name"] == "" {
		rp["application_name"] = "tessera"
	}
	if _, ok := rp["idle_in_transaction_session_timeout"]; !ok {
		// A node that stops between BEGIN and COMMIT (frozen, cut off from
		// the network) must not hold row locks, or the events lock that
		// every node's appends wait for, until TCP gives up: the server
		// ends its session instead. Our transactions are never idle for
		// more than a round trip.
		rp["idle_in_transaction_session_timeout"] = "15s"
	}
	if opt.Schema != "" {
		rp["search_path"] = pgx.Identifier{opt.Schema}.Sanitize()
	}
	if opt.NotifyChannel == "" {
		opt.NotifyChannel = DefaultNotifyChannel
	}
	if len(opt.NotifyChannel) > 63 || !storable(opt.NotifyChannel) {
		return nil, fmt.Errorf("postgres: notify channel %q: use at most 63 bytes of UTF-8", opt.NotifyChannel)
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connecting: %w", err)
	}
	db := &DB{pool: pool, channel: opt.NotifyChannel, log: opt.Logger}
	db.ctx, db.cancel = context.WithCancel(context.Background())
	return db, nil
}

// Close stops Listen and closes the pool, waiting for connections in use to
// be returned.
func (db *DB) Close() error {
	db.cancel()
	db.pool.Close()
	return nil
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.pool.Ping(ctx) }

// Pool returns the underlying pool, for statistics (Stat) and tests.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// --- migrations

func loadMigrations() ([]migrations.Migration, error) {
	ms, err := migrations.Load(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return ms, nil
}

// ErrSchemaTooNew is returned when the database was migrated by a newer binary.
var ErrSchemaTooNew = errors.New("postgres: database schema is newer than this binary; upgrade tessera")

// SchemaVersion returns the applied and the latest known schema versions;
// applied is 0 for a database never migrated.
func (db *DB) SchemaVersion(ctx context.Context) (applied, latest int, err error) {
	ms, err := loadMigrations()
	if err != nil {
		return 0, 0, err
	}
	latest = migrations.Latest(ms)
	applied, err = schemaVersion(ctx, db.pool)
	return applied, latest, err
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func schemaVersion(ctx context.Context, q querier) (int, error) {
	var exists bool
	if err := q.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return 0, fmt.Errorf("postgres: reading schema version: %w", err)
	}
	if !exists {
		return 0, nil
	}
	var v int
	if err := q.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("postgres: reading schema version: %w", err)
	}
	return v, nil
}

// Migrate applies the embedded migrations that are not yet applied, each in
// its own transaction, recording them in schema_migrations. It holds an
// advisory lock meanwhile: of several nodes starting at once, one migrates
// and the others wait for it, then find nothing to do. It returns
// ErrSchemaTooNew for a database migrated by a newer binary.
func (db *DB) Migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	latest := migrations.Latest(ms)
	// Up to date (the common start): no lock, and no DDL, which a role
	// without CREATE rights could not run.
	if applied, err := appliedVersion(ctx, db.pool, latest); err != nil || applied == latest {
		return err
	}
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migrating: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrateLockKey); err != nil {
		return fmt.Errorf("postgres: taking the migration lock: %w", err)
	}
	defer func() {
		// The lock belongs to the session: if it cannot be released, end the
		// session rather than return a connection that holds it to the pool.
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrateLockKey); err != nil {
			conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()
	// Another node may have migrated while we waited for the lock.
	applied, err := appliedVersion(ctx, conn, latest)
	if err != nil || applied == latest {
		return err
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("postgres: creating schema_migrations: %w", err)
	}
	for _, m := range ms {
		if m.Version <= applied {
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			// No arguments: pgx sends the file as one simple query, so it may
			// hold several statements; nothing is interpolated.
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name)
			return err
		})
		if err != nil {
			return fmt.Errorf("postgres: migration %s: %w", m.Name, err)
		}
	}
	return nil
}

// appliedVersion returns the applied schema version, or ErrSchemaTooNew
// when it is beyond latest.
func appliedVersion(ctx context.Context, q querier, latest int) (int, error) {
	applied, err := schemaVersion(ctx, q)
	if err == nil {
		err = migrations.CheckApplied(applied, latest, ErrSchemaTooNew)
	}
	return applied, err
}

// --- transactions and errors

// tx runs fn in a read-committed transaction, committing when it returns
// nil. A transaction that PostgreSQL aborted as a deadlock victim or for a
// serialisation failure is run again (fn must be safe to rerun: it resets
// whatever it reports).
func (db *DB) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := pgx.BeginFunc(ctx, db.pool, fn)
		if attempt < 4 && retryable(err) && ctx.Err() == nil {
			continue
		}
		return err
	}
}

// deleteByID runs del, a DELETE of the row whose id is $1, and appends evs;
// it fails with auth.ErrNotFound, changing nothing, when there is no such
// row (or id cannot be stored).
func (db *DB) deleteByID(ctx context.Context, del, id string, evs []auth.Event) error {
	if !storable(id) {
		return auth.ErrNotFound
	}
	return db.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, del, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return auth.ErrNotFound
		}
		return db.appendEvents(ctx, tx, evs)
	})
}

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// isConflict reports a unique violation (SQLSTATE 23505).
func isConflict(err error) bool { return pgCode(err) == "23505" }

func retryable(err error) bool {
	switch pgCode(err) {
	case "40001", "40P01": // serialization_failure, deadlock_detected
		return true
	}
	return false
}

// notFound translates pgx.ErrNoRows to auth.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return auth.ErrNotFound
	}
	return err
}

// lookup is the result of a query for one row, whose missing row is
// auth.ErrNotFound.
type lookup struct{ pgx.Row }

func (r lookup) Scan(dest ...any) error { return notFound(r.Row.Scan(dest...)) }

// storable reports whether PostgreSQL text can hold s: valid UTF-8, no NUL.
func storable(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// clean makes free-form client text storable: invalid UTF-8 becomes U+FFFD
// and NULs are dropped.
func clean(s string) string {
	if storable(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}
