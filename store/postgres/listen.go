package postgres

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
)

// Listen's timing. A connection that is silently gone (no RST, a dropped
// NAT entry) is noticed by a ping after healthInterval without
// notifications.
const (
	minBackoff     = 100 * time.Millisecond
	maxBackoff     = 10 * time.Second
	healthInterval = 30 * time.Second
	pingTimeout    = 5 * time.Second
)

// Listen keeps a dedicated connection (outside the pool) listening on the
// notify channel, and calls wake on every notification: every append of
// events, by any node, wakes the caller. It also calls wake right after each
// connect and reconnect, because notifications sent while the connection was
// down are lost: the caller then reads the events log from its last Seq and
// misses nothing. When the connection drops, Listen reconnects with
// exponential backoff (100ms to 10s, jittered), logging the loss.
//
// wake is called from Listen's goroutine and must not block for long (a
// non-blocking send on a channel of one is the intended use). Listen returns
// nil when ctx ends or the DB is closed. Several Listen loops may run at once.
func (db *DB) Listen(ctx context.Context, wake func()) error {
	if wake == nil {
		return errors.New("postgres: Listen: nil wake")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(db.ctx, cancel)()

	cfg := db.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] += "-listen"
	backoff := minBackoff
	for {
		up, err := db.listen(ctx, cfg, wake)
		if ctx.Err() != nil {
			return nil
		}
		if up {
			backoff = minBackoff
		}
		db.log.Warn("postgres: LISTEN connection down; reconnecting", "err", err, "retry_in", backoff)
		// Full jitter over the upper half: nodes that lost the server at
		// once do not come back at once.
		d := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(d):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// listen connects, LISTENs, wakes, and then wakes on each notification until
// the connection fails or ctx ends; up reports whether LISTEN succeeded.
func (db *DB) listen(ctx context.Context, cfg *pgx.ConnConfig, wake func()) (up bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, err
	}
	defer func() {
		c, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		conn.Close(c)
		cancel()
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{db.channel}.Sanitize()); err != nil {
		return false, err
	}
	db.listening.Add(1)
	defer db.listening.Add(-1)
	wake() // resynchronise: whatever was appended while we were away
	for {
		wctx, cancel := context.WithTimeout(ctx, healthInterval)
		_, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			wake()
		case ctx.Err() != nil:
			return true, ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			pctx, cancel := context.WithTimeout(ctx, pingTimeout)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return true, err
			}
		default:
			return true, err
		}
	}
}

// Listening reports whether a Listen loop has its LISTEN connection up.
// While it is false, notifications are being lost: a node should not trust
// its caches beyond what it polls from the events log.
func (db *DB) Listening() bool { return db.listening.Load() > 0 }
