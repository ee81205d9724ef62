package httpapi_test

import (
	"net/url"
	"testing"
	"time"
)

func TestTokenLoginRefreshSmoke(t *testing.T) {
	e := newEnv(t)
	e.mustUser("ada@example.com", pw, "admin")
	r := e.do(request{method: "POST", path: "/v1/login", json: map[string]string{"email": "ada@example.com", "password": pw, "mode": "token"}})
	var tr struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		TokenType    string `json:"token_type"`
		ExpiresIn    int    `json:"expires_in"`
	}
	r.decode(t, &tr)
	if r.StatusCode != 200 || tr.AccessToken == "" || tr.RefreshToken == "" || tr.TokenType != "Bearer" || tr.ExpiresIn != 300 || r.sessionCookie() != nil {
		t.Fatalf("token login: %d %s", r.StatusCode, r.body)
	}
	if got := e.do(request{method: "GET", path: "/v1/session", bearer: tr.AccessToken}).StatusCode; got != 200 {
		t.Fatalf("bearer JWT: %d", got)
	}
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken}, "client_id": {"tessera"}}.Encode()
	r = e.do(request{method: "POST", path: "/oauth2/token", raw: form, contentType: "application/x-www-form-urlencoded"})
	var tr2 struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	r.decode(t, &tr2)
	if r.StatusCode != 200 || tr2.RefreshToken == "" || tr2.RefreshToken == tr.RefreshToken {
		t.Fatalf("refresh: %d %s", r.StatusCode, r.body)
	}
	// A retry inside the grace window gets the same successor.
	r = e.do(request{method: "POST", path: "/oauth2/token", raw: form, contentType: "application/x-www-form-urlencoded"})
	var tr3 struct {
		RefreshToken string `json:"refresh_token"`
	}
	r.decode(t, &tr3)
	if r.StatusCode != 200 || tr3.RefreshToken != tr2.RefreshToken {
		t.Fatalf("retry in grace: %d %s", r.StatusCode, r.body)
	}
	// After the window it is theft: the session dies.
	e.clock.Add(10 * time.Second)
	r = e.do(request{method: "POST", path: "/oauth2/token", raw: form, contentType: "application/x-www-form-urlencoded"})
	if r.StatusCode != 400 {
		t.Fatalf("reuse: %d %s", r.StatusCode, r.body)
	}
	if got := e.do(request{method: "GET", path: "/v1/session", bearer: tr2.AccessToken}).StatusCode; got != 401 {
		t.Fatalf("after reuse, successor's access token: %d", got)
	}
	r = e.do(request{method: "GET", path: "/.well-known/jwks.json"})
	t.Logf("jwks %s", r.body)
}
