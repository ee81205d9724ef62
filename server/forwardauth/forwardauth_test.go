package forwardauth_test

import (
	"testing"

	"github.com/tessera-auth/tessera/server/servertest"
)

func TestAuthz(t *testing.T) {
	e := servertest.New(t)
	u := e.MustUser("ada@example.com", servertest.Password, "admin", "dev")
	c := e.Login("ada@example.com", servertest.Password)
	r := e.Do(servertest.Request{Method: "GET", Path: "/v1/authz", Cookie: c})
	if r.StatusCode != 200 || r.Header.Get("X-Tessera-Subject") != u.ID || r.Header.Get("X-Tessera-Roles") != "admin,dev" || r.Header.Get("X-Tessera-Session") == "" {
		t.Fatalf("authz: %d %v", r.StatusCode, r.Header)
	}
	if r := e.Do(servertest.Request{Method: "GET", Path: "/v1/authz"}); r.StatusCode != 401 {
		t.Fatalf("no credential: %d", r.StatusCode)
	}
	r = e.Do(servertest.Request{Method: "GET", Path: "/v1/authz", Cookie: c, Header: map[string]string{"X-Forwarded-Method": "POST", "Sec-Fetch-Site": "cross-site"}})
	if r.StatusCode != 403 {
		t.Fatalf("cross-site unsafe original request: %d", r.StatusCode)
	}
	e.Do(servertest.Request{Method: "POST", Path: "/v1/logout", Cookie: c})
	if r := e.Do(servertest.Request{Method: "GET", Path: "/v1/authz", Cookie: c}); r.StatusCode != 401 {
		t.Fatalf("after logout: %d", r.StatusCode)
	}
}
