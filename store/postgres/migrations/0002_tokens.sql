-- OAuth clients, refresh tokens and JWT signing keys.
CREATE TABLE clients (
    id          TEXT COLLATE "C" PRIMARY KEY,
    name        TEXT NOT NULL,
    secret_hash BYTEA NOT NULL, -- SHA-256 of a 256-bit random secret
    scopes      TEXT NOT NULL DEFAULT '[]', -- JSON array
    created_at  BIGINT NOT NULL
);

-- Refresh tokens by hash. Rotated tokens stay (rotated_at set) so that a
-- replay is recognised as reuse; they go when their session does.
CREATE TABLE refresh_tokens (
    hash           BYTEA PRIMARY KEY,
    session_id     TEXT COLLATE "C" NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    client_id      TEXT NOT NULL,
    family_id      TEXT NOT NULL,
    scope          TEXT NOT NULL DEFAULT '',
    audience       TEXT NOT NULL DEFAULT '',
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    rotated_at     BIGINT,
    successor_hash BYTEA
);
CREATE INDEX refresh_tokens_session ON refresh_tokens(session_id);

CREATE TABLE signing_keys (
    id             TEXT COLLATE "C" PRIMARY KEY,
    alg            TEXT NOT NULL,
    sealed_private BYTEA NOT NULL, -- AES-256-GCM under the key-encryption secret
    created_at     BIGINT NOT NULL,
    retired_at     BIGINT
);
-- At most one active key, whatever a writer does.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys ((true)) WHERE retired_at IS NULL;
