package guard

import (
	"errors"
	"net/http"
	"strings"
)

// Fast returns middleware that admits requests bearing an access token that
// passes [Guard.Verify]: a local check, no per-request call to the server
// while the event stream is live. The Principal is in the request's context
// ([PrincipalFrom]). Refusals: 401 with `WWW-Authenticate: Bearer` (no
// token) or `Bearer error="invalid_token"` (any other ErrUnauthorized); 503
// when the check needed the server and it could not answer.
func (g *Guard) Fast(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.serve(w, r, next, false)
	})
}

// Strict returns middleware like Fast, but each request's session is checked
// with the server ([Guard.VerifyStrict]): for routes where a revoked session
// must never pass, at the price of one introspection call per token and
// second.
func (g *Guard) Strict(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.serve(w, r, next, true)
	})
}

func (g *Guard) serve(w http.ResponseWriter, r *http.Request, next http.Handler, strict bool) {
	token, ok := bearer(r)
	if !ok {
		writeError(w, ErrNoToken)
		return
	}
	var p *Principal
	var err error
	if strict {
		p, err = g.VerifyStrict(r.Context(), token)
	} else {
		p, err = g.Verify(r.Context(), token)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
}

// bearer returns the token of an "Authorization: Bearer" header (RFC 6750
// §2.1; the scheme is case-insensitive). A header with another scheme, or a
// second Authorization header, counts as none.
func bearer(r *http.Request) (string, bool) {
	h := r.Header["Authorization"]
	if len(h) != 1 {
		return "", false
	}
	const prefix = "Bearer "
	v := h[0]
	if len(v) <= len(prefix) || !strings.EqualFold(v[:len(prefix)], prefix) {
		return "", false
	}
	tok := strings.TrimLeft(v[len(prefix):], " ")
	return tok, tok != ""
}

// writeError answers a refused request. The status mapping lives here:
//
//	ErrNoToken                  401, WWW-Authenticate: Bearer
//	other ErrUnauthorized       401, WWW-Authenticate: Bearer error="invalid_token"
//	ErrUnavailable, ErrClosed   503, Retry-After: 1
func writeError(w http.ResponseWriter, err error) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	switch {
	case errors.Is(err, ErrNoToken):
		h.Set("WWW-Authenticate", `Bearer`)
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte("unauthorized: bearer token required\n"))
	case errors.Is(err, ErrUnauthorized):
		h.Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte("unauthorized: invalid token\n"))
	default:
		h.Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("authorization temporarily unavailable\n"))
	}
}

// RequireRoles returns middleware, to be placed inside Fast or Strict, that
// admits only principals holding every one of roles: 401 when the request
// has no principal (the middleware is not behind Fast or Strict), 403 when a
// role is missing.
func RequireRoles(roles ...string) func(http.Handler) http.Handler {
	return require(roles, (*Principal).HasRole, "")
}

// RequireScopes is RequireRoles for token scopes; the 403 carries
// `WWW-Authenticate: Bearer error="insufficient_scope", scope="…"` (RFC 6750
// §3.1).
func RequireScopes(scopes ...string) func(http.Handler) http.Handler {
	return require(scopes, (*Principal).HasScope,
		`Bearer error="insufficient_scope", scope="`+strings.Join(scopes, " ")+`"`)
}

func require(want []string, has func(*Principal, string) bool, challenge string) func(http.Handler) http.Handler {
	want = append([]string(nil), want...)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := PrincipalFrom(r.Context())
			if !ok {
				writeError(w, ErrNoToken)
				return
			}
			for _, x := range want {
				if !has(p, x) {
					h := w.Header()
					h.Set("Cache-Control", "no-store")
					h.Set("Content-Type", "text/plain; charset=utf-8")
					h.Set("X-Content-Type-Options", "nosniff")
					if challenge != "" {
						h.Set("WWW-Authenticate", challenge)
					}
					w.WriteHeader(http.StatusForbidden)
					w.Write([]byte("forbidden\n"))
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}
