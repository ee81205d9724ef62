package guard

import (
	"errors"

	"github.com/tessera-auth/tessera/accesstoken"
)

// ErrUnauthorized is matched, through errors.Is, by every error that means
// "this request carries no acceptable credentials": [Guard.Fast] and
// [Guard.Strict] answer it with 401. The more specific sentinels below say
// why; each of them also matches ErrUnauthorized.
var ErrUnauthorized = errors.New("guard: unauthorized")

// refusal is the type of the specific 401 sentinels: each matches itself
// and ErrUnauthorized.
type refusal struct{ msg string }

func (e *refusal) Error() string        { return e.msg }
func (e *refusal) Is(target error) bool { return target == ErrUnauthorized }

// Reasons for a 401. Each matches [ErrUnauthorized].
var (
	// ErrNoToken: the request has no "Authorization: Bearer" credentials
	// (HTTP middleware only). Answered without error="invalid_token", as
	// RFC 6750 §3.1 asks.
	ErrNoToken error = &refusal{"guard: no bearer token"}
	// ErrInvalidToken: the token does not verify. The error also wraps the
	// accesstoken reason (accesstoken.ErrExpired, accesstoken.ErrSignature,
	// accesstoken.ErrUnknownKey, …), which errors.Is and errors.As reach.
	ErrInvalidToken error = &refusal{"guard: invalid token"}
	// ErrRevoked: the token verifies, but its session was revoked, its user's
	// tokens were invalidated, or its client was removed (a revocation event
	// said so).
	ErrRevoked error = &refusal{"guard: token revoked"}
	// ErrInactive: the token verifies locally, but introspection says it is
	// not active (Strict, or Fast's fallback): typically a session that ended.
	ErrInactive error = &refusal{"guard: token not active"}
)

// Errors that are not the client's fault. Neither matches ErrUnauthorized;
// the middleware answers them with 503.
var (
	// ErrUnavailable: the check needed the authorization server
	// (introspection, or a key fetch for Strict) and it could not be reached
	// or answered with an error. Guard fails closed: the token is not
	// accepted.
	ErrUnavailable = errors.New("guard: authorization server unavailable")
	// ErrClosed: the Guard was closed.
	ErrClosed = errors.New("guard: closed")
)

// invalidError is ErrInvalidToken with the accesstoken reason.
type invalidError struct{ cause error }

func (e *invalidError) Error() string   { return "guard: invalid token: " + e.cause.Error() }
func (e *invalidError) Unwrap() []error { return []error{ErrInvalidToken, e.cause} }

// errTooLarge is returned for tokens over MaxTokenBytes, built once so that
// refusing them costs no allocation.
var errTooLarge error = &invalidError{cause: accesstoken.ErrTooLarge}

// unavailableError is ErrUnavailable with the underlying failure.
type unavailableError struct{ cause error }

func (e *unavailableError) Error() string {
	return "guard: authorization server unavailable: " + e.cause.Error()
}
func (e *unavailableError) Unwrap() []error { return []error{ErrUnavailable, e.cause} }
