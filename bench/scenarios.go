package bench

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"

	"golang.org/x/crypto/argon2"
)

// scenario is one figure of the report.
type scenario struct {
	name  string
	desc  string
	kind  string // KindFloor, KindThroughput or KindLag
	floor string // the floor's name ("" for floors and lag scenarios)
	// group is the name prefix that must be named for an explicit scenario
	// to run ("growth-1m").
	group    string
	explicit bool
	growth   int    // stored sessions (growth scenarios)
	op       string // growth: "session" or "refresh"
	local    bool   // needs the in-process server
	needs    string // a store kind this scenario needs
	setup    func(ctx context.Context, e *env, c int) ([]work, error)
	storeOf  func(e *env) string
}

// Scenario names.
const (
	nFloor         = "floor"
	nSessionHit    = "session-cache-hit"
	nSessionOffSQL = "session-cache-off-sqlite"
	nSessionOffPG  = "session-cache-off-postgres"
	nAuthz         = "authz"
	nResourceFloor = "resource-floor"
	nGuardFast     = "jwt-guard-fast"
	nGuardStrict   = "hybrid-guard-strict"
	nArgon2Raw     = "argon2id-raw"
	nLogin         = "login"
	nRefresh       = "refresh"
	nClientCreds   = "client-credentials"
	nLagSession    = "revocation-session"
	nLagJWT        = "revocation-jwt"
	nLagGuard      = "revocation-guard"
)

func mainStore(e *env) string { return e.storeKind }

// catalog lists every scenario in the order they run; a floor comes before
// the scenarios measured against it.
func catalog(opts Options) []*scenario {
	list := []*scenario{
		{name: nFloor, kind: KindFloor, desc: "GET /healthz: the same server stack, no authentication", setup: setupFloor, storeOf: mainStore},
		{name: nSessionHit, kind: KindThroughput, floor: nFloor, desc: "GET /v1/session with a session cookie, cache hit", setup: setupSessionHit, storeOf: mainStore},
		{name: nSessionOffSQL, kind: KindThroughput, floor: nFloor, local: true, needs: storeSQLite,
			desc:  "GET /v1/session, session cache off: a store lookup per check (second in-process server, SQLite)",
			setup: setupCacheOff(storeSQLite), storeOf: func(*env) string { return storeSQLite }},
		{name: nSessionOffPG, kind: KindThroughput, floor: nFloor, local: true, needs: storePostgres,
			desc:  "GET /v1/session, session cache off: a store lookup per check (second in-process server, PostgreSQL)",
			setup: setupCacheOff(storePostgres), storeOf: func(*env) string { return storePostgres }},
		{name: nAuthz, kind: KindThroughput, floor: nFloor, desc: "GET /v1/authz (forward-auth) with a session cookie", setup: setupAuthz, storeOf: mainStore},
		{name: nResourceFloor, kind: KindFloor, desc: "a tiny resource server on loopback, no guard (same request, bearer header included)", setup: setupResource("/plain")},
		{name: nGuardFast, kind: KindThroughput, floor: nResourceFloor, desc: "the resource server behind guard.Fast: local JWT check, revocations from the events stream", setup: setupResource("/fast")},
		{name: nGuardStrict, kind: KindThroughput, floor: nResourceFloor, desc: "the resource server behind guard.Strict: JWT check plus introspection of the session per request", setup: setupResource("/strict"), storeOf: mainStore},
		{name: nArgon2Raw, kind: KindFloor, desc: "raw argon2id (golang.org/x/crypto/argon2.IDKey) with the server's parameters, on the same cores", setup: setupArgon2},
		{name: nLogin, kind: KindThroughput, floor: nArgon2Raw, desc: "POST /v1/login (password sign-in, a new session each)", setup: setupLogin, storeOf: mainStore},
		{name: nRefresh, kind: KindThroughput, floor: nFloor, desc: "POST /oauth2/token grant_type=refresh_token, each worker rotating its own chain", setup: setupRefresh, storeOf: mainStore},
		{name: nClientCreds, kind: KindThroughput, floor: nFloor, desc: "POST /oauth2/token grant_type=client_credentials (client_secret_basic)", setup: setupClientCreds, storeOf: mainStore},
		{name: nLagSession, kind: KindLag, desc: "session mode: from the logout response to the first 401 of GET /v1/session", storeOf: mainStore},
		{name: nLagJWT, kind: KindLag, desc: "plain JWT checked without guard: accepted until it expires, so the lag is the token's remaining lifetime at logout (computed, not observed)"},
		{name: nLagGuard, kind: KindLag, desc: "JWT through guard.Fast following the events stream: from the logout response to the first refused Verify (polled in a tight loop)"},
	}
	sizes := opts.GrowthSizes
	explicitFrom := 1 << 62
	if len(sizes) == 0 {
		sizes = []int{10_000, 100_000, 1_000_000}
		explicitFrom = 1_000_000
	}
	for _, n := range sizes {
		g := "growth-" + sizeLabel(n)
		list = append(list,
			&scenario{name: g + "-session", kind: KindThroughput, floor: nFloor, group: g, explicit: n >= explicitFrom, growth: n, op: "session", local: true,
				desc: fmt.Sprintf("GET /v1/session for a session drawn uniformly among %s stored (default cache of 100k, warmed)", sizeLabel(n)), storeOf: mainStore},
			&scenario{name: g + "-refresh", kind: KindThroughput, floor: nFloor, group: g, explicit: n >= explicitFrom, growth: n, op: "refresh", local: true,
				desc: fmt.Sprintf("refresh rotation with %s sessions and refresh tokens stored", sizeLabel(n)), storeOf: mainStore},
		)
	}
	return list
}

// sizeLabel writes 10000 as 10k and 1000000 as 1m.
func sizeLabel(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dm", n/1_000_000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}

// selectScenarios applies the name filter and adds the floors that the
// selected scenarios need.
func selectScenarios(all []*scenario, filter []string, skipGrowth bool) ([]*scenario, error) {
	chosen := map[string]bool{}
	if len(filter) == 0 {
		for _, s := range all {
			if !s.explicit && !(skipGrowth && s.growth > 0) {
				chosen[s.name] = true
			}
		}
	}
	var unknown []string
	for _, f := range filter {
		f = strings.ToLower(strings.TrimSpace(f))
		if f == "" {
			continue
		}
		hit := false
		for _, s := range all {
			if s.name != f && !strings.HasPrefix(s.name, f+"-") {
				continue
			}
			if s.explicit && !strings.HasPrefix(f, s.group) {
				continue
			}
			chosen[s.name], hit = true, true
		}
		if !hit {
			unknown = append(unknown, f)
		}
	}
	if len(unknown) > 0 {
		var names []string
		for _, s := range all {
			names = append(names, s.name)
		}
		return nil, fmt.Errorf("bench: no scenario named %s; the scenarios are: %s (a prefix such as \"session\" or \"growth\" selects several)",
			strings.Join(unknown, ", "), strings.Join(names, ", "))
	}
	for _, s := range all {
		if chosen[s.name] && s.floor != "" {
			chosen[s.floor] = true
		}
	}
	var out []*scenario
	for _, s := range all {
		if chosen[s.name] {
			out = append(out, s)
		}
	}
	return out, nil
}

// repeat returns c workers, worker i sending the request q(i).
func repeat(c int, q func(i int) *request) []work {
	ws := make([]work, c)
	for i := range ws {
		ws[i] = q(i).do
	}
	return ws
}

func setupFloor(ctx context.Context, e *env, c int) ([]work, error) {
	return repeat(c, func(int) *request {
		return &request{hc: e.hc, method: "GET", url: e.base + "/healthz", want: 200}
	}), nil
}

func sessionGets(e *env, base, path string, sessions []credential) []work {
	return repeat(len(sessions), func(i int) *request {
		return &request{hc: e.hc, method: "GET", url: base + path, want: 200,
			header: http.Header{"Cookie": {sessions[i].cookieHeader()}}}
	})
}

func setupSessionHit(ctx context.Context, e *env, c int) ([]work, error) {
	ss, err := e.sessionsOn(ctx, e.base, c)
	if err != nil {
		return nil, err
	}
	return sessionGets(e, e.base, "/v1/session", ss), nil
}

func setupAuthz(ctx context.Context, e *env, c int) ([]work, error) {
	ss, err := e.sessionsOn(ctx, e.base, c)
	if err != nil {
		return nil, err
	}
	return sessionGets(e, e.base, "/v1/authz", ss), nil
}

func setupCacheOff(kind string) func(ctx context.Context, e *env, c int) ([]work, error) {
	return func(ctx context.Context, e *env, c int) ([]work, error) {
		s, err := e.cacheOffServer(ctx, kind)
		if err != nil {
			return nil, err
		}
		ss, err := e.sessionsOn(ctx, s.base, c)
		if err != nil {
			return nil, err
		}
		return sessionGets(e, s.base, "/v1/session", ss), nil
	}
}

// setupResource: each worker presents its own access token, minted from its
// own session, to the resource server at path (the floor sends it too).
func setupResource(path string) func(ctx context.Context, e *env, c int) ([]work, error) {
	return func(ctx context.Context, e *env, c int) ([]work, error) {
		res, err := e.resource(ctx)
		if err != nil {
			return nil, err
		}
		ss, err := e.sessionsOn(ctx, e.base, c)
		if err != nil {
			return nil, err
		}
		ws := make([]work, c)
		for i := range ws {
			tok, err := e.mintToken(ctx, ss[i])
			if err != nil {
				return nil, err
			}
			ws[i] = (&request{hc: e.hc, method: "GET", url: res.base + path, want: 200,
				header: http.Header{"Authorization": {"Bearer " + tok}}}).do
		}
		return ws, nil
	}
}

// setupArgon2 is login's floor: raw argon2id with the server's parameters
// under the server's own bound of GOMAXPROCS hashes at once (password.Hasher's
// default), so that the floor and the login pay the same memory contention;
// c unbounded hashes on fewer cores would thrash caches and flatter login.
func setupArgon2(ctx context.Context, e *env, c int) ([]work, error) {
	p := e.opts.Argon2
	slots := make(chan struct{}, runtime.GOMAXPROCS(0))
	ws := make([]work, c)
	for i := range ws {
		salt := make([]byte, p.SaltLen)
		rand.Read(salt)
		pw := []byte(e.pw)
		ws[i] = func(ctx context.Context) error {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return ctx.Err()
			}
			argon2.IDKey(pw, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
			<-slots
			return nil
		}
	}
	return ws, nil
}

func setupLogin(ctx context.Context, e *env, c int) ([]work, error) {
	body, _ := json.Marshal(map[string]string{"email": e.email, "password": e.pw})
	return repeat(c, func(int) *request {
		return &request{hc: e.hc, method: "POST", url: e.base + "/v1/login", want: 200, body: string(body),
			header: http.Header{"Content-Type": {"application/json"}}}
	}), nil
}

func setupClientCreds(ctx context.Context, e *env, c int) ([]work, error) {
	req, _ := http.NewRequest("POST", "/", nil)
	req.SetBasicAuth(url.QueryEscape(e.clientID), url.QueryEscape(e.clientSecret))
	basic := req.Header.Get("Authorization")
	return repeat(c, func(int) *request {
		return &request{hc: e.hc, method: "POST", url: e.base + "/oauth2/token", want: 200, body: "grant_type=client_credentials",
			header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Authorization": {basic}}}
	}), nil
}

func setupRefresh(ctx context.Context, e *env, c int) ([]work, error) {
	return refreshWorkers(ctx, e, c)
}

// refreshWorkers signs in c times in token mode and returns workers that
// each rotate their own refresh-token chain. A worker whose chain broke
// counts an error and signs in again.
func refreshWorkers(ctx context.Context, e *env, c int) ([]work, error) {
	ws := make([]work, c)
	for i := range ws {
		cred, err := e.login(ctx, e.base, "token")
		if err != nil {
			return nil, err
		}
		tok := cred.refresh
		ws[i] = func(ctx context.Context) error {
			err := rotate(ctx, e, &tok)
			if err != nil && ctx.Err() == nil {
				if cred, lerr := e.login(ctx, e.base, "token"); lerr == nil {
					tok = cred.refresh
				}
			}
			return err
		}
	}
	return ws, nil
}

// rotate presents *tok at the token endpoint and keeps its successor.
func rotate(ctx context.Context, e *env, tok *string) error {
	st, body, _, err := e.fetch(ctx, "POST", e.base+"/oauth2/token",
		[]byte("grant_type=refresh_token&refresh_token="+url.QueryEscape(*tok)),
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	if err != nil {
		return err
	}
	if st != 200 {
		return fmt.Errorf("POST /oauth2/token (refresh_token) answered %d: %s", st, truncate(body, 120))
	}
	var tr struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(body, &tr); err != nil || tr.RefreshToken == "" {
		return errors.New("POST /oauth2/token (refresh_token) returned no refresh token")
	}
	*tok = tr.RefreshToken
	return nil
}

// hasAny reports whether sel holds a scenario of one of the names.
func hasAny(sel []*scenario, names ...string) bool {
	return slices.ContainsFunc(sel, func(s *scenario) bool { return slices.Contains(names, s.name) })
}
