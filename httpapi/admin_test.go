package httpapi_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/httpapi"
	"github.com/tessera-auth/tessera/metrics"
	"github.com/tessera-auth/tessera/webhook"
)

// lateWebhookStore lets the webhook service be made inside a newEnv option,
// before the env's database exists; Store is set once newEnv returns.
type lateWebhookStore struct{ webhook.Store }

// newFullEnv is an env with every optional part wired as cmd/tessera wires
// it: metrics (recorder, gauges, /metrics) and webhooks.
func newFullEnv(t testing.TB, opts ...option) (*env, *metrics.Metrics) {
	t.Helper()
	m := metrics.New()
	ls := &lateWebhookStore{}
	opts = append([]option{func(a *auth.Config, h *httpapi.Config) {
		a.Recorder = m
		h.Metrics = m
		w, err := webhook.NewService(ls, a.Tokens.KEK, webhook.Config{Now: a.Now})
		if err != nil {
			t.Fatal(err)
		}
		h.Webhooks = w
	}}, opts...)
	e := newEnv(t, opts...)
	ls.Store = e.db
	m.ObserveService(e.svc)
	m.ObserveHasher(e.hasher)
	return e, m
}

// clientToken registers a client with scopes and returns its
// client_credentials access token.
func (e *env) clientToken(name string, scopes ...string) string {
	e.t.Helper()
	id, sec := e.client(name, scopes...)
	r := e.post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, basic(id, sec))
	var tr tokenResp
	r.decode(e.t, &tr)
	if r.StatusCode != 200 || tr.AccessToken == "" {
		e.t.Fatalf("client_credentials: %d %s", r.StatusCode, r.body)
	}
	return tr.AccessToken
}

// sessionToken signs in in session mode without the cookie and returns the
// session secret, for use as a bearer token.
func (e *env) sessionToken(email string) string {
	e.t.Helper()
	r := e.do(request{method: "POST", path: "/v1/login", json: map[string]any{"email": email, "password": pw, "cookie": false}})
	var out struct {
		SessionToken string `json:"session_token"`
	}
	r.decode(e.t, &out)
	if r.StatusCode != 200 || out.SessionToken == "" {
		e.t.Fatalf("login: %d %s", r.StatusCode, r.body)
	}
	return out.SessionToken
}

func wantStatus(t *testing.T, what string, r *response, status int, code auth.Code) {
	t.Helper()
	if r.StatusCode != status {
		t.Errorf("%s: status %d, want %d; body %s", what, r.StatusCode, status, r.body)
		return
	}
	if code != "" {
		if p := r.problem(t); p.Code != string(code) || p.RequestID == "" || p.RequestID != r.Header.Get("X-Request-Id") {
			t.Errorf("%s: problem %+v, want code %s and the request ID", what, p, code)
		}
	}
}

func TestAdminAuthorization(t *testing.T) {
	e, _ := newFullEnv(t)
	e.mustUser("root@example.com", pw, "admin")
	e.mustUser("user@example.com", pw)
	adminCookie := e.login("root@example.com", pw)
	userCookie := e.login("user@example.com", pw)
	adminBearer := e.sessionToken("root@example.com")
	adminJWT := e.mustTokens("root@example.com", nil).AccessToken
	userJWT := e.mustTokens("user@example.com", nil).AccessToken
	clientJWT := e.clientToken("ops", "admin")
	eventsJWT := e.clientToken("verifier", "events", "introspect")
	goneID, goneSec := e.client("gone", "admin")
	goneJWT := func() string {
		r := e.post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, basic(goneID, goneSec))
		var tr tokenResp
		r.decode(t, &tr)
		return tr.AccessToken
	}()
	if err := e.svc.RemoveClient(context.Background(), goneID); err != nil {
		t.Fatal(err)
	}
	crossSite := map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}

	for _, tc := range []struct {
		name   string
		req    request
		status int
		code   auth.Code
	}{
		{"None", request{}, 401, auth.CodeUnauthenticated},
		{"Basic", request{header: basic("ops", "x")}, 401, auth.CodeUnauthenticated},
		{"GarbageBearer", request{bearer: "not-a-token"}, 401, auth.CodeUnauthenticated},
		{"ForgedJWT", request{bearer: "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."}, 401, auth.CodeUnauthenticated},
		{"UserCookie", request{cookie: userCookie}, 403, auth.CodeForbidden},
		{"UserJWT", request{bearer: userJWT}, 403, auth.CodeForbidden},
		{"ClientWithoutAdminScope", request{bearer: eventsJWT}, 403, auth.CodeForbidden},
		{"RemovedClient", request{bearer: goneJWT}, 401, auth.CodeUnauthenticated},
		{"AdminCookie", request{cookie: adminCookie}, 200, ""},
		{"AdminBearerSession", request{bearer: adminBearer}, 200, ""},
		{"AdminJWT", request{bearer: adminJWT}, 200, ""},
		{"AdminClient", request{bearer: clientJWT}, 200, ""},
		// A cross-site GET is safe: it changes nothing, and the browser
		// does not let the other site read the answer.
		{"AdminCookieCrossSiteGET", request{cookie: adminCookie, header: crossSite}, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req
			req.method, req.path = "GET", "/admin/v1/keys"
			wantStatus(t, "GET", e.do(req), tc.status, tc.code)
		})
	}

	t.Run("CookieCrossSiteRefused", func(t *testing.T) {
		before := len(e.events())
		r := e.do(request{method: "POST", path: "/admin/v1/keys/rotate", cookie: adminCookie, header: crossSite})
		wantStatus(t, "cross-site POST", r, 403, auth.CodeCrossOrigin)
		r = e.do(request{method: "DELETE", path: "/admin/v1/users/user@example.com", cookie: adminCookie, header: crossSite})
		wantStatus(t, "cross-site DELETE", r, 403, auth.CodeCrossOrigin)
		if after := len(e.events()); after != before {
			t.Errorf("a refused request appended %d events", after-before)
		}
	})
	t.Run("CookieSameOriginAllowed", func(t *testing.T) {
		r := e.do(request{method: "POST", path: "/admin/v1/keys/rotate", cookie: adminCookie, header: map[string]string{"Sec-Fetch-Site": "same-origin"}})
		wantStatus(t, "same-origin POST", r, 201, "")
	})
	t.Run("BearerCrossSiteAllowed", func(t *testing.T) {
		// A browser never attaches an Authorization header by itself.
		r := e.do(request{method: "POST", path: "/admin/v1/keys/rotate", bearer: clientJWT, header: crossSite})
		wantStatus(t, "bearer POST", r, 201, "")
	})
	t.Run("RoleRemovedEndsAccess", func(t *testing.T) {
		e.mustUser("temp@example.com", pw, "admin")
		c := e.login("temp@example.com", pw)
		tok := e.mustTokens("temp@example.com", nil).AccessToken
		wantStatus(t, "before", e.do(request{method: "GET", path: "/admin/v1/keys", cookie: c}), 200, "")
		e.clock.Add(time.Second) // sessions made in the same instant as a role removal survive it
		r := e.do(request{method: "PATCH", path: "/admin/v1/users/temp@example.com", bearer: clientJWT, json: map[string]any{"roles": []string{}}})
		wantStatus(t, "PATCH", r, 200, "")
		wantStatus(t, "cookie after", e.do(request{method: "GET", path: "/admin/v1/keys", cookie: c}), 401, auth.CodeUnauthenticated)
		wantStatus(t, "JWT after", e.do(request{method: "GET", path: "/admin/v1/keys", bearer: tok}), 401, auth.CodeUnauthenticated)
	})
	t.Run("ChangesLoggedWithActor", func(t *testing.T) {
		if !strings.Contains(e.logs.String(), `msg="admin change"`) || !strings.Contains(e.logs.String(), "actor=client:") {
			t.Errorf("no admin change line with its actor in the log")
		}
	})
}

// TestAdminBadInput: every bad input gets its 4xx, never a 500, and changes
// nothing stored.
func TestAdminBadInput(t *testing.T) {
	e, _ := newFullEnv(t)
	tok := e.clientToken("ops", "admin")
	ada := e.mustUser("ada@example.com", pw, "admin")
	e.login("ada@example.com", pw)
	before := len(e.events())
	big := `{"email":"` + strings.Repeat("a", httpapi.MaxBodyBytes) + `"}`
	for _, tc := range []struct {
		name        string
		method      string
		path        string
		raw, ct     string
		status      int
		code        auth.Code
		allowHeader string
	}{
		{"CreateUser/Text", "POST", "/admin/v1/users", `{"email":"x@example.com","password":"` + pw + `"}`, "text/plain", 415, "unsupported_media_type", ""},
		{"CreateUser/Form", "POST", "/admin/v1/users", "email=x%40example.com&password=" + pw, formType, 415, "unsupported_media_type", ""},
		{"CreateUser/NoBody", "POST", "/admin/v1/users", "", "application/json", 400, auth.CodeInvalidRequest, ""},
		{"CreateUser/TooLarge", "POST", "/admin/v1/users", big, "application/json", 413, "body_too_large", ""},
		{"CreateUser/UnknownField", "POST", "/admin/v1/users", `{"email":"x@example.com","password":"` + pw + `","admin":true}`, "application/json", 400, auth.CodeInvalidRequest, ""},
		{"CreateUser/CaseVariant", "POST", "/admin/v1/users", `{"Email":"x@example.com","password":"` + pw + `"}`, "application/json", 400, auth.CodeInvalidRequest, ""},
		{"CreateUser/Duplicate", "POST", "/admin/v1/users", `{"email":"x@example.com","email":"y@example.com","password":"` + pw + `"}`, "application/json", 400, auth.CodeInvalidRequest, ""},
		{"CreateUser/RolesType", "POST", "/admin/v1/users", `{"email":"x@example.com","password":"` + pw + `","roles":"admin"}`, "application/json", 400, auth.CodeInvalidRequest, ""},
		{"CreateUser/RoleName", "POST", "/admin/v1/users", `{"email":"x@example.com","password":"` + pw + `","roles":["Admin!"]}`, "application/json", 400, auth.CodeInvalidRequest, ""},
		{"CreateUser/Trailing", "POST", "/admin/v1/users", `{"email":"x@example.com","password":"` + pw + `"} {}`, "application/json", 400, auth.CodeInvalidRequest, ""},
		{"CreateUser/Array", "POST", "/admin/v1/users", `[]`, "application/json", 400, auth.CodeInvalidRequest, ""},
		{"CreateUser/NoEmail", "POST", "/admin/v1/users", `{"password":"` + pw + `"}`, "application/json", 400, auth.CodeInvalidRequest, ""},
		{"CreateUser/WeakPassword", "POST", "/admin/v1/users", `{"email":"x@example.com","password":"password1"}`, "application/json", 400, auth.CodeWeakPassword, ""},
		{"CreateUser/Taken", "POST", "/admin/v1/users", `{"email":"ADA@example.com","password":"` + pw + `"}`, "application/json", 409, auth.CodeConflict, ""},
		{"CreateUser/Query", "POST", "/admin/v1/users?x=1", `{"email":"x@example.com","password":"` + pw + `"}`, "application/json", 400, auth.CodeInvalidRequest, ""},
		{"Rotate/Query", "POST", "/admin/v1/keys/rotate?alg=RS256", "", "", 400, auth.CodeInvalidRequest, ""},
		{"Users/LimitZero", "GET", "/admin/v1/users?limit=0", "", "", 400, auth.CodeInvalidRequest, ""},
		{"Users/LimitText", "GET", "/admin/v1/users?limit=ten", "", "", 400, auth.CodeInvalidRequest, ""},
		{"Users/LimitHuge", "GET", "/admin/v1/users?limit=99999999999999999999", "", "", 400, auth.CodeInvalidRequest, ""},
		{"Users/UnknownParam", "GET", "/admin/v1/users?sort=email", "", "", 400, auth.CodeInvalidRequest, ""},
		{"Users/RepeatedParam", "GET", "/admin/v1/users?limit=1&limit=2", "", "", 400, auth.CodeInvalidRequest, ""},
		{"Users/BadQuery", "GET", "/admin/v1/users?search=%zz", "", "", 400, auth.CodeInvalidRequest, ""},
		{"Users/LongSearch", "GET", "/admin/v1/users?search=" + strings.Repeat("a", 300), "", "", 400, auth.CodeInvalidRequest, ""},
		{"User/Unknown", "GET", "/admin/v1/users/0190a6c2-0000-7000-8000-000000000000", "", "", 404, auth.CodeNotFound, ""},
		{"User/UnknownEmail", "GET", "/admin/v1/users/nobody@example.com", "", "", 404, auth.CodeNotFound, ""},
		{"User/BadEmail", "GET", "/admin/v1/users/a@b@c", "", "", 404, auth.CodeNotFound, ""},
		{"User/NUL", "GET", "/admin/v1/users/%00", "", "", 404, auth.CodeNotFound, ""},
		{"User/Long", "GET", "/admin/v1/users/" + strings.Repeat("x", 5000), "", "", 404, auth.CodeNotFound, ""},
		{"User/Param", "GET", "/admin/v1/users/" + ada.ID + "?x=1", "", "", 400, auth.CodeInvalidRequest, ""},
		{"PatchUser/Empty", "PATCH", "/admin/v1/users/" + ada.ID, `{}`, "application/json", 400, auth.CodeInvalidRequest, ""},
		{"PatchUser/NullRoles", "PATCH", "/admin/v1/users/" + ada.ID, `{"roles":null}`, "application/json", 400, auth.CodeInvalidRequest, ""},
		{"PatchUser/DisabledText", "PATCH", "/admin/v1/users/" + ada.ID, `{"disabled":"yes"}`, "application/json", 400, auth.CodeInvalidRequest, ""},
		{"PatchUser/PasswordNumber", "PATCH", "/admin/v1/users/" + ada.ID, `{"password":12345678}`, "application/json", 400, auth.CodeInvalidRequest, ""},
		{"PatchUser/WeakPassword", "PATCH", "/admin/v1/users/" + ada.ID, `{"roles":[],"password":"short"}`, "application/json", 400, auth.CodeWeakPassword, ""},
		{"PatchUser/Unknown", "PATCH", "/admin/v1/users/nobody@example.com", `{"disabled":true}`, "application/json", 404, auth.CodeNotFound, ""},
		{"PatchUser/Email", "PATCH", "/admin/v1/users/" + ada.ID, `{"email":"new@example.com"}`, "application/json", 400, auth.CodeInvalidRequest, ""},
		{"PatchUser/Form", "PATCH", "/admin/v1/users/" + ada.ID, `disabled=true`, formType, 415, "unsupported_media_type", ""},
		{"DeleteUser/Body", "DELETE", "/admin/v1/users/" + ada.ID, `{}`, "application/json", 400, auth.CodeInvalidRequest, ""},
		{"DeleteUser/Unknown", "DELETE", "/admin/v1/users/nobody@example.com", "", "", 404, auth.CodeNotFound, ""},
		{"Sessions/Unknown", "GET", "/admin/v1/users/nobody@example.com/sessions", "", "", 404, auth.CodeNotFound, ""},
		{"RevokeSession/Unknown", "DELETE", "/admin/v1/users/" + ada.ID + "/sessions/nope", "", "", 404, auth.CodeNotFound, ""},
		{"RevokeSession/UnknownUser", "DELETE", "/admin/v1/users/nobody@example.com/sessions/nope", "", "", 404, auth.CodeNotFound, ""},
		{"SignOut/Unknown", "DELETE", "/admin/v1/users/nobody@example.com/sessions", "", "", 404, auth.CodeNotFound, ""},
		{"CreateClient/NoName", "POST", "/admin/v1/clients", `{"scopes":["admin"]}`, "application/json", 400, auth.CodeInvalidRequest, ""},
		{"CreateClient/ScopesString", "POST", "/admin/v1/clients", `{"name":"x","scopes":"admin"}`, "application/json", 400, auth.CodeInvalidRequest, ""},
		{"CreateClient/BadScope", "POST", "/admin/v1/clients", `{"name":"x","scopes":["a\\\\b"]}`, "application/json", 400, auth.CodeInvalidRequest, ""},
		{"RemoveClient/Unknown", "DELETE", "/admin/v1/clients/cl_nope", "", "", 404, auth.CodeNotFound, ""},
		{"Rotate/Body", "POST", "/admin/v1/keys/rotate", `{"alg":"RS256"}`, "application/json", 400, auth.CodeInvalidRequest, ""},
		{"Events/AfterNegative", "GET", "/admin/v1/events?after=-1", "", "", 400, auth.CodeInvalidRequest, ""},
		{"Events/Since", "GET", "/admin/v1/events?since=yesterday", "", "", 400, auth.CodeInvalidRequest, ""},
		{"Events/Range", "GET", "/admin/v1/events?since=2026-01-02T00:00:00Z&before=2026-01-01T00:00:00Z", "", "", 400, auth.CodeInvalidRequest, ""},
		{"Events/Limit", "GET", "/admin/v1/events?limit=1001", "", "", 400, auth.CodeInvalidRequest, ""},
		{"Events/UserRepeated", "GET", "/admin/v1/events?user=a&user=b", "", "", 400, auth.CodeInvalidRequest, ""},
		{"Events/TypeLong", "GET", "/admin/v1/events?type=" + strings.Repeat("t", 100), "", "", 400, auth.CodeInvalidRequest, ""},
		{"Events/TypesRepeated", "GET", "/admin/v1/events?type=user.created&type=user.deleted", "", "", 200, "", ""},
		{"AddWebhook/URL", "POST", "/admin/v1/webhooks", `{"url":"javascript:alert(1)","events":["*"]}`, "application/json", 400, auth.CodeInvalidRequest, ""},
		{"AddWebhook/Events", "POST", "/admin/v1/webhooks", `{"url":"https://h.example.com/","events":["nope"]}`, "application/json", 400, auth.CodeInvalidRequest, ""},
		{"AddWebhook/Credentials", "POST", "/admin/v1/webhooks", `{"url":"https://u:p@h.example.com/","events":["*"]}`, "application/json", 400, auth.CodeInvalidRequest, ""},
		{"RemoveWebhook/Unknown", "DELETE", "/admin/v1/webhooks/wh_nope", "", "", 404, auth.CodeNotFound, ""},
		{"Deliveries/Unknown", "GET", "/admin/v1/webhooks/wh_nope/deliveries", "", "", 404, auth.CodeNotFound, ""},
		{"Deliveries/Limit", "GET", "/admin/v1/webhooks/wh_nope/deliveries?limit=0", "", "", 400, auth.CodeInvalidRequest, ""},
		{"Method/PUT", "PUT", "/admin/v1/users", "", "", 405, "method_not_allowed", "GET, POST"},
		{"Method/POSTUser", "POST", "/admin/v1/users/" + ada.ID, "", "", 405, "method_not_allowed", "GET, PATCH, DELETE"},
		{"NoRoute", "GET", "/admin/v1/nothing", "", "", 404, auth.CodeNotFound, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(request{method: tc.method, path: tc.path, raw: tc.raw, contentType: tc.ct, bearer: tok})
			wantStatus(t, tc.name, r, tc.status, tc.code)
			if tc.allowHeader != "" && r.Header.Get("Allow") != tc.allowHeader {
				t.Errorf("Allow %q, want %q", r.Header.Get("Allow"), tc.allowHeader)
			}
		})
	}
	if after := e.events(); len(after) != before {
		t.Errorf("bad input changed the log: %d events before, %d after", before, len(after))
	}
}

// TestAdminWithoutWebhooks: a server without the webhook service answers
// the webhook routes 404, after authorizing the caller.
func TestAdminWithoutWebhooks(t *testing.T) {
	e := newEnv(t)
	tok := e.clientToken("ops", "admin")
	wantStatus(t, "anonymous", e.do(request{method: "GET", path: "/admin/v1/webhooks"}), 401, auth.CodeUnauthenticated)
	wantStatus(t, "list", e.do(request{method: "GET", path: "/admin/v1/webhooks", bearer: tok}), 404, auth.CodeNotFound)
	wantStatus(t, "add", e.do(request{method: "POST", path: "/admin/v1/webhooks", bearer: tok, json: map[string]any{"url": "https://h.example.com/", "events": []string{"*"}}}), 404, auth.CodeNotFound)
	wantStatus(t, "metrics", e.do(request{method: "GET", path: "/metrics"}), 404, auth.CodeNotFound)
}

// TestAdminFlow drives the admin API as an operator would and checks each
// effect where it shows: sessions end, secrets work, keys rotate.
func TestAdminFlow(t *testing.T) {
	e, _ := newFullEnv(t)
	tok := e.clientToken("ops", "admin")
	call := func(method, path string, body any, status int) *response {
		t.Helper()
		r := e.do(request{method: method, path: path, json: body, bearer: tok})
		if r.StatusCode != status {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, r.StatusCode, status, r.body)
		}
		return r
	}
	var u struct {
		ID       string   `json:"id"`
		Email    string   `json:"email"`
		Roles    []string `json:"roles"`
		Disabled bool     `json:"disabled"`
	}
	call("POST", "/admin/v1/users", map[string]any{"email": "Bob@Example.com", "password": pw, "roles": []string{"staff"}}, 201).decode(t, &u)
	if u.Email != "bob@example.com" || len(u.Roles) != 1 || u.ID == "" {
		t.Fatalf("created %+v", u)
	}
	for _, n := range []string{"c", "d", "e"} {
		call("POST", "/admin/v1/users", map[string]any{"email": n + "@example.com", "password": pw}, 201)
	}
	var page struct {
		Users []struct{ Email string } `json:"users"`
		Next  string                   `json:"next"`
	}
	call("GET", "/admin/v1/users?limit=3", nil, 200).decode(t, &page)
	if len(page.Users) != 3 || page.Next == "" {
		t.Fatalf("page 1: %+v", page)
	}
	call("GET", "/admin/v1/users?limit=3&after="+url.QueryEscape(page.Next), nil, 200).decode(t, &page)
	if len(page.Users) != 1 || page.Next != "" {
		t.Fatalf("page 2: %+v", page)
	}

	cookie := e.login("bob@example.com", pw)
	var sessions struct {
		Sessions []struct {
			ID string `json:"sid"`
		} `json:"sessions"`
	}
	call("GET", "/admin/v1/users/bob@example.com/sessions", nil, 200).decode(t, &sessions)
	if len(sessions.Sessions) != 1 {
		t.Fatalf("sessions: %+v", sessions)
	}
	call("DELETE", "/admin/v1/users/"+u.ID+"/sessions/"+sessions.Sessions[0].ID, nil, 204)
	if st := e.sessionStatus(cookie); st != 401 {
		t.Errorf("session revoked by an admin still answers %d", st)
	}
	revoked := e.events()
	if ev := revoked[len(revoked)-1]; ev.Type != auth.EventSessionRevoked || ev.Data["cause"] != auth.CauseAdmin {
		t.Errorf("last event %+v, want session.revoked by admin", ev)
	}
	cookie = e.login("bob@example.com", pw)
	e.clock.Add(time.Second)
	call("DELETE", "/admin/v1/users/bob@example.com/sessions", nil, 204)
	if st := e.sessionStatus(cookie); st != 401 {
		t.Errorf("after sign-out everywhere the session answers %d", st)
	}
	cookie = e.login("bob@example.com", pw)
	e.clock.Add(time.Second)
	call("PATCH", "/admin/v1/users/bob@example.com", map[string]any{"disabled": true}, 200).decode(t, &u)
	if !u.Disabled || e.sessionStatus(cookie) != 401 {
		t.Errorf("disabled user %+v still has a session", u)
	}
	if r := e.do(request{method: "POST", path: "/v1/login", json: map[string]string{"email": "bob@example.com", "password": pw}}); r.StatusCode != 401 {
		t.Errorf("a disabled user signed in: %d", r.StatusCode)
	}

	var nc struct {
		ID     string   `json:"client_id"`
		Secret string   `json:"client_secret"`
		Scopes []string `json:"scopes"`
	}
	call("POST", "/admin/v1/clients", map[string]any{"name": "billing", "scopes": []string{"introspect"}}, 201).decode(t, &nc)
	if r := e.post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, basic(nc.ID, nc.Secret)); r.StatusCode != 200 {
		t.Errorf("the new client's secret does not work: %d %s", r.StatusCode, r.body)
	}
	call("DELETE", "/admin/v1/clients/"+nc.ID, nil, 204)
	if r := e.post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, basic(nc.ID, nc.Secret)); r.StatusCode != 401 {
		t.Errorf("a removed client got a token: %d", r.StatusCode)
	}

	var k struct {
		ID string `json:"kid"`
	}
	call("POST", "/admin/v1/keys/rotate", nil, 201).decode(t, &k)
	if set := e.jwks(); set == nil {
		t.Fatal("no JWKS")
	}
	jwks := e.do(request{method: "GET", path: "/.well-known/jwks.json"})
	if !strings.Contains(string(jwks.body), k.ID) {
		t.Errorf("the JWKS lacks the new key %s", k.ID)
	}
	// The old token still works: the retired key stays published.
	call("GET", "/admin/v1/keys", nil, 200)

	var evs struct {
		Events []struct {
			Type   string `json:"type"`
			UserID string `json:"user_id"`
		} `json:"events"`
		Next string `json:"next"`
	}
	call("GET", "/admin/v1/events?type=session.revoked&user="+u.ID, nil, 200).decode(t, &evs)
	if len(evs.Events) < 3 {
		t.Errorf("bob's session.revoked events: %+v", evs)
	}
	for _, ev := range evs.Events {
		if ev.Type != "session.revoked" || ev.UserID != u.ID {
			t.Errorf("filter let through %+v", ev)
		}
	}

	var wh struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	call("POST", "/admin/v1/webhooks", map[string]any{"url": "https://hooks.example.com/in", "events": []string{"*"}}, 201).decode(t, &wh)
	if !strings.HasPrefix(wh.Secret, "whsec_") || wh.ID == "" {
		t.Errorf("webhook %+v", wh)
	}
	call("GET", "/admin/v1/webhooks", nil, 200)
	call("GET", "/admin/v1/webhooks/"+wh.ID+"/deliveries?limit=5", nil, 200)
	call("DELETE", "/admin/v1/webhooks/"+wh.ID, nil, 204)

	call("DELETE", "/admin/v1/users/"+u.ID, nil, 204)
	call("GET", "/admin/v1/users/"+u.ID, nil, 404)
}
