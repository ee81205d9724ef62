package admin_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/server/servertest"
)

func TestAdmin(t *testing.T) {
	e := servertest.New(t)
	root := e.MustUser("root@example.com", servertest.Password, "admin")
	ada := e.MustUser("ada@example.com", servertest.Password, "ops")
	e.MustUser("grace@example.com", servertest.Password)
	rc := e.LoginPage("root@example.com", servertest.Password)
	ac := e.LoginPage("ada@example.com", servertest.Password)

	t.Run("ErrNotAdmin", func(t *testing.T) {
		keys := len(e.Svc.Keys())
		for _, req := range []servertest.Request{
			{Path: "/admin", Cookie: ac},
			{Path: "/admin/users/" + root.ID, Cookie: ac},
			{Method: "POST", Path: "/admin/keys/rotate", Cookie: ac, Form: url.Values{}},
			{Method: "POST", Path: "/admin/users/" + root.ID + "/disabled", Cookie: ac, Form: url.Values{"disabled": {"true"}}},
			{Method: "POST", Path: "/admin/users/" + ada.ID + "/roles", Cookie: ac, Form: url.Values{"roles": {"admin ops"}}},
		} {
			r := e.Do(req)
			if r.StatusCode != http.StatusForbidden || !strings.Contains(r.Text(), "Not allowed") {
				t.Errorf("%s %s: %d", req.Method, req.Path, r.StatusCode)
			}
			if strings.Contains(r.Text(), "root@example.com") {
				t.Errorf("%s %s shows admin data", req.Method, req.Path)
			}
			servertest.WantPageHeaders(t, r)
		}
		if u, _ := e.Svc.User(context.Background(), ada.ID); u.HasRole("admin") {
			t.Error("a non-admin made itself admin")
		}
		if u, _ := e.Svc.User(context.Background(), root.ID); u.Disabled {
			t.Error("a non-admin disabled the admin")
		}
		if len(e.Svc.Keys()) != keys {
			t.Error("a non-admin rotated the key")
		}
		if r := e.Do(servertest.Request{Path: "/admin"}); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login?return_to=%2Fadmin" {
			t.Errorf("signed out: %d to %q", r.StatusCode, r.Header.Get("Location"))
		}
	})
	t.Run("Overview", func(t *testing.T) {
		e.Do(servertest.Request{Method: "POST", Path: "/login", Form: url.Values{"email": {"grace@example.com"}, "password": {"wrong-password-1"}}})
		r := e.Do(servertest.Request{Path: "/admin", Cookie: rc})
		if r.StatusCode != 200 {
			t.Fatalf("%d\n%s", r.StatusCode, r.Text())
		}
		servertest.WantPageHeaders(t, r)
		for _, want := range []string{"root@example.com", "ada@example.com", "grace@example.com", "Recent security events", "Sign-in failed", "login.failed", "Signing keys", "Active", "Rotate signing key", "127.0.0.1"} {
			if !strings.Contains(r.Text(), want) {
				t.Errorf("admin page lacks %q", want)
			}
		}
		r = e.Do(servertest.Request{Path: "/admin?q=GRACE", Cookie: rc})
		if !strings.Contains(r.Text(), "/admin/users/") || strings.Contains(r.Text(), `<th scope="row" class="email">ada@example.com`) || !strings.Contains(r.Text(), `<th scope="row" class="email">grace@example.com`) {
			t.Errorf("search for GRACE:\n%s", r.Text())
		}
	})
	t.Run("RevokeSession", func(t *testing.T) {
		list, _ := e.Svc.Sessions(context.Background(), ada.ID)
		r := e.Do(servertest.Request{Path: "/admin/users/" + ada.ID, Cookie: rc})
		if r.StatusCode != 200 || !strings.Contains(r.Text(), list[0].ID) {
			t.Fatalf("user page: %d", r.StatusCode)
		}
		r = e.Do(servertest.Request{Method: "POST", Path: "/admin/users/" + ada.ID + "/sessions/revoke", Cookie: rc, Form: url.Values{"sid": {list[0].ID}}})
		if r.StatusCode != http.StatusSeeOther || !strings.HasSuffix(r.Header.Get("Location"), "?msg=revoked") {
			t.Fatalf("%d to %q", r.StatusCode, r.Header.Get("Location"))
		}
		if r := e.Do(servertest.Request{Path: "/account", Cookie: ac}); r.StatusCode != http.StatusSeeOther {
			t.Error("the revoked user still opens /account")
		}
		evs := e.Events()
		if last := evs[len(evs)-1]; last.Type != auth.EventSessionRevoked || last.Data["cause"] != auth.CauseAdmin {
			t.Errorf("last event %+v", last)
		}
	})
	t.Run("DisableAndEnable", func(t *testing.T) {
		ac := e.LoginPage("ada@example.com", servertest.Password)
		r := e.Do(servertest.Request{Method: "POST", Path: "/admin/users/" + ada.ID + "/disabled", Cookie: rc, Form: url.Values{"disabled": {"true"}}})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatal(r.StatusCode)
		}
		e.Tick()
		if r := e.Do(servertest.Request{Path: "/account", Cookie: ac}); r.StatusCode != http.StatusSeeOther {
			t.Error("a disabled user still opens /account")
		}
		if r := e.Do(servertest.Request{Method: "POST", Path: "/login", Form: url.Values{"email": {"ada@example.com"}, "password": {servertest.Password}}}); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("a disabled user signs in: %d", r.StatusCode)
		}
		if r := e.Do(servertest.Request{Path: "/admin/users/" + ada.ID + "?msg=disabled", Cookie: rc}); !strings.Contains(r.Text(), "Enable account") || !strings.Contains(r.Text(), "The account is disabled") {
			t.Error("user page does not show the disabled state")
		}
		e.Do(servertest.Request{Method: "POST", Path: "/admin/users/" + ada.ID + "/disabled", Cookie: rc, Form: url.Values{"disabled": {"false"}}})
		e.LoginPage("ada@example.com", servertest.Password)
	})
	t.Run("Roles", func(t *testing.T) {
		r := e.Do(servertest.Request{Method: "POST", Path: "/admin/users/" + ada.ID + "/roles", Cookie: rc, Form: url.Values{"roles": {"ops, Billing  support"}}})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("%d\n%s", r.StatusCode, r.Text())
		}
		if u, _ := e.Svc.User(context.Background(), ada.ID); strings.Join(u.Roles, " ") != "billing ops support" {
			t.Errorf("roles %v", u.Roles)
		}
		r = e.Do(servertest.Request{Method: "POST", Path: "/admin/users/" + ada.ID + "/roles", Cookie: rc, Form: url.Values{"roles": {"bad/role"}}})
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Text(), "bad/role") {
			t.Errorf("invalid role: %d", r.StatusCode)
		}
	})
	t.Run("ErrSelf", func(t *testing.T) {
		r := e.Do(servertest.Request{Method: "POST", Path: "/admin/users/" + root.ID + "/disabled", Cookie: rc, Form: url.Values{"disabled": {"true"}}})
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Text(), "cannot disable your own account") {
			t.Errorf("disable self: %d", r.StatusCode)
		}
		r = e.Do(servertest.Request{Method: "POST", Path: "/admin/users/" + root.ID + "/roles", Cookie: rc, Form: url.Values{"roles": {"ops"}}})
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Text(), "cannot remove your own admin role") {
			t.Errorf("drop own admin role: %d", r.StatusCode)
		}
		if u, _ := e.Svc.User(context.Background(), root.ID); u.Disabled || !u.HasRole("admin") {
			t.Errorf("root changed: %+v", u)
		}
	})
	t.Run("ErrNoSuchUser", func(t *testing.T) {
		if r := e.Do(servertest.Request{Path: "/admin/users/nobody", Cookie: rc}); r.StatusCode != http.StatusNotFound {
			t.Errorf("%d", r.StatusCode)
		}
	})
	t.Run("RotateKey", func(t *testing.T) {
		before := e.Svc.Keys()
		r := e.Do(servertest.Request{Method: "POST", Path: "/admin/keys/rotate", Cookie: rc, Form: url.Values{}})
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin?msg=rotated#keys" {
			t.Fatalf("%d to %q", r.StatusCode, r.Header.Get("Location"))
		}
		after := e.Svc.Keys()
		if len(after) != len(before)+1 || after[0].ID == before[0].ID {
			t.Fatalf("keys %v, then %v", before, after)
		}
		r = e.Do(servertest.Request{Path: "/admin?msg=rotated", Cookie: rc})
		if !strings.Contains(r.Text(), after[0].ID) || !strings.Contains(r.Text(), "Retired, still verifying") || !strings.Contains(r.Text(), "A new signing key is active") {
			t.Error("admin page does not show the rotation")
		}
	})
}
