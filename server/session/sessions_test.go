package session_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/secret"
	"github.com/tessera-auth/tessera/server"
	"github.com/tessera-auth/tessera/server/httpx"
	"github.com/tessera-auth/tessera/server/servertest"
)

const pw = "correct-horse-battery"

func TestLoginSetsHostCookie(t *testing.T) {
	e := servertest.New(t)
	e.MustUser("ada@example.com", servertest.Password)
	r := e.Do(servertest.Request{Method: "POST", Path: "/v1/login", JSON: map[string]string{"email": "Ada@Example.com", "password": servertest.Password, "mode": "session"}})
	if r.StatusCode != 200 {
		t.Fatalf("status %d: %s", r.StatusCode, r.Body)
	}
	c := r.SessionCookie()
	switch {
	case c == nil:
		t.Fatal("no session cookie")
	case c.Name != "__Host-tessera_session":
		t.Errorf("cookie name %q", c.Name)
	case !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "":
		t.Errorf("cookie attributes: %+v", c)
	}
	raw := r.Header.Get("Set-Cookie")
	if strings.Contains(strings.ToLower(raw), "domain=") {
		t.Errorf("Set-Cookie has a Domain: %s", raw)
	}
	if c.MaxAge <= 0 || time.Duration(c.MaxAge)*time.Second > 30*24*time.Hour+time.Minute {
		t.Errorf("cookie Max-Age %d exceeds the absolute timeout", c.MaxAge)
	}
	if len(raw) > 4096 {
		t.Errorf("cookie is %d bytes", len(raw))
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", r.Header.Get("Cache-Control"))
	}
	if _, err := secret.Parse(c.Value); err != nil {
		t.Fatalf("cookie value is not a 256-bit base64url secret: %v", err)
	}
	if e.SessionStatus(c.Value) != 200 {
		t.Fatal("new session not accepted")
	}
}

func TestInsecureCookieSetting(t *testing.T) {
	e := servertest.New(t, func(_ *auth.Config, h *server.Config) { h.InsecureCookie = true })
	e.MustUser("ada@example.com", servertest.Password)
	r := e.Do(servertest.Request{Method: "POST", Path: "/v1/login", JSON: map[string]string{"email": "ada@example.com", "password": servertest.Password}})
	c := r.SessionCookie()
	if c == nil || c.Name != httpx.InsecureCookieName || c.Secure || !c.HttpOnly {
		t.Fatalf("insecure cookie: %+v", c)
	}
}

func TestOnlySecretHashIsStored(t *testing.T) {
	e := servertest.New(t)
	e.MustUser("ada@example.com", servertest.Password)
	cookie := e.Login("ada@example.com", servertest.Password)
	tok, _ := secret.Parse(cookie)
	sess, err := e.DB.SessionByHash(context.Background(), tok.Hash())
	if err != nil {
		t.Fatal(err)
	}
	if sess.SecretHash != sha256.Sum256([]byte(cookie)) {
		t.Fatal("stored hash is not SHA-256 of the secret")
	}
	if sess.ID == cookie || strings.Contains(cookie, sess.ID) {
		t.Fatal("public sid is derived from the secret")
	}
	e.DB.Close() // flush the WAL so the whole database is in the files read below
	for _, f := range []string{e.DB.Path(), e.DB.Path() + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(cookie)) {
			t.Fatalf("%s contains the raw session secret", f)
		}
	}
}

func TestLoginReplacesPresentedSession(t *testing.T) {
	e := servertest.New(t)
	e.MustUser("ada@example.com", servertest.Password)
	old := e.Login("ada@example.com", servertest.Password)
	r := e.Do(servertest.Request{Method: "POST", Path: "/v1/login", Cookie: old, JSON: map[string]string{"email": "ada@example.com", "password": servertest.Password}})
	if r.StatusCode != 200 {
		t.Fatalf("status %d", r.StatusCode)
	}
	if c := r.SessionCookie(); c == nil || c.Value == old {
		t.Fatal("login reused the presented session (fixation)")
	}
	if e.SessionStatus(old) != 401 {
		t.Fatal("the replaced session still works")
	}
	t.Run("PlantedUnknownIDNotAdopted", func(t *testing.T) {
		planted := secret.New().Reveal()
		r := e.Do(servertest.Request{Method: "POST", Path: "/v1/login", Cookie: planted, JSON: map[string]string{"email": "ada@example.com", "password": servertest.Password}})
		if c := r.SessionCookie(); c == nil || c.Value == planted {
			t.Fatal("planted session ID adopted")
		}
		if e.SessionStatus(planted) != 401 {
			t.Fatal("planted ID works")
		}
	})
}

func TestSessionEndpoints(t *testing.T) {
	e := servertest.New(t)
	u := e.MustUser("ada@example.com", servertest.Password, "admin")
	a := e.Login("ada@example.com", servertest.Password)
	b := e.Login("ada@example.com", servertest.Password)
	c := e.Login("ada@example.com", servertest.Password)

	var who struct {
		User struct {
			ID, Email string
			Roles     []string
		}
		Session struct {
			SID     string `json:"sid"`
			Current bool
		}
	}
	e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Cookie: a}).Decode(t, &who)
	if who.User.ID != u.ID || who.User.Email != "ada@example.com" || len(who.User.Roles) != 1 || who.Session.SID == "" {
		t.Fatalf("GET /v1/session = %+v", who)
	}

	var list struct {
		Sessions []struct {
			SID     string `json:"sid"`
			Current bool   `json:"current"`
		}
	}
	e.Do(servertest.Request{Method: "GET", Path: "/v1/sessions", Cookie: a}).Decode(t, &list)
	if len(list.Sessions) != 3 {
		t.Fatalf("sessions: %+v", list)
	}
	current := 0
	var sidB string
	for _, s := range list.Sessions {
		if s.Current {
			current++
			if s.SID != who.Session.SID {
				t.Fatal("current flag on the wrong session")
			}
		}
	}
	if current != 1 {
		t.Fatalf("%d sessions marked current", current)
	}
	var whoB struct {
		Session struct {
			SID string `json:"sid"`
		}
	}
	e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Cookie: b}).Decode(t, &whoB)
	sidB = whoB.Session.SID

	t.Run("RevokeOne", func(t *testing.T) {
		if r := e.Do(servertest.Request{Method: "DELETE", Path: "/v1/sessions/" + sidB, Cookie: a}); r.StatusCode != 204 {
			t.Fatalf("status %d %s", r.StatusCode, r.Body)
		}
		if e.SessionStatus(b) != 401 {
			t.Fatal("revoked device still signed in")
		}
		if r := e.Do(servertest.Request{Method: "DELETE", Path: "/v1/sessions/" + sidB, Cookie: a}); r.StatusCode != 404 {
			t.Fatalf("second revoke: %d", r.StatusCode)
		}
	})
	t.Run("ErrOtherUsersSession", func(t *testing.T) {
		e.MustUser("bob@example.com", servertest.Password)
		bob := e.Login("bob@example.com", servertest.Password)
		var w struct {
			Session struct {
				SID string `json:"sid"`
			}
		}
		e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Cookie: bob}).Decode(t, &w)
		if r := e.Do(servertest.Request{Method: "DELETE", Path: "/v1/sessions/" + w.Session.SID, Cookie: a}); r.StatusCode != 404 {
			t.Fatalf("revoking another user's session: %d", r.StatusCode)
		}
		if e.SessionStatus(bob) != 200 {
			t.Fatal("another user's session was revoked")
		}
	})
	t.Run("SignOutOthers", func(t *testing.T) {
		r := e.Do(servertest.Request{Method: "DELETE", Path: "/v1/sessions", Cookie: a})
		var out struct{ Revoked int }
		r.Decode(t, &out)
		if r.StatusCode != 200 || out.Revoked != 1 {
			t.Fatalf("status %d revoked %d", r.StatusCode, out.Revoked)
		}
		if e.SessionStatus(c) != 401 || e.SessionStatus(a) != 200 {
			t.Fatal("sign out others: wrong sessions ended")
		}
	})
	t.Run("Logout", func(t *testing.T) {
		r := e.Do(servertest.Request{Method: "POST", Path: "/v1/logout", Cookie: a})
		if r.StatusCode != 204 {
			t.Fatalf("status %d", r.StatusCode)
		}
		if c := r.SessionCookie(); c == nil || c.MaxAge >= 0 || c.Value != "" {
			t.Fatalf("logout did not clear the cookie: %v", r.Header["Set-Cookie"])
		}
		if e.SessionStatus(a) != 401 {
			t.Fatal("replayed cookie works after logout")
		}
		evs := e.Events()
		last := evs[len(evs)-1]
		if last.Type != auth.EventSessionRevoked || last.Data["cause"] != auth.CauseLogout {
			t.Fatalf("last event %+v", last)
		}
	})
}

func TestBearerSessionForNativeApps(t *testing.T) {
	e := servertest.New(t)
	e.MustUser("ada@example.com", servertest.Password)
	r := e.Do(servertest.Request{Method: "POST", Path: "/v1/login", JSON: map[string]any{"email": "ada@example.com", "password": servertest.Password, "cookie": false}})
	var out struct {
		SessionToken string `json:"session_token"`
	}
	r.Decode(t, &out)
	if r.SessionCookie() != nil || out.SessionToken == "" {
		t.Fatalf("cookie:false login: cookie %v token %q", r.SessionCookie(), out.SessionToken)
	}
	if got := e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Bearer: out.SessionToken}).StatusCode; got != 200 {
		t.Fatalf("bearer session: %d", got)
	}
	// Bearer requests are not CSRF-prone: a cross-site header does not matter.
	if got := e.Do(servertest.Request{Method: "POST", Path: "/v1/logout", Bearer: out.SessionToken, Header: map[string]string{"Sec-Fetch-Site": "cross-site"}}).StatusCode; got != 204 {
		t.Fatalf("bearer logout: %d", got)
	}
	if got := e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Bearer: out.SessionToken}).StatusCode; got != 401 {
		t.Fatalf("after logout: %d", got)
	}
	for name, h := range map[string]string{"Basic": "Basic " + out.SessionToken, "NoScheme": out.SessionToken, "Garbage": "Bearer x.y.z", "Huge": "Bearer " + strings.Repeat("A", 9000)} {
		t.Run("Err"+name, func(t *testing.T) {
			r := e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Header: map[string]string{"Authorization": h}})
			if r.StatusCode != 401 || r.Problem(t).Code != "unauthenticated" {
				t.Fatalf("%d %s", r.StatusCode, r.Body)
			}
		})
	}
}

func TestTimeouts(t *testing.T) {
	e := servertest.New(t, func(a *auth.Config, _ *server.Config) {
		a.IdleTimeout, a.AbsoluteTimeout, a.TouchInterval = time.Hour, 5*time.Hour, time.Minute
	})
	e.MustUser("ada@example.com", servertest.Password)
	t.Run("ErrIdle", func(t *testing.T) {
		c := e.Login("ada@example.com", servertest.Password)
		e.Clock.Add(59 * time.Minute)
		if e.SessionStatus(c) != 200 {
			t.Fatal("session ended before the idle timeout")
		}
		e.Clock.Add(59 * time.Minute) // 59 min since the last use: still alive, sliding
		if e.SessionStatus(c) != 200 {
			t.Fatal("idle timeout did not slide")
		}
		e.Clock.Add(61 * time.Minute)
		if e.SessionStatus(c) != 401 {
			t.Fatal("session alive after the idle timeout")
		}
	})
	t.Run("ErrAbsolute", func(t *testing.T) {
		c := e.Login("ada@example.com", servertest.Password)
		for i := 0; i < 10; i++ { // used every 30 minutes: never idle
			e.Clock.Add(30 * time.Minute)
			want := 200
			if i >= 9 {
				want = 401
			}
			if got := e.SessionStatus(c); got != want {
				t.Fatalf("after %v: %d, want %d", time.Duration(i+1)*30*time.Minute, got, want)
			}
		}
	})
	t.Run("SlidingWritesAtMostOncePerInterval", func(t *testing.T) {
		c := e.Login("ada@example.com", servertest.Password)
		e.SessionStatus(c) // fill the cache
		before := e.Store.Touches.Load()
		for i := 0; i < 50; i++ {
			e.Clock.Add(time.Second)
			e.SessionStatus(c)
		}
		// 50 s of use at a 1 min interval: no write yet.
		if n := e.Store.Touches.Load() - before; n != 0 {
			t.Fatalf("%d store writes within one interval", n)
		}
		for i := 0; i < 30; i++ {
			e.Clock.Add(time.Second)
			e.SessionStatus(c)
		}
		if n := e.Store.Touches.Load() - before; n != 1 {
			t.Fatalf("%d store writes after crossing one interval, want 1", n)
		}
		tok, _ := secret.Parse(c)
		s, _ := e.DB.SessionByHash(context.Background(), tok.Hash())
		if !s.LastSeenAt.After(s.CreatedAt) {
			t.Fatal("last seen time not persisted")
		}
	})
}

func TestCacheHitDoesNoStoreIO(t *testing.T) {
	e := servertest.New(t)
	e.MustUser("ada@example.com", servertest.Password)
	c := e.Login("ada@example.com", servertest.Password)
	e.SessionStatus(c) // miss: fills the cache
	before := e.Store.Reads.Load() + e.Store.Touches.Load()
	for i := 0; i < 20; i++ {
		if e.SessionStatus(c) != 200 {
			t.Fatal("session check failed")
		}
	}
	if n := e.Store.Reads.Load() + e.Store.Touches.Load() - before; n != 0 {
		t.Fatalf("%d store calls for 20 cached session checks", n)
	}
	// Revocation on this node is immediate, cache or not.
	e.Do(servertest.Request{Method: "POST", Path: "/v1/logout", Cookie: c})
	if e.SessionStatus(c) != 401 {
		t.Fatal("cached session survived logout")
	}
}

func TestUserChangesEndSessions(t *testing.T) {
	ctx := context.Background()
	for name, change := range map[string]func(e *servertest.Env, id string) error{
		"Disable": func(e *servertest.Env, id string) error { _, err := e.Svc.SetDisabled(ctx, id, true); return err },
		"Passwd": func(e *servertest.Env, id string) error {
			_, err := e.Svc.SetPassword(ctx, id, "another-long-pass")
			return err
		},
		"RemoveRole": func(e *servertest.Env, id string) error {
			_, err := e.Svc.SetRoles(ctx, id, []string{"viewer"})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			e := servertest.New(t)
			u := e.MustUser("ada@example.com", servertest.Password, "admin", "viewer")
			c := e.Login("ada@example.com", servertest.Password)
			e.SessionStatus(c) // cached
			e.Clock.Add(time.Millisecond)
			if err := change(e, u.ID); err != nil {
				t.Fatal(err)
			}
			if e.SessionStatus(c) != 401 {
				t.Fatal("session survived the change")
			}
			if servertest.CountType(e.Events(), auth.EventTokensInvalidated) != 1 {
				t.Fatal("no user.tokens_invalidated event")
			}
			list, _ := e.DB.ListSessions(ctx, u.ID, e.Clock.Now())
			if len(list) != 0 {
				t.Fatalf("%d sessions still listed", len(list))
			}
		})
	}
	t.Run("AddRoleKeepsSessions", func(t *testing.T) {
		e := servertest.New(t)
		u := e.MustUser("ada@example.com", servertest.Password, "viewer")
		c := e.Login("ada@example.com", servertest.Password)
		if _, err := e.Svc.SetRoles(ctx, u.ID, []string{"viewer", "admin"}); err != nil {
			t.Fatal(err)
		}
		var who struct{ User struct{ Roles []string } }
		r := e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Cookie: c})
		r.Decode(t, &who)
		if r.StatusCode != 200 || len(who.User.Roles) != 2 {
			t.Fatalf("after adding a role: %d %s", r.StatusCode, r.Body)
		}
	})
}

func TestCrossOriginRefused(t *testing.T) {
	e := servertest.New(t)
	e.MustUser("ada@example.com", servertest.Password)
	c := e.Login("ada@example.com", servertest.Password)
	cross := []map[string]string{
		{"Sec-Fetch-Site": "cross-site"},
		{"Sec-Fetch-Site": "same-site"},
		{"Origin": "https://evil.example"},
	}
	for i, h := range cross {
		for _, rq := range []servertest.Request{
			{Method: "POST", Path: "/v1/logout"},
			{Method: "DELETE", Path: "/v1/sessions"},
			{Method: "DELETE", Path: "/v1/sessions/whatever"},
		} {
			t.Run(fmt.Sprintf("%s%s/%d", rq.Method, rq.Path, i), func(t *testing.T) {
				before := len(e.Events())
				rq.Cookie, rq.Header = c, h
				r := e.Do(rq)
				if r.StatusCode != 403 || r.Problem(t).Code != "cross_origin" {
					t.Fatalf("%d %s", r.StatusCode, r.Body)
				}
				if len(e.Events()) != before || e.SessionStatus(c) != 200 {
					t.Fatal("a refused request changed state")
				}
			})
		}
	}
	t.Run("LoginCSRF", func(t *testing.T) {
		r := e.Do(servertest.Request{Method: "POST", Path: "/v1/login", Raw: "email=ada%40example.com&password=" + servertest.Password,
			ContentType: "application/x-www-form-urlencoded", Header: map[string]string{"Sec-Fetch-Site": "cross-site"}})
		if r.StatusCode != 403 || r.SessionCookie() != nil {
			t.Fatalf("cross-site login: %d", r.StatusCode)
		}
	})
	t.Run("SameOriginPasses", func(t *testing.T) {
		r := e.Do(servertest.Request{Method: "DELETE", Path: "/v1/sessions", Cookie: c, Header: map[string]string{"Sec-Fetch-Site": "same-origin"}})
		if r.StatusCode != 200 {
			t.Fatalf("same-origin: %d", r.StatusCode)
		}
	})
	t.Run("SafeMethodChangesNothing", func(t *testing.T) {
		before := len(e.Events())
		r := e.Do(servertest.Request{Method: "GET", Path: "/v1/logout?_method=POST", Cookie: c, Header: map[string]string{"X-HTTP-Method-Override": "POST"}})
		if r.StatusCode < 400 || len(e.Events()) != before || e.SessionStatus(c) != 200 {
			t.Fatalf("GET /v1/logout: %d, events changed or session ended", r.StatusCode)
		}
	})
}

func TestLoginFailuresLookAlike(t *testing.T) {
	e := servertest.New(t)
	e.MustUser("ada@example.com", servertest.Password)
	try := func(email string) (*servertest.Response, int64) {
		before := e.Hasher.Done()
		r := e.Do(servertest.Request{Method: "POST", Path: "/v1/login", JSON: map[string]string{"email": email, "password": "wrong-password"}})
		return r, e.Hasher.Done() - before
	}
	known, kh := try("ada@example.com")
	unknown, uh := try("nobody@example.com")
	if known.StatusCode != 401 || unknown.StatusCode != known.StatusCode {
		t.Fatalf("statuses %d and %d", known.StatusCode, unknown.StatusCode)
	}
	kp, up := known.Problem(t), unknown.Problem(t)
	kp.RequestID, up.RequestID = "", ""
	if kp != up {
		t.Fatalf("bodies differ:\n%+v\n%+v", kp, up)
	}
	for _, h := range []string{"Content-Type", "WWW-Authenticate", "Cache-Control"} {
		if known.Header.Get(h) != unknown.Header.Get(h) {
			t.Errorf("header %s differs", h)
		}
	}
	// Same time: both paths run exactly one argon2id verification.
	if kh != 1 || uh != 1 {
		t.Fatalf("argon2id runs: known %d, unknown %d; want 1 each", kh, uh)
	}
	if n := servertest.CountType(e.Events(), auth.EventLoginFailed); n != 2 {
		t.Fatalf("%d login.failed events, want 2", n)
	}
	t.Run("DisabledLooksLikeWrongPassword", func(t *testing.T) {
		u := e.MustUser("dis@example.com", servertest.Password)
		e.Svc.SetDisabled(context.Background(), u.ID, true)
		r := e.Do(servertest.Request{Method: "POST", Path: "/v1/login", JSON: map[string]string{"email": "dis@example.com", "password": servertest.Password}})
		if p := r.Problem(t); r.StatusCode != 401 || p.Code != "invalid_credentials" {
			t.Fatalf("%d %+v", r.StatusCode, p)
		}
	})
}

func TestLoginThrottling(t *testing.T) {
	e := servertest.New(t)
	e.MustUser("ada@example.com", servertest.Password)
	t.Run("ThirtyWrongPasswordsMeet429", func(t *testing.T) {
		var got429 *servertest.Response
		for i := 0; i < 30 && got429 == nil; i++ {
			r := e.Do(servertest.Request{Method: "POST", Path: "/v1/login", JSON: map[string]string{"email": "ada@example.com", "password": "guess-" + strconv.Itoa(i)}})
			if r.StatusCode == 429 {
				got429 = r
			}
		}
		if got429 == nil {
			t.Fatal("30 wrong passwords in a row, no 429")
		}
		ra, err := strconv.Atoi(got429.Header.Get("Retry-After"))
		if err != nil || ra < 1 {
			t.Fatalf("Retry-After %q", got429.Header.Get("Retry-After"))
		}
		if p := got429.Problem(t); p.Code != "too_many_attempts" || !strings.Contains(p.Detail, "try again in") {
			t.Fatalf("problem %+v", p)
		}
		// Throttled attempts spend no argon2id work and the right password is refused too.
		before := e.Hasher.Done()
		r := e.Do(servertest.Request{Method: "POST", Path: "/v1/login", JSON: map[string]string{"email": "ada@example.com", "password": servertest.Password}})
		if r.StatusCode != 429 || e.Hasher.Done() != before {
			t.Fatalf("right password while throttled: %d", r.StatusCode)
		}
		e.Clock.Add(time.Duration(ra) * time.Second)
		if r := e.Do(servertest.Request{Method: "POST", Path: "/v1/login", JSON: map[string]string{"email": "ada@example.com", "password": servertest.Password}}); r.StatusCode != 200 {
			t.Fatalf("after Retry-After: %d", r.StatusCode)
		}
	})
	t.Run("TypoProneUserNotLockedOut", func(t *testing.T) {
		e := servertest.New(t)
		e.MustUser("bea@example.com", servertest.Password)
		for day := 0; day < 5; day++ {
			for i := 0; i < 4; i++ {
				e.Do(servertest.Request{Method: "POST", Path: "/v1/login", JSON: map[string]string{"email": "bea@example.com", "password": servertest.Password + "x"}})
			}
			e.Login("bea@example.com", servertest.Password)
			e.Clock.Add(time.Hour)
		}
	})
	t.Run("ConcurrentSprayCountedBeforeHashing", func(t *testing.T) {
		// 60 wrong passwords at once from one address, each for another
		// account: attempts count against the address before they are
		// hashed, so no more than its burst (20 by default) are hashed even
		// though none has failed yet when the others are checked.
		e := servertest.New(t)
		before := e.Hasher.Done()
		var wg sync.WaitGroup
		var n401, n429 atomic.Int64
		for i := range 60 {
			wg.Go(func() {
				r := e.Do(servertest.Request{Method: "POST", Path: "/v1/login", JSON: map[string]string{"email": fmt.Sprintf("c%d@example.com", i), "password": "password-x"}})
				switch r.StatusCode {
				case 401:
					n401.Add(1)
				case 429:
					n429.Add(1)
				default:
					t.Errorf("status %d", r.StatusCode)
				}
			})
		}
		wg.Wait()
		if hashed := e.Hasher.Done() - before; hashed > 20 || n401.Load() > 20 || n429.Load() < 40 {
			t.Fatalf("%d hashed, %d answered 401 and %d 429: the burst of 20 was overshot", hashed, n401.Load(), n429.Load())
		}
	})
	t.Run("PerIPSpray", func(t *testing.T) {
		e := servertest.New(t)
		limited := false
		for i := 0; i < 40 && !limited; i++ {
			r := e.Do(servertest.Request{Method: "POST", Path: "/v1/login", JSON: map[string]string{"email": fmt.Sprintf("u%d@example.com", i), "password": "password-x"}})
			limited = r.StatusCode == 429
		}
		if !limited {
			t.Fatal("40 different accounts from one IP, no 429")
		}
	})
}
