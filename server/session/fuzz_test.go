package session_test

import (
	"bytes"
	"context"
	"encoding/json"
	"mime"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/server/httpx"
	"github.com/tessera-auth/tessera/server/servertest"
)

// The fuzz targets of the HTTP surface: everything a client controls before
// it is authenticated. Each one runs requests straight through the real
// handler (Server.ServeHTTP over a real SQLite store) and checks properties
// that hold for every input:
//
//   - never a 5xx;
//   - never a success for a credential that is not a real, live one;
//   - nothing stored changes unless the request succeeded (or, for a login,
//     a login.failed event is appended).
//
// Credentials are random per run, so the inputs name them by placeholders
// ({SESSION}, {JWT}, …) that are replaced before the request is sent: the
// seed corpus stays valid across runs and the fuzzer mutates around them.
//
// Run one for longer with, e.g.:
//
//	go test ./server/session -run '^$' -fuzz '^FuzzBearer$' -fuzztime 10m

// creds are the live and dead credentials of one user.
type creds struct {
	sid, cookieSID      string // the live sessions behind {SESSION} and {COOKIE}
	jwtSID              string // and behind {JWT}
	session, cookie     string // live session secrets (a bearer for native apps, a cookie)
	jwt                 string // a live access token
	deadSecret, deadJWT string // a revoked session's secret and access token
	repl                *strings.Replacer
}

func newCreds(f *testing.F, e *servertest.Env) *creds {
	ctx := context.Background()
	login := func() *auth.Login {
		l, err := e.Svc.Login(ctx, auth.LoginRequest{Email: servertest.FuzzEmail, Password: servertest.Password, Client: auth.Client{IP: "192.0.2.1"}})
		if err != nil {
			f.Fatal(err)
		}
		return l
	}
	tokens := func(l *auth.Login) string {
		ts, err := e.Svc.IssueTokens(ctx, l, auth.TokenRequest{})
		if err != nil {
			f.Fatal(err)
		}
		return ts.AccessToken
	}
	c := &creds{}
	l1, l2, l3, dead := login(), login(), login(), login()
	c.session, c.sid = l1.Secret.Reveal(), l1.Session.ID
	c.cookie, c.cookieSID = l2.Secret.Reveal(), l2.Session.ID
	c.jwt, c.jwtSID = tokens(l3), l3.Session.ID
	c.deadSecret, c.deadJWT = dead.Secret.Reveal(), tokens(dead)
	if err := e.Svc.RevokeSession(ctx, dead.User.ID, dead.Session.ID, auth.CauseLogout); err != nil {
		f.Fatal(err)
	}
	c.repl = strings.NewReplacer("{SESSION}", c.session, "{COOKIE}", c.cookie, "{JWT}", c.jwt,
		"{DEAD}", c.deadSecret, "{DEADJWT}", c.deadJWT)
	return c
}

// FuzzBearer sends arbitrary Authorization and Cookie headers to the
// endpoints that authenticate a user (GET /v1/session and the forward-auth
// GET /v1/authz). The only answers are 200 and 401; a 200 names a live
// session whose credential the request carried (in Authorization when that
// header is present, which then wins over the cookie).
func FuzzBearer(f *testing.F) {
	e := servertest.NewFuzz(f)
	c := newCreds(f, e)
	cookie := httpx.CookieName + "="
	for _, s := range [][2]string{
		{"Bearer {SESSION}", ""}, {"Bearer {JWT}", ""}, {"", cookie + "{COOKIE}"},
		{"bearer {SESSION}", ""}, {"BEARER   {JWT}\t", ""}, {"Bearer {SESSION}", cookie + "{COOKIE}"},
		{"Bearer {DEAD}", ""}, {"Bearer {DEADJWT}", ""}, {"", cookie + "{DEAD}"}, {"", cookie + "{DEADJWT}"},
		{"Bearer {JWT}.", ""}, {"Bearer {JWT}x", ""}, {"Bearer {SESSION}=", ""}, {"Bearer {SESSION}{SESSION}", ""},
		{"Basic {SESSION}", ""}, {"Bearer", ""}, {"Bearer ", ""}, {"{SESSION}", ""}, {"Bearer\t{SESSION}", ""},
		{"", cookie + "{COOKIE}; " + cookie + "{DEAD}"}, {"", cookie + "{DEAD}; " + cookie + "{COOKIE}"},
		{"", "tessera_session={COOKIE}"}, {"", "__host-tessera_session={COOKIE}"}, {"", cookie + `"{COOKIE}"`},
		{"", cookie + "{COOKIE}=="}, {"", cookie + "{JWT}"}, {"", cookie}, {"", "a=b; " + cookie + "{COOKIE}; c"},
		{"Bearer " + strings.Repeat("A", httpx.MaxCredentialBytes+1), ""}, {"", cookie + strings.Repeat("A", httpx.MaxCredentialBytes+1)},
		{"Bearer e30.e30.", ""}, {"Bearer eyJhbGciOiJub25lIn0.e30.", ""}, {"Bearer ...", ""},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, authz, cookies string) {
		authz, ok1 := servertest.WireHeader(c.repl.Replace(authz))
		cookies, ok2 := servertest.WireHeader(c.repl.Replace(cookies))
		if !ok1 || !ok2 {
			return
		}
		for _, path := range []string{"/v1/session", "/v1/authz"} {
			r := httptest.NewRequest("GET", path, nil)
			if authz != "" {
				r.Header.Set("Authorization", authz)
			}
			if cookies != "" {
				r.Header.Set("Cookie", cookies)
			}
			w := e.Serve(r)
			switch w.Code {
			case 401:
				if w.Header().Get("WWW-Authenticate") == "" {
					t.Fatalf("%s: 401 without WWW-Authenticate", path)
				}
				continue
			case 200:
			default:
				t.Fatalf("%s: status %d for Authorization %q, Cookie %q: %s", path, w.Code, authz, cookies, w.Body)
			}
			sid := w.Header().Get("X-Tessera-Session")
			if path == "/v1/session" {
				var body struct {
					Session struct {
						ID string `json:"sid"`
					} `json:"session"`
				}
				if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
					t.Fatalf("%s: 200 with body %q", path, w.Body)
				}
				sid = body.Session.ID
			}
			var carried bool
			switch {
			case authz != "":
				carried = (sid == c.sid && strings.Contains(authz, c.session)) || (sid == c.jwtSID && strings.Contains(authz, c.jwt))
			default:
				carried = sid == c.cookieSID && strings.Contains(cookies, c.cookie)
			}
			if !carried {
				t.Fatalf("%s: 200 (session %q) for Authorization %q, Cookie %q", path, sid, authz, cookies)
			}
		}
	})
}

// loginFields is how the fuzz check reads a login body back, leniently, to
// see which credentials a successful login carried.
func loginFields(ct string, body []byte) (email, password string) {
	mt, _, _ := mime.ParseMediaType(ct)
	switch mt {
	case "application/json":
		var v struct{ Email, Password string }
		json.Unmarshal(body, &v)
		return v.Email, v.Password
	case "application/x-www-form-urlencoded":
		q, _ := url.ParseQuery(string(body))
		return q.Get("email"), q.Get("password")
	}
	return "", ""
}

// FuzzLoginBody posts arbitrary bodies with arbitrary content types to
// POST /v1/login. The answer is 200 only for the one valid email and
// password; otherwise a 4xx problem document, never a 5xx. A 200 appends
// exactly one login.succeeded event (written with the session, in one
// transaction); a 401 invalid_credentials exactly one login.failed; anything
// else nothing at all, and sets no cookie.
func FuzzLoginBody(f *testing.F) {
	e := servertest.NewFuzz(f)
	const js, form = "application/json", "application/x-www-form-urlencoded"
	for _, s := range [][2]string{
		{js, `{"email":"ada@example.com","password":"correct-horse-battery"}`},
		{js, `{"email":"ADA@example.com","password":"correct-horse-battery","mode":"token"}`},
		{js, `{"email":"ada@example.com","password":"correct-horse-battery","mode":"hybrid","cookie":false,"scope":"a b","audience":"x"}`},
		{js, `{"email":"ada@example.com","password":"correct-horse-battery","mode":"session","cookie":false,"return_to":"/x"}`},
		{js, `{"email":"ada@example.com","password":"wrong-horse-battery"}`},
		{js, `{"email":"bob@example.com","password":"correct-horse-battery"}`},
		{js, `{"email":"ada@example.com","email":"bob@example.com","password":"correct-horse-battery"}`},
		{js, `{"EMAIL":"ada@example.com","password":"correct-horse-battery"}`},
		{js, `{"email":"ada@example.com","password":"correct-horse-battery"}{}`},
		{js, `{"email":"ada@example.com","password":"correct-horse-battery","mode":"token","client_id":"nope"}`},
		{js, `{"email":"ada@example.com","password":"correct-horse-batter\u0079"}`},
		{js, `{"email":"ada@example.com","password":["correct-horse-battery"]}`},
		{js, `{"email":"ada@example.com","password":null}`},
		{js, `{"email":"ada@example.com","cookie":"yes","password":"correct-horse-battery"}`},
		{js, `[]`}, {js, `"`}, {js, `{`}, {js, ``}, {js, `{"a":{"b":{"c":[[[[[]]]]]}}}`},
		{"application/json; charset=utf-8", `{"email":"ada@example.com","password":"correct-horse-battery"}`},
		{"APPLICATION/JSON", `{"email":"ada@example.com","password":"correct-horse-battery"}`},
		{"application/json; charset", `{"email":"ada@example.com","password":"correct-horse-battery"}`},
		{form, "email=ada%40example.com&password=correct-horse-battery"},
		{form, "email=ada@example.com&password=correct-horse-battery&mode=token&cookie=0"},
		{form, "email=ada%40example.com&password=correct-horse-battery&email=ada%40example.com"},
		{form, "email=ada%40example.com&password=correct%2Dhorse%2Dbattery;x=1"},
		{form, "email=ada%40example.com&password=%zz"},
		{form + "; charset=utf-8", "email=ada%40example.com&password=correct-horse-battery&cookie=on"},
		{"text/plain", `{"email":"ada@example.com","password":"correct-horse-battery"}`},
		{"multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nada@example.com\r\n--x--\r\n"},
		{"", ""},
	} {
		f.Add(s[0], []byte(s[1]))
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		ct, ok := servertest.WireHeader(ct)
		if !ok {
			return
		}
		before, err := e.DB.LastEventSeq(ctx)
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("POST", "/v1/login", bytes.NewReader(body))
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		w := e.Serve(r)
		evs, err := e.DB.EventsAfter(ctx, before, 10)
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, ev := range evs {
			types = append(types, ev.Type)
		}
		setCookie := w.Header().Get("Set-Cookie") != ""
		switch {
		case w.Code == 200:
			email, pass := loginFields(ct, body)
			if norm, _ := auth.NormalizeEmail(email); norm != servertest.FuzzEmail || pass != servertest.Password {
				t.Fatalf("200 for a login whose body reads as email %q, password %q: %q %q", email, pass, ct, body)
			}
			if !slices.Equal(types, []string{auth.EventLoginSucceeded}) {
				t.Fatalf("a successful login appended %q", types)
			}
			var resp struct {
				Session struct {
					ID string `json:"sid"`
				} `json:"session"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || resp.Session.ID != evs[0].SessionID {
				t.Fatalf("200 with body %q (event for session %q)", w.Body, evs[0].SessionID)
			}
			if _, err := e.DB.SessionByID(ctx, resp.Session.ID); err != nil {
				t.Fatalf("the new session is not stored: %v", err)
			}
		case w.Code == 401:
			if !slices.Equal(types, []string{auth.EventLoginFailed}) || setCookie {
				t.Fatalf("a failed login appended %q (Set-Cookie %v)", types, setCookie)
			}
		case w.Code >= 400 && w.Code < 500:
			if len(types) != 0 || setCookie {
				t.Fatalf("status %d appended %q (Set-Cookie %v) for %q %q", w.Code, types, setCookie, ct, body)
			}
		default:
			t.Fatalf("status %d for Content-Type %q, body %q: %s", w.Code, ct, body, w.Body)
		}
		if w.Code != 200 && w.Header().Get("Content-Type") != "application/problem+json" {
			t.Fatalf("status %d with Content-Type %q", w.Code, w.Header().Get("Content-Type"))
		}
	})
}
