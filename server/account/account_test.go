package account_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tessera-auth/tessera/secret"
	"github.com/tessera-auth/tessera/server/servertest"
)

func TestAccount(t *testing.T) {
	t.Run("ErrNotSignedIn", func(t *testing.T) {
		e := servertest.New(t)
		r := e.Do(servertest.Request{Path: "/account"})
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login?return_to=%2Faccount" {
			t.Errorf("%d to %q", r.StatusCode, r.Header.Get("Location"))
		}
		if q, _ := url.Parse(r.Header.Get("Location")); q.Query().Get("return_to") != "/account" {
			t.Errorf("return_to %q", q.Query().Get("return_to"))
		}
	})
	t.Run("ErrSessionEnded", func(t *testing.T) {
		e := servertest.New(t)
		u := e.MustUser("ada@example.com", servertest.Password)
		c := e.LoginPage("ada@example.com", servertest.Password)
		if _, err := e.Svc.SignOutEverywhere(context.Background(), u.ID); err != nil {
			t.Fatal(err)
		}
		e.Tick()
		r := e.Do(servertest.Request{Path: "/account", Cookie: c})
		if r.StatusCode != http.StatusSeeOther || !strings.Contains(r.Header.Get("Location"), "msg=ended") {
			t.Errorf("%d to %q", r.StatusCode, r.Header.Get("Location"))
		}
		if got := r.SessionCookie(); got == nil || got.MaxAge >= 0 {
			t.Errorf("the dead cookie was not cleared: %+v", got)
		}
		r = e.Do(servertest.Request{Path: r.Header.Get("Location")})
		if !strings.Contains(r.Text(), "Your session ended") {
			t.Error("the login page does not say the session ended")
		}
	})
	t.Run("Devices", func(t *testing.T) {
		e := servertest.New(t)
		e.MustUser("ada@example.com", servertest.Password, "ops")
		for _, ua := range []string{servertest.UAPhone, servertest.UAWindowsChrome} {
			r := e.Do(servertest.Request{Method: "POST", Path: "/login", Form: url.Values{"email": {"ada@example.com"}, "password": {servertest.Password}}, Header: map[string]string{"User-Agent": ua}})
			if r.StatusCode != http.StatusSeeOther {
				t.Fatal(r.StatusCode)
			}
			e.Tick()
		}
		c := e.LoginPage("ada@example.com", servertest.Password)
		r := e.Do(servertest.Request{Path: "/account", Cookie: c, Header: map[string]string{"User-Agent": servertest.UAWindowsChrome}})
		if r.StatusCode != 200 {
			t.Fatalf("%d\n%s", r.StatusCode, r.Text())
		}
		servertest.WantPageHeaders(t, r)
		for _, want := range []string{"ada@example.com", "ops", "Chrome 131 on Windows", "Safari 18 on iOS", "This device", "127.0.0.1", "Sign out of all other devices", "Change password"} {
			if !strings.Contains(r.Text(), want) {
				t.Errorf("account page lacks %q", want)
			}
		}
		if n := strings.Count(r.Text(), `action="/account/sessions/revoke"`); n != 3 {
			t.Errorf("%d device sign-out forms, want 3", n)
		}
		if strings.Count(r.Text(), "This device") != 1 {
			t.Error(`"This device" is not on exactly one device`)
		}
	})
	t.Run("RevokeDevice", func(t *testing.T) {
		e := servertest.New(t)
		u := e.MustUser("ada@example.com", servertest.Password)
		other := e.LoginPage("ada@example.com", servertest.Password)
		c := e.LoginPage("ada@example.com", servertest.Password)
		list, _ := e.Svc.Sessions(context.Background(), u.ID)
		var otherID string
		for _, s := range list {
			if tok, _ := secret.Parse(other); s.SecretHash == tok.Hash() {
				otherID = s.ID
			}
		}
		r := e.Do(servertest.Request{Method: "POST", Path: "/account/sessions/revoke", Cookie: c, Form: url.Values{"sid": {otherID}}})
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/account?msg=device" {
			t.Fatalf("%d to %q", r.StatusCode, r.Header.Get("Location"))
		}
		if r := e.Do(servertest.Request{Path: "/account", Cookie: other}); r.StatusCode != http.StatusSeeOther {
			t.Error("the revoked device still opens /account")
		}
		if r := e.Do(servertest.Request{Path: "/account?msg=device", Cookie: c}); !strings.Contains(r.Text(), "That device was signed out.") {
			t.Error("no confirmation")
		}
		// Another user's session is not found, and not ended.
		bob := e.MustUser("bob@example.com", servertest.Password)
		e.LoginPage("bob@example.com", servertest.Password)
		bobs, _ := e.Svc.Sessions(context.Background(), bob.ID)
		r = e.Do(servertest.Request{Method: "POST", Path: "/account/sessions/revoke", Cookie: c, Form: url.Values{"sid": {bobs[0].ID}}})
		if r.Header.Get("Location") != "/account?msg=gone" || e.Sessions(bob.ID) != 1 {
			t.Errorf("revoking another user's session: %q, bob has %d", r.Header.Get("Location"), e.Sessions(bob.ID))
		}
	})
	t.Run("RevokeOthers", func(t *testing.T) {
		e := servertest.New(t)
		u := e.MustUser("ada@example.com", servertest.Password)
		others := []string{e.LoginPage("ada@example.com", servertest.Password), e.LoginPage("ada@example.com", servertest.Password)}
		c := e.LoginPage("ada@example.com", servertest.Password)
		r := e.Do(servertest.Request{Method: "POST", Path: "/account/sessions/revoke-others", Cookie: c, Form: url.Values{}})
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/account?msg=others" {
			t.Fatalf("%d to %q", r.StatusCode, r.Header.Get("Location"))
		}
		for _, o := range others {
			if r := e.Do(servertest.Request{Path: "/account", Cookie: o}); r.StatusCode != http.StatusSeeOther {
				t.Error("another device still opens /account")
			}
		}
		if r := e.Do(servertest.Request{Path: "/account", Cookie: c}); r.StatusCode != 200 || !strings.Contains(r.Text(), "You are not signed in anywhere else") {
			t.Errorf("this device: %d", r.StatusCode)
		}
		if n := e.Sessions(u.ID); n != 1 {
			t.Errorf("%d sessions, want 1", n)
		}
	})
	t.Run("Logout", func(t *testing.T) {
		e := servertest.New(t)
		u := e.MustUser("ada@example.com", servertest.Password)
		c := e.LoginPage("ada@example.com", servertest.Password)
		r := e.Do(servertest.Request{Method: "POST", Path: "/account/logout", Cookie: c, Form: url.Values{}})
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login?msg=signed-out" {
			t.Fatalf("%d to %q", r.StatusCode, r.Header.Get("Location"))
		}
		if got := r.SessionCookie(); got == nil || got.MaxAge >= 0 {
			t.Errorf("cookie not cleared: %+v", got)
		}
		if e.Sessions(u.ID) != 0 {
			t.Error("the session lives on")
		}
		if r := e.Do(servertest.Request{Path: "/v1/session", Cookie: c}); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("replayed cookie: %d", r.StatusCode)
		}
		// Without a session it still clears the cookie.
		r = e.Do(servertest.Request{Method: "POST", Path: "/account/logout", Cookie: c, Form: url.Values{}})
		if r.StatusCode != http.StatusSeeOther {
			t.Errorf("logout without a session: %d", r.StatusCode)
		}
	})
}

func TestChangePassword(t *testing.T) {
	const next = "a-new-horse-battery"
	change := func(e *servertest.Env, cookie, current, next, confirm string) *servertest.Response {
		return e.Do(servertest.Request{Method: "POST", Path: "/account/password", Cookie: cookie,
			Form: url.Values{"current_password": {current}, "new_password": {next}, "confirm_password": {confirm}}})
	}
	t.Run("OK", func(t *testing.T) {
		e := servertest.New(t)
		u := e.MustUser("ada@example.com", servertest.Password)
		other := e.LoginPage("ada@example.com", servertest.Password)
		c := e.LoginPage("ada@example.com", servertest.Password)
		r := change(e, c, servertest.Password, next, next)
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/account?msg=password" {
			t.Fatalf("%d to %q\n%s", r.StatusCode, r.Header.Get("Location"), r.Text())
		}
		nc := r.SessionCookie()
		if nc == nil || nc.Value == c {
			t.Fatal("no new session cookie")
		}
		e.Tick()
		for name, old := range map[string]string{"this device's old cookie": c, "the other device": other} {
			if r := e.Do(servertest.Request{Path: "/account", Cookie: old}); r.StatusCode != http.StatusSeeOther {
				t.Errorf("%s still opens /account", name)
			}
		}
		r = e.Do(servertest.Request{Path: "/account?msg=password", Cookie: nc.Value})
		if r.StatusCode != 200 || !strings.Contains(r.Text(), "Your password was changed") {
			t.Errorf("new cookie: %d", r.StatusCode)
		}
		if n := e.Sessions(u.ID); n != 1 {
			t.Errorf("%d sessions, want 1", n)
		}
		e.LoginPage("ada@example.com", next)
	})
	for _, tc := range []struct{ name, current, next, confirm, want string }{
		{"ErrWrongCurrent", "not-my-password", next, next, "Your current password is wrong."},
		{"ErrMismatch", servertest.Password, next, next + "x", "do not match"},
		{"ErrShort", servertest.Password, "short", "short", "at least 8 characters"},
		{"ErrCommon", servertest.Password, "password123", "password123", "too common"},
		{"ErrEmpty", "", "", "", "Enter your current password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := servertest.New(t)
			u := e.MustUser("ada@example.com", servertest.Password)
			e.LoginPage("ada@example.com", servertest.Password)
			c := e.LoginPage("ada@example.com", servertest.Password)
			r := change(e, c, tc.current, tc.next, tc.confirm)
			if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Text(), tc.want) {
				t.Fatalf("%d, want 400 with %q\n%s", r.StatusCode, tc.want, r.Text())
			}
			if r.SessionCookie() != nil {
				t.Error("a failed change set a cookie")
			}
			if n := e.Sessions(u.ID); n != 2 {
				t.Errorf("%d sessions, want 2", n)
			}
			e.LoginPage("ada@example.com", servertest.Password)
		})
	}
}
