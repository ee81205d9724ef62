package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/store/internal/rowcodec"
	"github.com/tessera-auth/tessera/webhook"
)

var _ webhook.Store = (*DB)(nil)

// CreateWebhook implements webhook.Store.
func (db *DB) CreateWebhook(ctx context.Context, w *webhook.Webhook, evs ...auth.Event) error {
	var cursor int64
	err := db.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO webhooks (`+rowcodec.WebhookColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			w.ID, w.URL, rowcodec.JSONList(w.Events), w.SealedSecret, rowcodec.Nanos(w.CreatedAt), w.Cursor, w.Attempts,
			rowcodec.Nanos(w.NextAttemptAt), w.LeaseOwner, rowcodec.Nanos(w.LeaseUntil))
		if isConstraint(err) {
			return auth.ErrConflict
		}
		if err != nil {
			return err
		}
		if err := appendEvents(ctx, tx, evs); err != nil {
			return err
		}
		var end int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM events`).Scan(&end); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE webhooks SET cursor = ? WHERE id = ?`, end, w.ID); err != nil {
			return err
		}
		cursor = end
		return nil
	})
	if err == nil {
		w.Cursor = cursor
	}
	return err
}

// Webhooks implements webhook.Store.
func (db *DB) Webhooks(ctx context.Context) ([]*webhook.Webhook, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+rowcodec.WebhookColumns+` FROM webhooks ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return rowcodec.Collect(rows, rowcodec.ScanWebhook)
}

// WebhookByID implements webhook.Store.
func (db *DB) WebhookByID(ctx context.Context, id string) (*webhook.Webhook, error) {
	return rowcodec.ScanWebhook(lookup{db.read.QueryRowContext(ctx, `SELECT `+rowcodec.WebhookColumns+` FROM webhooks WHERE id = ?`, id)})
}

// DeleteWebhook implements webhook.Store. The delivery log goes with the
// webhook (ON DELETE CASCADE).
func (db *DB) DeleteWebhook(ctx context.Context, id string, evs ...auth.Event) error {
	return db.deleteByID(ctx, `DELETE FROM webhooks WHERE id = ?`, id, evs)
}

// LeaseWebhook implements webhook.Store.
func (db *DB) LeaseWebhook(ctx context.Context, id, owner string, now, until time.Time) (bool, error) {
	return db.updateWebhook(ctx, id, `UPDATE webhooks SET lease_owner = ?, lease_until = ?
		WHERE id = ? AND ? != '' AND (lease_owner = ? OR lease_until <= ?)`, owner, rowcodec.Nanos(until), id, owner, owner, rowcodec.Nanos(now))
}

// AdvanceWebhook implements webhook.Store.
func (db *DB) AdvanceWebhook(ctx context.Context, id, owner string, cursor int64, attempts int, nextAttempt time.Time) (bool, error) {
	return db.updateWebhook(ctx, id, `UPDATE webhooks SET cursor = ?, attempts = ?, next_attempt_at = ?
		WHERE id = ? AND lease_owner = ? AND lease_owner != '' AND cursor <= ?`, cursor, attempts, rowcodec.Nanos(nextAttempt), id, owner, cursor)
}

// updateWebhook runs upd, a conditional UPDATE of the webhook id, and
// reports whether it matched; when it did not, the error is auth.ErrNotFound
// unless the webhook exists.
func (db *DB) updateWebhook(ctx context.Context, id, upd string, args ...any) (bool, error) {
	done := false
	err := db.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, upd, args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			done = true
			return nil
		}
		return webhookExists(ctx, tx, id)
	})
	return done && err == nil, err
}

// webhookExists returns auth.ErrNotFound unless the webhook exists.
func webhookExists(ctx context.Context, tx *sql.Tx, id string) error {
	var one int
	return notFound(tx.QueryRowContext(ctx, `SELECT 1 FROM webhooks WHERE id = ?`, id).Scan(&one))
}

// RecordDelivery implements webhook.Store.
func (db *DB) RecordDelivery(ctx context.Context, d *webhook.Delivery) error {
	res, err := db.write.ExecContext(ctx, `INSERT INTO webhook_deliveries (`+rowcodec.DeliveryColumns+`)
		SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM webhooks WHERE id = ?)`,
		d.WebhookID, d.Seq, d.EventType, d.Attempt, rowcodec.Nanos(d.At), int64(d.Duration), d.StatusCode, string(d.Outcome), d.Error, d.WebhookID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return auth.ErrNotFound
	}
	return nil
}

// Deliveries implements webhook.Store.
func (db *DB) Deliveries(ctx context.Context, webhookID string, limit int) ([]*webhook.Delivery, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+rowcodec.DeliveryColumns+` FROM webhook_deliveries
		WHERE webhook_id = ? ORDER BY id DESC LIMIT ?`, webhookID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return rowcodec.Collect(rows, rowcodec.ScanDelivery)
}

// DeleteDeliveriesBefore implements webhook.Store.
func (db *DB) DeleteDeliveriesBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := db.write.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE at < ?`, rowcodec.Nanos(t))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
