package httpx

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/tessera-auth/tessera/auth"
)

// statusOf is the one place where error codes become HTTP statuses, for the
// JSON API and the pages alike.
var statusOf = map[auth.Code]int{
	auth.CodeInvalidRequest:     http.StatusBadRequest,
	auth.CodeWeakPassword:       http.StatusBadRequest,
	auth.CodeInvalidCredentials: http.StatusUnauthorized,
	auth.CodeUnauthenticated:    http.StatusUnauthorized,
	auth.CodeForbidden:          http.StatusForbidden,
	auth.CodeCrossOrigin:        http.StatusForbidden,
	auth.CodeNotFound:           http.StatusNotFound,
	auth.CodeConflict:           http.StatusConflict,
	auth.CodeThrottled:          http.StatusTooManyRequests,
	auth.CodeBusy:               http.StatusServiceUnavailable,
	auth.CodeInternal:           http.StatusInternalServerError,
	auth.CodeInvalidClient:      http.StatusUnauthorized,
	auth.CodeInvalidGrant:       http.StatusBadRequest,
	auth.CodeInvalidScope:       http.StatusBadRequest,
	auth.CodeUnauthorizedClient: http.StatusForbidden,
	CodeTooLarge:                http.StatusRequestEntityTooLarge,
	CodeUnsupportedMedia:        http.StatusUnsupportedMediaType,
	CodeMethodNotAllowed:        http.StatusMethodNotAllowed,
}

// Codes that only the HTTP layer produces.
const (
	CodeTooLarge         auth.Code = "body_too_large"
	CodeUnsupportedMedia auth.Code = "unsupported_media_type"
	CodeMethodNotAllowed auth.Code = "method_not_allowed"
)

// Status is the HTTP status for err: the table's entry for its code, else 500.
func Status(err error) int {
	if s, ok := statusOf[auth.ErrorCode(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Problem is an RFC 9457 problem document with Tessera's stable code.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Code      string `json:"code"`
	RequestID string `json:"request_id,omitempty"`
}

// problemType is the URI naming each problem type; it resolves to the docs.
func problemType(c auth.Code) string {
	return "https://github.com/tessera-auth/tessera/blob/main/docs/errors.md#" + string(c)
}

// WriteError answers err as a problem document. Internal errors are logged
// with their detail and answered with a generic message.
func (k *Kit) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	code := auth.ErrorCode(err)
	status := Status(err)
	SetRetryAfter(w, err)
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tessera"`)
	}
	rid := RequestID(r.Context())
	if status >= 500 {
		k.Log.LogAttrs(r.Context(), slog.LevelError, "request failed", slog.String("request_id", rid), slog.String("err", err.Error()))
	}
	p := Problem{
		Type:      problemType(code),
		Title:     http.StatusText(status),
		Status:    status,
		Detail:    auth.ErrorMessage(err),
		Code:      string(code),
		RequestID: rid,
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(p)
}

// SetRetryAfter sets Retry-After, in whole seconds rounded up, when err
// carries a wait (throttling, a busy server).
func SetRetryAfter(w http.ResponseWriter, err error) {
	var ae *auth.Error
	if errors.As(err, &ae) && ae.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(RetrySeconds(ae.RetryAfter)))
	}
}

// RetrySeconds rounds a wait up to whole seconds, at least 1.
func RetrySeconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}

// WriteJSON answers v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
