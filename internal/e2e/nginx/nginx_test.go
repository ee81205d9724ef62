// Package nginx drives a real nginx in front of a tiny app, with Tessera's
// GET /v1/authz as its auth_request endpoint, using the configuration in
// deploy/forwardauth/nginx.conf as it ships (with loopback addresses, a
// throwaway certificate and temporary paths swapped in).
//
// nginx must be installed (Debian: apt-get install nginx; its binary has
// the auth_request module). Without it the test is skipped, or fails when
// the environment variable CI is set.
package nginx

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/internal/syncbuf"

	"github.com/tessera-auth/tessera/internal/clock"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/password"
	"github.com/tessera-auth/tessera/server"
	"github.com/tessera-auth/tessera/server/httpx"
	"github.com/tessera-auth/tessera/store/sqlite"
)

// shippedConfig is the configuration under test.
const shippedConfig = "../../../deploy/forwardauth/nginx.conf"

const pw = "correct-horse-battery"

func TestForwardAuth(t *testing.T) {
	bin := nginxBinary(t)
	ts := startTessera(t)
	app := startApp(t)
	px := startNginx(t, bin, ts.addr, app.addr())
	exercise(t, ts, app, px)
}

// exercise walks the whole path through px: Tessera's answers, what reaches
// the app, and what does not.
func exercise(t *testing.T, ts *tessera, app *app, px *proxy) {
	ada := ts.mustUser(t, "ada@example.com", "admin", "dev")
	grace := ts.mustUser(t, "grace@example.com") // no roles

	// denied sends req through nginx and wants status, with the app not
	// called at all.
	denied := func(t *testing.T, req *http.Request, status int) *http.Response {
		t.Helper()
		before := app.hits.Load()
		resp, body := send(t, px.client, req)
		if resp.StatusCode != status {
			t.Fatalf("%s %s: status %d, want %d: %s", req.Method, req.URL.Path, resp.StatusCode, status, body)
		}
		if n := app.hits.Load() - before; n != 0 {
			t.Fatalf("%s %s: the app was called %d times", req.Method, req.URL.Path, n)
		}
		return resp
	}
	// passed sends req through nginx, wants 200 from the app, and returns
	// what the app saw.
	passed := func(t *testing.T, req *http.Request) seen {
		t.Helper()
		resp, body := send(t, px.client, req)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: status %d, want 200: %s", req.Method, req.URL.Path, resp.StatusCode, body)
		}
		var s seen
		if err := json.Unmarshal(body, &s); err != nil {
			t.Fatalf("%s %s: not the app's answer: %v: %s", req.Method, req.URL.Path, err, body)
		}
		return s
	}
	// identity is what the app must see for a principal: exactly these
	// X-Tessera-* headers, each once.
	identity := func(u *auth.User, sid string) map[string][]string {
		m := map[string][]string{
			"X-Tessera-Subject": {u.ID},
			"X-Tessera-Session": {sid},
			"X-Tessera-Email":   {u.Email},
		}
		if len(u.Roles) > 0 {
			m["X-Tessera-Roles"] = []string{strings.Join(u.Roles, ",")}
		}
		return m
	}
	wantIdentity := func(t *testing.T, s seen, want map[string][]string) {
		t.Helper()
		if !maps.EqualFunc(s.Tessera, want, slices.Equal) {
			t.Fatalf("the app saw X-Tessera-* headers %v, want %v", s.Tessera, want)
		}
	}

	t.Run("NoCredential", func(t *testing.T) {
		denied(t, px.req(t, "GET", "/api/orders", nil), http.StatusUnauthorized)
		r := px.req(t, "GET", "/api/orders", nil)
		r.Header.Set("X-Tessera-Subject", ada.ID)
		r.Header.Set("X-Tessera-Roles", "admin")
		denied(t, r, http.StatusUnauthorized)
		r = px.req(t, "GET", "/api/orders", nil)
		r.Header.Set("Authorization", "Bearer not-a-token")
		denied(t, r, http.StatusUnauthorized)
		r = px.req(t, "GET", "/api/orders", nil)
		r.Header.Set("Cookie", httpx.CookieName+"=not-a-session")
		denied(t, r, http.StatusUnauthorized)

		// A page sends the browser to sign in, and back afterwards.
		resp := denied(t, px.req(t, "GET", "/reports?week=12", nil), http.StatusFound)
		if loc := resp.Header.Get("Location"); loc != "/login?return_to=/reports?week=12" {
			t.Fatalf("Location %q", loc)
		}
	})

	t.Run("SignInPageThroughProxy", func(t *testing.T) {
		resp, body := send(t, px.client, px.req(t, "GET", "/login?return_to=/reports?week=12", nil))
		if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("Sign in")) {
			t.Fatalf("GET /login: %d %s", resp.StatusCode, body)
		}
		form := url.Values{"email": {"ada@example.com"}, "password": {pw}, "return_to": {"/reports?week=12"}}
		r := px.req(t, "POST", "/login", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Origin", px.origin)
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, body = send(t, px.client, r)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/reports?week=12" {
			t.Fatalf("POST /login: %d %v %s", resp.StatusCode, resp.Header, body)
		}
		c := sessionCookie(resp)
		if c == "" {
			t.Fatalf("POST /login set no session cookie: %v", resp.Header["Set-Cookie"])
		}
		r = px.req(t, "GET", "/reports?week=12", nil)
		withCookie(r, c)
		s := passed(t, r)
		if s.URI != "/reports?week=12" || s.subject() != ada.ID {
			t.Fatalf("the app saw %+v", s)
		}
	})

	cookie, sid := ts.login(t, "ada@example.com")

	t.Run("Cookie", func(t *testing.T) {
		r := px.req(t, "GET", "/api/orders", nil)
		withCookie(r, cookie)
		s := passed(t, r)
		wantIdentity(t, s, identity(ada, sid))
		if s.Method != "GET" || s.URI != "/api/orders" {
			t.Fatalf("the app saw %+v", s)
		}
		r = px.req(t, "GET", "/reports", nil)
		withCookie(r, cookie)
		wantIdentity(t, passed(t, r), identity(ada, sid))
	})

	t.Run("ForgedHeadersAreReplaced", func(t *testing.T) {
		forge := func(r *http.Request) {
			r.Header.Add("X-Tessera-Subject", "someone-else")
			r.Header.Add("X-Tessera-Subject", "someone-else-again")
			r.Header.Set("X-Tessera-Session", "forged")
			r.Header.Set("X-Tessera-Email", "mallory@example.com")
			r.Header.Set("X-Tessera-Roles", "superuser")
			r.Header["X-Tessera_Subject"] = []string{"someone-else"} // "_" for "-"
			r.Header["x-tessera-roles"] = []string{"superuser"}      // sent as is
		}
		for _, path := range []string{"/api/orders", "/reports"} {
			r := px.req(t, "GET", path, nil)
			withCookie(r, cookie)
			forge(r)
			wantIdentity(t, passed(t, r), identity(ada, sid))
		}

		// A user without roles: Tessera answers an empty X-Tessera-Roles, so
		// nginx sends none, and the forged one is gone too.
		gc, gsid := ts.login(t, "grace@example.com")
		r := px.req(t, "GET", "/api/orders", nil)
		withCookie(r, gc)
		forge(r)
		wantIdentity(t, passed(t, r), identity(grace, gsid))
	})

	t.Run("Bearer", func(t *testing.T) {
		jwt, jsid := ts.loginTokens(t, "ada@example.com")
		if strings.Count(jwt, ".") != 2 {
			t.Fatalf("access token %q is not a JWT", jwt)
		}
		r := px.req(t, "GET", "/api/orders", nil)
		r.Header.Set("Authorization", "Bearer "+jwt)
		r.Header.Set("X-Tessera-Subject", "someone-else")
		wantIdentity(t, passed(t, r), identity(ada, jsid))

		// A browser never adds an Authorization header by itself, so a
		// bearer request is not CSRF-prone and needs no same-origin proof.
		r = px.req(t, "POST", "/api/orders", strings.NewReader(`{"qty":1}`))
		r.Header.Set("Authorization", "Bearer "+jwt)
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		s := passed(t, r)
		if s.Method != "POST" || s.Body != `{"qty":1}` {
			t.Fatalf("the app saw %+v", s)
		}

		// The session secret itself as a bearer token (a native app).
		secret, ssid := ts.loginSecret(t, "ada@example.com")
		r = px.req(t, "GET", "/api/orders", nil)
		r.Header.Set("Authorization", "Bearer "+secret)
		wantIdentity(t, passed(t, r), identity(ada, ssid))

		// Logging out the JWT's session ends the JWT at the proxy too.
		ts.logout(t, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+jwt) })
		r = px.req(t, "GET", "/api/orders", nil)
		r.Header.Set("Authorization", "Bearer "+jwt)
		denied(t, r, http.StatusUnauthorized)
	})

	t.Run("CrossSite", func(t *testing.T) {
		post := func(method, path string, hdr map[string]string) *http.Request {
			r := px.req(t, method, path, strings.NewReader("qty=1"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			withCookie(r, cookie)
			for k, v := range hdr {
				r.Header.Set(k, v)
			}
			return r
		}
		// Refused: an unsafe method with the cookie, sent from elsewhere.
		for _, tc := range []struct {
			name, method, path string
			hdr                map[string]string
		}{
			{"CrossSitePOST", "POST", "/api/orders", map[string]string{"Sec-Fetch-Site": "cross-site"}},
			{"CrossSitePagePOST", "POST", "/reports", map[string]string{"Sec-Fetch-Site": "cross-site"}},
			{"CrossSiteDELETE", "DELETE", "/api/orders/7", map[string]string{"Sec-Fetch-Site": "cross-site"}},
			{"SameSitePUT", "PUT", "/api/orders/7", map[string]string{"Sec-Fetch-Site": "same-site"}},
			{"ForeignOrigin", "POST", "/api/orders", map[string]string{"Origin": "https://evil.example"}},
			{"OriginOtherPort", "PATCH", "/api/orders/7", map[string]string{"Origin": "https://127.0.0.1:1"}},
			// The client cannot pass its request off as a GET: nginx sets
			// both headers Tessera reads the original method from.
			{"ForgedMethod", "POST", "/api/orders", map[string]string{"Sec-Fetch-Site": "cross-site", "X-Forwarded-Method": "GET", "X-Original-Method": "GET"}},
			// Nor can it claim to be on another host.
			{"ForgedHost", "POST", "/api/orders", map[string]string{"Origin": "https://evil.example", "X-Forwarded-Host": "evil.example"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				denied(t, post(tc.method, tc.path, tc.hdr), http.StatusForbidden)
			})
		}

		// Allowed: the same requests from this site, a non-browser client
		// (neither header), and a cross-site GET (a link from elsewhere).
		for _, tc := range []struct {
			name, method string
			hdr          map[string]string
		}{
			{"SameOriginPOST", "POST", map[string]string{"Sec-Fetch-Site": "same-origin"}},
			{"UserTypedPOST", "POST", map[string]string{"Sec-Fetch-Site": "none"}},
			{"MatchingOrigin", "POST", map[string]string{"Origin": px.origin}},
			{"NoBrowserHeaders", "DELETE", nil},
			{"CrossSiteGET", "GET", map[string]string{"Sec-Fetch-Site": "cross-site"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := passed(t, post(tc.method, "/api/orders", tc.hdr))
				wantIdentity(t, s, identity(ada, sid))
				if s.Method != tc.method || s.Body != "qty=1" {
					t.Fatalf("the app saw %+v", s)
				}
			})
		}

		// A chunked body: the auth subrequest goes without it, the app
		// gets all of it.
		t.Run("ChunkedPOST", func(t *testing.T) {
			big := strings.Repeat("0123456789", 20000)
			r := px.req(t, "POST", "/api/upload", io.MultiReader(strings.NewReader(big)))
			withCookie(r, cookie)
			r.Header.Set("Sec-Fetch-Site", "same-origin")
			s := passed(t, r)
			if s.Body != big {
				t.Fatalf("the app got %d bytes of %d", len(s.Body), len(big))
			}
		})
	})

	t.Run("LoginThroughProxy", func(t *testing.T) {
		body := `{"email":"ada@example.com","password":"` + pw + `"}`
		r := px.req(t, "POST", "/v1/login", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		if resp, b := send(t, px.client, r); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("cross-site login: %d %s", resp.StatusCode, b)
		}
		// Tessera sees the browser's Host, port included, which the Origin
		// is compared with.
		r = px.req(t, "POST", "/v1/login", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Origin", px.origin)
		resp, b := send(t, px.client, r)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("login through the proxy: %d %s", resp.StatusCode, b)
		}
		c := sessionCookie(resp)
		r = px.req(t, "GET", "/api/orders", nil)
		withCookie(r, c)
		if s := passed(t, r); s.subject() != ada.ID {
			t.Fatalf("the app saw %+v", s)
		}
	})

	t.Run("Logout", func(t *testing.T) {
		ts.logout(t, func(r *http.Request) { withCookie(r, cookie) })
		r := px.req(t, "GET", "/api/orders", nil)
		withCookie(r, cookie)
		denied(t, r, http.StatusUnauthorized)
		r = px.req(t, "GET", "/reports", nil)
		withCookie(r, cookie)
		denied(t, r, http.StatusFound)
	})
}

// seen is what the app saw of a request.
type seen struct {
	Method string
	URI    string
	Body   string
	// Tessera holds every header whose name, lower-cased and with "_" read
	// as "-", starts with x-tessera-, under the name it came with.
	Tessera map[string][]string
}

func (s seen) subject() string {
	if v := s.Tessera["X-Tessera-Subject"]; len(v) == 1 {
		return v[0]
	}
	return ""
}

type app struct {
	srv  *httptest.Server
	hits atomic.Int64
}

func (a *app) addr() string { return a.srv.Listener.Addr().String() }

// startApp starts the protected app: it answers every request with what it
// saw.
func startApp(t *testing.T) *app {
	a := &app{}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.hits.Add(1)
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s := seen{Method: r.Method, URI: r.RequestURI, Body: string(body), Tessera: map[string][]string{}}
		for k, v := range r.Header {
			if strings.HasPrefix(strings.ReplaceAll(strings.ToLower(k), "_", "-"), "x-tessera-") {
				s.Tessera[k] = v
			}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(s)
	}))
	t.Cleanup(a.srv.Close)
	return a
}

// tessera is a real Tessera server (API and sign-in pages) on loopback.
type tessera struct {
	addr string
	url  string
	svc  *auth.Service
	logs *syncbuf.Buffer
}

func startTessera(t *testing.T) *tessera {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "tessera.db"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ts := &tessera{logs: &syncbuf.Buffer{}}
	log := slog.New(slog.NewTextHandler(ts.logs, nil))
	srv := httptest.NewUnstartedServer(nil)
	ts.addr = srv.Listener.Addr().String()
	ts.url = "http://" + ts.addr
	kek := make([]byte, 32)
	rand.Read(kek)
	hasher := password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 2, 0)
	ts.svc = auth.NewService(db, hasher, auth.Config{Logger: log, Tokens: auth.TokenConfig{Issuer: ts.url, KEK: kek},
		Now: clock.NewShifted(clock.Epoch(t)).Now}) // years from today: a wall-clock expiry fails here
	if err := ts.svc.LoadKeys(ctx); err != nil {
		t.Fatal(err)
	}
	// nginx is the trusted proxy whose X-Forwarded-For names the client.
	trusted := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	api := server.New(ts.svc, server.Config{Logger: log, TrustedProxies: trusted})
	srv.Config.Handler = api
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("Tessera's log:\n%s", ts.logs.String())
		}
	})
	return ts
}

func (ts *tessera) mustUser(t *testing.T, email string, roles ...string) *auth.User {
	t.Helper()
	u, err := ts.svc.CreateUser(context.Background(), auth.NewUser{Email: email, Password: pw, Roles: roles})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// postLogin calls Tessera's POST /v1/login directly with fields added to
// the email and password, wants 200, and returns the response and its JSON.
func (ts *tessera) postLogin(t *testing.T, email string, fields map[string]any) (*http.Response, map[string]any) {
	t.Helper()
	body := map[string]any{"email": email, "password": pw}
	maps.Copy(body, fields)
	b, _ := json.Marshal(body)
	r, err := http.NewRequest("POST", ts.url+"/v1/login", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/json")
	resp, rb := send(t, http.DefaultClient, r)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login %s %v: %d %s", email, fields, resp.StatusCode, rb)
	}
	var out map[string]any
	if err := json.Unmarshal(rb, &out); err != nil {
		t.Fatal(err)
	}
	return resp, out
}

func sessionID(t *testing.T, out map[string]any) string {
	t.Helper()
	s, _ := out["session"].(map[string]any)
	sid, _ := s["sid"].(string)
	if sid == "" {
		t.Fatalf("login answered no session ID: %v", out)
	}
	return sid
}

// login signs in with a cookie and returns its value and the session ID.
func (ts *tessera) login(t *testing.T, email string) (cookie, sid string) {
	t.Helper()
	resp, out := ts.postLogin(t, email, nil)
	cookie = sessionCookie(resp)
	if cookie == "" {
		t.Fatalf("login set no session cookie: %v", resp.Header["Set-Cookie"])
	}
	return cookie, sessionID(t, out)
}

// loginTokens signs in in token mode and returns the access token (a JWT)
// and the session ID.
func (ts *tessera) loginTokens(t *testing.T, email string) (jwt, sid string) {
	t.Helper()
	_, out := ts.postLogin(t, email, map[string]any{"mode": "token"})
	jwt, _ = out["access_token"].(string)
	if jwt == "" {
		t.Fatalf("token login answered no access token: %v", out)
	}
	return jwt, sessionID(t, out)
}

// loginSecret signs in without a cookie and returns the session secret and
// the session ID.
func (ts *tessera) loginSecret(t *testing.T, email string) (secret, sid string) {
	t.Helper()
	_, out := ts.postLogin(t, email, map[string]any{"cookie": false})
	secret, _ = out["session_token"].(string)
	if secret == "" {
		t.Fatalf("login answered no session token: %v", out)
	}
	return secret, sessionID(t, out)
}

// logout calls Tessera's POST /v1/logout directly, with the credential
// that cred adds.
func (ts *tessera) logout(t *testing.T, cred func(*http.Request)) {
	t.Helper()
	r, err := http.NewRequest("POST", ts.url+"/v1/logout", nil)
	if err != nil {
		t.Fatal(err)
	}
	cred(r)
	if resp, b := send(t, http.DefaultClient, r); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d %s", resp.StatusCode, b)
	}
}

func sessionCookie(resp *http.Response) string {
	for _, c := range resp.Cookies() {
		if c.Name == httpx.CookieName && c.Value != "" {
			return c.Value
		}
	}
	return ""
}

func withCookie(r *http.Request, value string) {
	r.Header.Set("Cookie", httpx.CookieName+"="+value)
}

// send does r and reads the whole answer.
func send(t *testing.T, c *http.Client, r *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := c.Do(r)
	if err != nil {
		t.Fatalf("%s %s: %v", r.Method, r.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", r.Method, r.URL, err)
	}
	return resp, b
}

// nginxBinary finds nginx with the auth_request module, or skips the test
// (fails it under CI).
func nginxBinary(t *testing.T) string {
	t.Helper()
	unavailable := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...) + "; install it with: apt-get install nginx"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	bin, err := exec.LookPath("nginx")
	if err != nil {
		// /usr/sbin is not on every user's PATH.
		bin = "/usr/sbin/nginx"
		if _, err := os.Stat(bin); err != nil {
			unavailable("nginx is not installed")
		}
	}
	out, err := exec.Command(bin, "-V").CombinedOutput()
	if err != nil {
		unavailable("%s -V: %v: %s", bin, err, out)
	}
	if !bytes.Contains(out, []byte("--with-http_auth_request_module")) {
		unavailable("%s was built without the auth_request module", bin)
	}
	return bin
}

// proxy is nginx running the shipped configuration.
type proxy struct {
	origin string // https://127.0.0.1:port
	client *http.Client
}

// req is a request to path through nginx.
func (px *proxy) req(t *testing.T, method, path string, body io.Reader) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, px.origin+path, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// startNginx runs nginx in the foreground, as a single process, with the
// shipped configuration pointed at tessera and app.
func startNginx(t *testing.T, bin, tessera, app string) *proxy {
	t.Helper()
	shipped, err := os.ReadFile(shippedConfig)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certPEM := writeCert(t, dir)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	px := &proxy{client: &http.Client{
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		// The redirects are what is under test.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}}
	t.Cleanup(px.client.CloseIdleConnections)

	// A free port can be taken between choosing it and nginx binding it:
	// try a few.
	var lastErr error
	for range 5 {
		port := freePort(t)
		conf := configure(t, string(shipped), dir, port, tessera, app)
		confPath := filepath.Join(dir, "nginx.conf")
		if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		if lastErr = runNginx(t, bin, dir, confPath, port); lastErr == nil {
			px.origin = "https://127.0.0.1:" + strconv.Itoa(port)
			return px
		}
		if !strings.Contains(lastErr.Error(), "Address already in use") {
			break
		}
	}
	t.Fatal(lastErr)
	return nil
}

// configure turns the shipped configuration into one for this test. Each
// string replaced must occur exactly once: if the shipped file changes,
// this fails rather than test something else.
func configure(t *testing.T, shipped, dir string, port int, tessera, app string) string {
	t.Helper()
	p := func(name string) string { return filepath.Join(dir, name) }
	temps := ""
	for _, d := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		temps += fmt.Sprintf("\n    %s_temp_path %s;", d, p(d+"_temp"))
	}
	conf := shipped
	for _, r := range [][2]string{
		{"user www-data;\n", ""}, // one process, run as whoever runs the test
		{"pid /run/nginx.pid;", "pid " + p("nginx.pid") + ";"},
		{"error_log /var/log/nginx/error.log;", "error_log " + p("error.log") + " warn;"},
		{"access_log /var/log/nginx/access.log;", "access_log " + p("access.log") + ";"},
		{"http {", "http {" + temps},
		{"server 127.0.0.1:8080;", "server " + tessera + ";"},
		{"server 127.0.0.1:3000;", "server " + app + ";"},
		{"listen 443 ssl;", fmt.Sprintf("listen 127.0.0.1:%d ssl;", port)},
		{"/etc/ssl/certs/app.example.com.pem", p("cert.pem")},
		{"/etc/ssl/private/app.example.com.key", p("key.pem")},
	} {
		if n := strings.Count(conf, r[0]); n != 1 {
			t.Fatalf("%s has %q %d times, want once: update configure", shippedConfig, r[0], n)
		}
		conf = strings.Replace(conf, r[0], r[1], 1)
	}
	return conf
}

// runNginx starts nginx and waits until it accepts connections on port. It
// is stopped when the test ends.
func runNginx(t *testing.T, bin, dir, conf string, port int) error {
	t.Helper()
	var out syncbuf.Buffer
	cmd := exec.Command(bin, "-p", dir+"/", "-c", conf, "-e", filepath.Join(dir, "startup.log"),
		"-g", "daemon off; master_process off;")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting nginx: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	logs := func() string {
		var b strings.Builder
		b.WriteString(out.String())
		for _, name := range []string{"startup.log", "error.log"} {
			if data, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
				b.Write(data)
			}
		}
		return b.String()
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("nginx exited (%v): %s", err, logs())
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-exited
			return errors.New("nginx did not start listening within 15s: " + logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("nginx's log:\n%s", logs())
		}
	})
	return nil
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// writeCert writes a throwaway self-signed certificate for 127.0.0.1 and
// its key to dir (cert.pem, key.pem) and returns the certificate.
func writeCert(t *testing.T, dir string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "app.example.com"},
		DNSNames:              []string{"app.example.com"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPEM
}
