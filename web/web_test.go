package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/httpapi"
	"github.com/tessera-auth/tessera/secret"
	"github.com/tessera-auth/tessera/web"
)

const (
	uaWindowsChrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	uaIPhoneSafari  = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)

func TestLoginPage(t *testing.T) {
	e := newEnv(t)
	r := e.do(request{path: "/login"})
	if r.StatusCode != 200 || !strings.Contains(r.body, `<form method="post" action="/login"`) {
		t.Fatalf("GET /login: %d\n%s", r.StatusCode, r.body)
	}
	wantPageHeaders(t, r)
	if !strings.Contains(r.body, `name="return_to" value="/account"`) {
		t.Error("return_to does not default to /account")
	}
	for _, want := range []string{`<label for="email">`, `<label for="password">`, `autocomplete="current-password"`, `<main id="main"`, `lang="en"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("login page lacks %s", want)
		}
	}
}

func TestLogin(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t)
		mustUser(t, e.svc, "ada@example.com", pw)
		r := e.do(request{method: "POST", path: "/login", form: url.Values{"email": {"Ada@Example.com"}, "password": {pw}, "return_to": {"/admin?q=x"}}})
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin?q=x" {
			t.Fatalf("status %d, Location %q", r.StatusCode, r.Header.Get("Location"))
		}
		c := r.sessionCookie()
		switch {
		case c == nil:
			t.Fatal("no session cookie")
		case c.Name != httpapi.CookieName || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "":
			t.Errorf("cookie attributes: %+v", c)
		case c.MaxAge <= 0 || c.MaxAge > 30*24*3600:
			t.Errorf("cookie Max-Age %d", c.MaxAge)
		}
		if _, err := secret.Parse(c.Value); err != nil {
			t.Fatalf("cookie value: %v", err)
		}
		// The same cookie works for the JSON API.
		if r := e.do(request{path: "/v1/session", cookie: c.Value}); r.StatusCode != 200 {
			t.Errorf("GET /v1/session with the page's cookie: %d", r.StatusCode)
		}
		if r := e.do(request{path: "/account", cookie: c.Value}); r.StatusCode != 200 || !strings.Contains(r.body, "ada@example.com") {
			t.Errorf("GET /account: %d", r.StatusCode)
		}
	})
	t.Run("InsecureCookie", func(t *testing.T) {
		e := newEnv(t, func(_ *auth.Config, h *httpapi.Config, w *web.Config) {
			h.InsecureCookie, w.InsecureCookie = true, true
		})
		mustUser(t, e.svc, "ada@example.com", pw)
		r := e.do(request{method: "POST", path: "/login", form: url.Values{"email": {"ada@example.com"}, "password": {pw}}})
		c := r.sessionCookie()
		if c == nil || c.Name != httpapi.InsecureCookieName || c.Secure || !c.HttpOnly {
			t.Fatalf("cookie: %+v", c)
		}
	})
	t.Run("ReplacesPlantedCookie", func(t *testing.T) {
		e := newEnv(t)
		u := mustUser(t, e.svc, "ada@example.com", pw)
		old := e.login("ada@example.com", pw)
		planted := secret.New().Reveal() // an unknown ID is never adopted
		for _, c := range []string{old, planted} {
			r := e.do(request{method: "POST", path: "/login", cookie: c, form: url.Values{"email": {"ada@example.com"}, "password": {pw}}})
			if got := r.sessionCookie(); got == nil || got.Value == c {
				t.Fatalf("login with cookie %q kept it", c)
			}
		}
		if r := e.do(request{path: "/account", cookie: old}); r.StatusCode != http.StatusSeeOther {
			t.Errorf("replaced session still opens /account: %d", r.StatusCode)
		}
		// The old session was replaced; the planted ID named none: two logins, two sessions.
		if n := e.sessions(u.ID); n != 2 {
			t.Errorf("%d live sessions, want 2", n)
		}
	})
	t.Run("SignedInGoesStraightOn", func(t *testing.T) {
		e := newEnv(t)
		mustUser(t, e.svc, "ada@example.com", pw)
		c := e.login("ada@example.com", pw)
		r := e.do(request{path: "/login?return_to=%2Fadmin", cookie: c})
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin" {
			t.Errorf("GET /login signed in: %d %q", r.StatusCode, r.Header.Get("Location"))
		}
	})
}

func TestLoginErrors(t *testing.T) {
	t.Run("ErrWrongPassword", func(t *testing.T) {
		e := newEnv(t)
		mustUser(t, e.svc, "ada@example.com", pw)
		r := e.do(request{method: "POST", path: "/login", form: url.Values{"email": {"ada@example.com"}, "password": {"wrong-password-1"}}})
		if r.StatusCode != http.StatusUnauthorized || !strings.Contains(strings.ToLower(r.body), "email or password is wrong") {
			t.Fatalf("%d\n%s", r.StatusCode, r.body)
		}
		if r.sessionCookie() != nil {
			t.Error("a failed login set a cookie")
		}
		if !strings.Contains(r.body, `value="ada@example.com"`) || strings.Contains(r.body, "wrong-password-1") {
			t.Error("the form should keep the email and drop the password")
		}
		wantPageHeaders(t, r)
	})
	t.Run("ErrUnknownUserLooksTheSame", func(t *testing.T) {
		// the same status, body and headers for an unknown user.
		e := newEnv(t)
		mustUser(t, e.svc, "ada@example.com", pw)
		known := e.do(request{method: "POST", path: "/login", form: url.Values{"email": {"ada@example.com"}, "password": {"wrong-password-1"}}})
		unknown := e.do(request{method: "POST", path: "/login", form: url.Values{"email": {"bob@example.com"}, "password": {"wrong-password-1"}}})
		if known.StatusCode != unknown.StatusCode {
			t.Errorf("status %d for a known user, %d for an unknown one", known.StatusCode, unknown.StatusCode)
		}
		if strings.ReplaceAll(known.body, "ada@", "bob@") != unknown.body {
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
		e := newEnv(t)
		r := e.do(request{method: "POST", path: "/login", form: url.Values{"email": {""}, "password": {""}}})
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "Enter your email address and your password") {
			t.Fatalf("%d\n%s", r.StatusCode, r.body)
		}
	})
	t.Run("ErrThrottled", func(t *testing.T) {
		e := newEnv(t, func(a *auth.Config, _ *httpapi.Config, _ *web.Config) { a.AccountBurst = 3 })
		mustUser(t, e.svc, "ada@example.com", pw)
		var r *response
		for range 4 {
			r = e.do(request{method: "POST", path: "/login", form: url.Values{"email": {"ada@example.com"}, "password": {"wrong-password-1"}}})
		}
		if r.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("4th failure: %d", r.StatusCode)
		}
		m := regexp.MustCompile(`Too many attempts, try again in (\d+) s\.`).FindStringSubmatch(r.body)
		if m == nil {
			t.Fatalf("no throttling message:\n%s", r.body)
		}
		if ra := r.Header.Get("Retry-After"); ra != m[1] {
			t.Errorf("Retry-After %q, message says %s s", ra, m[1])
		}
		// Even the right password waits.
		r = e.do(request{method: "POST", path: "/login", form: url.Values{"email": {"ada@example.com"}, "password": {pw}}})
		if r.StatusCode != http.StatusTooManyRequests || r.sessionCookie() != nil {
			t.Errorf("right password while throttled: %d", r.StatusCode)
		}
	})
}

// TestOpenRedirect sends return_to values that try to leave the origin, by
// the query string of GET /login and by the form; each lands on /account.
func TestOpenRedirect(t *testing.T) {
	e := newEnv(t)
	mustUser(t, e.svc, "ada@example.com", pw)
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
			r := e.do(request{path: "/login?return_to=" + url.QueryEscape(target)})
			if !strings.Contains(r.body, `name="return_to" value="/account"`) {
				t.Errorf("the form carries another return_to than /account")
			}
			r = e.do(request{method: "POST", path: "/login", form: url.Values{"email": {"ada@example.com"}, "password": {pw}, "return_to": {target}}})
			if loc := r.Header.Get("Location"); r.StatusCode != http.StatusSeeOther || loc != "/account" {
				t.Errorf("return_to %q: %d to %q", target, r.StatusCode, loc)
			}
			e.tick()
		})
	}
	t.Run("RawQueryEncodedSlashes", func(t *testing.T) {
		// The query string as a browser would send the link …?return_to=/%2F%2Fevil.example
		r := e.do(request{path: "/login?return_to=/%2F%2Fevil.example"})
		if !strings.Contains(r.body, `name="return_to" value="/account"`) {
			t.Errorf("the form carries another return_to than /account")
		}
	})
}

// TestCrossOriginRefused: every form refuses a cross-site submission with
// 403, before touching any state (C-01, C-02, C-03).
func TestCrossOriginRefused(t *testing.T) {
	e := newEnv(t)
	admin := mustUser(t, e.svc, "root@example.com", pw, "admin")
	ada := mustUser(t, e.svc, "ada@example.com", pw)
	adminCookie := e.login("root@example.com", pw)
	adaCookie := e.login("ada@example.com", pw)
	e.login("ada@example.com", pw) // a second device
	adaSessions, err := e.svc.Sessions(context.Background(), ada.ID)
	if err != nil {
		t.Fatal(err)
	}
	other := adaSessions[0].ID
	keys := len(e.svc.Keys())

	forms := []struct {
		name, path, cookie string
		form               url.Values
	}{
		{"Login", "/login", "", url.Values{"email": {"ada@example.com"}, "password": {pw}}},
		{"Logout", "/account/logout", adaCookie, url.Values{}},
		{"RevokeDevice", "/account/sessions/revoke", adaCookie, url.Values{"sid": {other}}},
		{"RevokeOthers", "/account/sessions/revoke-others", adaCookie, url.Values{}},
		{"ChangePassword", "/account/password", adaCookie, url.Values{"current_password": {pw}, "new_password": {"new-horse-battery"}, "confirm_password": {"new-horse-battery"}}},
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
	for _, p := range web.New(e.svc, web.Config{}).Routes() {
		if strings.HasPrefix(p, "POST ") && !covered[p] {
			t.Errorf("%s is not tested for cross-origin refusal", p)
		}
	}

	before := len(e.events())
	for _, f := range forms {
		for _, rf := range refusals {
			t.Run(f.name+"/"+rf.name, func(t *testing.T) {
				r := e.do(request{method: "POST", path: f.path, cookie: f.cookie, form: f.form, header: rf.header})
				if r.StatusCode != http.StatusForbidden || !strings.Contains(r.body, "Request refused") {
					t.Errorf("%d\n%s", r.StatusCode, r.body)
				}
				if r.sessionCookie() != nil {
					t.Error("a refused request set a cookie")
				}
				wantPageHeaders(t, r)
			})
		}
	}
	if after := len(e.events()); after != before {
		t.Errorf("refused requests appended %d events", after-before)
	}
	if n := e.sessions(ada.ID); n != 2 {
		t.Errorf("ada has %d sessions, want 2", n)
	}
	if u, _ := e.svc.User(context.Background(), ada.ID); u.Disabled || len(u.Roles) != 0 {
		t.Errorf("ada changed: %+v", u)
	}
	if len(e.svc.Keys()) != keys {
		t.Error("a key was rotated")
	}
	if _, err := e.svc.Login(context.Background(), auth.LoginRequest{Email: "ada@example.com", Password: pw}); err != nil {
		t.Errorf("the password changed: %v", err)
	}
	_ = admin

	t.Run("SameOriginPasses", func(t *testing.T) {
		r := e.do(request{method: "POST", path: "/account/sessions/revoke-others", cookie: adaCookie, form: url.Values{},
			header: map[string]string{"Origin": e.srv.URL, "Sec-Fetch-Site": "same-origin"}})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("%d\n%s", r.StatusCode, r.body)
		}
	})
}

// TestSafeMethods: GET never changes state, and there is no method override
// (C-04).
func TestSafeMethods(t *testing.T) {
	e := newEnv(t)
	u := mustUser(t, e.svc, "ada@example.com", pw)
	c := e.login("ada@example.com", pw)
	e.login("ada@example.com", pw)
	for _, path := range []string{"/account/logout", "/account/sessions/revoke-others", "/account/sessions/revoke-others?_method=POST", "/admin/keys/rotate"} {
		r := e.do(request{path: path, cookie: c})
		if r.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET %s: %d", path, r.StatusCode)
		}
	}
	r := e.do(request{method: "POST", path: "/account?_method=DELETE", cookie: c, form: url.Values{"_method": {"DELETE"}}})
	if r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /account: %d", r.StatusCode)
	}
	if n := e.sessions(u.ID); n != 2 {
		t.Errorf("%d sessions, want 2", n)
	}
}

func TestAccount(t *testing.T) {
	t.Run("ErrNotSignedIn", func(t *testing.T) {
		e := newEnv(t)
		r := e.do(request{path: "/account"})
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login?return_to=%2Faccount" {
			t.Errorf("%d to %q", r.StatusCode, r.Header.Get("Location"))
		}
		if q, _ := url.Parse(r.Header.Get("Location")); q.Query().Get("return_to") != "/account" {
			t.Errorf("return_to %q", q.Query().Get("return_to"))
		}
	})
	t.Run("ErrSessionEnded", func(t *testing.T) {
		e := newEnv(t)
		u := mustUser(t, e.svc, "ada@example.com", pw)
		c := e.login("ada@example.com", pw)
		if _, err := e.svc.SignOutEverywhere(context.Background(), u.ID); err != nil {
			t.Fatal(err)
		}
		e.tick()
		r := e.do(request{path: "/account", cookie: c})
		if r.StatusCode != http.StatusSeeOther || !strings.Contains(r.Header.Get("Location"), "msg=ended") {
			t.Errorf("%d to %q", r.StatusCode, r.Header.Get("Location"))
		}
		if got := r.sessionCookie(); got == nil || got.MaxAge >= 0 {
			t.Errorf("the dead cookie was not cleared: %+v", got)
		}
		r = e.do(request{path: r.Header.Get("Location")})
		if !strings.Contains(r.body, "Your session ended") {
			t.Error("the login page does not say the session ended")
		}
	})
	t.Run("Devices", func(t *testing.T) {
		e := newEnv(t)
		mustUser(t, e.svc, "ada@example.com", pw, "ops")
		for _, ua := range []string{uaIPhoneSafari, uaWindowsChrome} {
			r := e.do(request{method: "POST", path: "/login", form: url.Values{"email": {"ada@example.com"}, "password": {pw}}, header: map[string]string{"User-Agent": ua}})
			if r.StatusCode != http.StatusSeeOther {
				t.Fatal(r.StatusCode)
			}
			e.tick()
		}
		c := e.login("ada@example.com", pw)
		r := e.do(request{path: "/account", cookie: c, header: map[string]string{"User-Agent": uaWindowsChrome}})
		if r.StatusCode != 200 {
			t.Fatalf("%d\n%s", r.StatusCode, r.body)
		}
		wantPageHeaders(t, r)
		for _, want := range []string{"ada@example.com", "ops", "Chrome 131 on Windows", "Safari 18 on iOS", "This device", "127.0.0.1", "Sign out of all other devices", "Change password"} {
			if !strings.Contains(r.body, want) {
				t.Errorf("account page lacks %q", want)
			}
		}
		if n := strings.Count(r.body, `action="/account/sessions/revoke"`); n != 3 {
			t.Errorf("%d device sign-out forms, want 3", n)
		}
		if strings.Count(r.body, "This device") != 1 {
			t.Error(`"This device" is not on exactly one device`)
		}
	})
	t.Run("RevokeDevice", func(t *testing.T) {
		e := newEnv(t)
		u := mustUser(t, e.svc, "ada@example.com", pw)
		other := e.login("ada@example.com", pw)
		c := e.login("ada@example.com", pw)
		list, _ := e.svc.Sessions(context.Background(), u.ID)
		var otherID string
		for _, s := range list {
			if tok, _ := secret.Parse(other); s.SecretHash == tok.Hash() {
				otherID = s.ID
			}
		}
		r := e.do(request{method: "POST", path: "/account/sessions/revoke", cookie: c, form: url.Values{"sid": {otherID}}})
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/account?msg=device" {
			t.Fatalf("%d to %q", r.StatusCode, r.Header.Get("Location"))
		}
		if r := e.do(request{path: "/account", cookie: other}); r.StatusCode != http.StatusSeeOther {
			t.Error("the revoked device still opens /account")
		}
		if r := e.do(request{path: "/account?msg=device", cookie: c}); !strings.Contains(r.body, "That device was signed out.") {
			t.Error("no confirmation")
		}
		// Another user's session is not found, and not ended.
		bob := mustUser(t, e.svc, "bob@example.com", pw)
		e.login("bob@example.com", pw)
		bobs, _ := e.svc.Sessions(context.Background(), bob.ID)
		r = e.do(request{method: "POST", path: "/account/sessions/revoke", cookie: c, form: url.Values{"sid": {bobs[0].ID}}})
		if r.Header.Get("Location") != "/account?msg=gone" || e.sessions(bob.ID) != 1 {
			t.Errorf("revoking another user's session: %q, bob has %d", r.Header.Get("Location"), e.sessions(bob.ID))
		}
	})
	t.Run("RevokeOthers", func(t *testing.T) {
		e := newEnv(t)
		u := mustUser(t, e.svc, "ada@example.com", pw)
		others := []string{e.login("ada@example.com", pw), e.login("ada@example.com", pw)}
		c := e.login("ada@example.com", pw)
		r := e.do(request{method: "POST", path: "/account/sessions/revoke-others", cookie: c, form: url.Values{}})
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/account?msg=others" {
			t.Fatalf("%d to %q", r.StatusCode, r.Header.Get("Location"))
		}
		for _, o := range others {
			if r := e.do(request{path: "/account", cookie: o}); r.StatusCode != http.StatusSeeOther {
				t.Error("another device still opens /account")
			}
		}
		if r := e.do(request{path: "/account", cookie: c}); r.StatusCode != 200 || !strings.Contains(r.body, "You are not signed in anywhere else") {
			t.Errorf("this device: %d", r.StatusCode)
		}
		if n := e.sessions(u.ID); n != 1 {
			t.Errorf("%d sessions, want 1", n)
		}
	})
	t.Run("Logout", func(t *testing.T) {
		e := newEnv(t)
		u := mustUser(t, e.svc, "ada@example.com", pw)
		c := e.login("ada@example.com", pw)
		r := e.do(request{method: "POST", path: "/account/logout", cookie: c, form: url.Values{}})
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login?msg=signed-out" {
			t.Fatalf("%d to %q", r.StatusCode, r.Header.Get("Location"))
		}
		if got := r.sessionCookie(); got == nil || got.MaxAge >= 0 {
			t.Errorf("cookie not cleared: %+v", got)
		}
		if e.sessions(u.ID) != 0 {
			t.Error("the session lives on")
		}
		if r := e.do(request{path: "/v1/session", cookie: c}); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("replayed cookie: %d", r.StatusCode)
		}
		// Without a session it still clears the cookie.
		r = e.do(request{method: "POST", path: "/account/logout", cookie: c, form: url.Values{}})
		if r.StatusCode != http.StatusSeeOther {
			t.Errorf("logout without a session: %d", r.StatusCode)
		}
	})
}

func TestChangePassword(t *testing.T) {
	const next = "a-new-horse-battery"
	change := func(e *env, cookie, current, next, confirm string) *response {
		return e.do(request{method: "POST", path: "/account/password", cookie: cookie,
			form: url.Values{"current_password": {current}, "new_password": {next}, "confirm_password": {confirm}}})
	}
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t)
		u := mustUser(t, e.svc, "ada@example.com", pw)
		other := e.login("ada@example.com", pw)
		c := e.login("ada@example.com", pw)
		r := change(e, c, pw, next, next)
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/account?msg=password" {
			t.Fatalf("%d to %q\n%s", r.StatusCode, r.Header.Get("Location"), r.body)
		}
		nc := r.sessionCookie()
		if nc == nil || nc.Value == c {
			t.Fatal("no new session cookie")
		}
		e.tick()
		for name, old := range map[string]string{"this device's old cookie": c, "the other device": other} {
			if r := e.do(request{path: "/account", cookie: old}); r.StatusCode != http.StatusSeeOther {
				t.Errorf("%s still opens /account", name)
			}
		}
		r = e.do(request{path: "/account?msg=password", cookie: nc.Value})
		if r.StatusCode != 200 || !strings.Contains(r.body, "Your password was changed") {
			t.Errorf("new cookie: %d", r.StatusCode)
		}
		if n := e.sessions(u.ID); n != 1 {
			t.Errorf("%d sessions, want 1", n)
		}
		e.login("ada@example.com", next)
	})
	for _, tc := range []struct{ name, current, next, confirm, want string }{
		{"ErrWrongCurrent", "not-my-password", next, next, "Your current password is wrong."},
		{"ErrMismatch", pw, next, next + "x", "do not match"},
		{"ErrShort", pw, "short", "short", "at least 8 characters"},
		{"ErrCommon", pw, "password123", "password123", "too common"},
		{"ErrEmpty", "", "", "", "Enter your current password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			u := mustUser(t, e.svc, "ada@example.com", pw)
			e.login("ada@example.com", pw)
			c := e.login("ada@example.com", pw)
			r := change(e, c, tc.current, tc.next, tc.confirm)
			if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, tc.want) {
				t.Fatalf("%d, want 400 with %q\n%s", r.StatusCode, tc.want, r.body)
			}
			if r.sessionCookie() != nil {
				t.Error("a failed change set a cookie")
			}
			if n := e.sessions(u.ID); n != 2 {
				t.Errorf("%d sessions, want 2", n)
			}
			e.login("ada@example.com", pw)
		})
	}
}

func TestAdmin(t *testing.T) {
	e := newEnv(t)
	root := mustUser(t, e.svc, "root@example.com", pw, "admin")
	ada := mustUser(t, e.svc, "ada@example.com", pw, "ops")
	mustUser(t, e.svc, "grace@example.com", pw)
	rc := e.login("root@example.com", pw)
	ac := e.login("ada@example.com", pw)

	t.Run("ErrNotAdmin", func(t *testing.T) {
		keys := len(e.svc.Keys())
		for _, req := range []request{
			{path: "/admin", cookie: ac},
			{path: "/admin/users/" + root.ID, cookie: ac},
			{method: "POST", path: "/admin/keys/rotate", cookie: ac, form: url.Values{}},
			{method: "POST", path: "/admin/users/" + root.ID + "/disabled", cookie: ac, form: url.Values{"disabled": {"true"}}},
			{method: "POST", path: "/admin/users/" + ada.ID + "/roles", cookie: ac, form: url.Values{"roles": {"admin ops"}}},
		} {
			r := e.do(req)
			if r.StatusCode != http.StatusForbidden || !strings.Contains(r.body, "Not allowed") {
				t.Errorf("%s %s: %d", req.method, req.path, r.StatusCode)
			}
			if strings.Contains(r.body, "root@example.com") {
				t.Errorf("%s %s shows admin data", req.method, req.path)
			}
			wantPageHeaders(t, r)
		}
		if u, _ := e.svc.User(context.Background(), ada.ID); u.HasRole("admin") {
			t.Error("a non-admin made itself admin")
		}
		if u, _ := e.svc.User(context.Background(), root.ID); u.Disabled {
			t.Error("a non-admin disabled the admin")
		}
		if len(e.svc.Keys()) != keys {
			t.Error("a non-admin rotated the key")
		}
		if r := e.do(request{path: "/admin"}); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login?return_to=%2Fadmin" {
			t.Errorf("signed out: %d to %q", r.StatusCode, r.Header.Get("Location"))
		}
	})
	t.Run("Overview", func(t *testing.T) {
		e.do(request{method: "POST", path: "/login", form: url.Values{"email": {"grace@example.com"}, "password": {"wrong-password-1"}}})
		r := e.do(request{path: "/admin", cookie: rc})
		if r.StatusCode != 200 {
			t.Fatalf("%d\n%s", r.StatusCode, r.body)
		}
		wantPageHeaders(t, r)
		for _, want := range []string{"root@example.com", "ada@example.com", "grace@example.com", "Recent security events", "Sign-in failed", "login.failed", "Signing keys", "Active", "Rotate signing key", "127.0.0.1"} {
			if !strings.Contains(r.body, want) {
				t.Errorf("admin page lacks %q", want)
			}
		}
		r = e.do(request{path: "/admin?q=GRACE", cookie: rc})
		if !strings.Contains(r.body, "/admin/users/") || strings.Contains(r.body, `<th scope="row" class="email">ada@example.com`) || !strings.Contains(r.body, `<th scope="row" class="email">grace@example.com`) {
			t.Errorf("search for GRACE:\n%s", r.body)
		}
	})
	t.Run("RevokeSession", func(t *testing.T) {
		list, _ := e.svc.Sessions(context.Background(), ada.ID)
		r := e.do(request{path: "/admin/users/" + ada.ID, cookie: rc})
		if r.StatusCode != 200 || !strings.Contains(r.body, list[0].ID) {
			t.Fatalf("user page: %d", r.StatusCode)
		}
		r = e.do(request{method: "POST", path: "/admin/users/" + ada.ID + "/sessions/revoke", cookie: rc, form: url.Values{"sid": {list[0].ID}}})
		if r.StatusCode != http.StatusSeeOther || !strings.HasSuffix(r.Header.Get("Location"), "?msg=revoked") {
			t.Fatalf("%d to %q", r.StatusCode, r.Header.Get("Location"))
		}
		if r := e.do(request{path: "/account", cookie: ac}); r.StatusCode != http.StatusSeeOther {
			t.Error("the revoked user still opens /account")
		}
		evs := e.events()
		if last := evs[len(evs)-1]; last.Type != auth.EventSessionRevoked || last.Data["cause"] != auth.CauseAdmin {
			t.Errorf("last event %+v", last)
		}
	})
	t.Run("DisableAndEnable", func(t *testing.T) {
		ac := e.login("ada@example.com", pw)
		r := e.do(request{method: "POST", path: "/admin/users/" + ada.ID + "/disabled", cookie: rc, form: url.Values{"disabled": {"true"}}})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatal(r.StatusCode)
		}
		e.tick()
		if r := e.do(request{path: "/account", cookie: ac}); r.StatusCode != http.StatusSeeOther {
			t.Error("a disabled user still opens /account")
		}
		if r := e.do(request{method: "POST", path: "/login", form: url.Values{"email": {"ada@example.com"}, "password": {pw}}}); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("a disabled user signs in: %d", r.StatusCode)
		}
		if r := e.do(request{path: "/admin/users/" + ada.ID + "?msg=disabled", cookie: rc}); !strings.Contains(r.body, "Enable account") || !strings.Contains(r.body, "The account is disabled") {
			t.Error("user page does not show the disabled state")
		}
		e.do(request{method: "POST", path: "/admin/users/" + ada.ID + "/disabled", cookie: rc, form: url.Values{"disabled": {"false"}}})
		e.login("ada@example.com", pw)
	})
	t.Run("Roles", func(t *testing.T) {
		r := e.do(request{method: "POST", path: "/admin/users/" + ada.ID + "/roles", cookie: rc, form: url.Values{"roles": {"ops, Billing  support"}}})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("%d\n%s", r.StatusCode, r.body)
		}
		if u, _ := e.svc.User(context.Background(), ada.ID); strings.Join(u.Roles, " ") != "billing ops support" {
			t.Errorf("roles %v", u.Roles)
		}
		r = e.do(request{method: "POST", path: "/admin/users/" + ada.ID + "/roles", cookie: rc, form: url.Values{"roles": {"bad/role"}}})
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "bad/role") {
			t.Errorf("invalid role: %d", r.StatusCode)
		}
	})
	t.Run("ErrSelf", func(t *testing.T) {
		r := e.do(request{method: "POST", path: "/admin/users/" + root.ID + "/disabled", cookie: rc, form: url.Values{"disabled": {"true"}}})
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "cannot disable your own account") {
			t.Errorf("disable self: %d", r.StatusCode)
		}
		r = e.do(request{method: "POST", path: "/admin/users/" + root.ID + "/roles", cookie: rc, form: url.Values{"roles": {"ops"}}})
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "cannot remove your own admin role") {
			t.Errorf("drop own admin role: %d", r.StatusCode)
		}
		if u, _ := e.svc.User(context.Background(), root.ID); u.Disabled || !u.HasRole("admin") {
			t.Errorf("root changed: %+v", u)
		}
	})
	t.Run("ErrNoSuchUser", func(t *testing.T) {
		if r := e.do(request{path: "/admin/users/nobody", cookie: rc}); r.StatusCode != http.StatusNotFound {
			t.Errorf("%d", r.StatusCode)
		}
	})
	t.Run("RotateKey", func(t *testing.T) {
		before := e.svc.Keys()
		r := e.do(request{method: "POST", path: "/admin/keys/rotate", cookie: rc, form: url.Values{}})
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin?msg=rotated#keys" {
			t.Fatalf("%d to %q", r.StatusCode, r.Header.Get("Location"))
		}
		after := e.svc.Keys()
		if len(after) != len(before)+1 || after[0].ID == before[0].ID {
			t.Fatalf("keys %v, then %v", before, after)
		}
		r = e.do(request{path: "/admin?msg=rotated", cookie: rc})
		if !strings.Contains(r.body, after[0].ID) || !strings.Contains(r.body, "Retired, still verifying") || !strings.Contains(r.body, "A new signing key is active") {
			t.Error("admin page does not show the rotation")
		}
	})
}

// TestNoExternalResources: no page has a script, an inline style, or a
// reference to another origin.
func TestNoExternalResources(t *testing.T) {
	e := newEnv(t)
	root := mustUser(t, e.svc, "root@example.com", pw, "admin")
	c := e.login("root@example.com", pw)
	ref := regexp.MustCompile(`(?i)(src|href|action)\s*=\s*"([^"]*)"`)
	for _, path := range []string{"/login", "/account", "/admin", "/admin/users/" + root.ID, "/admin/users/nobody"} {
		r := e.do(request{path: path, cookie: c})
		if path == "/login" {
			r = e.do(request{path: path})
		}
		low := strings.ToLower(r.body)
		if strings.Contains(low, "<script") || strings.Contains(low, " style=") || strings.Contains(low, "<style") || strings.Contains(low, "javascript:") {
			t.Errorf("%s has script or inline style", path)
		}
		for _, m := range ref.FindAllStringSubmatch(r.body, -1) {
			if u := m[2]; !strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "#") || strings.HasPrefix(u, "//") {
				t.Errorf("%s: %s=%q", path, m[1], u)
			}
		}
	}
}

func TestAssets(t *testing.T) {
	e := newEnv(t)
	page := e.do(request{path: "/login"}).body
	m := regexp.MustCompile(`href="(/assets/style\.css\?v=[0-9a-f]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no versioned style sheet link")
	}
	r := e.do(request{path: m[1]})
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "text/css; charset=utf-8" || !strings.Contains(r.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("%s: %d %q %q", m[1], r.StatusCode, r.Header.Get("Content-Type"), r.Header.Get("Cache-Control"))
	}
	if r := e.do(request{path: "/assets/style.css"}); r.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("unversioned: Cache-Control %q", r.Header.Get("Cache-Control"))
	}
	if r := e.do(request{path: "/assets/icon.svg"}); r.StatusCode != 200 || r.Header.Get("Content-Type") != "image/svg+xml" {
		t.Errorf("icon: %d %q", r.StatusCode, r.Header.Get("Content-Type"))
	}
	for _, p := range []string{"/assets/nope.css", "/assets/", "/assets/..%2Fweb.go"} {
		if r := e.do(request{path: p}); r.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d", p, r.StatusCode)
		}
	}
	if r := e.do(request{path: "/"}); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/account" {
		t.Errorf("GET /: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
}
