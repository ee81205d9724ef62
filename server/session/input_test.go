package session_test

import (
	"strings"
	"testing"

	"github.com/tessera-auth/tessera/server/servertest"
)

// Every malformed login is a clear 4xx problem document, never a 500, and
// changes nothing stored: no session, no event.
func TestLoginBadInput(t *testing.T) {
	e := servertest.New(t)
	e.MustUser("ada@example.com", servertest.Password)
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
		{"DuplicateField", js, `{"email":"nobody@example.com","email":"ada@example.com","password":"` + servertest.Password + `"}`, 400, "invalid_request"},
		{"CaseVariantField", js, `{"EMAIL":"ada@example.com","password":"` + servertest.Password + `"}`, 400, "invalid_request"},
		{"TrailingData", js, `{"email":"ada@example.com","password":"` + servertest.Password + `"}{}`, 400, "invalid_request"},
		{"InvalidEmail", js, `{"email":"not-an-email","password":"` + servertest.Password + `"}`, 400, "invalid_request"},
		{"DisplayNameEmail", js, `{"email":"Ada <ada@example.com>","password":"` + servertest.Password + `"}`, 400, "invalid_request"},
		{"LongEmail", js, `{"email":"` + strings.Repeat("a", 250) + `@example.com","password":"` + servertest.Password + `"}`, 400, "invalid_request"},
		{"EmptyPassword", js, `{"email":"ada@example.com","password":""}`, 400, "invalid_request"},
		{"HugePassword", js, `{"email":"ada@example.com","password":"` + strings.Repeat("p", 2000) + `"}`, 400, "invalid_request"},
		{"UnknownMode", js, `{"email":"ada@example.com","password":"` + servertest.Password + `","mode":"god"}`, 400, "invalid_request"},
		{"Oversized", js, `{"email":"ada@example.com","password":"` + strings.Repeat("p", 70<<10) + `"}`, 413, "body_too_large"},
		{"NoContentType", "", `{"email":"ada@example.com","password":"` + servertest.Password + `"}`, 415, "unsupported_media_type"},
		{"TextPlain", "text/plain", `email=ada@example.com`, 415, "unsupported_media_type"},
		{"FormDuplicate", form, "email=ada%40example.com&email=b%40example.com&password=" + servertest.Password, 400, "invalid_request"},
		{"FormUnknown", form, "email=ada%40example.com&password=" + servertest.Password + "&x=1", 400, "invalid_request"},
		{"FormMalformed", form, "email=%zz&password=" + servertest.Password, 400, "invalid_request"},
		{"NullEmail", js, `{"email":null,"password":"` + servertest.Password + `"}`, 400, "invalid_request"},
	}
	for _, c := range cases {
		t.Run("Err"+c.name, func(t *testing.T) {
			before := len(e.Events())
			r := e.Do(servertest.Request{Method: "POST", Path: "/v1/login", Raw: c.body, ContentType: c.ct})
			if r.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", r.StatusCode, c.status, r.Body)
			}
			if p := r.Problem(t); p.Code != c.code || p.Detail == "" || p.Status != c.status || p.RequestID == "" || p.RequestID != r.Header.Get("X-Request-Id") {
				t.Fatalf("problem %+v", p)
			}
			if r.SessionCookie() != nil {
				t.Fatal("a cookie was set")
			}
			if len(e.Events()) != before {
				t.Fatal("a refused request appended an event")
			}
		})
	}
	t.Run("FormLoginOK", func(t *testing.T) {
		r := e.Do(servertest.Request{Method: "POST", Path: "/v1/login", Raw: "email=ada%40example.com&password=" + servertest.Password + "&mode=session", ContentType: form})
		if r.StatusCode != 200 || r.SessionCookie() == nil {
			t.Fatalf("form login: %d %s", r.StatusCode, r.Body)
		}
	})
}

func TestBadCookies(t *testing.T) {
	e := servertest.New(t)
	for name, v := range map[string]string{
		"Empty": "", "Short": "abc", "Garbage": strings.Repeat("!", 43), "Huge": strings.Repeat("A", 9000),
		"UnknownButWellFormed": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	} {
		t.Run("Err"+name, func(t *testing.T) {
			r := e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Header: map[string]string{"Cookie": "__Host-tessera_session=" + v}})
			if r.StatusCode != 401 {
				t.Fatalf("status %d", r.StatusCode)
			}
		})
	}
	t.Run("ErrSessionIDInURLIgnored", func(t *testing.T) {
		e.MustUser("ada@example.com", servertest.Password)
		c := e.Login("ada@example.com", servertest.Password)
		if r := e.Do(servertest.Request{Method: "GET", Path: "/v1/session?sid=" + c + "&session=" + c}); r.StatusCode != 401 {
			t.Fatalf("session ID in URL accepted: %d", r.StatusCode)
		}
	})
}
