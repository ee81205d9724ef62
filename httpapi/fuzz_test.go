package httpapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/httpapi"
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
//	go test ./httpapi -run '^$' -fuzz '^FuzzBearer$' -fuzztime 10m

const (
	fuzzEmail = "ada@example.com"
	fuzzPW    = "correct-horse-battery"
)

// fuzzEnv is a server whose login throttling never kicks in, so that a long
// run of failures does not hide the successes behind 429s.
func fuzzEnv(f *testing.F) *env {
	e := newEnv(f, func(a *auth.Config, _ *httpapi.Config) {
		a.AccountBurst, a.IPBurst = 1<<30, 1<<30
	})
	e.mustUser(fuzzEmail, fuzzPW)
	return e
}

// wireHeader reports whether v could arrive as a header value from the wire:
// net/http refuses control characters other than tab, and trims spaces and
// tabs around the value, which it returns here.
func wireHeader(v string) (string, bool) {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return "", false
		}
	}
	return strings.Trim(v, " \t"), true
}

// serve runs one request through the handler.
func (e *env) serve(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.api.ServeHTTP(w, r)
	return w
}

// creds are the live and dead credentials of one user.
type creds struct {
	sid, cookieSID      string // the live sessions behind {SESSION} and {COOKIE}
	jwtSID              string // and behind {JWT}
	session, cookie     string // live session secrets (a bearer for native apps, a cookie)
	jwt                 string // a live access token
	deadSecret, deadJWT string // a revoked session's secret and access token
	repl                *strings.Replacer
}

func newCreds(f *testing.F, e *env) *creds {
	ctx := context.Background()
	login := func() *auth.Login {
		l, err := e.svc.Login(ctx, auth.LoginRequest{Email: fuzzEmail, Password: fuzzPW, Client: auth.Client{IP: "192.0.2.1"}})
		if err != nil {
			f.Fatal(err)
		}
		return l
	}
	tokens := func(l *auth.Login) string {
		ts, err := e.svc.IssueTokens(ctx, l, auth.TokenRequest{})
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
	if err := e.svc.RevokeSession(ctx, dead.User.ID, dead.Session.ID, auth.CauseLogout); err != nil {
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
	e := fuzzEnv(f)
	c := newCreds(f, e)
	cookie := httpapi.CookieName + "="
	for _, s := range [][2]string{
		{"Bearer {SESSION}", ""}, {"Bearer {JWT}", ""}, {"", cookie + "{COOKIE}"},
		{"bearer {SESSION}", ""}, {"BEARER   {JWT}\t", ""}, {"Bearer {SESSION}", cookie + "{COOKIE}"},
		{"Bearer {DEAD}", ""}, {"Bearer {DEADJWT}", ""}, {"", cookie + "{DEAD}"}, {"", cookie + "{DEADJWT}"},
		{"Bearer {JWT}.", ""}, {"Bearer {JWT}x", ""}, {"Bearer {SESSION}=", ""}, {"Bearer {SESSION}{SESSION}", ""},
		{"Basic {SESSION}", ""}, {"Bearer", ""}, {"Bearer ", ""}, {"{SESSION}", ""}, {"Bearer\t{SESSION}", ""},
		{"", cookie + "{COOKIE}; " + cookie + "{DEAD}"}, {"", cookie + "{DEAD}; " + cookie + "{COOKIE}"},
		{"", "tessera_session={COOKIE}"}, {"", "__host-tessera_session={COOKIE}"}, {"", cookie + `"{COOKIE}"`},
		{"", cookie + "{COOKIE}=="}, {"", cookie + "{JWT}"}, {"", cookie}, {"", "a=b; " + cookie + "{COOKIE}; c"},
		{"Bearer " + strings.Repeat("A", httpapi.MaxCredentialBytes+1), ""}, {"", cookie + strings.Repeat("A", httpapi.MaxCredentialBytes+1)},
		{"Bearer e30.e30.", ""}, {"Bearer eyJhbGciOiJub25lIn0.e30.", ""}, {"Bearer ...", ""},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, authz, cookies string) {
		authz, ok1 := wireHeader(c.repl.Replace(authz))
		cookies, ok2 := wireHeader(c.repl.Replace(cookies))
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
			w := e.serve(r)
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
	e := fuzzEnv(f)
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
		ct, ok := wireHeader(ct)
		if !ok {
			return
		}
		before, err := e.db.LastEventSeq(ctx)
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("POST", "/v1/login", bytes.NewReader(body))
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		w := e.serve(r)
		evs, err := e.db.EventsAfter(ctx, before, 10)
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
			if norm, _ := auth.NormalizeEmail(email); norm != fuzzEmail || pass != fuzzPW {
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
			if _, err := e.db.SessionByID(ctx, resp.Session.ID); err != nil {
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

// oauthCreds are the credentials behind the placeholders of FuzzOAuthForm:
// a confidential client ({CID}, {CSEC}, {BASIC} for its Basic header), and a
// user's first-party refresh and access tokens ({RT}, {AT}) and the same for
// the confidential client ({CRT}, {CAT}).
type oauthCreds struct {
	e                *env
	cid, csec, basic string
	rt, at, crt, cat string
	repl             *strings.Replacer
}

func newOAuthCreds(f *testing.F, e *env) *oauthCreds {
	nc, err := e.svc.CreateClient(context.Background(), "fuzz", []string{"introspect", "read"})
	if err != nil {
		f.Fatal(err)
	}
	o := &oauthCreds{e: e, cid: nc.Client.ID, csec: nc.Secret.Reveal()}
	o.basic = "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(o.cid)+":"+url.QueryEscape(o.csec)))
	o.renew(f)
	return o
}

// renew replaces the user tokens with fresh ones, after a request may have
// rotated or revoked them.
func (o *oauthCreds) renew(tb testing.TB) {
	ctx := context.Background()
	issue := func(clientID string) (rt, at string) {
		l, err := o.e.svc.Login(ctx, auth.LoginRequest{Email: fuzzEmail, Password: fuzzPW, Client: auth.Client{IP: "192.0.2.1"}})
		if err != nil {
			tb.Fatal(err)
		}
		ts, err := o.e.svc.IssueTokens(ctx, l, auth.TokenRequest{ClientID: clientID})
		if err != nil {
			tb.Fatal(err)
		}
		return ts.RefreshToken.Reveal(), ts.AccessToken
	}
	o.rt, o.at = issue("")
	o.crt, o.cat = issue(o.cid)
	o.repl = strings.NewReplacer("{CID}", o.cid, "{CSEC}", o.csec, "{BASIC}", o.basic,
		"{RT}", o.rt, "{AT}", o.at, "{CRT}", o.crt, "{CAT}", o.cat)
}

// FuzzOAuthForm posts arbitrary form bodies, content types and Authorization
// headers to the OAuth endpoints (/oauth2/token, /introspect, /revoke). The
// answers are 200, 400, 401 (with WWW-Authenticate) or 413, never a 5xx,
// errors are RFC 6749 §5.2 JSON, and a success needs the real secret:
//
//   - a token response only for the real refresh token, or for
//     client_credentials with the real client secret;
//   - an active introspection only for the real client and one of the real
//     tokens.
func FuzzOAuthForm(f *testing.F) {
	e := fuzzEnv(f)
	o := newOAuthCreds(f, e)
	const form = "application/x-www-form-urlencoded"
	for _, s := range []struct {
		ep              uint8
		authz, ct, body string
	}{
		{0, "", form, "grant_type=refresh_token&refresh_token={RT}"},
		{0, "", form, "grant_type=refresh_token&refresh_token={RT}&client_id=tessera"},
		{0, "{BASIC}", form, "grant_type=refresh_token&refresh_token={CRT}"},
		{0, "", form, "grant_type=refresh_token&refresh_token={CRT}&client_id={CID}&client_secret={CSEC}"},
		{0, "", form, "grant_type=refresh_token&refresh_token={CRT}"},
		{0, "{BASIC}", form, "grant_type=refresh_token&refresh_token={RT}"},
		{0, "{BASIC}", form, "grant_type=client_credentials&scope=read"},
		{0, "{BASIC}", form, "grant_type=client_credentials&scope=admin"},
		{0, "{BASIC}", form, "grant_type=client_credentials&client_secret={CSEC}"},
		{0, "", form, "grant_type=client_credentials&client_id={CID}&client_secret={CSEC}&audience=x"},
		{0, "", form, "grant_type=client_credentials&client_id={CID}&client_secret=x{CSEC}"},
		{0, "", form, "grant_type=client_credentials&client_id=tessera"},
		{0, "", form, "grant_type=password&username=ada%40example.com&password=correct-horse-battery"},
		{0, "", form, "grant_type=refresh_token&refresh_token={RT}&refresh_token={RT}"},
		{0, "", form, "grant_type=refresh_token&refresh_token={AT}"},
		{0, "Bearer {AT}", form, "grant_type=refresh_token&refresh_token={RT}"},
		{0, "Basic Og==", form, "grant_type=client_credentials"},
		{0, "Basic %%%", form, "grant_type=client_credentials"},
		{0, "", "application/json", `{"grant_type":"refresh_token","refresh_token":"{RT}"}`},
		{0, "", form + "; charset=utf-8", "grant_type=refresh_token&refresh_token={RT}"},
		{0, "", form, ""},
		{1, "{BASIC}", form, "token={AT}"},
		{1, "{BASIC}", form, "token={RT}&token_type_hint=refresh_token"},
		{1, "{BASIC}", form, "token={CAT}&token_type_hint=access_token"},
		{1, "", form, "token={CRT}&client_id={CID}&client_secret={CSEC}"},
		{1, "", form, "token={AT}&client_id=tessera"},
		{1, "", form, "token={AT}"},
		{1, "{BASIC}", form, "token=e30.e30.e30"},
		{1, "{BASIC}", form, "token="},
		{2, "", form, "token={RT}"},
		{2, "", form, "token={AT}&client_id=tessera"},
		{2, "", form, "token={CRT}"},
		{2, "{BASIC}", form, "token={CAT}"},
		{2, "{BASIC}", form, "token=unknown"},
	} {
		f.Add(s.ep, s.authz, s.ct, s.body)
	}
	paths := []string{"/oauth2/token", "/oauth2/introspect", "/oauth2/revoke"}
	f.Fuzz(func(t *testing.T, ep uint8, authz, ct, body string) {
		path := paths[int(ep)%len(paths)]
		used := strings.Contains(authz+body, "{RT}") || strings.Contains(authz+body, "{AT}") ||
			strings.Contains(authz+body, "{CRT}") || strings.Contains(authz+body, "{CAT}")
		authz, ok1 := wireHeader(o.repl.Replace(authz))
		ct, ok2 := wireHeader(ct)
		body = o.repl.Replace(body)
		if !ok1 || !ok2 {
			return
		}
		if used && path != "/oauth2/introspect" {
			defer o.renew(t) // the request may rotate or revoke them
		}
		r := httptest.NewRequest("POST", path, strings.NewReader(body))
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		w := e.serve(r)
		switch w.Code {
		case 200:
		case 400, 401, 413:
			var eb struct {
				Error string `json:"error"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &eb); err != nil || !slices.Contains([]string{"invalid_request", "invalid_client",
				"invalid_grant", "invalid_scope", "unauthorized_client", "unsupported_grant_type"}, eb.Error) {
				t.Fatalf("%s: status %d with body %q", path, w.Code, w.Body)
			}
			if w.Code == 401 && w.Header().Get("WWW-Authenticate") == "" {
				t.Fatalf("%s: 401 without WWW-Authenticate", path)
			}
			return
		default:
			t.Fatalf("%s: status %d for Authorization %q, Content-Type %q, body %q: %s", path, w.Code, authz, ct, body, w.Body)
		}

		// A success: which credentials did the request carry?
		form, _ := url.ParseQuery(body)
		id, sec, basic := r.BasicAuth()
		if basic {
			id, _ = url.QueryUnescape(id)
			sec, _ = url.QueryUnescape(sec)
		} else {
			id, sec = form.Get("client_id"), form.Get("client_secret")
		}
		realClient := id == o.cid && sec == o.csec
		switch path {
		case "/oauth2/token":
			var tr struct {
				AccessToken string `json:"access_token"`
				TokenType   string `json:"token_type"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &tr); err != nil || tr.AccessToken == "" || tr.TokenType != "Bearer" {
				t.Fatalf("token response %q", w.Body)
			}
			switch form.Get("grant_type") {
			case "refresh_token":
				rt := form.Get("refresh_token")
				if !(rt == o.rt && (id == "" || id == "tessera") && sec == "") && !(rt == o.crt && realClient) {
					t.Fatalf("a refresh succeeded with client %q and refresh token %q", id, rt)
				}
			case "client_credentials":
				if !realClient {
					t.Fatalf("client_credentials succeeded for client %q", id)
				}
			default:
				t.Fatalf("grant_type %q succeeded", form.Get("grant_type"))
			}
		case "/oauth2/introspect":
			var in struct {
				Active *bool `json:"active"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &in); err != nil || in.Active == nil {
				t.Fatalf("introspection response %q", w.Body)
			}
			if *in.Active && (!realClient || !slices.Contains([]string{o.rt, o.at, o.crt, o.cat}, form.Get("token"))) {
				t.Fatalf("active introspection for client %q, token %q", id, form.Get("token"))
			}
		}
	})
}
