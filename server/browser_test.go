package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/server"
	"github.com/tessera-auth/tessera/server/httpx"
	"github.com/tessera-auth/tessera/server/servertest"
)

// TestBrowser runs the pages in Chromium, as people use them: three
// browsers (Ada's computer A and phone B, and the admin's computer C) against
// one server. The steps depend on each other and run in order.
func TestBrowser(t *testing.T) {
	servertest.ChromiumPath(t)
	e := servertest.New(t, servertest.Running, func(a *auth.Config, _ *server.Config) {
		a.AccountBurst = 3  // the fourth failure in a row is throttled
		a.IPBurst = 1 << 20 // every browser is 127.0.0.1
	})
	ctx := context.Background()
	e.MustUser("root@example.com", servertest.Password, "admin")
	ada := e.MustUser("ada@example.com", servertest.Password, "ops")
	e.MustUser("grace@example.com", servertest.Password, "ops", "billing")
	e.MustUser("linus@example.com", servertest.Password)
	e.MustUser("mallory@example.com", servertest.Password)
	margaret := e.MustUser("margaret@example.com", servertest.Password)
	if _, err := e.Svc.SetDisabled(ctx, margaret.ID, true); err != nil {
		t.Fatal(err)
	}

	// Chromium offers 127.0.0.1 as a secure context: it keeps the
	// __Host- Secure cookie over plain HTTP there (checked below).
	a := servertest.NewBrowser(t, "A", e.Srv.URL, "", false)
	b := servertest.NewBrowser(t, "B", e.Srv.URL, servertest.UAPhone, true)
	c := servertest.NewBrowser(t, "C", e.Srv.URL, "", false)

	t.Run("LoginPage", func(t *testing.T) {
		resp := c.Open("/login")
		c.WantPage(resp, 200, "/login", "Sign in")
		h := resp.Headers
		if h["Content-Security-Policy"] != httpx.ContentSecurityPolicy || h["X-Frame-Options"] != "DENY" || h["Cache-Control"] != "no-store" {
			t.Errorf("headers: %v", h)
		}
		c.Screenshot("login")
		b.Open("/login")
		if w := servertest.Run(b, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > servertest.PhoneWidth {
			t.Errorf("the login page is %d px wide on a %d px phone", w, servertest.PhoneWidth)
		}
		b.Screenshot("login-phone")
	})

	t.Run("WrongPassword", func(t *testing.T) {
		c.Open("/login")
		resp := c.SignIn("ada@example.com", "not-the-password")
		c.WantPage(resp, http.StatusUnauthorized, "/login", "Email or password is wrong.")
		if got := servertest.Run(c, chromedp.Value(chromedp.CSS("#password"))); got != "" {
			t.Error("the password field kept a value")
		}
		c.Screenshot("login-error")
	})

	t.Run("Throttled", func(t *testing.T) {
		c.Open("/login")
		for range 3 {
			c.WantPage(c.SignIn("grace@example.com", "not-the-password"), http.StatusUnauthorized, "/login", "Email or password is wrong.")
		}
		resp := c.SignIn("grace@example.com", servertest.Password) // the right one waits too
		c.WantPage(resp, http.StatusTooManyRequests, "/login", "")
		if msg := c.Text("#login-error"); !regexp.MustCompile(`^Too many attempts, try again in \d+ s\.$`).MatchString(msg) {
			t.Errorf("message %q", msg)
		}
	})

	t.Run("SignIn", func(t *testing.T) {
		resp := a.Open("/account")
		a.WantPage(resp, 200, "/login", "Sign in")
		if got := a.URL().Query().Get("return_to"); got != "/account" {
			t.Errorf("return_to %q", got)
		}
		a.WantPage(a.SignIn("ada@example.com", servertest.Password), 200, "/account", "Signed in as ada@example.com")
		ck := a.SessionCookie()
		if ck == nil || !ck.Secure || !ck.HTTPOnly || ck.SameSite != network.CookieSameSiteLax || ck.Path != "/" {
			t.Fatalf("the browser's session cookie: %+v", ck)
		}
		if got := a.Text("#devices"); !strings.Contains(got, "Chrome") || !strings.Contains(got, "Linux") || !strings.Contains(got, "This device") {
			t.Errorf("devices:\n%s", got)
		}
	})

	t.Run("SecondDevice", func(t *testing.T) {
		b.Open("/login")
		b.WantPage(b.SignIn("ada@example.com", servertest.Password), 200, "/account", "Signed in as ada@example.com")
		if n := e.Sessions(ada.ID); n != 2 {
			t.Fatalf("%d sessions, want 2", n)
		}
		a.WantPage(a.Open("/account"), 200, "/account", "")
		devices := a.Text("#devices")
		for _, want := range []string{"Safari 18 on iOS", "Chrome", "This device", "127.0.0.1", "Last active"} {
			if !strings.Contains(strings.ToLower(devices), strings.ToLower(want)) { // labels are upper-cased by CSS
				t.Errorf("A's devices lack %q:\n%s", want, devices)
			}
		}
		if w := servertest.Run(b, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > servertest.PhoneWidth {
			t.Errorf("the account page is %d px wide on a %d px phone", w, servertest.PhoneWidth)
		}
		a.Screenshot("account")
		b.Screenshot("account-phone")
		if os.Getenv("TESSERA_SCREENSHOTS") != "" {
			a.SetColorScheme("dark")
			a.Screenshot("account-dark")
			a.SetColorScheme("")
		}
	})

	t.Run("CrossSiteFormRefused", func(t *testing.T) {
		// Another site (cross-site: localhost; same-site: 127.0.0.1 on
		// another port, whose requests carry the SameSite=Lax cookie) with
		// forms aimed at Tessera. No script: the victim clicks.
		evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, `<!doctype html><title>Win a prize</title>
<form method="post" action="%[1]s/account/sessions/revoke-others"><button id="prize">Claim your prize</button></form>
<form method="post" action="%[1]s/account/password"><input type="hidden" name="current_password" value="guess">
<input type="hidden" name="new_password" value="attacker-chosen-1"><input type="hidden" name="confirm_password" value="attacker-chosen-1"><button id="password">Another prize</button></form>
<form method="post" action="%[1]s/login"><input type="hidden" name="email" value="mallory@example.com">
<input type="hidden" name="password" value="%[2]s"><button id="login">Sign in</button></form>`, e.Srv.URL, servertest.Password)
		}))
		defer evil.Close()
		_, port, _ := strings.Cut(strings.TrimPrefix(evil.URL, "http://"), ":")
		before := len(e.Events())
		for _, origin := range []string{"http://localhost:" + port, evil.URL} {
			for _, button := range []string{"#prize", "#password", "#login"} {
				servertest.Run(a, chromedp.NavigateResponse(origin+"/"))
				resp := a.Click(button)
				a.WantPage(resp, http.StatusForbidden, map[string]string{"#prize": "/account/sessions/revoke-others", "#password": "/account/password", "#login": "/login"}[button],
					"This form was sent from another site, so it was refused and nothing was changed.")
			}
		}
		if after := len(e.Events()); after != before {
			t.Errorf("the refused forms appended %d events", after-before)
		}
		if n := e.Sessions(ada.ID); n != 2 {
			t.Errorf("%d sessions, want 2", n)
		}
		a.WantPage(a.Open("/account"), 200, "/account", "Signed in as ada@example.com")
		b.WantPage(b.Open("/account"), 200, "/account", "Signed in as ada@example.com")
	})

	t.Run("SignOutOtherDevices", func(t *testing.T) {
		a.Open("/account")
		a.WantPage(a.Click("#signout-others"), 200, "/account", "All your other devices were signed out.")
		b.WantPage(b.Open("/account"), 200, "/login", "Your session ended. Sign in again to continue.")
		if ck := b.SessionCookie(); ck != nil {
			t.Errorf("B still holds a session cookie: %+v", ck)
		}
		a.WantPage(a.Open("/account"), 200, "/account", "You are not signed in anywhere else.")
	})

	const newPassword = "a-brand-new-horse"
	t.Run("ChangePassword", func(t *testing.T) {
		b.WantPage(b.SignIn("ada@example.com", servertest.Password), 200, "/account", "")
		before := a.SessionCookie()
		a.Open("/account")
		a.Fill("#current_password", servertest.Password)
		a.Fill("#new_password", newPassword)
		a.Fill("#confirm_password", newPassword+"-typo")
		a.WantPage(a.Click("#change-password"), http.StatusBadRequest, "/account/password", "do not match")
		a.Fill("#current_password", servertest.Password)
		a.Fill("#new_password", newPassword)
		a.Fill("#confirm_password", newPassword)
		a.WantPage(a.Click("#change-password"), 200, "/account", "Your password was changed, and your other devices were signed out.")
		if after := a.SessionCookie(); after == nil || after.Value == before.Value {
			t.Error("the session was not re-issued")
		}
		b.WantPage(b.Open("/account"), 200, "/login", "Your session ended.")
		b.WantPage(b.SignIn("ada@example.com", servertest.Password), http.StatusUnauthorized, "/login", "Email or password is wrong.")
		b.WantPage(b.SignIn("ada@example.com", newPassword), 200, "/account", "Signed in as ada@example.com")
	})

	t.Run("AdminRevokes", func(t *testing.T) {
		c.Open("/login")
		c.WantPage(c.SignIn("root@example.com", servertest.Password), 200, "/account", "")
		c.WantPage(c.Open("/admin"), 200, "/admin", "Recent security events")
		for _, want := range []string{"ada@example.com", "margaret@example.com", "Disabled", "Sign-in failed", "Session ended", "Active"} {
			if got := c.Text("main"); !strings.Contains(got, want) {
				t.Errorf("admin page lacks %q", want)
			}
		}
		c.Screenshot("admin")
		c.WantPage(c.Click(fmt.Sprintf(`a[href="/admin/users/%s"]`, ada.ID)), 200, "/admin/users/"+ada.ID, "Sessions")
		list, err := e.Svc.Sessions(ctx, ada.ID)
		if err != nil {
			t.Fatal(err)
		}
		var phone string
		for _, s := range list {
			if strings.Contains(s.LastUA, "iPhone") {
				phone = s.ID
			}
		}
		if phone == "" {
			t.Fatalf("no phone session among %d", len(list))
		}
		c.Screenshot("admin-user")
		c.WantPage(c.Click("#revoke-"+phone), 200, "/admin/users/"+ada.ID, "The session was ended.")
		b.WantPage(b.Open("/account"), 200, "/login", "Your session ended.")
		a.WantPage(a.Open("/account"), 200, "/account", "Signed in as ada@example.com")
		c.WantPage(c.Open("/admin"), 200, "/admin", "admin")

		// Ada is no admin.
		a.WantPage(a.Open("/admin"), http.StatusForbidden, "/admin", "This page is for administrators.")
	})

	t.Run("OpenRedirect", func(t *testing.T) {
		// B is signed out. Each return_to that would leave the origin
		// lands on /account after sign-in.
		for _, target := range []string{
			"return_to=" + url.QueryEscape("//evil.example"),
			"return_to=" + url.QueryEscape(`/\evil.example`),
			"return_to=" + url.QueryEscape("https://evil.example"),
			"return_to=/%2F%2Fevil.example",
			"return_to=%2F%252F%252Fevil.example",
			"return_to=" + url.QueryEscape("javascript:alert(1)"),
			"return_to=%2Faccount%0D%0ALocation:%20https://evil.example",
			"return_to=" + url.QueryEscape("/\t/evil.example"),
		} {
			b.Open("/login?" + target)
			b.WantPage(b.SignIn("ada@example.com", newPassword), 200, "/account", "Signed in as ada@example.com")
			b.Click(".site-signout button")
			b.WantPage(b.Open("/login"), 200, "/login", "")
		}
		// A same-origin path is honoured.
		b.Open("/login?return_to=" + url.QueryEscape("/account#password"))
		b.SignIn("ada@example.com", newPassword)
		if u := b.URL(); u.Path != "/account" || u.Fragment != "password" {
			t.Errorf("at %s", u)
		}
		// Signed in, GET /login goes straight on, by the same rule.
		b.WantPage(b.Open("/login?return_to="+url.QueryEscape("//evil.example")), 200, "/account", "")
	})

	t.Run("SignOut", func(t *testing.T) {
		b.WantPage(b.Click(".site-signout button"), 200, "/login", "You signed out.")
		b.WantPage(b.Open("/account"), 200, "/login", "")
	})
}
