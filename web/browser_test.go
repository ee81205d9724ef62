package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/httpapi"
	"github.com/tessera-auth/tessera/web"
)

// The end-to-end tests drive a real headless Chromium (Debian's chromium
// package) against the real server on loopback. Without Chromium they skip,
// except under CI, where they fail. TESSERA_CHROMIUM names another binary.
//
// TESSERA_SCREENSHOTS=DIR saves a PNG of each page in DIR ("1" means
// web/testdata/screenshots); the README's come from
//
//	TESSERA_SCREENSHOTS=$PWD/docs/screenshots go test ./web -run TestBrowser

// Browser identities: device A is the Chromium as it is (desktop Linux),
// device B says it is Safari on an iPhone and has a phone's screen.
const (
	uaPhone      = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
	actionWait   = 30 * time.Second
	phoneWidth   = 390
	phoneHeight  = 844
	screenWidth  = 1280
	screenHeight = 860
)

func chromiumPath(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("browser tests skipped in -short mode")
	}
	for _, name := range []string{os.Getenv("TESSERA_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const msg = "Chromium is not installed, so the browser tests cannot run; install it with `apt-get install chromium` (or set TESSERA_CHROMIUM to a Chrome binary)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// browser is one browser with its own profile: one device.
type browser struct {
	t    *testing.T
	name string
	ctx  context.Context
	base string // the server's URL
}

func newBrowser(t *testing.T, name, base, userAgent string, phone bool) *browser {
	t.Helper()
	exe := chromiumPath(t)
	profile := t.TempDir() // removed after the browser has exited (cleanups run last-in first-out)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox, // running as root in a container
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints,AutofillServerCommunication,PasswordLeakDetection"),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(screenWidth, screenHeight),
	}
	if userAgent != "" {
		opts = append(opts, chromedp.UserAgent(userAgent))
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	t.Cleanup(func() { cancel(); acancel() })
	b := &browser{t: t, name: name, ctx: ctx, base: base}
	if err := chromedp.Do(ctx); err != nil { // starts the browser, bound to ctx (no timeout)
		t.Fatalf("starting %s: %v", exe, err)
	}
	if phone {
		b.do(chromedp.EmulateViewport(phoneWidth, phoneHeight, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch))
	} else {
		b.do(chromedp.EmulateViewport(screenWidth, screenHeight))
	}
	return b
}

func (b *browser) fatalf(format string, args ...any) {
	b.t.Helper()
	b.t.Fatalf("%s: %s", b.name, fmt.Sprintf(format, args...))
}

func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionWait)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fatalf("%v", err)
	}
}

func run[T any](b *browser, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionWait)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.fatalf("%v", err)
	}
	return v
}

// open navigates to path on the server and returns the response of the
// page that finally loads (after redirects).
func (b *browser) open(path string) *network.Response {
	b.t.Helper()
	return run(b, chromedp.NavigateResponse(b.base+path))
}

// click clicks what sel selects and waits for the page it loads.
func (b *browser) click(sel string) *network.Response {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionWait)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		b.fatalf("click %s: %v", sel, err)
	}
	return resp
}

// fill types value into the field sel, replacing what it held.
func (b *browser) fill(sel, value string) {
	b.t.Helper()
	b.do(chromedp.Clear(chromedp.CSS(sel)), chromedp.SendKeys(chromedp.CSS(sel), value))
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	return run(b, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
}

// url is where the browser is now.
func (b *browser) url() *url.URL {
	b.t.Helper()
	u, err := url.Parse(run(b, chromedp.Location()))
	if err != nil {
		b.fatalf("%v", err)
	}
	return u
}

// wantPage checks that the page loaded with status at path and that its
// main content says want.
func (b *browser) wantPage(resp *network.Response, status int, path, want string) {
	b.t.Helper()
	u := b.url()
	if resp == nil || int(resp.Status) != status || u.Host != strings.TrimPrefix(b.base, "http://") || u.Path != path {
		got := 0
		if resp != nil {
			got = int(resp.Status)
		}
		b.fatalf("at %s with status %d, want %s%s with %d; page says:\n%s", u, got, b.base, path, status, b.text("main"))
	}
	if want != "" {
		if got := b.text("main"); !strings.Contains(got, want) {
			b.fatalf("%s does not say %q; it says:\n%s", path, want, got)
		}
	}
}

// signIn fills the sign-in form that is open and sends it.
func (b *browser) signIn(email, password string) *network.Response {
	b.t.Helper()
	b.fill("#email", email)
	b.fill("#password", password)
	return b.click(`form[action="/login"] button[type="submit"]`)
}

// sessionCookie is the browser's session cookie for the server, or nil.
func (b *browser) sessionCookie() *network.Cookie {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionWait)
	defer cancel()
	res, err := chromedp.CallBrowser(ctx, storage.GetCookies, storage.GetCookiesParams{})
	if err != nil {
		b.fatalf("reading cookies: %v", err)
	}
	for _, c := range res.Cookies {
		if c.Name == httpapi.CookieName {
			return c
		}
	}
	return nil
}

// screenshot saves a PNG of the whole page when TESSERA_SCREENSHOTS is set.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	dir := os.Getenv("TESSERA_SCREENSHOTS")
	if dir == "" {
		return
	}
	if dir == "1" {
		dir = filepath.Join("testdata", "screenshots")
	}
	shot := run(b, chromedp.FullScreenshot(100))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s (%d KB)", path, len(shot)>>10)
}

// setColorScheme emulates prefers-color-scheme ("dark", "light", or "" for
// the default).
func (b *browser) setColorScheme(scheme string) {
	b.t.Helper()
	p := emulation.SetEmulatedMediaParams{}
	if scheme != "" {
		p.Features = []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}
	}
	ctx, cancel := context.WithTimeout(b.ctx, actionWait)
	defer cancel()
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, p); err != nil {
		b.fatalf("emulating %q: %v", scheme, err)
	}
}

// TestBrowser runs the pages in Chromium, as people use them: three
// browsers (Ada's computer A and phone B, and the admin's computer C) against
// one server. The steps depend on each other and run in order.
func TestBrowser(t *testing.T) {
	chromiumPath(t)
	e := newEnv(t, realTime, func(a *auth.Config, _ *httpapi.Config, _ *web.Config) {
		a.AccountBurst = 3  // the fourth failure in a row is throttled
		a.IPBurst = 1 << 20 // every browser is 127.0.0.1
	})
	ctx := context.Background()
	mustUser(t, e.svc, "root@example.com", pw, "admin")
	ada := mustUser(t, e.svc, "ada@example.com", pw, "ops")
	mustUser(t, e.svc, "grace@example.com", pw, "ops", "billing")
	mustUser(t, e.svc, "linus@example.com", pw)
	mustUser(t, e.svc, "mallory@example.com", pw)
	margaret := mustUser(t, e.svc, "margaret@example.com", pw)
	if _, err := e.svc.SetDisabled(ctx, margaret.ID, true); err != nil {
		t.Fatal(err)
	}

	// Chromium offers 127.0.0.1 as a secure context: it keeps the
	// __Host- Secure cookie over plain HTTP there (checked below).
	a := newBrowser(t, "A", e.srv.URL, "", false)
	b := newBrowser(t, "B", e.srv.URL, uaPhone, true)
	c := newBrowser(t, "C", e.srv.URL, "", false)

	t.Run("LoginPage", func(t *testing.T) {
		resp := c.open("/login")
		c.wantPage(resp, 200, "/login", "Sign in")
		h := resp.Headers
		if h["Content-Security-Policy"] != web.ContentSecurityPolicy || h["X-Frame-Options"] != "DENY" || h["Cache-Control"] != "no-store" {
			t.Errorf("headers: %v", h)
		}
		c.screenshot("login")
		b.open("/login")
		if w := run(b, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > phoneWidth {
			t.Errorf("the login page is %d px wide on a %d px phone", w, phoneWidth)
		}
		b.screenshot("login-phone")
	})

	t.Run("WrongPassword", func(t *testing.T) {
		c.open("/login")
		resp := c.signIn("ada@example.com", "not-the-password")
		c.wantPage(resp, http.StatusUnauthorized, "/login", "Email or password is wrong.")
		if got := run(c, chromedp.Value(chromedp.CSS("#password"))); got != "" {
			t.Error("the password field kept a value")
		}
		c.screenshot("login-error")
	})

	t.Run("Throttled", func(t *testing.T) {
		c.open("/login")
		for range 3 {
			c.wantPage(c.signIn("grace@example.com", "not-the-password"), http.StatusUnauthorized, "/login", "Email or password is wrong.")
		}
		resp := c.signIn("grace@example.com", pw) // the right one waits too
		c.wantPage(resp, http.StatusTooManyRequests, "/login", "")
		if msg := c.text("#login-error"); !regexp.MustCompile(`^Too many attempts, try again in \d+ s\.$`).MatchString(msg) {
			t.Errorf("message %q", msg)
		}
	})

	t.Run("SignIn", func(t *testing.T) {
		resp := a.open("/account")
		a.wantPage(resp, 200, "/login", "Sign in")
		if got := a.url().Query().Get("return_to"); got != "/account" {
			t.Errorf("return_to %q", got)
		}
		a.wantPage(a.signIn("ada@example.com", pw), 200, "/account", "Signed in as ada@example.com")
		ck := a.sessionCookie()
		if ck == nil || !ck.Secure || !ck.HTTPOnly || ck.SameSite != network.CookieSameSiteLax || ck.Path != "/" {
			t.Fatalf("the browser's session cookie: %+v", ck)
		}
		if got := a.text("#devices"); !strings.Contains(got, "Chrome") || !strings.Contains(got, "Linux") || !strings.Contains(got, "This device") {
			t.Errorf("devices:\n%s", got)
		}
	})

	t.Run("SecondDevice", func(t *testing.T) {
		b.open("/login")
		b.wantPage(b.signIn("ada@example.com", pw), 200, "/account", "Signed in as ada@example.com")
		if n := e.sessions(ada.ID); n != 2 {
			t.Fatalf("%d sessions, want 2", n)
		}
		a.wantPage(a.open("/account"), 200, "/account", "")
		devices := a.text("#devices")
		for _, want := range []string{"Safari 18 on iOS", "Chrome", "This device", "127.0.0.1", "Last active"} {
			if !strings.Contains(strings.ToLower(devices), strings.ToLower(want)) { // labels are upper-cased by CSS
				t.Errorf("A's devices lack %q:\n%s", want, devices)
			}
		}
		if w := run(b, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > phoneWidth {
			t.Errorf("the account page is %d px wide on a %d px phone", w, phoneWidth)
		}
		a.screenshot("account")
		b.screenshot("account-phone")
		if os.Getenv("TESSERA_SCREENSHOTS") != "" {
			a.setColorScheme("dark")
			a.screenshot("account-dark")
			a.setColorScheme("")
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
<input type="hidden" name="password" value="%[2]s"><button id="login">Sign in</button></form>`, e.srv.URL, pw)
		}))
		defer evil.Close()
		_, port, _ := strings.Cut(strings.TrimPrefix(evil.URL, "http://"), ":")
		before := len(e.events())
		for _, origin := range []string{"http://localhost:" + port, evil.URL} {
			for _, button := range []string{"#prize", "#password", "#login"} {
				run(a, chromedp.NavigateResponse(origin+"/"))
				resp := a.click(button)
				a.wantPage(resp, http.StatusForbidden, map[string]string{"#prize": "/account/sessions/revoke-others", "#password": "/account/password", "#login": "/login"}[button],
					"This form was sent from another site, so it was refused and nothing was changed.")
			}
		}
		if after := len(e.events()); after != before {
			t.Errorf("the refused forms appended %d events", after-before)
		}
		if n := e.sessions(ada.ID); n != 2 {
			t.Errorf("%d sessions, want 2", n)
		}
		a.wantPage(a.open("/account"), 200, "/account", "Signed in as ada@example.com")
		b.wantPage(b.open("/account"), 200, "/account", "Signed in as ada@example.com")
	})

	t.Run("SignOutOtherDevices", func(t *testing.T) {
		a.open("/account")
		a.wantPage(a.click("#signout-others"), 200, "/account", "All your other devices were signed out.")
		b.wantPage(b.open("/account"), 200, "/login", "Your session ended. Sign in again to continue.")
		if ck := b.sessionCookie(); ck != nil {
			t.Errorf("B still holds a session cookie: %+v", ck)
		}
		a.wantPage(a.open("/account"), 200, "/account", "You are not signed in anywhere else.")
	})

	const newPassword = "a-brand-new-horse"
	t.Run("ChangePassword", func(t *testing.T) {
		b.wantPage(b.signIn("ada@example.com", pw), 200, "/account", "")
		before := a.sessionCookie()
		a.open("/account")
		a.fill("#current_password", pw)
		a.fill("#new_password", newPassword)
		a.fill("#confirm_password", newPassword+"-typo")
		a.wantPage(a.click("#change-password"), http.StatusBadRequest, "/account/password", "do not match")
		a.fill("#current_password", pw)
		a.fill("#new_password", newPassword)
		a.fill("#confirm_password", newPassword)
		a.wantPage(a.click("#change-password"), 200, "/account", "Your password was changed, and your other devices were signed out.")
		if after := a.sessionCookie(); after == nil || after.Value == before.Value {
			t.Error("the session was not re-issued")
		}
		b.wantPage(b.open("/account"), 200, "/login", "Your session ended.")
		b.wantPage(b.signIn("ada@example.com", pw), http.StatusUnauthorized, "/login", "Email or password is wrong.")
		b.wantPage(b.signIn("ada@example.com", newPassword), 200, "/account", "Signed in as ada@example.com")
	})

	t.Run("AdminRevokes", func(t *testing.T) {
		c.open("/login")
		c.wantPage(c.signIn("root@example.com", pw), 200, "/account", "")
		c.wantPage(c.open("/admin"), 200, "/admin", "Recent security events")
		for _, want := range []string{"ada@example.com", "margaret@example.com", "Disabled", "Sign-in failed", "Session ended", "Active"} {
			if got := c.text("main"); !strings.Contains(got, want) {
				t.Errorf("admin page lacks %q", want)
			}
		}
		c.screenshot("admin")
		c.wantPage(c.click(fmt.Sprintf(`a[href="/admin/users/%s"]`, ada.ID)), 200, "/admin/users/"+ada.ID, "Sessions")
		list, err := e.svc.Sessions(ctx, ada.ID)
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
		c.screenshot("admin-user")
		c.wantPage(c.click("#revoke-"+phone), 200, "/admin/users/"+ada.ID, "The session was ended.")
		b.wantPage(b.open("/account"), 200, "/login", "Your session ended.")
		a.wantPage(a.open("/account"), 200, "/account", "Signed in as ada@example.com")
		c.wantPage(c.open("/admin"), 200, "/admin", "admin")

		// Ada is no admin.
		a.wantPage(a.open("/admin"), http.StatusForbidden, "/admin", "This page is for administrators.")
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
			b.open("/login?" + target)
			b.wantPage(b.signIn("ada@example.com", newPassword), 200, "/account", "Signed in as ada@example.com")
			b.click(".site-signout button")
			b.wantPage(b.open("/login"), 200, "/login", "")
		}
		// A same-origin path is honoured.
		b.open("/login?return_to=" + url.QueryEscape("/account#password"))
		b.signIn("ada@example.com", newPassword)
		if u := b.url(); u.Path != "/account" || u.Fragment != "password" {
			t.Errorf("at %s", u)
		}
		// Signed in, GET /login goes straight on, by the same rule.
		b.wantPage(b.open("/login?return_to="+url.QueryEscape("//evil.example")), 200, "/account", "")
	})

	t.Run("SignOut", func(t *testing.T) {
		b.wantPage(b.click(".site-signout button"), 200, "/login", "You signed out.")
		b.wantPage(b.open("/account"), 200, "/login", "")
	})
}
