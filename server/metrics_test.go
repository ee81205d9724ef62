package server_test

import (
	"bufio"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/secret"
	"github.com/tessera-auth/tessera/server"
	"github.com/tessera-auth/tessera/server/servertest"
)

// scrape reads GET /metrics into series keyed name{a="x",b="y"} with the
// labels sorted, as the text format writes them.
func scrape(e *servertest.Env) map[string]float64 {
	e.T.Helper()
	r := e.Do(servertest.Request{Method: "GET", Path: "/metrics"})
	if r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
		e.T.Fatalf("GET /metrics: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(string(r.Body)))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			e.T.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

func series(name string, labels ...string) string {
	if len(labels) == 0 {
		return name
	}
	var pairs []string
	for i := 0; i+1 < len(labels); i += 2 {
		pairs = append(pairs, labels[i]+`="`+labels[i+1]+`"`)
	}
	slices.Sort(pairs)
	return name + "{" + strings.Join(pairs, ",") + "}"
}

// TestMetrics drives each measured path once and reads the counts back
// from GET /metrics.
func TestMetrics(t *testing.T) {
	e, _ := servertest.NewFull(t, func(a *auth.Config, h *server.Config) { a.AccountBurst = 1 })
	e.MustUser("ada@example.com", servertest.Password)
	cookie := e.Login("ada@example.com", servertest.Password)
	e.Do(servertest.Request{Method: "POST", Path: "/v1/login", JSON: map[string]string{"email": "nobody@example.com", "password": "wrong-password"}})
	e.Do(servertest.Request{Method: "POST", Path: "/v1/login", JSON: map[string]string{"email": "nobody@example.com", "password": "wrong-password"}})
	e.Do(servertest.Request{Method: "POST", Path: "/v1/login", JSON: map[string]string{"email": "not an email", "password": "x"}})
	e.SessionStatus(cookie)
	e.SessionStatus(cookie)
	e.SessionStatus(secret.New().Reveal())
	bearer := e.SessionToken("ada@example.com")
	e.Do(servertest.Request{Method: "GET", Path: "/v1/sessions", Bearer: bearer})
	tr := e.MustTokens("ada@example.com", nil)
	e.Do(servertest.Request{Method: "GET", Path: "/v1/session", Bearer: tr.AccessToken})
	e.Do(servertest.Request{Method: "GET", Path: "/v1/authz", Bearer: tr.AccessToken})
	e.MustRefresh(tr.RefreshToken)
	e.Clock.Add(time.Minute) // past the grace window: a replay is theft
	e.RefreshFirstParty(tr.RefreshToken)
	e.Do(servertest.Request{Method: "POST", Path: "/v1/logout", Cookie: cookie})
	e.Do(servertest.Request{Method: "GET", Path: "/nowhere"})
	e.Post("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"nope"}, "client_id": {"tessera"}}, nil)

	got := scrape(e)
	for _, c := range []struct {
		series string
		want   float64
	}{
		{series("tessera_logins_total", "result", "ok"), 3},
		{series("tessera_logins_total", "result", "invalid_credentials"), 1},
		{series("tessera_logins_total", "result", "throttled"), 1},
		{series("tessera_logins_total", "result", "invalid_request"), 1},
		{series("tessera_logins_total", "result", "busy"), 0},
		{series("tessera_session_checks_total", "kind", "cookie", "result", "ok"), 3}, // two checks and the logout
		{series("tessera_session_checks_total", "kind", "cookie", "result", "unauthenticated"), 1},
		{series("tessera_session_checks_total", "kind", "bearer_session", "result", "ok"), 1},
		{series("tessera_session_checks_total", "kind", "jwt", "result", "ok"), 2},
		{series("tessera_session_check_duration_seconds_count", "kind", "cookie"), 4},
		{series("tessera_refreshes_total", "result", "ok"), 1},
		{series("tessera_refreshes_total", "result", "invalid_grant"), 2},
		{series("tessera_refresh_reuse_detected_total"), 1},
		{series("tessera_sessions_revoked_total", "cause", "refresh_token_reuse"), 1},
		{series("tessera_sessions_revoked_total", "cause", "logout"), 1},
		{series("tessera_event_stream_subscribers"), 0},
		{series("tessera_argon2_queue_depth"), 0},
		{series("tessera_webhook_deliveries_total", "result", "delivered"), 0},
		{series("tessera_http_requests_total", "route", "GET /v1/session", "code", "200"), 3},
		{series("tessera_http_requests_total", "route", "GET /v1/session", "code", "401"), 1},
		{series("tessera_http_requests_total", "route", "POST /v1/login", "code", "429"), 1},
		{series("tessera_http_requests_total", "route", "unmatched", "code", "404"), 1},
		{series("tessera_http_request_duration_seconds_count", "route", "POST /v1/logout"), 1},
	} {
		if v, ok := got[c.series]; !ok || v != c.want {
			t.Errorf("%s = %v (present: %v), want %v", c.series, v, ok, c.want)
		}
	}
}
