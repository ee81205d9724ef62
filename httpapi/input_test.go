package httpapi_test

import (
	"strings"
	"testing"
)

// Every malformed login is a clear 4xx problem document, never a 500, and
// changes nothing stored: no session, no event.
func TestLoginBadInput(t *testing.T) {
	e := newEnv(t)
	e.mustUser("ada@example.com", pw)
	const js, form = "application/json", "application/x-www-form-urlencoded"
	cases := []struct {
		name, ct, body string
		status         int
		code           string
	}{
		{"MalformedJSON", js, `{"email":`, 400, "invalid_request"},
		{"NotAnObject", js, `["ada@example.com"]`, 400, "invalid_request"},
		{"WrongType", js, `{"email":"ada@example.com","password":123}`, 400, "invalid_request"},
		{"UnknownField", js, `{"email":"ada@example.com","password":"x","admin":true}`, 400, "invalid_request"},
		{"DuplicateField", js, `{"email":"nobody@example.com","email":"ada@example.com","password":"` + pw + `"}`, 400, "invalid_request"},
		{"CaseVariantField", js, `{"EMAIL":"ada@example.com","password":"` + pw + `"}`, 400, "invalid_request"},
		{"TrailingData", js, `{"email":"ada@example.com","password":"` + pw + `"}{}`, 400, "invalid_request"},
		{"InvalidEmail", js, `{"email":"not-an-email","password":"` + pw + `"}`, 400, "invalid_request"},
		{"DisplayNameEmail", js, `{"email":"Ada <ada@example.com>","password":"` + pw + `"}`, 400, "invalid_request"},
		{"LongEmail", js, `{"email":"` + strings.Repeat("a", 250) + `@example.com","password":"` + pw + `"}`, 400, "invalid_request"},
		{"EmptyPassword", js, `{"email":"ada@example.com","password":""}`, 400, "invalid_request"},
		{"HugePassword", js, `{"email":"ada@example.com","password":"` + strings.Repeat("p", 2000) + `"}`, 400, "invalid_request"},
		{"UnknownMode", js, `{"email":"ada@example.com","password":"` + pw + `","mode":"god"}`, 400, "invalid_request"},
		{"Oversized", js, `{"email":"ada@example.com","password":"` + strings.Repeat("p", 70<<10) + `"}`, 413, "body_too_large"},
		{"NoContentType", "", `{"email":"ada@example.com","password":"` + pw + `"}`, 415, "unsupported_media_type"},
		{"TextPlain", "text/plain", `email=ada@example.com`, 415, "unsupported_media_type"},
		{"FormDuplicate", form, "email=ada%40example.com&email=b%40example.com&password=" + pw, 400, "invalid_request"},
		{"FormUnknown", form, "email=ada%40example.com&password=" + pw + "&x=1", 400, "invalid_request"},
		{"FormMalformed", form, "email=%zz&password=" + pw, 400, "invalid_request"},
		{"NullEmail", js, `{"email":null,"password":"` + pw + `"}`, 400, "invalid_request"},
	}
	for _, c := range cases {
		t.Run("Err"+c.name, func(t *testing.T) {
			before := len(e.events())
			r := e.do(request{method: "POST", path: "/v1/login", raw: c.body, contentType: c.ct})
			if r.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", r.StatusCode, c.status, r.body)
			}
			if p := r.problem(t); p.Code != c.code || p.Detail == "" || p.Status != c.status || p.RequestID == "" || p.RequestID != r.Header.Get("X-Request-Id") {
				t.Fatalf("problem %+v", p)
			}
			if r.sessionCookie() != nil {
				t.Fatal("a cookie was set")
			}
			if len(e.events()) != before {
				t.Fatal("a refused request appended an event")
			}
		})
	}
	t.Run("FormLoginOK", func(t *testing.T) {
		r := e.do(request{method: "POST", path: "/v1/login", raw: "email=ada%40example.com&password=" + pw + "&mode=session", contentType: form})
		if r.StatusCode != 200 || r.sessionCookie() == nil {
			t.Fatalf("form login: %d %s", r.StatusCode, r.body)
		}
	})
}

func TestBadCookies(t *testing.T) {
	e := newEnv(t)
	for name, v := range map[string]string{
		"Empty": "", "Short": "abc", "Garbage": strings.Repeat("!", 43), "Huge": strings.Repeat("A", 9000),
		"UnknownButWellFormed": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	} {
		t.Run("Err"+name, func(t *testing.T) {
			r := e.do(request{method: "GET", path: "/v1/session", header: map[string]string{"Cookie": "__Host-tessera_session=" + v}})
			if r.StatusCode != 401 {
				t.Fatalf("status %d", r.StatusCode)
			}
		})
	}
	t.Run("ErrSessionIDInURLIgnored", func(t *testing.T) {
		e.mustUser("ada@example.com", pw)
		c := e.login("ada@example.com", pw)
		if r := e.do(request{method: "GET", path: "/v1/session?sid=" + c + "&session=" + c}); r.StatusCode != 401 {
			t.Fatalf("session ID in URL accepted: %d", r.StatusCode)
		}
	})
}

func TestUnknownRouteAndHealth(t *testing.T) {
	e := newEnv(t)
	if r := e.do(request{method: "GET", path: "/nope"}); r.StatusCode != 404 || r.problem(t).Code != "not_found" {
		t.Fatalf("unknown route: %d", r.StatusCode)
	}
	if r := e.do(request{method: "GET", path: "/v1/login"}); r.StatusCode != 405 || r.Header.Get("Allow") != "POST" || r.problem(t).Code != "method_not_allowed" {
		t.Fatalf("GET /v1/login: %d %v", r.StatusCode, r.Header)
	}
	if r := e.do(request{method: "GET", path: "/healthz"}); r.StatusCode != 200 {
		t.Fatalf("healthz %d", r.StatusCode)
	}
	if r := e.do(request{method: "GET", path: "/readyz"}); r.StatusCode != 200 {
		t.Fatalf("readyz %d", r.StatusCode)
	}
	e.api.SetDraining()
	if r := e.do(request{method: "GET", path: "/readyz"}); r.StatusCode != 503 {
		t.Fatalf("readyz while draining: %d", r.StatusCode)
	}
	r := e.do(request{method: "GET", path: "/healthz"})
	for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Cache-Control": "no-store"} {
		if r.Header.Get(h) != want {
			t.Errorf("%s = %q", h, r.Header.Get(h))
		}
	}
}
