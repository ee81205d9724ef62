package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/store/internal/rowcodec"
	"github.com/tessera-auth/tessera/webhook"
)

var _ webhook.Store = (*DB)(nil)

// CreateWebhook implements webhook.Store. The cursor is read after the
// events are appended, under the events lock when there are events: every
// event that becomes visible later has a higher Seq (see the package
// documentation), so the webhook misses none of them.
func (db *DB) CreateWebhook(ctx context.Context, w *webhook.Webhook, evs ...auth.Event) error {
	var cursor int64
	err := db.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO webhooks (`+rowcodec.WebhookColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			w.ID, w.URL, rowcodec.JSONList(w.Events), w.SealedSecret, rowcodec.Nanos(w.CreatedAt), w.Cursor, w.Attempts,
			rowcodec.Nanos(w.NextAttemptAt), w.LeaseOwner, rowcodec.Nanos(w.LeaseUntil))
		if isConflict(err) {
			return auth.ErrConflict
		}
		if err != nil {
			return err
		}
		if err := db.appendEvents(ctx, tx, evs); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `UPDATE webhooks SET cursor = (SELECT COALESCE(MAX(seq), 0) FROM events)
			WHERE id = $1 RETURNING cursor`, w.ID).Scan(&cursor)
	})
	if err == nil {
		w.Cursor = cursor
	}
	return err
}

// Webhooks implements webhook.Store.
func (db *DB) Webhooks(ctx context.Context) ([]*webhook.Webhook, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+rowcodec.WebhookColumns+` FROM webhooks ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return rowcodec.Collect(rows, rowcodec.ScanWebhook)
}

// WebhookByID implements webhook.Store.
func (db *DB) WebhookByID(ctx context.Context, id string) (*webhook.Webhook, error) {
	if !storable(id) {
		return nil, auth.ErrNotFound
	}
	return rowcodec.ScanWebhook(lookup{db.pool.QueryRow(ctx, `SELECT `+rowcodec.WebhookColumns+` FROM webhooks WHERE id = $1`, id)})
}

// DeleteWebhook implements webhook.Store. The delivery log goes with the
// webhook (ON DELETE CASCADE).
func (db *DB) DeleteWebhook(ctx context.Context, id string, evs ...auth.Event) error {
	return db.deleteByID(ctx, `DELETE FROM webhooks WHERE id = $1`, id, evs)
}

// LeaseWebhook implements webhook.Store with one conditional UPDATE: of
// owners racing for a free lease, the later ones wait for the first's row
// lock, then find the lease taken and change nothing.
func (db *DB) LeaseWebhook(ctx context.Context, id, owner string, now, until time.Time) (bool, error) {
	return db.updateLeased(ctx, id, owner, `UPDATE webhooks SET lease_owner = $1, lease_until = $2
		WHERE id = $3 AND (lease_owner = $1 OR lease_until <= $4)`, owner, rowcodec.Nanos(until), id, rowcodec.Nanos(now))
}

// AdvanceWebhook implements webhook.Store.
func (db *DB) AdvanceWebhook(ctx context.Context, id, owner string, cursor int64, attempts int, nextAttempt time.Time) (bool, error) {
	return db.updateLeased(ctx, id, owner, `UPDATE webhooks SET cursor = $1, attempts = $2, next_attempt_at = $3
		WHERE id = $4 AND lease_owner = $5 AND cursor <= $1`, cursor, attempts, rowcodec.Nanos(nextAttempt), id, owner)
}

// updateLeased runs upd, an UPDATE of the webhook id on a condition that
// includes owner, and reports whether it matched; when it did not, the error
// is auth.ErrNotFound unless the webhook exists. An owner that is empty or
// cannot be stored matches no webhook, and upd is not run.
func (db *DB) updateLeased(ctx context.Context, id, owner, upd string, args ...any) (bool, error) {
	if !storable(id) {
		return false, auth.ErrNotFound
	}
	if owner == "" || !storable(owner) {
		return false, db.webhookExists(ctx, id)
	}
	tag, err := db.pool.Exec(ctx, upd, args...)
	if err != nil {
		return false, err
	}
	if tag.RowsAffected() == 1 {
		return true, nil
	}
	return false, db.webhookExists(ctx, id)
}

// webhookExists returns auth.ErrNotFound unless the webhook exists.
func (db *DB) webhookExists(ctx context.Context, id string) error {
	var one int
	return notFound(db.pool.QueryRow(ctx, `SELECT 1 FROM webhooks WHERE id = $1`, id).Scan(&one))
}

// RecordDelivery implements webhook.Store. A webhook that is gone fails the
// foreign key: ErrNotFound.
func (db *DB) RecordDelivery(ctx context.Context, d *webhook.Delivery) error {
	if !storable(d.WebhookID) {
		return auth.ErrNotFound
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO webhook_deliveries (`+rowcodec.DeliveryColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		d.WebhookID, d.Seq, d.EventType, d.Attempt, rowcodec.Nanos(d.At), int64(d.Duration), d.StatusCode, string(d.Outcome), clean(d.Error))
	if pgCode(err) == "23503" { // foreign_key_violation
		return auth.ErrNotFound
	}
	return err
}

// Deliveries implements webhook.Store. A negative limit means no limit.
func (db *DB) Deliveries(ctx context.Context, webhookID string, limit int) ([]*webhook.Delivery, error) {
	if !storable(webhookID) {
		return nil, nil
	}
	var lim *int
	if limit >= 0 {
		lim = &limit
	}
	rows, err := db.pool.Query(ctx, `SELECT `+rowcodec.DeliveryColumns+` FROM webhook_deliveries
		WHERE webhook_id = $1 ORDER BY id DESC LIMIT $2`, webhookID, lim)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return rowcodec.Collect(rows, rowcodec.ScanDelivery)
}

// DeleteDeliveriesBefore implements webhook.Store.
func (db *DB) DeleteDeliveriesBefore(ctx context.Context, t time.Time) (int64, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM webhook_deliveries WHERE at < $1`, rowcodec.Nanos(t))
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}
