-- Users, sessions and the events log. Times are Unix nanoseconds (INTEGER),
-- so ordering and comparison are exact and identical across stores.
CREATE TABLE users (
    id                 TEXT PRIMARY KEY,
    email              TEXT NOT NULL UNIQUE,
    password_hash      TEXT NOT NULL,
    roles              TEXT NOT NULL DEFAULT '[]', -- JSON array
    disabled           INTEGER NOT NULL DEFAULT 0,
    tokens_valid_after INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    secret_hash  BLOB NOT NULL UNIQUE, -- SHA-256 of the secret; the secret is never stored
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    created_ip   TEXT NOT NULL DEFAULT '',
    created_ua   TEXT NOT NULL DEFAULT '',
    last_ip      TEXT NOT NULL DEFAULT '',
    last_ua      TEXT NOT NULL DEFAULT '',
    revoked_at   INTEGER,
    revoke_cause TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions(user_id, created_at);
CREATE INDEX sessions_expiry ON sessions(expires_at);

-- Append-only. AUTOINCREMENT: a sequence number is never reused, even after
-- the newest rows are deleted, so followers can trust "everything after seq".
CREATE TABLE events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    type       TEXT NOT NULL,
    at         INTEGER NOT NULL,
    user_id    TEXT NOT NULL DEFAULT '',
    session_id TEXT NOT NULL DEFAULT '',
    data       TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_user ON events(user_id, seq);
