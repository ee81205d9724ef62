// Package forwardauth serves GET /v1/authz, forward-auth for reverse proxies
// (nginx auth_request, Caddy forward_auth, Traefik ForwardAuth): the session
// check of the original request, answered with identity headers. See
// docs/forward-auth.md.
package forwardauth

import (
	"context"
	"net/http"
	"strings"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/server/httpx"
)

// Handler serves the route of this package.
type Handler struct{ kit *httpx.Kit }

// New returns the handler over kit.
func New(kit *httpx.Kit) *Handler { return &Handler{kit: kit} }

// Mount registers the route on m.
func (s *Handler) Mount(m httpx.Mux) { m.Handle("GET /v1/authz", http.HandlerFunc(s.handleAuthz)) }

// handleAuthz: GET /v1/authz, forward-auth for reverse proxies (nginx
// auth_request, Caddy forward_auth, Traefik ForwardAuth). 200 with identity
// headers for a valid cookie or bearer token, else 401. When the proxy says
// the original request was an unsafe method (X-Forwarded-Method or
// X-Original-Method) and it carried only a cookie, the cross-origin check runs
// on the original request's headers, so the upstream is CSRF-protected too.
func (s *Handler) handleAuthz(w http.ResponseWriter, r *http.Request) {
	cred, ok, err := s.kit.Credential(r)
	if err == nil && !ok {
		err = auth.Errorf(auth.CodeUnauthenticated, "sign in first")
	}
	if err != nil {
		s.kit.WriteError(w, r, err)
		return
	}
	if m := originalMethod(r); cred.FromCookie && m != "" {
		orig := r.Clone(context.WithoutCancel(r.Context()))
		orig.Method = m
		if host := r.Header.Get("X-Forwarded-Host"); host != "" {
			orig.Host = host
		}
		if err := s.kit.CheckOrigin(orig); err != nil {
			s.kit.WriteError(w, r, err)
			return
		}
	}
	p, err := s.kit.Check(r, cred)
	if err != nil {
		s.kit.WriteError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("X-Tessera-Subject", p.User.ID)
	h.Set("X-Tessera-Session", p.Session.ID)
	h.Set("X-Tessera-Email", p.User.Email)
	h.Set("X-Tessera-Roles", strings.Join(p.User.Roles, ","))
	w.WriteHeader(http.StatusOK)
}

func originalMethod(r *http.Request) string {
	for _, h := range []string{"X-Forwarded-Method", "X-Original-Method"} {
		if m := strings.ToUpper(r.Header.Get(h)); m != "" {
			return m
		}
	}
	return ""
}
