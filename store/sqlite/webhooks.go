package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/webhook"
)

var _ webhook.Store = (*DB)(nil)

const webhookCols = `id, url, events, sealed_secret, created_at, cursor, attempts, next_attempt_at, lease_owner, lease_until`

func scanWebhook(row interface{ Scan(...any) error }) (*webhook.Webhook, error) {
	var w webhook.Webhook
	var events string
	var created, next, until int64
	if err := row.Scan(&w.ID, &w.URL, &events, &w.SealedSecret, &created, &w.Cursor, &w.Attempts, &next, &w.LeaseOwner, &until); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, auth.ErrNotFound
		}
		return nil, err
	}
	if err := json.Unmarshal([]byte(events), &w.Events); err != nil {
		return nil, fmt.Errorf("webhook %s: events: %w", w.ID, err)
	}
	w.CreatedAt, w.NextAttemptAt, w.LeaseUntil = fromNanos(created), fromNanos(next), fromNanos(until)
	return &w, nil
}

// CreateWebhook implements webhook.Store.
func (db *DB) CreateWebhook(ctx context.Context, w *webhook.Webhook, evs ...auth.Event) error {
	var cursor int64
	err := db.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO webhooks (`+webhookCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			w.ID, w.URL, rolesJSON(w.Events), w.SealedSecret, nanos(w.CreatedAt), w.Cursor, w.Attempts,
			nanos(w.NextAttemptAt), w.LeaseOwner, nanos(w.LeaseUntil))
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
	rows, err := db.read.QueryContext(ctx, `SELECT `+webhookCols+` FROM webhooks ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*webhook.Webhook
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// WebhookByID implements webhook.Store.
func (db *DB) WebhookByID(ctx context.Context, id string) (*webhook.Webhook, error) {
	return scanWebhook(db.read.QueryRowContext(ctx, `SELECT `+webhookCols+` FROM webhooks WHERE id = ?`, id))
}

// DeleteWebhook implements webhook.Store. The delivery log goes with the
// webhook (ON DELETE CASCADE).
func (db *DB) DeleteWebhook(ctx context.Context, id string, evs ...auth.Event) error {
	return db.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM webhooks WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return auth.ErrNotFound
		}
		return appendEvents(ctx, tx, evs)
	})
}

// LeaseWebhook implements webhook.Store.
func (db *DB) LeaseWebhook(ctx context.Context, id, owner string, now, until time.Time) (bool, error) {
	won := false
	err := db.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE webhooks SET lease_owner = ?, lease_until = ?
			WHERE id = ? AND ? != '' AND (lease_owner = ? OR lease_until <= ?)`, owner, nanos(until), id, owner, owner, nanos(now))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			won = true
			return nil
		}
		return webhookExists(ctx, tx, id)
	})
	return won && err == nil, err
}

// AdvanceWebhook implements webhook.Store.
func (db *DB) AdvanceWebhook(ctx context.Context, id, owner string, cursor int64, attempts int, nextAttempt time.Time) (bool, error) {
	done := false
	err := db.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE webhooks SET cursor = ?, attempts = ?, next_attempt_at = ?
			WHERE id = ? AND lease_owner = ? AND lease_owner != '' AND cursor <= ?`, cursor, attempts, nanos(nextAttempt), id, owner, cursor)
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
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM webhooks WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return auth.ErrNotFound
	}
	return err
}

const deliveryCols = `webhook_id, seq, event_type, attempt, at, duration, status_code, outcome, error`

// RecordDelivery implements webhook.Store.
func (db *DB) RecordDelivery(ctx context.Context, d *webhook.Delivery) error {
	res, err := db.write.ExecContext(ctx, `INSERT INTO webhook_deliveries (`+deliveryCols+`)
		SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM webhooks WHERE id = ?)`,
		d.WebhookID, d.Seq, d.EventType, d.Attempt, nanos(d.At), int64(d.Duration), d.StatusCode, string(d.Outcome), d.Error, d.WebhookID)
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
	rows, err := db.read.QueryContext(ctx, `SELECT `+deliveryCols+` FROM webhook_deliveries
		WHERE webhook_id = ? ORDER BY id DESC LIMIT ?`, webhookID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*webhook.Delivery
	for rows.Next() {
		var d webhook.Delivery
		var at, dur int64
		var outcome string
		if err := rows.Scan(&d.WebhookID, &d.Seq, &d.EventType, &d.Attempt, &at, &dur, &d.StatusCode, &outcome, &d.Error); err != nil {
			return nil, err
		}
		d.At, d.Duration, d.Outcome = fromNanos(at), time.Duration(dur), webhook.Outcome(outcome)
		out = append(out, &d)
	}
	return out, rows.Err()
}

// DeleteDeliveriesBefore implements webhook.Store.
func (db *DB) DeleteDeliveriesBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := db.write.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE at < ?`, nanos(t))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
