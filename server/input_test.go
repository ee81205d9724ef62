package server_test

import (
	"testing"

	"github.com/tessera-auth/tessera/server/servertest"
)

func TestUnknownRouteAndHealth(t *testing.T) {
	e := servertest.New(t)
	if r := e.Do(servertest.Request{Method: "GET", Path: "/nope"}); r.StatusCode != 404 || r.Problem(t).Code != "not_found" {
		t.Fatalf("unknown route: %d", r.StatusCode)
	}
	if r := e.Do(servertest.Request{Method: "GET", Path: "/v1/login"}); r.StatusCode != 405 || r.Header.Get("Allow") != "POST" || r.Problem(t).Code != "method_not_allowed" {
		t.Fatalf("GET /v1/login: %d %v", r.StatusCode, r.Header)
	}
	if r := e.Do(servertest.Request{Method: "GET", Path: "/healthz"}); r.StatusCode != 200 {
		t.Fatalf("healthz %d", r.StatusCode)
	}
	if r := e.Do(servertest.Request{Method: "GET", Path: "/readyz"}); r.StatusCode != 200 {
		t.Fatalf("readyz %d", r.StatusCode)
	}
	e.API.SetDraining()
	if r := e.Do(servertest.Request{Method: "GET", Path: "/readyz"}); r.StatusCode != 503 {
		t.Fatalf("readyz while draining: %d", r.StatusCode)
	}
	r := e.Do(servertest.Request{Method: "GET", Path: "/healthz"})
	for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Cache-Control": "no-store"} {
		if r.Header.Get(h) != want {
			t.Errorf("%s = %q", h, r.Header.Get(h))
		}
	}
}
