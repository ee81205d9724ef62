package guard_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tessera-auth/tessera/guard"
)

func okHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := guard.PrincipalFrom(r.Context())
		if !ok {
			http.Error(w, "no principal", 500)
			return
		}
		fmt.Fprintf(w, "hello %s", p.Subject)
	})
}

func TestMiddleware(t *testing.T) {
	f := newFake(t)
	g, _ := mustGuard(t, f)
	tok := f.userToken("alice", "s1", []string{"admin"}, "read")
	plain := f.userToken("bob", "s2", nil, "")

	for name, h := range map[string]http.Handler{"Fast": g.Fast(okHandler()), "Strict": g.Strict(okHandler())} {
		t.Run(name, func(t *testing.T) {
			if resp := get(h, tok); resp.StatusCode != 200 {
				t.Errorf("valid token: %d", resp.StatusCode)
			}
			resp := get(h, "")
			if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != "Bearer" {
				t.Errorf("no token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
			resp = get(h, "garbage")
			if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != `Bearer error="invalid_token"` {
				t.Errorf("bad token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("401 without Cache-Control: no-store")
			}
			for _, hv := range []string{"Basic " + tok, "bearer " + tok, "Bearer", "Bearer  "} {
				r := httptest.NewRequest("GET", "/", nil)
				r.Header.Set("Authorization", hv)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				want := 401
				if strings.HasPrefix(hv, "bearer ") {
					want = 200 // the scheme is case-insensitive
				}
				if w.Code != want {
					t.Errorf("Authorization %.12q…: %d, want %d", hv, w.Code, want)
				}
			}
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Add("Authorization", "Bearer "+tok)
			r.Header.Add("Authorization", "Bearer "+tok)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != 401 {
				t.Errorf("two Authorization headers: %d, want 401", w.Code)
			}
		})
	}

	t.Run("RequireRoles", func(t *testing.T) {
		h := g.Fast(guard.RequireRoles("admin")(okHandler()))
		if resp := get(h, tok); resp.StatusCode != 200 {
			t.Errorf("admin: %d", resp.StatusCode)
		}
		if resp := get(h, plain); resp.StatusCode != 403 {
			t.Errorf("not admin: %d, want 403", resp.StatusCode)
		}
		if resp := get(g.Fast(guard.RequireRoles("admin", "root")(okHandler())), tok); resp.StatusCode != 403 {
			t.Errorf("one of two roles: %d, want 403", resp.StatusCode)
		}
		if resp := get(guard.RequireRoles("admin")(okHandler()), tok); resp.StatusCode != 401 {
			t.Errorf("without Fast in front: %d, want 401", resp.StatusCode)
		}
	})
	t.Run("RequireScopes", func(t *testing.T) {
		h := g.Strict(guard.RequireScopes("read")(okHandler()))
		if resp := get(h, tok); resp.StatusCode != 200 {
			t.Errorf("read: %d", resp.StatusCode)
		}
		resp := get(g.Fast(guard.RequireScopes("read", "write")(okHandler())), tok)
		if resp.StatusCode != 403 || resp.Header.Get("WWW-Authenticate") != `Bearer error="insufficient_scope", scope="read write"` {
			t.Errorf("missing scope: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
		if resp := get(guard.RequireScopes("read")(okHandler()), tok); resp.StatusCode != 401 {
			t.Errorf("without Fast in front: %d, want 401", resp.StatusCode)
		}
	})
	t.Run("Revoked", func(t *testing.T) {
		h := g.Fast(okHandler())
		f.revokeSession("alice", "s1")
		eventually(t, "401", func() bool { return get(h, tok).StatusCode == 401 })
	})
}

func TestErrors(t *testing.T) {
	for _, err := range []error{guard.ErrNoToken, guard.ErrInvalidToken, guard.ErrRevoked, guard.ErrInactive} {
		if !errors.Is(err, guard.ErrUnauthorized) {
			t.Errorf("%v does not match ErrUnauthorized", err)
		}
	}
	for _, err := range []error{guard.ErrUnavailable, guard.ErrClosed} {
		if errors.Is(err, guard.ErrUnauthorized) {
			t.Errorf("%v matches ErrUnauthorized", err)
		}
	}
}
