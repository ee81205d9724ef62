package auth

import (
	"errors"
	"fmt"
	"time"
)

// Code is a stable, machine-readable error code. HTTP handlers map each code to
// a status in one table; clients may switch on it.
type Code string

// The codes Tessera answers with.
const (
	CodeInvalidRequest     Code = "invalid_request"     // malformed or invalid input
	CodeInvalidCredentials Code = "invalid_credentials" // wrong email or password
	CodeUnauthenticated    Code = "unauthenticated"     // no valid session or token
	CodeForbidden          Code = "forbidden"           // authenticated, but not allowed
	CodeNotFound           Code = "not_found"
	CodeConflict           Code = "conflict"
	CodeWeakPassword       Code = "weak_password"
	CodeThrottled          Code = "too_many_attempts" // login throttling; carries RetryAfter
	CodeBusy               Code = "busy"              // server saturated; retry later
	CodeCrossOrigin        Code = "cross_origin"      // refused by CSRF protection
	CodeInternal           Code = "internal"

	// RFC 6749 §5.2 codes, answered by the OAuth endpoints.
	CodeInvalidClient        Code = "invalid_client"
	CodeInvalidGrant         Code = "invalid_grant"
	CodeInvalidScope         Code = "invalid_scope"
	CodeUnauthorizedClient   Code = "unauthorized_client"
	CodeUnsupportedGrantType Code = "unsupported_grant_type"
)

// Error is Tessera's application error: a code, a message that is safe to show
// to the client, and an optional wrapped cause that is only logged.
type Error struct {
	Code       Code
	Message    string
	RetryAfter time.Duration // for CodeThrottled and CodeBusy
	Err        error         // private detail
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with a formatted public message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, CodeNotFound or
// CodeConflict for the store sentinels, and CodeInternal otherwise.
func ErrorCode(err error) Code {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	case errors.Is(err, ErrNotFound):
		return CodeNotFound
	case errors.Is(err, ErrConflict):
		return CodeConflict
	}
	return CodeInternal
}

// ErrorMessage returns the public message for err; internal errors get a
// generic one so that no detail leaks to clients.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	switch ErrorCode(err) {
	case CodeNotFound:
		return "not found"
	case CodeConflict:
		return "already exists"
	}
	return "internal error"
}

// Sentinels that stores return, translated from their drivers' errors.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)

// Errors the service returns; handlers answer them as their codes say.
var (
	errCredentials     = &Error{Code: CodeInvalidCredentials, Message: "email or password is wrong"}
	errUnauthenticated = &Error{Code: CodeUnauthenticated, Message: "no valid session"}
)
