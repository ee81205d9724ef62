package session_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/secret"
	"github.com/tessera-auth/tessera/server"
	"github.com/tessera-auth/tessera/server/httpx"
	"github.com/tessera-auth/tessera/server/servertest"
)

func TestLoginPage(t *testing.T) {
	e := servertest.New(t)
	r := e.Do(servertest.Request{Path: "/login"})
	if r.StatusCode != 200 || !strings.Contains(r.Text(), `<form method="post" action="/login"`) {
		t.Fatalf("GET /login: %d\n%s", r.StatusCode, r.Text())
	}
	servertest.WantPageHeaders(t, r)
	if !strings.Contains(r.Text(), `name="return_to" value="/account"`) {
		t.Error("return_to does not default to /account")
	}
	for _, want := range []string{`<label for="email">`, `<label for="password">`, `autocomplete="current-password"`, `<main id="main"`, `lang="en"`} {
		if !strings.Contains(r.Text(), want) {
			t.Errorf("login page lacks %s", want)
		}
	}
}

func TestLogin(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := servertest.New(t)
		e.MustUser("ada@example.com", servertest.Password)
		r := e.Do(servertest.Request{Method: "POST", Path: "/login", Form: url.Values{"email": {"Ada@Example.com"}, "password": {servertest.Password}, "return_to": {"/admin?q=x"}}})
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin?q=x" {
			t.Fatalf("status %d, Location %q", r.StatusCode, r.Header.Get("Location"))
		}
		c := r.SessionCookie()
		switch {
		case c == nil:
			t.Fatal("no session cookie")
		case c.Name != httpx.CookieName || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "":
			t.Errorf("cookie attributes: %+v", c)
		case c.MaxAge <= 0 || c.MaxAge > 30*24*3600:
			t.Errorf("cookie Max-Age %d", c.MaxAge)
		}
		if _, err := secret.Parse(c.Value); err != nil {
			t.Fatalf("cookie value: %v", err)
		}
		// The same cookie works for the JSON API.
		if r := e.Do(servertest.Request{Path: "/v1/session", Cookie: c.Value}); r.StatusCode != 200 {
			t.Errorf("GET /v1/session with the page's cookie: %d", r.StatusCode)
		}
		if r := e.Do(servertest.Request{Path: "/account", Cookie: c.Value}); r.StatusCode != 200 || !strings.Contains(r.Text(), "ada@example.com") {
			t.Errorf("GET /account: %d", r.StatusCode)
		}
	})
	t.Run("InsecureCookie", func(t *testing.T) {
		e := servertest.New(t, func(_ *auth.Config, h *server.Config) {
			h.InsecureCookie = true
		})
		e.MustUser("ada@example.com", servertest.Password)
		r := e.Do(servertest.Request{Method: "POST", Path: "/login", Form: url.Values{"email": {"ada@example.com"}, "password": {servertest.Password}}})
		c := r.SessionCookie()
		if c == nil || c.Name != httpx.InsecureCookieName || c.Secure || !c.HttpOnly {
			t.Fatalf("cookie: %+v", c)
		}
	})
	t.Run("ReplacesPlantedCookie", func(t *testing.T) {
		e := servertest.New(t)
		u := e.MustUser("ada@example.com", servertest.Password)
		old := e.LoginPage("ada@example.com", servertest.Password)
		planted := secret.New().Reveal() // an unknown ID is never adopted
		for _, c := range []string{old, planted} {
			r := e.Do(servertest.Request{Method: "POST", Path: "/login", Cookie: c, Form: url.Values{"email": {"ada@example.com"}, "password": {servertest.Password}}})
			if got := r.SessionCookie(); got == nil || got.Value == c {
				t.Fatalf("login with cookie %q kept it", c)
			}
		}
		if r := e.Do(servertest.Request{Path: "/account", Cookie: old}); r.StatusCode != http.StatusSeeOther {
			t.Errorf("replaced session still opens /account: %d", r.StatusCode)
		}
		// The old session was replaced; the planted ID named none: two logins, two sessions.
		if n := e.Sessions(u.ID); n != 2 {
			t.Errorf("%d live sessions, want 2", n)
		}
	})
	t.Run("SignedInGoesStraightOn", func(t *testing.T) {
		e := servertest.New(t)
		e.MustUser("ada@example.com", servertest.Password)
		c := e.LoginPage("ada@example.com", servertest.Password)
		r := e.Do(servertest.Request{Path: "/login?return_to=%2Fadmin", Cookie: c})
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin" {
			t.Errorf("GET /login signed in: %d %q", r.StatusCode, r.Header.Get("Location"))
		}
	})
}

func TestLoginErrors(t *testing.T) {
	t.Run("ErrWrongPassword", func(t *testing.T) {
		e := servertest.New(t)
		e.MustUser("ada@example.com", servertest.Password)
		r := e.Do(servertest.Request{Method: "POST", Path: "/login", Form: url.Values{"email": {"ada@example.com"}, "password": {"wrong-password-1"}}})
		if r.StatusCode != http.StatusUnauthorized || !strings.Contains(strings.ToLower(r.Text()), "email or password is wrong") {
			t.Fatalf("%d\n%s", r.StatusCode, r.Text())
		}
		if r.SessionCookie() != nil {
			t.Error("a failed login set a cookie")
		}
		if !strings.Contains(r.Text(), `value="ada@example.com"`) || strings.Contains(r.Text(), "wrong-password-1") {
			t.Error("the form should keep the email and drop the password")
		}
		servertest.WantPageHeaders(t, r)
	})
	t.Run("ErrUnknownUserLooksTheSame", func(t *testing.T) {
		// the same status, body and headers for an unknown user.
		e := servertest.New(t)
		e.MustUser("ada@example.com", servertest.Password)
		known := e.Do(servertest.Request{Method: "POST", Path: "/login", Form: url.Values{"email": {"ada@example.com"}, "password": {"wrong-password-1"}}})
		unknown := e.Do(servertest.Request{Method: "POST", Path: "/login", Form: url.Values{"email": {"bob@example.com"}, "password": {"wrong-password-1"}}})
		if known.StatusCode != unknown.StatusCode {
			t.Errorf("status %d for a known user, %d for an unknown one", known.StatusCode, unknown.StatusCode)
		}
		if strings.ReplaceAll(known.Text(), "ada@", "bob@") != unknown.Text() {
			t.Error("bodies differ beyond the email")
		}
		for _, h := range []http.Header{known.Header, unknown.Header} {
			h.Del("Date")
			h.Del("X-Request-Id")
			h.Del("Content-Length")
		}
		if a, b := known.Header, unknown.Header; len(a) != len(b) {
			t.Errorf("headers differ: %v vs %v", a, b)
		} else {
			for k := range a {
				if a.Get(k) != b.Get(k) {
					t.Errorf("header %s: %q vs %q", k, a.Get(k), b.Get(k))
				}
			}
		}
	})
	t.Run("ErrEmpty", func(t *testing.T) {
		e := servertest.New(t)
		r := e.Do(servertest.Request{Method: "POST", Path: "/login", Form: url.Values{"email": {""}, "password": {""}}})
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Text(), "Enter your email address and your password") {
			t.Fatalf("%d\n%s", r.StatusCode, r.Text())
		}
	})
	t.Run("ErrThrottled", func(t *testing.T) {
		e := servertest.New(t, func(a *auth.Config, _ *server.Config) { a.AccountBurst = 3 })
		e.MustUser("ada@example.com", servertest.Password)
		var r *servertest.Response
		for range 4 {
			r = e.Do(servertest.Request{Method: "POST", Path: "/login", Form: url.Values{"email": {"ada@example.com"}, "password": {"wrong-password-1"}}})
		}
		if r.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("4th failure: %d", r.StatusCode)
		}
		m := regexp.MustCompile(`Too many attempts, try again in (\d+) s\.`).FindStringSubmatch(r.Text())
		if m == nil {
			t.Fatalf("no throttling message:\n%s", r.Text())
		}
		if ra := r.Header.Get("Retry-After"); ra != m[1] {
			t.Errorf("Retry-After %q, message says %s s", ra, m[1])
		}
		// Even the right password waits.
		r = e.Do(servertest.Request{Method: "POST", Path: "/login", Form: url.Values{"email": {"ada@example.com"}, "password": {servertest.Password}}})
		if r.StatusCode != http.StatusTooManyRequests || r.SessionCookie() != nil {
			t.Errorf("right password while throttled: %d", r.StatusCode)
		}
	})
}

// TestOpenRedirect sends return_to values that try to leave the origin, by
// the query string of GET /login and by the form; each lands on /account.
func TestOpenRedirect(t *testing.T) {
	e := servertest.New(t)
	e.MustUser("ada@example.com", servertest.Password)
	attempts := map[string]string{
		"ProtocolRelative": "//evil.example",
		"Backslash":        `/\evil.example`,
		"Absolute":         "https://evil.example",
		"EncodedSlashes":   "/%2F%2Fevil.example",
		"Javascript":       "javascript:alert(1)",
		"CRLF":             "/account\r\nLocation: https://evil.example",
		"Tab":              "/\t/evil.example",
		"SchemeOneSlash":   "http:/evil.example",
	}
	for name, target := range attempts {
		t.Run(name, func(t *testing.T) {
			r := e.Do(servertest.Request{Path: "/login?return_to=" + url.QueryEscape(target)})
			if !strings.Contains(r.Text(), `name="return_to" value="/account"`) {
				t.Errorf("the form carries another return_to than /account")
			}
			r = e.Do(servertest.Request{Method: "POST", Path: "/login", Form: url.Values{"email": {"ada@example.com"}, "password": {servertest.Password}, "return_to": {target}}})
			if loc := r.Header.Get("Location"); r.StatusCode != http.StatusSeeOther || loc != "/account" {
				t.Errorf("return_to %q: %d to %q", target, r.StatusCode, loc)
			}
			e.Tick()
		})
	}
	t.Run("RawQueryEncodedSlashes", func(t *testing.T) {
		// The query string as a browser would send the link …?return_to=/%2F%2Fevil.example
		r := e.Do(servertest.Request{Path: "/login?return_to=/%2F%2Fevil.example"})
		if !strings.Contains(r.Text(), `name="return_to" value="/account"`) {
			t.Errorf("the form carries another return_to than /account")
		}
	})
}

// TestCrossOriginRefused: every form refuses a cross-site submission with
// 403, before touching any state (C-01, C-02, C-03).
func TestPagesCrossOriginRefused(t *testing.T) {
	e := servertest.New(t)
	admin := e.MustUser("root@example.com", servertest.Password, "admin")
	ada := e.MustUser("ada@example.com", servertest.Password)
	adminCookie := e.LoginPage("root@example.com", servertest.Password)
	adaCookie := e.LoginPage("ada@example.com", servertest.Password)
	e.LoginPage("ada@example.com", servertest.Password) // a second device
	adaSessions, err := e.Svc.Sessions(context.Background(), ada.ID)
	if err != nil {
		t.Fatal(err)
	}
	other := adaSessions[0].ID
	keys := len(e.Svc.Keys())

	forms := []struct {
		name, path, cookie string
		form               url.Values
	}{
		{"Login", "/login", "", url.Values{"email": {"ada@example.com"}, "password": {servertest.Password}}},
		{"Logout", "/account/logout", adaCookie, url.Values{}},
		{"RevokeDevice", "/account/sessions/revoke", adaCookie, url.Values{"sid": {other}}},
		{"RevokeOthers", "/account/sessions/revoke-others", adaCookie, url.Values{}},
		{"ChangePassword", "/account/password", adaCookie, url.Values{"current_password": {servertest.Password}, "new_password": {"new-horse-battery"}, "confirm_password": {"new-horse-battery"}}},
		{"AdminDisable", "/admin/users/" + ada.ID + "/disabled", adminCookie, url.Values{"disabled": {"true"}}},
		{"AdminRoles", "/admin/users/" + ada.ID + "/roles", adminCookie, url.Values{"roles": {"admin"}}},
		{"AdminRevoke", "/admin/users/" + ada.ID + "/sessions/revoke", adminCookie, url.Values{"sid": {other}}},
		{"AdminRotate", "/admin/keys/rotate", adminCookie, url.Values{}},
	}
	refusals := []struct {
		name   string
		header map[string]string
	}{
		{"CrossSite", map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"SameSite", map[string]string{"Sec-Fetch-Site": "same-site"}},
		{"ForeignOrigin", map[string]string{"Origin": "https://evil.example"}},
		{"NullOrigin", map[string]string{"Origin": "null"}},
	}
	// Every POST route is among the forms above.
	covered := map[string]bool{}
	for _, f := range forms {
		covered["POST "+strings.ReplaceAll(f.path, ada.ID, "{id}")] = true
	}
	for _, p := range e.API.Routes() {
		if strings.HasPrefix(p, "POST ") && !isAPI(p) && !covered[p] {
			t.Errorf("%s is not tested for cross-origin refusal", p)
		}
	}

	before := len(e.Events())
	for _, f := range forms {
		for _, rf := range refusals {
			t.Run(f.name+"/"+rf.name, func(t *testing.T) {
				r := e.Do(servertest.Request{Method: "POST", Path: f.path, Cookie: f.cookie, Form: f.form, Header: rf.header})
				if r.StatusCode != http.StatusForbidden || !strings.Contains(r.Text(), "Request refused") {
					t.Errorf("%d\n%s", r.StatusCode, r.Text())
				}
				if r.SessionCookie() != nil {
					t.Error("a refused request set a cookie")
				}
				servertest.WantPageHeaders(t, r)
			})
		}
	}
	if after := len(e.Events()); after != before {
		t.Errorf("refused requests appended %d events", after-before)
	}
	if n := e.Sessions(ada.ID); n != 2 {
		t.Errorf("ada has %d sessions, want 2", n)
	}
	if u, _ := e.Svc.User(context.Background(), ada.ID); u.Disabled || len(u.Roles) != 0 {
		t.Errorf("ada changed: %+v", u)
	}
	if len(e.Svc.Keys()) != keys {
		t.Error("a key was rotated")
	}
	if _, err := e.Svc.Login(context.Background(), auth.LoginRequest{Email: "ada@example.com", Password: servertest.Password}); err != nil {
		t.Errorf("the password changed: %v", err)
	}
	_ = admin

	t.Run("SameOriginPasses", func(t *testing.T) {
		r := e.Do(servertest.Request{Method: "POST", Path: "/account/sessions/revoke-others", Cookie: adaCookie, Form: url.Values{},
			Header: map[string]string{"Origin": e.Srv.URL, "Sec-Fetch-Site": "same-origin"}})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("%d\n%s", r.StatusCode, r.Text())
		}
	})
}

// TestSafeMethods: GET never changes state, and there is no method override
// (C-04).
func TestSafeMethods(t *testing.T) {
	e := servertest.New(t)
	u := e.MustUser("ada@example.com", servertest.Password)
	c := e.LoginPage("ada@example.com", servertest.Password)
	e.LoginPage("ada@example.com", servertest.Password)
	for _, path := range []string{"/account/logout", "/account/sessions/revoke-others", "/account/sessions/revoke-others?_method=POST", "/admin/keys/rotate"} {
		r := e.Do(servertest.Request{Path: path, Cookie: c})
		if r.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET %s: %d", path, r.StatusCode)
		}
	}
	r := e.Do(servertest.Request{Method: "POST", Path: "/account?_method=DELETE", Cookie: c, Form: url.Values{"_method": {"DELETE"}}})
	if r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /account: %d", r.StatusCode)
	}
	if n := e.Sessions(u.ID); n != 2 {
		t.Errorf("%d sessions, want 2", n)
	}
}

// isAPI reports whether route pattern p is of the JSON API (bearer or
// cookie-with-origin-check) rather than a page's form.
func isAPI(p string) bool {
	_, path, _ := strings.Cut(p, " ")
	for _, prefix := range []string{"/v1/", "/oauth2/", "/admin/v1/", "/.well-known/"} {
		if strings.HasPrefix(path, prefix) {
			return true
		}
	}
	return false
}
