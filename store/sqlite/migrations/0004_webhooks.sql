-- Webhooks and their delivery log. The events log is the outbox: a webhook's
-- cursor is the Seq of the last event it handled, and the lease lets one
-- deliverer among several nodes work on it at a time.
CREATE TABLE webhooks (
    id              TEXT PRIMARY KEY,
    url             TEXT NOT NULL,
    events          TEXT NOT NULL DEFAULT '[]', -- JSON array; ["*"] for every type
    sealed_secret   BLOB NOT NULL,              -- AES-256-GCM under the key-encryption secret
    created_at      INTEGER NOT NULL,
    cursor          INTEGER NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0, -- failed attempts at the event after cursor
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    lease_owner     TEXT NOT NULL DEFAULT '',
    lease_until     INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE webhook_deliveries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT, -- recording order
    webhook_id  TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    event_type  TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    duration    INTEGER NOT NULL, -- nanoseconds
    status_code INTEGER NOT NULL DEFAULT 0,
    outcome     TEXT NOT NULL,
    error       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries(webhook_id, id);
CREATE INDEX webhook_deliveries_at ON webhook_deliveries(at);
