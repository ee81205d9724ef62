package admin_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/server/httpx"
	"github.com/tessera-auth/tessera/server/servertest"
)

func TestAdminAuthorization(t *testing.T) {
	e, _ := servertest.NewFull(t)
	e.MustUser("root@example.com", servertest.Password, "admin")
	e.MustUser("user@example.com", servertest.Password)
	adminCookie := e.Login("root@example.com", servertest.Password)
	userCookie := e.Login("user@example.com", servertest.Password)
	adminBearer := e.SessionToken("root@example.com")
	adminJWT := e.MustTokens("root@example.com", nil).AccessToken
	userJWT := e.MustTokens("user@example.com", nil).AccessToken
	clientJWT := e.ClientToken("ops", "admin")
	eventsJWT := e.ClientToken("verifier", "events", "introspect")
	goneID, goneSec := e.Client("gone", "admin")
	goneJWT := func() string {
		r := e.Post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, servertest.Basic(goneID, goneSec))
		var tr servertest.TokenResp
		r.Decode(t, &tr)
		return tr.AccessToken
	}()
	if err := e.Svc.RemoveClient(context.Background(), goneID); err != nil {
		t.Fatal(err)
	}
	crossSite := map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}

	for _, tc := range []struct {
		name   string
		req    servertest.Request
		status int
		code   auth.Code
	}{
		{"None", servertest.Request{}, 401, auth.CodeUnauthenticated},
		{"Basic", servertest.Request{Header: servertest.Basic("ops", "x")}, 401, auth.CodeUnauthenticated},
		{"GarbageBearer", servertest.Request{Bearer: "not-a-token"}, 401, auth.CodeUnauthenticated},
		{"ForgedJWT", servertest.Request{Bearer: "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."}, 401, auth.CodeUnauthenticated},
		{"UserCookie", servertest.Request{Cookie: userCookie}, 403, auth.CodeForbidden},
		{"UserJWT", servertest.Request{Bearer: userJWT}, 403, auth.CodeForbidden},
		{"ClientWithoutAdminScope", servertest.Request{Bearer: eventsJWT}, 403, auth.CodeForbidden},
		{"RemovedClient", servertest.Request{Bearer: goneJWT}, 401, auth.CodeUnauthenticated},
		{"AdminCookie", servertest.Request{Cookie: adminCookie}, 200, ""},
		{"AdminBearerSession", servertest.Request{Bearer: adminBearer}, 200, ""},
		{"AdminJWT", servertest.Request{Bearer: adminJWT}, 200, ""},
		{"AdminClient", servertest.Request{Bearer: clientJWT}, 200, ""},
		// A cross-site GET is safe: it changes nothing, and the browser
		// does not let the other site read the answer.
		{"AdminCookieCrossSiteGET", servertest.Request{Cookie: adminCookie, Header: crossSite}, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req
			req.Method, req.Path = "GET", "/admin/v1/keys"
			servertest.WantStatus(t, "GET", e.Do(req), tc.status, tc.code)
		})
	}

	t.Run("CookieCrossSiteRefused", func(t *testing.T) {
		before := len(e.Events())
		r := e.Do(servertest.Request{Method: "POST", Path: "/admin/v1/keys/rotate", Cookie: adminCookie, Header: crossSite})
		servertest.WantStatus(t, "cross-site POST", r, 403, auth.CodeCrossOrigin)
		r = e.Do(servertest.Request{Method: "DELETE", Path: "/admin/v1/users/user@example.com", Cookie: adminCookie, Header: crossSite})
		servertest.WantStatus(t, "cross-site DELETE", r, 403, auth.CodeCrossOrigin)
		if after := len(e.Events()); after != before {
			t.Errorf("a refused request appended %d events", after-before)
		}
	})
	t.Run("CookieSameOriginAllowed", func(t *testing.T) {
		r := e.Do(servertest.Request{Method: "POST", Path: "/admin/v1/keys/rotate", Cookie: adminCookie, Header: map[string]string{"Sec-Fetch-Site": "same-origin"}})
		servertest.WantStatus(t, "same-origin POST", r, 201, "")
	})
	t.Run("BearerCrossSiteAllowed", func(t *testing.T) {
		// A browser never attaches an Authorization header by itself.
		r := e.Do(servertest.Request{Method: "POST", Path: "/admin/v1/keys/rotate", Bearer: clientJWT, Header: crossSite})
		servertest.WantStatus(t, "bearer POST", r, 201, "")
	})
	t.Run("RoleRemovedEndsAccess", func(t *testing.T) {
		e.MustUser("temp@example.com", servertest.Password, "admin")
		c := e.Login("temp@example.com", servertest.Password)
		tok := e.MustTokens("temp@example.com", nil).AccessToken
		servertest.WantStatus(t, "before", e.Do(servertest.Request{Method: "GET", Path: "/admin/v1/keys", Cookie: c}), 200, "")
		e.Clock.Add(time.Second) // sessions made in the same instant as a role removal survive it
		r := e.Do(servertest.Request{Method: "PATCH", Path: "/admin/v1/users/temp@example.com", Bearer: clientJWT, JSON: map[string]any{"roles": []string{}}})
		servertest.WantStatus(t, "PATCH", r, 200, "")
		servertest.WantStatus(t, "cookie after", e.Do(servertest.Request{Method: "GET", Path: "/admin/v1/keys", Cookie: c}), 401, auth.CodeUnauthenticated)
		servertest.WantStatus(t, "JWT after", e.Do(servertest.Request{Method: "GET", Path: "/admin/v1/keys", Bearer: tok}), 401, auth.CodeUnauthenticated)
	})
	t.Run("ChangesLoggedWithActor", func(t *testing.T) {
		if !strings.Contains(e.Logs.String(), `msg="admin change"`) || !strings.Contains(e.Logs.String(), "actor=client:") {
			t.Errorf("no admin change line with its actor in the log")
		}
	})
}

// TestAdminBadInput: every bad input gets its 4xx, never a 500, and changes
// nothing stored.
func TestAdminBadInput(t *testing.T) {
	e, _ := servertest.NewFull(t)
	tok := e.ClientToken("ops", "admin")
	ada := e.MustUser("ada@example.com", servertest.Password, "admin")
	e.Login("ada@example.com", servertest.Password)
	before := len(e.Events())
	big := `{"email":"` + strings.Repeat("a", httpx.MaxBodyBytes) + `"}`
	for _, tc := range []struct {
		name        string
		method      string
		path        string
		raw, ct     string
		status      int
		code        auth.Code
		allowHeader string
	}{
		{"CreateUser/Text", "POST", "/admin/v1/users", `{"email":"x@example.com","password":"` + servertest.Password + `"}`, "text/plain", 415, "unsupported_media_type", ""},
		{"CreateUser/Form", "POST", "/admin/v1/users", "email=x%40example.com&password=" + servertest.Password, servertest.FormType, 415, "unsupported_media_type", ""},
		{"CreateUser/NoBody", "POST", "/admin/v1/users", "", "application/json", 400, auth.CodeInvalidRequest, ""},
		{"CreateUser/TooLarge", "POST", "/admin/v1/users", big, "application/json", 413, "body_too_large", ""},
		{"CreateUser/UnknownField", "POST", "/admin/v1/users", `{"email":"x@example.com","password":"` + servertest.Password + `","admin":true}`, "application/json", 400, auth.CodeInvalidRequest, ""},
		{"CreateUser/CaseVariant", "POST", "/admin/v1/users", `{"Email":"x@example.com","password":"` + servertest.Password + `"}`, "application/json", 400, auth.CodeInvalidRequest, ""},
		{"CreateUser/Duplicate", "POST", "/admin/v1/users", `{"email":"x@example.com","email":"y@example.com","password":"` + servertest.Password + `"}`, "application/json", 400, auth.CodeInvalidRequest, ""},
		{"CreateUser/RolesType", "POST", "/admin/v1/users", `{"email":"x@example.com","password":"` + servertest.Password + `","roles":"admin"}`, "application/json", 400, auth.CodeInvalidRequest, ""},
		{"CreateUser/RoleName", "POST", "/admin/v1/users", `{"email":"x@example.com","password":"` + servertest.Password + `","roles":["Admin!"]}`, "application/json", 400, auth.CodeInvalidRequest, ""},
		{"CreateUser/Trailing", "POST", "/admin/v1/users", `{"email":"x@example.com","password":"` + servertest.Password + `"} {}`, "application/json", 400, auth.CodeInvalidRequest, ""},
		{"CreateUser/Array", "POST", "/admin/v1/users", `[]`, "application/json", 400, auth.CodeInvalidRequest, ""},
		{"CreateUser/NoEmail", "POST", "/admin/v1/users", `{"password":"` + servertest.Password + `"}`, "application/json", 400, auth.CodeInvalidRequest, ""},
		{"CreateUser/WeakPassword", "POST", "/admin/v1/users", `{"email":"x@example.com","password":"password1"}`, "application/json", 400, auth.CodeWeakPassword, ""},
		{"CreateUser/Taken", "POST", "/admin/v1/users", `{"email":"ADA@example.com","password":"` + servertest.Password + `"}`, "application/json", 409, auth.CodeConflict, ""},
		{"CreateUser/Query", "POST", "/admin/v1/users?x=1", `{"email":"x@example.com","password":"` + servertest.Password + `"}`, "application/json", 400, auth.CodeInvalidRequest, ""},
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
		{"PatchUser/Form", "PATCH", "/admin/v1/users/" + ada.ID, `disabled=true`, servertest.FormType, 415, "unsupported_media_type", ""},
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
			r := e.Do(servertest.Request{Method: tc.method, Path: tc.path, Raw: tc.raw, ContentType: tc.ct, Bearer: tok})
			servertest.WantStatus(t, tc.name, r, tc.status, tc.code)
			if tc.allowHeader != "" && r.Header.Get("Allow") != tc.allowHeader {
				t.Errorf("Allow %q, want %q", r.Header.Get("Allow"), tc.allowHeader)
			}
		})
	}
	if after := e.Events(); len(after) != before {
		t.Errorf("bad input changed the log: %d events before, %d after", before, len(after))
	}
}

// TestAdminWithoutWebhooks: a server without the webhook service answers
// the webhook routes 404, after authorizing the caller.
func TestAdminWithoutWebhooks(t *testing.T) {
	e := servertest.New(t)
	tok := e.ClientToken("ops", "admin")
	servertest.WantStatus(t, "anonymous", e.Do(servertest.Request{Method: "GET", Path: "/admin/v1/webhooks"}), 401, auth.CodeUnauthenticated)
	servertest.WantStatus(t, "list", e.Do(servertest.Request{Method: "GET", Path: "/admin/v1/webhooks", Bearer: tok}), 404, auth.CodeNotFound)
	servertest.WantStatus(t, "add", e.Do(servertest.Request{Method: "POST", Path: "/admin/v1/webhooks", Bearer: tok, JSON: map[string]any{"url": "https://h.example.com/", "events": []string{"*"}}}), 404, auth.CodeNotFound)
	servertest.WantStatus(t, "metrics", e.Do(servertest.Request{Method: "GET", Path: "/metrics"}), 404, auth.CodeNotFound)
}

// TestAdminFlow drives the admin API as an operator would and checks each
// effect where it shows: sessions end, secrets work, keys rotate.
func TestAdminFlow(t *testing.T) {
	e, _ := servertest.NewFull(t)
	tok := e.ClientToken("ops", "admin")
	call := func(method, path string, body any, status int) *servertest.Response {
		t.Helper()
		r := e.Do(servertest.Request{Method: method, Path: path, JSON: body, Bearer: tok})
		if r.StatusCode != status {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, r.StatusCode, status, r.Body)
		}
		return r
	}
	var u struct {
		ID       string   `json:"id"`
		Email    string   `json:"email"`
		Roles    []string `json:"roles"`
		Disabled bool     `json:"disabled"`
	}
	call("POST", "/admin/v1/users", map[string]any{"email": "Bob@Example.com", "password": servertest.Password, "roles": []string{"staff"}}, 201).Decode(t, &u)
	if u.Email != "bob@example.com" || len(u.Roles) != 1 || u.ID == "" {
		t.Fatalf("created %+v", u)
	}
	for _, n := range []string{"c", "d", "e"} {
		call("POST", "/admin/v1/users", map[string]any{"email": n + "@example.com", "password": servertest.Password}, 201)
	}
	var page struct {
		Users []struct{ Email string } `json:"users"`
		Next  string                   `json:"next"`
	}
	call("GET", "/admin/v1/users?limit=3", nil, 200).Decode(t, &page)
	if len(page.Users) != 3 || page.Next == "" {
		t.Fatalf("page 1: %+v", page)
	}
	call("GET", "/admin/v1/users?limit=3&after="+url.QueryEscape(page.Next), nil, 200).Decode(t, &page)
	if len(page.Users) != 1 || page.Next != "" {
		t.Fatalf("page 2: %+v", page)
	}

	cookie := e.Login("bob@example.com", servertest.Password)
	var sessions struct {
		Sessions []struct {
			ID string `json:"sid"`
		} `json:"sessions"`
	}
	call("GET", "/admin/v1/users/bob@example.com/sessions", nil, 200).Decode(t, &sessions)
	if len(sessions.Sessions) != 1 {
		t.Fatalf("sessions: %+v", sessions)
	}
	call("DELETE", "/admin/v1/users/"+u.ID+"/sessions/"+sessions.Sessions[0].ID, nil, 204)
	if st := e.SessionStatus(cookie); st != 401 {
		t.Errorf("session revoked by an admin still answers %d", st)
	}
	revoked := e.Events()
	if ev := revoked[len(revoked)-1]; ev.Type != auth.EventSessionRevoked || ev.Data["cause"] != auth.CauseAdmin {
		t.Errorf("last event %+v, want session.revoked by admin", ev)
	}
	cookie = e.Login("bob@example.com", servertest.Password)
	e.Clock.Add(time.Second)
	call("DELETE", "/admin/v1/users/bob@example.com/sessions", nil, 204)
	if st := e.SessionStatus(cookie); st != 401 {
		t.Errorf("after sign-out everywhere the session answers %d", st)
	}
	cookie = e.Login("bob@example.com", servertest.Password)
	e.Clock.Add(time.Second)
	call("PATCH", "/admin/v1/users/bob@example.com", map[string]any{"disabled": true}, 200).Decode(t, &u)
	if !u.Disabled || e.SessionStatus(cookie) != 401 {
		t.Errorf("disabled user %+v still has a session", u)
	}
	if r := e.Do(servertest.Request{Method: "POST", Path: "/v1/login", JSON: map[string]string{"email": "bob@example.com", "password": servertest.Password}}); r.StatusCode != 401 {
		t.Errorf("a disabled user signed in: %d", r.StatusCode)
	}

	var nc struct {
		ID     string   `json:"client_id"`
		Secret string   `json:"client_secret"`
		Scopes []string `json:"scopes"`
	}
	call("POST", "/admin/v1/clients", map[string]any{"name": "billing", "scopes": []string{"introspect"}}, 201).Decode(t, &nc)
	if r := e.Post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, servertest.Basic(nc.ID, nc.Secret)); r.StatusCode != 200 {
		t.Errorf("the new client's secret does not work: %d %s", r.StatusCode, r.Body)
	}
	call("DELETE", "/admin/v1/clients/"+nc.ID, nil, 204)
	if r := e.Post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, servertest.Basic(nc.ID, nc.Secret)); r.StatusCode != 401 {
		t.Errorf("a removed client got a token: %d", r.StatusCode)
	}

	var k struct {
		ID string `json:"kid"`
	}
	call("POST", "/admin/v1/keys/rotate", nil, 201).Decode(t, &k)
	if set := e.JWKS(); set == nil {
		t.Fatal("no JWKS")
	}
	jwks := e.Do(servertest.Request{Method: "GET", Path: "/.well-known/jwks.json"})
	if !strings.Contains(string(jwks.Body), k.ID) {
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
	call("GET", "/admin/v1/events?type=session.revoked&user="+u.ID, nil, 200).Decode(t, &evs)
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
	call("POST", "/admin/v1/webhooks", map[string]any{"url": "https://hooks.example.com/in", "events": []string{"*"}}, 201).Decode(t, &wh)
	if !strings.HasPrefix(wh.Secret, "whsec_") || wh.ID == "" {
		t.Errorf("webhook %+v", wh)
	}
	call("GET", "/admin/v1/webhooks", nil, 200)
	call("GET", "/admin/v1/webhooks/"+wh.ID+"/deliveries?limit=5", nil, 200)
	call("DELETE", "/admin/v1/webhooks/"+wh.ID, nil, 204)

	call("DELETE", "/admin/v1/users/"+u.ID, nil, 204)
	call("GET", "/admin/v1/users/"+u.ID, nil, 404)
}
