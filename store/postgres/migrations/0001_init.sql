-- Users, sessions and the events log. As in the SQLite store, times are Unix
-- nanoseconds (BIGINT), so ordering and comparison are exact and identical
-- across stores, and text keys compare bytewise (COLLATE "C").
CREATE TABLE users (
    id                 TEXT COLLATE "C" PRIMARY KEY,
    email              TEXT COLLATE "C" NOT NULL UNIQUE,
    password_hash      TEXT NOT NULL,
    roles              TEXT NOT NULL DEFAULT '[]', -- JSON array
    disabled           BOOLEAN NOT NULL DEFAULT FALSE,
    tokens_valid_after BIGINT NOT NULL DEFAULT 0,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);

CREATE TABLE sessions (
    id           TEXT COLLATE "C" PRIMARY KEY,
    secret_hash  BYTEA NOT NULL UNIQUE, -- SHA-256 of the secret; the secret is never stored
    user_id      TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    created_ip   TEXT NOT NULL DEFAULT '',
    created_ua   TEXT NOT NULL DEFAULT '',
    last_ip      TEXT NOT NULL DEFAULT '',
    last_ua      TEXT NOT NULL DEFAULT '',
    revoked_at   BIGINT,
    revoke_cause TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions(user_id, created_at);
CREATE INDEX sessions_expiry ON sessions(expires_at);

-- Append-only. An identity column never hands out a number twice. Numbers
-- are drawn under an advisory lock held until commit (see the package
-- documentation), so they become visible in increasing order. The sequence
-- must keep its default CACHE 1: numbers cached per connection would be
-- drawn out of order.
CREATE TABLE events (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    type       TEXT NOT NULL,
    at         BIGINT NOT NULL,
    user_id    TEXT COLLATE "C" NOT NULL DEFAULT '',
    session_id TEXT COLLATE "C" NOT NULL DEFAULT '',
    data       TEXT NOT NULL DEFAULT '{}' -- JSON object of strings
);
CREATE INDEX events_user ON events(user_id, seq);
