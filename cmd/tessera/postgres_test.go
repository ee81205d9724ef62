package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-auth/tessera/server/httpx"
	"github.com/tessera-auth/tessera/webhook"
)

// The PostgreSQL tests run the real binary against the PostgreSQL server
// named by TESSERA_TEST_POSTGRES (.ci/run sets it), each in a database of its
// own, dropped afterwards. Without the variable they skip.

const pgSkip = "set TESSERA_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable (as .ci/run does) to run the PostgreSQL tests"

// pgBaseURL returns the test server's URL, or skips t.
func pgBaseURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("TESSERA_TEST_POSTGRES")
	if u == "" {
		t.Skip(pgSkip)
	}
	return u
}

// pgExec runs sql on the database at dbURL, on a connection of its own.
func pgExec(t *testing.T, dbURL, sql string, args ...any) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("connecting to the test server: %v", err)
	}
	defer conn.Close(ctx)
	tag, err := conn.Exec(ctx, sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return tag.RowsAffected()
}

// newDatabase creates an empty database tessera_test_<random> on the test
// server and drops it (WITH (FORCE), whoever is still connected) when t
// ends; it returns the database's URL. Call it before starting servers on
// it, so that they are stopped before the database is dropped.
func newDatabase(t *testing.T) string {
	t.Helper()
	base := pgBaseURL(t)
	b := make([]byte, 8)
	rand.Read(b)
	name := "tessera_test_" + hex.EncodeToString(b)
	id := pgx.Identifier{name}.Sanitize()
	pgExec(t, base, "CREATE DATABASE "+id)
	t.Cleanup(func() { pgExec(t, base, "DROP DATABASE IF EXISTS "+id+" WITH (FORCE)") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("TESSERA_TEST_POSTGRES is not a URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// newSecretKey returns a fresh key-encryption secret.
func newSecretKey() string {
	b := make([]byte, secretKeyBytes)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// testIssuer is the public URL shared by the nodes of a test cluster.
const testIssuer = "http://tessera.test"

// pgEnv returns an environment whose store is a fresh database, with a
// key-encryption secret and the cluster's issuer, as every node of a
// deployment would have them.
func pgEnv(t *testing.T) (*env, string) {
	t.Helper()
	db := newDatabase(t)
	return newEnv(t).with("TESSERA_STORE="+db, "TESSERA_SECRET_KEY="+newSecretKey(), "TESSERA_ISSUER="+testIssuer), db
}

// waitLog waits until s has logged a line containing want.
func waitLog(t *testing.T, s *server, want string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(s.logs(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("tessera serve did not log %q within 15s:\n%s", want, s.logs())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// countLog counts s's log lines containing want.
func countLog(s *server, want string) int {
	return strings.Count(s.logs(), want)
}

// TestPostgresSecretKeyRequired: with a PostgreSQL store, the commands that
// need the key-encryption secret refuse to start without one, saying how to
// make it, before they touch the database (this one does not exist).
func TestPostgresSecretKeyRequired(t *testing.T) {
	e := newEnv(t)
	const store = "postgres://tessera:hunter2@127.0.0.1:1/tessera?sslmode=disable"
	for _, scheme := range []string{"postgres", "postgresql"} {
		e := e.with("TESSERA_STORE=" + strings.Replace(store, "postgres", scheme, 1))
		for _, args := range [][]string{
			{"serve", "--addr", "127.0.0.1:0"},
			{"keys", "list"},
			{"keys", "rotate"},
			{"token", "inspect", "x.y.z"},
			{"webhook", "add", "--url", "https://hooks.example.com/", "--event", "session.revoked"},
		} {
			r := e.mustFail("--secret-key (TESSERA_SECRET_KEY) is required with a PostgreSQL store: generate one with `head -c32 /dev/urandom | base64` and give every node the same", "", args...)
			if strings.Contains(r.stderr, "hunter2") {
				t.Errorf("tessera %s printed the database password: %s", strings.Join(args, " "), r.stderr)
			}
		}
	}
	if _, err := os.Stat(e.dir + "/data"); err == nil {
		t.Errorf("a PostgreSQL store made the data folder")
	}

	// With a secret, the unreachable database is the error, without its
	// password.
	e = e.with("TESSERA_STORE="+store, "TESSERA_SECRET_KEY="+newSecretKey())
	for _, args := range [][]string{{"serve", "--addr", "127.0.0.1:0"}, {"user", "list"}, {"migrate"}} {
		r := e.mustFail("store postgres://tessera:xxxxx@127.0.0.1:1/tessera?sslmode=disable: ", "", args...)
		if strings.Contains(r.stderr, "hunter2") {
			t.Errorf("tessera %s printed the database password: %s", strings.Join(args, " "), r.stderr)
		}
	}
	e.mustFail("--pg-max-conns must be 1 to 10000", "", "user", "list", "--pg-max-conns", "0")
	e.mustFail("--pg-min-conns must be 0 to --pg-max-conns", "", "migrate", "--pg-min-conns", "11")
}

// TestPostgresCommands runs every command that takes --store against a
// PostgreSQL database.
func TestPostgresCommands(t *testing.T) {
	e, db := pgEnv(t)
	first := e.mustRun("", "migrate")
	if !strings.Contains(first.stdout, "migrated from 0") {
		t.Errorf("first migrate printed %q", first.stdout)
	}
	if r := e.mustRun("", "migrate"); !strings.Contains(r.stdout, "(up to date)") {
		t.Errorf("second migrate printed %q", r.stdout)
	}

	e.mustRun("correct-horse-42\n", "user", "add", "--email", "ada@example.com", "--password-stdin", "--role", "admin")
	e.mustRun("", "user", "set-roles", "--email", "ada@example.com", "--role", "admin", "--role", "ops")
	// postgresql:// names the same database, and flags size the pool.
	alt := e.with("TESSERA_STORE=" + strings.Replace(db, "postgres://", "postgresql://", 1))
	if us := listUsers(t, alt, "--pg-max-conns", "2", "--pg-min-conns", "1"); len(us) != 1 || us[0].Email != "ada@example.com" || !slices.Equal(us[0].Roles, []string{"admin", "ops"}) {
		t.Errorf("user list over postgresql://: %+v", us)
	}

	r := e.mustRun("", "client", "add", "--name", "worker", "--scope", "introspect", "--json")
	var cl newClientJSON
	if err := json.Unmarshal([]byte(r.stdout), &cl); err != nil || cl.ClientID == "" {
		t.Fatalf("client add --json: %v\n%s", err, r)
	}
	if r := e.mustRun("", "client", "list"); !strings.Contains(r.stdout, cl.ClientID) {
		t.Errorf("client list lacks %s:\n%s", cl.ClientID, r.stdout)
	}

	kid := strings.TrimSpace(e.mustRun("", "keys", "rotate").stdout)
	if keys := listKeys(t, e); len(keys) != 1 || keys[0].Kid != kid || !keys[0].Active {
		t.Errorf("keys list after the first rotate: %+v", keys)
	}
	// Another secret cannot open the keys: the message says where it came from.
	e.with("TESSERA_SECRET_KEY="+newSecretKey()).mustFail("the secret in use is from --secret-key (TESSERA_SECRET_KEY)", "", "keys", "list")

	t.Run("Webhooks", func(t *testing.T) {
		e := e.in(t)
		r := e.mustRun("", "webhook", "add", "--url", "https://hooks.example.com/tessera?token=abc", "--event", "session.revoked,user.tokens_invalidated")
		for _, want := range []string{"id ", "secret ", "whsec_", "url ", "session.revoked user.tokens_invalidated", "cannot be shown again"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("webhook add printed no %q:\n%s", want, r.stdout)
			}
		}
		r = e.mustRun("", "webhook", "add", "--url", "http://127.0.0.1:9/", "--event", "*", "--json")
		var added webhookJSON
		if err := json.Unmarshal([]byte(r.stdout), &added); err != nil || !strings.HasPrefix(added.ID, "wh_") || !strings.HasPrefix(added.Secret, "whsec_") || !slices.Equal(added.Events, []string{"*"}) {
			t.Fatalf("webhook add --json: %v\n%s", err, r)
		}
		if _, err := webhook.ParseSecret(added.Secret); err != nil {
			t.Errorf("webhook add --json printed a secret that does not parse: %v", err)
		}
		var list []webhookJSON
		if err := json.Unmarshal([]byte(e.mustRun("", "webhook", "list", "--json").stdout), &list); err != nil || len(list) != 2 {
			t.Fatalf("webhook list --json: %v %+v", err, list)
		}
		if list[1].ID != added.ID || list[1].Secret != "" || list[0].URL != "https://hooks.example.com/tessera?token=abc" {
			t.Errorf("webhook list --json: %+v", list)
		}
		if r := e.mustRun("", "webhook", "list"); !strings.Contains(r.stdout, "CURSOR") || !strings.Contains(r.stdout, added.ID) || strings.Contains(r.stdout, "whsec_") {
			t.Errorf("webhook list:\n%s", r.stdout)
		}
		if r := e.mustRun("", "webhook", "deliveries", added.ID); !strings.Contains(r.stdout, "no delivery attempts yet") {
			t.Errorf("webhook deliveries of a new webhook:\n%s", r.stdout)
		}
		if r := e.mustRun("", "webhook", "deliveries", added.ID, "--json"); strings.TrimSpace(r.stdout) != "[]" {
			t.Errorf("webhook deliveries --json of a new webhook: %s", r.stdout)
		}
		e.mustRun("", "webhook", "remove", added.ID)
		e.mustFail("no webhook with ID "+added.ID, "", "webhook", "remove", added.ID)
		e.mustFail("no webhook with ID wh_nope", "", "webhook", "deliveries", "wh_nope")
		e.mustFail("--limit must be 1 to 1000", "", "webhook", "deliveries", list[0].ID, "--limit", "0")
		e.mustFail("unknown event type", "", "webhook", "add", "--url", "https://x.example/", "--event", "session.nope")
		e.mustFail("must not hold credentials", "", "webhook", "add", "--url", "https://u:p@x.example/", "--event", "*")
		// Reading webhooks needs no key-encryption secret.
		noSecret := newEnv(t).with("TESSERA_STORE=" + db)
		if r := noSecret.mustRun("", "webhook", "list"); !strings.Contains(r.stdout, list[0].ID) {
			t.Errorf("webhook list without a secret:\n%s", r)
		}
	})

	t.Run("SchemaTooNew", func(t *testing.T) {
		e := e.in(t)
		pgExec(t, db, "INSERT INTO schema_migrations (version, name) VALUES (9999, '9999_future.sql')")
		defer pgExec(t, db, "DELETE FROM schema_migrations WHERE version = 9999")
		e.mustFail("newer than this binary", "", "migrate")
		e.mustFail("newer than this binary", "", "user", "list")
		e.mustFail("newer than this binary", "", "serve", "--addr", "127.0.0.1:0")
	})
}

// cluster is several tessera serve processes on one PostgreSQL database.
type cluster struct {
	e     *env
	db    string
	nodes []*server
}

// startCluster migrates a fresh database and starts n nodes on it, each
// with its own --addr (a free port) and the same secret and issuer; it
// returns once every node listens for the others' changes.
func startCluster(t *testing.T, n int, args ...string) *cluster {
	t.Helper()
	e, db := pgEnv(t)
	e.mustRun("", "migrate")
	c := &cluster{e: e, db: db}
	for range n {
		c.nodes = append(c.nodes, e.startServe(args...))
	}
	for _, s := range c.nodes {
		waitLog(t, s, "listening for the other nodes' changes")
	}
	return c
}

// logout POSTs /v1/logout with the cookie and returns the status.
func logout(t *testing.T, base, cookie string) int {
	t.Helper()
	code, err := tryLogout(base, cookie)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func tryLogout(base, cookie string) (int, error) {
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/logout", nil)
	req.Header.Set("Cookie", httpx.CookieName+"="+cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// tryLogin signs in and returns the status and, on 200, the cookie.
func tryLogin(base, email, pw string) (int, string, error) {
	body, _ := json.Marshal(map[string]string{"email": email, "password": pw})
	resp, err := http.Post(base+"/v1/login", "application/json", strings.NewReader(string(body)))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, "", err
	}
	for _, c := range resp.Cookies() {
		if c.Name == httpx.CookieName {
			return resp.StatusCode, c.Value, nil
		}
	}
	return resp.StatusCode, "", nil
}

// untilUnauthenticated polls GET /v1/session on s every 2 ms until it
// answers 401 and returns how long that took and how many checks, failing
// after limit.
func untilUnauthenticated(t *testing.T, s *server, cookie string, limit time.Duration) (time.Duration, int) {
	t.Helper()
	start := time.Now()
	for checks := 1; ; checks++ {
		code := sessionStatus(t, s.url, cookie)
		if code == http.StatusUnauthorized {
			return time.Since(start), checks
		}
		if code != http.StatusOK {
			t.Fatalf("GET /v1/session answered %d", code)
		}
		if time.Since(start) > limit {
			t.Fatalf("the session is still accepted %s after it ended elsewhere:\n%s", limit, s.logs())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// refresh presents a refresh token for the first-party client.
func refresh(base, token string) (int, tokenResponse, string, error) {
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}, "client_id": {"tessera"}}
	resp, err := http.PostForm(base+"/oauth2/token", form)
	if err != nil {
		return 0, tokenResponse{}, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, tokenResponse{}, "", err
	}
	var tr tokenResponse
	var oerr struct {
		Error string `json:"error"`
	}
	if resp.StatusCode == http.StatusOK {
		err = json.Unmarshal(b, &tr)
	} else {
		json.Unmarshal(b, &oerr)
	}
	return resp.StatusCode, tr, oerr.Error, err
}

// jwtKid returns the kid of a JWT's header.
func jwtKid(t *testing.T, tok string) string {
	t.Helper()
	h, _, _ := strings.Cut(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	var header struct {
		Kid string `json:"kid"`
	}
	if err != nil || json.Unmarshal(b, &header) != nil || header.Kid == "" {
		t.Fatalf("no kid in the JWT header %q", b)
	}
	return header.Kid
}

// percentiles returns the median and the maximum of ds.
func percentiles(ds []time.Duration) (median, maximum time.Duration) {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2], s[len(s)-1]
}

// TestPostgresCluster runs three real nodes, A, B and C, on one database
// and shows that they behave as one server: sessions, logouts, signing
// keys, refresh-token rotation and webhooks are shared, and killing a node
// loses nothing it acknowledged.
func TestPostgresCluster(t *testing.T) {
	c := startCluster(t, 3)
	e := c.e
	a, b, cc := c.nodes[0], c.nodes[1], c.nodes[2]
	e.mustRun("correct-horse-42\n", "user", "add", "--email", "ada@example.com", "--password-stdin", "--role", "admin")
	const email, pw = "ada@example.com", "correct-horse-42"

	t.Run("SessionMadeOnAValidOnB", func(t *testing.T) {
		cookie := login(t, a.url, email, pw)
		for _, s := range []*server{b, cc} {
			if code := sessionStatus(t, s.url, cookie); code != http.StatusOK {
				t.Fatalf("a session made on A: GET /v1/session on %s answered %d", s.url, code)
			}
		}
	})

	// B has the session in its cache (it just answered for it); the logout
	// reaches it through the events log and LISTEN/NOTIFY.
	t.Run("LogoutOnARefusedOnBWithWarmCache", func(t *testing.T) {
		const rounds = 10
		var took []time.Duration
		first := 0 // rounds in which B's first check after the logout already refused
		for range rounds {
			cookie := login(t, a.url, email, pw)
			for range 3 {
				if code := sessionStatus(t, b.url, cookie); code != http.StatusOK {
					t.Fatalf("warming B: %d", code)
				}
			}
			if code := logout(t, a.url, cookie); code != http.StatusNoContent {
				t.Fatalf("logout on A: %d", code)
			}
			d, checks := untilUnauthenticated(t, b, cookie, time.Second)
			if checks == 1 {
				first++
			}
			took = append(took, d)
		}
		med, maxd := percentiles(took)
		t.Logf("logout on A until B answers 401 (B's cache warm): median %v, max %v over %d rounds; %d of them refused at B's first check", med, maxd, rounds, first)
	})

	t.Run("TokenSignedByAVerifiedByBAcrossRotation", func(t *testing.T) {
		tr := loginToken(t, a.url, email, pw)
		before := jwtKid(t, tr.AccessToken)
		if code := bearerStatus(t, b.url, tr.AccessToken); code != http.StatusOK {
			t.Fatalf("A's access token on B: %d", code)
		}
		// The rotation is made by a third process on the same database.
		kid := strings.TrimSpace(e.mustRun("", "keys", "rotate").stdout)
		start := time.Now()
		for _, s := range c.nodes {
			for !slices.Contains(jwksKids(t, s.url), kid) {
				if time.Since(start) > time.Second {
					t.Fatalf("%s's JWKS lacks the new key %s 1s after the rotation:\n%s", s.url, kid, s.logs())
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		t.Logf("the rotated key was in the JWKS of all three nodes %v after keys rotate returned", time.Since(start).Round(time.Millisecond))
		for _, s := range c.nodes {
			if kids := jwksKids(t, s.url); !slices.Contains(kids, before) {
				t.Errorf("%s dropped the retired key %s from its JWKS at once: %v", s.url, before, kids)
			}
		}
		if code := bearerStatus(t, b.url, tr.AccessToken); code != http.StatusOK {
			t.Errorf("the token A signed before the rotation, on B after it: %d", code)
		}
		next := loginToken(t, a.url, email, pw)
		if got := jwtKid(t, next.AccessToken); got != kid {
			t.Fatalf("A signs with %s after the rotation to %s", got, kid)
		}
		for _, s := range []*server{b, cc} {
			if code := bearerStatus(t, s.url, next.AccessToken); code != http.StatusOK {
				t.Errorf("A's token signed with the new key, on %s: %d", s.url, code)
			}
		}
		r := e.mustRun("", "token", "inspect", next.AccessToken)
		if !strings.Contains(r.stdout, "signature: valid (kid "+kid+")") {
			t.Errorf("token inspect against the database:\n%s", r.stdout)
		}
	})

	// Many concurrent presentations of one refresh token, alternating A and
	// B: all inside the grace window and before the successor is used, so
	// the rule gives every one of them the same successor.
	t.Run("RefreshRaceAcrossNodes", func(t *testing.T) {
		tr := loginToken(t, a.url, email, pw)
		const n = 24
		type result struct {
			code  int
			succ  string
			oauth string
			err   error
		}
		results := make([]result, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			node := []*server{a, b}[i%2]
			wg.Go(func() {
				<-start
				code, got, oerr, err := refresh(node.url, tr.RefreshToken)
				results[i] = result{code, got.RefreshToken, oerr, err}
			})
		}
		close(start)
		wg.Wait()
		successors := map[string]int{}
		codes := map[int]int{}
		for i, r := range results {
			if r.err != nil {
				t.Fatalf("refresh %d: %v", i, r.err)
			}
			codes[r.code]++
			switch {
			case r.code >= 500:
				t.Errorf("refresh %d on %s: %d", i, []string{"A", "B"}[i%2], r.code)
			case r.code == http.StatusOK:
				successors[r.succ]++
			default:
				t.Errorf("refresh %d: %d %s; the successor was not used yet and the grace window is open, so the rule says 200", i, r.code, r.oauth)
			}
		}
		t.Logf("%d concurrent refreshes of one token across A and B: statuses %v, %d distinct successors", n, codes, len(successors))
		if len(successors) != 1 {
			t.Fatalf("want one successor chain, got %d successors: %v", len(successors), successors)
		}
		var succ string
		for s := range successors {
			succ = s
		}
		// The chain goes on from the successor, on either node.
		code, next, _, err := refresh(b.url, succ)
		if err != nil || code != http.StatusOK || next.RefreshToken == "" || next.RefreshToken == succ {
			t.Fatalf("refreshing the successor on B: %d %v", code, err)
		}
		// Now that the successor was used, the original is a replay: theft.
		// The session dies, and the chain with it, on every node.
		if code, _, oerr, _ := refresh(cc.url, tr.RefreshToken); code != http.StatusBadRequest || oerr != "invalid_grant" {
			t.Errorf("replaying the first token after its successor was used: %d %s, want 400 invalid_grant", code, oerr)
		}
		if code, _, oerr, _ := refresh(a.url, next.RefreshToken); code != http.StatusBadRequest || oerr != "invalid_grant" {
			t.Errorf("the chain after reuse was detected: %d %s, want 400 invalid_grant", code, oerr)
		}
	})

	// Every node runs a deliverer; the leases make each event go out once.
	t.Run("OneWebhookDeliveryPerEvent", func(t *testing.T) {
		e := e.in(t)
		var mu sync.Mutex
		seen := map[string]int{}
		var badSig []string
		var sec webhook.Secret
		ready := make(chan struct{})
		recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-ready
			body, _ := io.ReadAll(r.Body)
			id := r.Header.Get(webhook.HeaderID)
			ts, _ := strconv.ParseInt(r.Header.Get(webhook.HeaderTimestamp), 10, 64)
			mu.Lock()
			defer mu.Unlock()
			seen[id]++
			if r.Header.Get(webhook.HeaderSignature) != sec.Sign(id, time.Unix(ts, 0), body) {
				badSig = append(badSig, id)
			}
			w.WriteHeader(http.StatusNoContent)
		}))
		defer recv.Close()
		r := e.mustRun("", "webhook", "add", "--url", recv.URL+"/hook", "--event", "session.revoked", "--json")
		var wh webhookJSON
		if err := json.Unmarshal([]byte(r.stdout), &wh); err != nil {
			t.Fatal(err)
		}
		var err error
		if sec, err = webhook.ParseSecret(wh.Secret); err != nil {
			t.Fatal(err)
		}
		close(ready)

		// N revocations, each logged in on one node and out on another.
		const n = 30
		for i := range n {
			cookie := login(t, c.nodes[i%3].url, email, pw)
			if code := logout(t, c.nodes[(i+1)%3].url, cookie); code != http.StatusNoContent {
				t.Fatalf("logout %d: %d", i, code)
			}
		}
		count := func() int {
			mu.Lock()
			defer mu.Unlock()
			return len(seen)
		}
		deadline := time.Now().Add(20 * time.Second)
		for count() < n {
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d events delivered after 20s:\n%s", count(), n, a.logs())
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(2 * time.Second) // room for a duplicate to show up
		mu.Lock()
		defer mu.Unlock()
		if len(seen) != n {
			t.Errorf("%d distinct webhook-ids, want %d: %v", len(seen), n, seen)
		}
		for id, k := range seen {
			if k != 1 {
				t.Errorf("%s delivered %d times", id, k)
			}
		}
		if len(badSig) > 0 {
			t.Errorf("requests whose signature does not verify with the secret from webhook add: %v", badSig)
		}
		var ds []deliveryJSON
		if err := json.Unmarshal([]byte(e.mustRun("", "webhook", "deliveries", wh.ID, "--json").stdout), &ds); err != nil {
			t.Fatal(err)
		}
		if len(ds) != n {
			t.Errorf("webhook deliveries lists %d attempts, want %d", len(ds), n)
		}
		for _, d := range ds {
			if d.Outcome != "delivered" || d.Attempt != 1 || d.StatusCode != http.StatusNoContent || seen[d.MessageID] != 1 {
				t.Errorf("delivery %+v", d)
			}
		}
		e.mustRun("", "webhook", "remove", wh.ID)
	})

	// The notification connections drop (as on a PostgreSQL restart or a
	// network cut): each node reconnects and catches up from the events log,
	// and a logout made meanwhile still reaches every node within a second.
	t.Run("NotificationConnectionLost", func(t *testing.T) {
		cookie := login(t, a.url, email, pw)
		if code := sessionStatus(t, b.url, cookie); code != http.StatusOK {
			t.Fatalf("warming B: %d", code)
		}
		before := countLog(b, "notifications from the other nodes are back")
		dbName := strings.TrimPrefix(mustParseURL(t, c.db).Path, "/")
		killed := pgExec(t, c.db, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'tessera-listen'", dbName)
		if killed != 3 {
			t.Errorf("terminated %d LISTEN connections, want 3 (one per node)", killed)
		}
		if code := logout(t, a.url, cookie); code != http.StatusNoContent {
			t.Fatalf("logout on A: %d", code)
		}
		d, _ := untilUnauthenticated(t, b, cookie, time.Second)
		t.Logf("with every LISTEN connection just terminated, logout on A reached B in %v", d)
		deadline := time.Now().Add(15 * time.Second)
		for countLog(b, "notifications from the other nodes are back") == before {
			if time.Now().After(deadline) {
				t.Fatalf("B did not resynchronise within 15s:\n%s", b.logs())
			}
			time.Sleep(10 * time.Millisecond)
		}
		if !strings.Contains(b.logs(), "LISTEN connection down; reconnecting") {
			t.Errorf("B did not log the lost connection:\n%s", b.logs())
		}
		// And notifications work again.
		cookie = login(t, a.url, email, pw)
		sessionStatus(t, b.url, cookie)
		logout(t, a.url, cookie)
		untilUnauthenticated(t, b, cookie, time.Second)
	})

	// SIGKILL A while logins and logouts stream at it: every one that A
	// acknowledged holds on B and C.
	t.Run("KillNodeMidRequest", func(t *testing.T) {
		type outcome struct {
			cookie   string
			loggedIn bool // the login got 200
			tried    bool // a logout was sent
			out      bool // the logout got 204
		}
		var (
			mu       sync.Mutex
			outcomes []*outcome
			wg       sync.WaitGroup
			acked    = make(chan struct{}, 1000)
			stopped  = make(chan struct{})
			cut      atomic.Int32 // requests that got no answer
		)
		for w := range 6 {
			wg.Go(func() {
				for i := 0; ; i++ {
					select {
					case <-stopped:
						return
					default:
					}
					code, cookie, err := tryLogin(a.url, email, pw)
					if err != nil {
						cut.Add(1)
						return
					}
					if code != http.StatusOK || cookie == "" {
						t.Errorf("login on A: %d", code)
						return
					}
					o := &outcome{cookie: cookie, loggedIn: true}
					mu.Lock()
					outcomes = append(outcomes, o)
					mu.Unlock()
					ack(acked)
					if (w+i)%2 == 1 {
						continue // keep this session
					}
					mu.Lock()
					o.tried = true
					mu.Unlock()
					code, err = tryLogout(a.url, cookie)
					if err != nil {
						cut.Add(1)
						return
					}
					if code != http.StatusNoContent {
						t.Errorf("logout on A: %d", code)
						return
					}
					mu.Lock()
					o.out = true
					mu.Unlock()
					ack(acked)
				}
			})
		}
		for range 60 {
			select {
			case <-acked:
			case <-time.After(30 * time.Second):
				t.Fatalf("fewer than 60 requests acknowledged by A in 30s:\n%s", a.logs())
			}
		}
		if err := a.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		<-a.done
		close(stopped)
		wg.Wait()

		mu.Lock()
		defer mu.Unlock()
		var live, ended, unknown int
		for _, o := range outcomes {
			for _, s := range []*server{b, cc} {
				code := sessionStatus(t, s.url, o.cookie)
				switch {
				case o.out && code != http.StatusUnauthorized:
					t.Errorf("a logout A acknowledged before it died: GET /v1/session on %s answered %d", s.url, code)
				case !o.tried && code != http.StatusOK:
					t.Errorf("a login A acknowledged before it died: GET /v1/session on %s answered %d", s.url, code)
				}
			}
			switch {
			case o.out:
				ended++
			case !o.tried:
				live++
			default:
				unknown++
			}
		}
		t.Logf("A killed with 6 clients streaming (%d requests got no answer): %d acknowledged logins still valid on B and C, %d acknowledged logouts refused there, %d unacknowledged logouts either way", cut.Load(), live, ended, unknown)
	})
}

// ack signals an acknowledged request without ever blocking.
func ack(c chan<- struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func mustParseURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
