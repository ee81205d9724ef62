package servertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"

	"github.com/tessera-auth/tessera/server/httpx"
)

// The browser tests drive a real headless Chromium (Debian's chromium
// package) against the real server on loopback. Without Chromium they skip,
// except under CI, where they fail. TESSERA_CHROMIUM names another binary.
//
// TESSERA_SCREENSHOTS=DIR saves a PNG of each page in DIR ("1" means the
// test package's testdata/screenshots); the README's come from
//
//	TESSERA_SCREENSHOTS=$PWD/docs/screenshots go test ./server -run TestBrowser

// User agents of devices the tests pretend to be.
const (
	UAWindowsChrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	UAPhone         = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1" // Safari on an iPhone
)

const (
	actionWait   = 30 * time.Second
	PhoneWidth   = 390 // the CSS width of NewBrowser's phone
	phoneHeight  = 844
	screenWidth  = 1280
	screenHeight = 860
)

// ChromiumPath finds Chromium, or skips t (fails it under CI) without it.
func ChromiumPath(t testing.TB) string {
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

// Browser is one browser with its own profile: one device.
type Browser struct {
	t    testing.TB
	name string
	ctx  context.Context
	base string // the server's URL
}

// NewBrowser starts a headless Chromium named name (for messages) that
// opens pages of base; with phone, it has a phone's screen.
func NewBrowser(t testing.TB, name, base, userAgent string, phone bool) *Browser {
	t.Helper()
	exe := ChromiumPath(t)
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
	b := &Browser{t: t, name: name, ctx: ctx, base: base}
	if err := chromedp.Do(ctx); err != nil { // starts the browser, bound to ctx (no timeout)
		t.Fatalf("starting %s: %v", exe, err)
	}
	if phone {
		b.Do(chromedp.EmulateViewport(PhoneWidth, phoneHeight, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch))
	} else {
		b.Do(chromedp.EmulateViewport(screenWidth, screenHeight))
	}
	return b
}

func (b *Browser) Fatalf(format string, args ...any) {
	b.t.Helper()
	b.t.Fatalf("%s: %s", b.name, fmt.Sprintf(format, args...))
}

func (b *Browser) Do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionWait)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.Fatalf("%v", err)
	}
}

// Run runs a and returns its value, failing the test on error.
func Run[T any](b *Browser, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionWait)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.Fatalf("%v", err)
	}
	return v
}

// Open navigates to path on the server and returns the response of the
// page that finally loads (after redirects).
func (b *Browser) Open(path string) *network.Response {
	b.t.Helper()
	return Run(b, chromedp.NavigateResponse(b.base+path))
}

// Click clicks what sel selects and waits for the page it loads.
func (b *Browser) Click(sel string) *network.Response {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionWait)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		b.Fatalf("click %s: %v", sel, err)
	}
	return resp
}

// Fill types value into the field sel, replacing what it held.
func (b *Browser) Fill(sel, value string) {
	b.t.Helper()
	// Emptied through the value property, not chromedp.Clear: Clear sets the
	// value attribute, and the DOM event that answers it updates chromedp's
	// node while SendKeys reads the node's attributes without its lock (a
	// data race in chromedp v0.23.0 that -race reports).
	q, _ := json.Marshal(sel)
	b.Do(chromedp.WaitVisible(chromedp.CSS(sel)))
	Run(b, chromedp.Evaluate[bool](fmt.Sprintf(`(e => e && (e.value = "", true))(document.querySelector(%s))`, q)))
	b.Do(chromedp.SendKeys(chromedp.CSS(sel), value))
}

func (b *Browser) Text(sel string) string {
	b.t.Helper()
	return Run(b, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
}

// URL is where the browser is now.
func (b *Browser) URL() *url.URL {
	b.t.Helper()
	u, err := url.Parse(Run(b, chromedp.Location()))
	if err != nil {
		b.Fatalf("%v", err)
	}
	return u
}

// WantPage checks that the page loaded with status at path and that its
// main content says want.
func (b *Browser) WantPage(resp *network.Response, status int, path, want string) {
	b.t.Helper()
	u := b.URL()
	if resp == nil || int(resp.Status) != status || u.Host != strings.TrimPrefix(b.base, "http://") || u.Path != path {
		got := 0
		if resp != nil {
			got = int(resp.Status)
		}
		b.Fatalf("at %s with status %d, want %s%s with %d; page says:\n%s", u, got, b.base, path, status, b.Text("main"))
	}
	if want != "" {
		if got := b.Text("main"); !strings.Contains(got, want) {
			b.Fatalf("%s does not say %q; it says:\n%s", path, want, got)
		}
	}
}

// SignIn fills the sign-in form that is open and sends it.
func (b *Browser) SignIn(email, password string) *network.Response {
	b.t.Helper()
	b.Fill("#email", email)
	b.Fill("#password", password)
	return b.Click(`form[action="/login"] button[type="submit"]`)
}

// SessionCookie is the browser's session cookie for the server, or nil.
func (b *Browser) SessionCookie() *network.Cookie {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionWait)
	defer cancel()
	res, err := chromedp.CallBrowser(ctx, storage.GetCookies, storage.GetCookiesParams{})
	if err != nil {
		b.Fatalf("reading cookies: %v", err)
	}
	for _, c := range res.Cookies {
		if c.Name == httpx.CookieName {
			return c
		}
	}
	return nil
}

// Screenshot saves a PNG of the whole page when TESSERA_SCREENSHOTS is set.
func (b *Browser) Screenshot(name string) {
	b.t.Helper()
	dir := os.Getenv("TESSERA_SCREENSHOTS")
	if dir == "" {
		return
	}
	if dir == "1" {
		dir = filepath.Join("testdata", "screenshots")
	}
	shot := Run(b, chromedp.FullScreenshot(100))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s (%d KB)", path, len(shot)>>10)
}

// SetColorScheme emulates prefers-color-scheme ("dark", "light", or "" for
// the default).
func (b *Browser) SetColorScheme(scheme string) {
	b.t.Helper()
	p := emulation.SetEmulatedMediaParams{}
	if scheme != "" {
		p.Features = []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}
	}
	ctx, cancel := context.WithTimeout(b.ctx, actionWait)
	defer cancel()
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, p); err != nil {
		b.Fatalf("emulating %q: %v", scheme, err)
	}
}
