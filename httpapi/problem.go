package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/tessera-auth/tessera/auth"
)

// statusOf is the one place where error codes become HTTP statuses.
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
	codeTooLarge:                http.StatusRequestEntityTooLarge,
	codeUnsupportedMedia:        http.StatusUnsupportedMediaType,
	codeMethodNotAllowed:        http.StatusMethodNotAllowed,
}

// Codes that only the HTTP layer produces.
const (
	codeTooLarge         auth.Code = "body_too_large"
	codeUnsupportedMedia auth.Code = "unsupported_media_type"
	codeMethodNotAllowed auth.Code = "method_not_allowed"
)

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

// writeError answers err as a problem document. Internal errors are logged
// with their detail and answered with a generic message.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := auth.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	var ae *auth.Error
	if errors.As(err, &ae) && ae.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(ae.RetryAfter.Seconds()+0.999)))
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tessera"`)
	}
	rid := requestID(r.Context())
	if status >= 500 {
		s.log.LogAttrs(r.Context(), slog.LevelError, "request failed", slog.String("request_id", rid), slog.String("err", err.Error()))
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

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
