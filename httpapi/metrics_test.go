package httpapi_test

import (
	"bufio"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/httpapi"
	"github.com/tessera-auth/tessera/secret"
)

// scrape reads GET /metrics into series keyed name{a="x",b="y"} with the
// labels sorted, as the text format writes them.
func (e *env) scrape() map[string]float64 {
	e.t.Helper()
	r := e.do(request{method: "GET", path: "/metrics"})
	if r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
		e.t.Fatalf("GET /metrics: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(string(r.body)))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			e.t.Fatalf("metrics line %q: %v", line, err)
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
	e, _ := newFullEnv(t, func(a *auth.Config, h *httpapi.Config) { a.AccountBurst = 1 })
	e.mustUser("ada@example.com", pw)
	cookie := e.login("ada@example.com", pw)
	e.do(request{method: "POST", path: "/v1/login", json: map[string]string{"email": "nobody@example.com", "password": "wrong-password"}})
	e.do(request{method: "POST", path: "/v1/login", json: map[string]string{"email": "nobody@example.com", "password": "wrong-password"}})
	e.do(request{method: "POST", path: "/v1/login", json: map[string]string{"email": "not an email", "password": "x"}})
	e.sessionStatus(cookie)
	e.sessionStatus(cookie)
	e.sessionStatus(secret.New().Reveal())
	bearer := e.sessionToken("ada@example.com")
	e.do(request{method: "GET", path: "/v1/sessions", bearer: bearer})
	tr := e.mustTokens("ada@example.com", nil)
	e.do(request{method: "GET", path: "/v1/session", bearer: tr.AccessToken})
	e.do(request{method: "GET", path: "/v1/authz", bearer: tr.AccessToken})
	e.mustRefresh(tr.RefreshToken)
	e.clock.Add(time.Minute) // past the grace window: a replay is theft
	e.refreshFirstParty(tr.RefreshToken)
	e.do(request{method: "POST", path: "/v1/logout", cookie: cookie})
	e.do(request{method: "GET", path: "/nowhere"})
	e.post("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"nope"}, "client_id": {"tessera"}}, nil)

	got := e.scrape()
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
