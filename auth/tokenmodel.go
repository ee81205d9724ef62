package auth

import (
	"context"
	"time"

	"github.com/tessera-auth/tessera/secret"
)

// OAuthClient is a registered OAuth 2.0 client (a server-to-server caller, or
// an app whose tokens are bound to it). Its secret is 256 random bits, so a
// SHA-256 of it is a safe verifier.
type OAuthClient struct {
	ID         string
	Name       string
	SecretHash secret.Hash
	Scopes     []string // scopes it may request with client_credentials
	CreatedAt  time.Time
}

// FirstPartyClientID is the built-in public client that tokens from POST
// /v1/login belong to when no client_id is given. It has no secret: its
// refresh tokens are refreshed by client_id alone (or no client at all).
const FirstPartyClientID = "tessera"

// Scopes with a meaning to Tessera itself; they are granted to registered
// clients only, never to user tokens.
const (
	ScopeAdmin      = "admin"      // the admin API
	ScopeEvents     = "events"     // GET /v1/events, the revocation stream
	ScopeIntrospect = "introspect" // introspect any token (resource servers)
)

// RefreshToken is the stored form of an opaque refresh token: only its hash.
// Tokens form a chain per family (one sign-in); each use rotates the token to
// a successor. Rotated tokens are kept so that a replay is recognised.
type RefreshToken struct {
	Hash      secret.Hash
	SessionID string
	ClientID  string
	FamilyID  string
	Scope     string
	Audience  string
	CreatedAt time.Time
	// ExpiresAt is the family's absolute expiry, inherited by successors.
	ExpiresAt     time.Time
	RotatedAt     time.Time   // zero until used
	SuccessorHash secret.Hash // set with RotatedAt
}

// SigningKey is a stored JWT signing key. The private key is sealed with the
// key-encryption secret; the plaintext never reaches the store.
type SigningKey struct {
	ID            string // kid
	Alg           string
	SealedPrivate []byte
	CreatedAt     time.Time
	RetiredAt     time.Time // zero for the active key
}

// Event types of tokens and keys.
const (
	EventRefreshReuse  = "refresh.reuse_detected"
	EventKeyRotated    = "key.rotated"
	EventClientCreated = "client.created"
	EventClientRemoved = "client.removed"
	EventTokenIssued   = "token.issued"
)

// ClientStore keeps OAuth clients.
type ClientStore interface {
	// CreateClient inserts c; ErrConflict if the ID is taken.
	CreateClient(ctx context.Context, c *OAuthClient, evs ...Event) error
	ClientByID(ctx context.Context, id string) (*OAuthClient, error)
	ListClients(ctx context.Context) ([]*OAuthClient, error)
	// DeleteClient removes the client; ErrNotFound if there is none.
	DeleteClient(ctx context.Context, id string, evs ...Event) error
}

// RefreshStore keeps refresh tokens.
type RefreshStore interface {
	// CreateRefreshToken inserts the first token of a family.
	CreateRefreshToken(ctx context.Context, rt *RefreshToken, evs ...Event) error
	RefreshTokenByHash(ctx context.Context, h secret.Hash) (*RefreshToken, error)
	// RotateRefreshToken atomically marks the token old as rotated at at (only
	// if it is not rotated yet) and inserts next as its successor. It reports
	// false, changing nothing, when old was already rotated: of concurrent
	// rotations of one token exactly one succeeds.
	RotateRefreshToken(ctx context.Context, old secret.Hash, at time.Time, next *RefreshToken, evs ...Event) (bool, error)
}

// KeyStore keeps signing keys.
type KeyStore interface {
	// AddSigningKey inserts k as the active key and retires the previously
	// active one (RetiredAt = k.CreatedAt), but only if the active key is
	// still expectActive ("" for none): otherwise ErrConflict, so that two
	// nodes rotating at once make one rotation.
	AddSigningKey(ctx context.Context, k *SigningKey, expectActive string, evs ...Event) error
	// SigningKeys returns every key, newest first.
	SigningKeys(ctx context.Context) ([]*SigningKey, error)
	// DeleteSigningKeysRetiredBefore removes keys retired before t.
	DeleteSigningKeysRetiredBefore(ctx context.Context, t time.Time) (int64, error)
}
