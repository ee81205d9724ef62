package server_test

import (
	"encoding/json"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/secret"
	"github.com/tessera-auth/tessera/server"
	"github.com/tessera-auth/tessera/server/servertest"
)

// TestLogsHoldNoSecrets runs a full flow — sign-in in all three modes,
// refresh (and a replayed refresh token), introspection, revocation, admin
// calls that make secrets, failing sign-ins — with every logger at debug
// level, then searches the whole log for each secret the test used or was
// given.
func TestLogsHoldNoSecrets(t *testing.T) {
	var buf servertest.Logs
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e, _ := servertest.NewFull(t, func(a *auth.Config, h *server.Config) { a.Logger, h.Logger = log, log })

	type used struct{ what, value string }
	var secrets []used
	keep := func(what string, s string) string {
		t.Helper()
		if s == "" {
			t.Fatalf("%s: empty", what)
		}
		secrets = append(secrets, used{what, s})
		return s
	}
	same := map[string]string{"Sec-Fetch-Site": "same-origin"}

	// An operator, through the admin API.
	adminToken := keep("admin client token", e.ClientToken("ops", "admin"))
	pw1 := keep("password", "first-long-passphrase")
	r := e.Do(servertest.Request{Method: "POST", Path: "/admin/v1/users", Bearer: adminToken, JSON: map[string]any{"email": "ada@example.com", "password": pw1, "roles": []string{"admin"}}})
	if r.StatusCode != 201 {
		t.Fatalf("create user: %d %s", r.StatusCode, r.Body)
	}
	var nc struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}
	e.Do(servertest.Request{Method: "POST", Path: "/admin/v1/clients", Bearer: adminToken, JSON: map[string]any{"name": "api", "scopes": []string{"introspect"}}}).Decode(t, &nc)
	keep("client secret", nc.Secret)
	var wh struct {
		Secret string `json:"secret"`
	}
	e.Do(servertest.Request{Method: "POST", Path: "/admin/v1/webhooks", Bearer: adminToken, JSON: map[string]any{"url": "https://hooks.example.com/in?token=receiver-token-123", "events": []string{"*"}}}).Decode(t, &wh)
	keep("webhook secret", wh.Secret)
	keep("webhook receiver token", "receiver-token-123")

	// Sign-in: session mode (cookie), native (session token), token, hybrid.
	login := func(body map[string]any) *servertest.Response {
		t.Helper()
		body["email"] = "ada@example.com"
		if _, ok := body["password"]; !ok {
			body["password"] = pw1
		}
		return e.Do(servertest.Request{Method: "POST", Path: "/v1/login", JSON: body})
	}
	r = login(map[string]any{})
	cookie := keep("session cookie", r.SessionCookie().Value)
	var native struct {
		SessionToken string `json:"session_token"`
	}
	login(map[string]any{"cookie": false}).Decode(t, &native)
	keep("session token", native.SessionToken)
	var tok servertest.TokenResp
	login(map[string]any{"mode": "token"}).Decode(t, &tok)
	access, refresh := keep("access token", tok.AccessToken), keep("refresh token", tok.RefreshToken)
	r = login(map[string]any{"mode": "hybrid", "client_id": "tessera"})
	hybridCookie := keep("hybrid cookie", r.SessionCookie().Value)
	var hyb servertest.TokenResp
	r.Decode(t, &hyb)
	keep("hybrid access token", hyb.AccessToken)
	keep("hybrid refresh token", hyb.RefreshToken)

	// Failing sign-ins.
	login(map[string]any{"password": keep("wrong password", "not-the-password-42")})
	e.Do(servertest.Request{Method: "POST", Path: "/v1/login", JSON: map[string]string{"email": "nobody@example.com", "password": keep("stranger's password", "guessing-game-77")}})
	e.Do(servertest.Request{Method: "POST", Path: "/v1/login", Raw: "email=ada%40example.com&password=" + url.QueryEscape(keep("form password", "form posted pass!")), ContentType: servertest.FormType})

	// Uses of every credential, good and bad.
	e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Cookie: cookie})
	e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Bearer: native.SessionToken})
	e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Bearer: access})
	e.Do(servertest.Request{Method: "GET", Path: "/v1/authz", Bearer: access})
	e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Cookie: keep("unknown cookie", secret.New().Reveal())})
	e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Bearer: keep("forged JWT", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl")})
	var minted servertest.TokenResp
	e.Do(servertest.Request{Method: "POST", Path: "/v1/session/token", Cookie: hybridCookie, Header: same}).Decode(t, &minted)
	keep("minted access token", minted.AccessToken)

	// Refresh, then replay the old refresh token: theft, the session ends.
	next := e.MustRefresh(refresh)
	keep("rotated access token", next.AccessToken)
	keep("rotated refresh token", next.RefreshToken)
	e.Clock.Add(time.Minute)
	e.RefreshFirstParty(refresh)

	// Introspection and revocation by a confidential client.
	e.Introspect(nc.ID, nc.Secret, hyb.AccessToken)
	e.Introspect(nc.ID, "wrong-secret-"+nc.Secret[:4], hyb.RefreshToken)
	e.Post("/oauth2/revoke", url.Values{"token": {hyb.RefreshToken}, "client_id": {"tessera"}}, nil)

	// More admin calls: a new password, sessions, keys, the events log.
	pw2 := keep("new password", "second-long-passphrase")
	e.Do(servertest.Request{Method: "PATCH", Path: "/admin/v1/users/ada@example.com", Bearer: adminToken, JSON: map[string]any{"password": pw2}})
	e.Do(servertest.Request{Method: "PATCH", Path: "/admin/v1/users/ada@example.com", Bearer: adminToken, JSON: map[string]any{"password": keep("weak password", "hunter2")}})
	e.Do(servertest.Request{Method: "GET", Path: "/admin/v1/users/ada@example.com/sessions", Bearer: adminToken})
	e.Do(servertest.Request{Method: "POST", Path: "/admin/v1/keys/rotate", Bearer: adminToken})
	e.Do(servertest.Request{Method: "GET", Path: "/admin/v1/events?limit=1000", Bearer: adminToken})
	e.Do(servertest.Request{Method: "POST", Path: "/v1/logout", Cookie: cookie, Header: same})

	logs := buf.String()
	if !strings.Contains(logs, `"request_id"`) || strings.Count(logs, "\n") < 30 {
		t.Fatalf("the log looks empty:\n%s", logs)
	}
	for _, s := range secrets {
		for _, form := range []string{s.value, url.QueryEscape(s.value), jsonEscaped(s.value)} {
			if strings.Contains(logs, form) {
				t.Errorf("the log holds the %s", s.what)
				break
			}
		}
	}
	// Every line is JSON with a level and a message; requests carry their ID.
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil || m["level"] == nil || m["msg"] == nil {
			t.Errorf("not a structured line: %s", line)
			continue
		}
		if m["msg"] == "request" && m["request_id"] == "" {
			t.Errorf("a request line without its ID: %s", line)
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("log:\n%s", logs)
	}
}

func jsonEscaped(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}
