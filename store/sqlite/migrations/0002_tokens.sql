-- OAuth clients, refresh tokens and JWT signing keys.
CREATE TABLE clients (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    secret_hash BLOB NOT NULL, -- SHA-256 of a 256-bit random secret
    scopes      TEXT NOT NULL DEFAULT '[]',
    created_at  INTEGER NOT NULL
);

-- Refresh tokens by hash. Rotated tokens stay (rotated_at set) so that a
-- replay is recognised as reuse; they go when their session does.
CREATE TABLE refresh_tokens (
    hash           BLOB PRIMARY KEY,
    session_id     TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    client_id      TEXT NOT NULL,
    family_id      TEXT NOT NULL,
    scope          TEXT NOT NULL DEFAULT '',
    audience       TEXT NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    rotated_at     INTEGER,
    successor_hash BLOB
);
CREATE INDEX refresh_tokens_session ON refresh_tokens(session_id);

CREATE TABLE signing_keys (
    id             TEXT PRIMARY KEY,
    alg            TEXT NOT NULL,
    sealed_private BLOB NOT NULL, -- AES-256-GCM under the key-encryption secret
    created_at     INTEGER NOT NULL,
    retired_at     INTEGER
);
