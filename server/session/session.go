// Package session serves signing in and out and the session itself: the
// JSON API (POST /v1/login, POST /v1/logout, GET /v1/session, the device
// list under /v1/sessions, and the hybrid mode's POST /v1/session/token) and
// the sign-in page (/login). The rules live in package auth; the handlers
// decode, call the service and encode.
package session

import (
	"embed"
	"net/http"

	"github.com/tessera-auth/tessera/server/httpx"
)

//go:embed templates
var templates embed.FS

// Handler serves the routes of this package.
type Handler struct {
	kit   *httpx.Kit
	pages *httpx.Pages
}

// New returns the handlers over kit.
func New(kit *httpx.Kit) *Handler {
	return &Handler{kit: kit, pages: kit.Pages(templates, nil)}
}

// Mount registers the routes on m.
func (h *Handler) Mount(m httpx.Mux) {
	for _, r := range []struct {
		pattern string
		fn      http.HandlerFunc
	}{
		{"POST /v1/login", h.handleLogin},
		{"POST /v1/logout", h.handleLogout},
		{"GET /v1/session", h.handleSession},
		{"GET /v1/sessions", h.handleSessions},
		{"DELETE /v1/sessions/{sid}", h.handleRevokeSession},
		{"DELETE /v1/sessions", h.handleRevokeOthers},
		{"POST /v1/session/token", h.handleSessionToken},
		{"GET /login", h.handleLoginPage},
		{"POST /login", h.kit.Form(h.handleLoginForm)},
		{"POST /account/logout", h.kit.Form(h.handleLogoutForm)},
	} {
		m.Handle(r.pattern, r.fn)
	}
}
