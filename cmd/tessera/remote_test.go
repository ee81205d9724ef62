package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The admin commands have one implementation and two transports: the store
// (--data, --store) and a server's admin API (--url, --token). These tests
// run one scenario both ways and compare what the commands print.

// adminSide is one place the scenario runs: a data folder with a server on
// it (for signing in, which makes sessions), and the command line that runs
// the admin commands, on the folder or through the server.
type adminSide struct {
	name   string
	e      *env // the data folder's environment
	s      *server
	cli    *env // what the scenario runs: e, or a remote environment
	token  string
	opsID  string // the client with the admin scope
	remote bool
}

// newAdminSide makes a data folder with a client that has the admin scope
// (made by the local CLI), starts a server on it, and gets the client's
// token with client_credentials. Both sides do the same, so that their
// stores match.
func newAdminSide(t *testing.T, e *env, name string, remote bool) *adminSide {
	t.Helper()
	r := e.mustRun("", "client", "add", "--name", "ops", "--scope", "admin", "--json")
	var cl newClientJSON
	if err := json.Unmarshal([]byte(r.stdout), &cl); err != nil {
		t.Fatalf("client add --json: %v\n%s", err, r)
	}
	s := e.startServe()
	side := &adminSide{name: name, e: e, s: s, cli: e, opsID: cl.ClientID, remote: remote}
	side.token = clientCredentials(t, s.url, cl.ClientID, cl.ClientSecret)
	if remote {
		// Another data folder, which must stay untouched: the commands go
		// to the server, never to a store.
		side.cli = e.with("TESSERA_DATA="+filepath.Join(e.dir, "not-used"), "TESSERA_STORE=", "TESSERA_URL="+s.url, "TESSERA_TOKEN="+side.token)
	}
	return side
}

// clientCredentials gets a client's access token from /oauth2/token.
func clientCredentials(t *testing.T, base, id, secret string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	req, _ := http.NewRequest(http.MethodPost, base+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var tr tokenResponse
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &tr) != nil || tr.AccessToken == "" {
		t.Fatalf("client_credentials: %s %s", resp.Status, b)
	}
	return tr.AccessToken
}

// transcript records the commands of a scenario and what they printed.
type transcript struct {
	t    *testing.T
	side *adminSide
	b    strings.Builder
}

// do runs a command and records its stdout, or its exit status and error
// when it fails, and returns its stdout.
func (x *transcript) do(stdin string, args ...string) string {
	x.t.Helper()
	r := x.side.cli.run(stdin, args...)
	fmt.Fprintf(&x.b, "$ tessera %s\n", strings.Join(args, " "))
	if r.code != 0 {
		if r.code != 1 || !strings.HasPrefix(r.stderr, "tessera: ") {
			x.t.Fatalf("%s: tessera %s: want exit 0, or 1 with a message: %s", x.side.name, strings.Join(args, " "), r)
		}
		fmt.Fprintf(&x.b, "exit %d: %s", r.code, r.stderr)
		return ""
	}
	x.b.WriteString(r.stdout)
	for l := range strings.Lines(r.stderr) {
		if !strings.Contains(l, "level=") { // not a log line: the command's own note
			x.b.WriteString("stderr: " + l)
		}
	}
	return r.stdout
}

// jsonOf runs a command with --json and decodes its output into v.
func (x *transcript) jsonOf(v any, args ...string) {
	x.t.Helper()
	out := x.do("", append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		x.t.Fatalf("%s: tessera %s --json: %v\n%s", x.side.name, strings.Join(args, " "), err, out)
	}
}

// adminScenario runs every admin command, successes and refusals.
func adminScenario(t *testing.T, side *adminSide) string {
	x := &transcript{t: t, side: side}

	// Users.
	x.do("correct-horse-42\n", "user", "add", "--email", "Ada@Example.com", "--password-stdin", "--role", "admin", "--role", "ops")
	x.do("staple-battery-7\n", "user", "add", "--email", "bob@example.com", "--password-stdin")
	x.do("other-horse-77\n", "user", "add", "--email", "ADA@example.com", "--password-stdin")
	x.do("password\n", "user", "add", "--email", "carol@example.com", "--password-stdin")
	x.do("correct-horse-42\n", "user", "add", "--email", "not-an-email", "--password-stdin")
	x.do("correct-horse-42\n", "user", "add", "--email", "carol@example.com", "--password-stdin", "--role", "Bad Role")
	x.do("", "user", "list")
	x.do("", "user", "list", "--json")
	x.do("", "user", "list", "--search", "BOB")
	x.do("", "user", "disable", "--email", "bob@example.com")
	x.do("", "user", "enable", "--email", "bob@example.com")
	x.do("", "user", "set-roles", "--email", "ada@example.com", "--role", "ops", "--role", "billing")
	x.do("", "user", "set-roles", "--email", "ada@example.com", "--role", "ops")
	x.do("", "user", "set-roles", "--email", "ada@example.com", "--role", "ops", "--role", "admin")
	x.do("new-horse-staple-9\n", "user", "passwd", "--email", "bob@example.com", "--password-stdin")
	x.do("password\n", "user", "passwd", "--email", "bob@example.com", "--password-stdin")
	for _, cmd := range []string{"disable", "enable", "set-roles", "delete"} {
		x.do("", "user", cmd, "--email", "nobody@example.com")
	}
	x.do("correct-horse-42\n", "user", "passwd", "--email", "nobody@example.com", "--password-stdin")
	x.do("", "user", "list")

	// Sessions: two sign-ins of bob, one revoked, then all.
	login(t, side.s.url, "bob@example.com", "new-horse-staple-9")
	login(t, side.s.url, "bob@example.com", "new-horse-staple-9")
	x.do("", "sessions", "list", "--email", "bob@example.com")
	var sessions []struct {
		SID string `json:"sid"`
	}
	x.jsonOf(&sessions, "sessions", "list", "--email", "bob@example.com")
	if len(sessions) != 2 {
		t.Fatalf("%s: sessions list --json: want 2 sessions, got %d", side.name, len(sessions))
	}
	// --sid=: a sid may start with "-".
	x.do("", "sessions", "revoke", "--email", "bob@example.com", "--sid="+sessions[1].SID)
	x.do("", "sessions", "revoke", "--email", "bob@example.com", "--sid="+sessions[1].SID)
	x.do("", "sessions", "list", "--email", "bob@example.com", "--json")
	x.do("", "sessions", "revoke", "--email", "bob@example.com")
	x.do("", "sessions", "revoke", "--email", "bob@example.com", "--sid="+sessions[0].SID, "--all")
	x.do("", "sessions", "revoke", "--email", "bob@example.com", "--all")
	x.do("", "sessions", "list", "--email", "bob@example.com")
	x.do("", "sessions", "list", "--email", "bob@example.com", "--json")
	x.do("", "sessions", "list", "--email", "nobody@example.com")
	x.do("", "sessions", "revoke", "--email", "nobody@example.com", "--all")

	// Clients.
	var added newClientJSON
	if err := json.Unmarshal([]byte(x.do("", "client", "add", "--name", "billing worker", "--scope", "invoices:read", "--scope", "introspect", "--json")), &added); err != nil {
		t.Fatalf("%s: client add --json: %v", side.name, err)
	}
	x.do("", "client", "add", "--name", "gateway")
	x.do("", "client", "add", "--name", " ")
	x.do("", "client", "add", "--name", "x", "--scope", `bad"scope`)
	x.do("", "client", "list")
	x.do("", "client", "list", "--json")
	x.do("", "client", "remove", added.ClientID)
	x.do("", "client", "remove", added.ClientID)
	x.do("", "client", "remove", "tessera")
	x.do("", "client", "list")

	// Signing keys: the server made the first.
	x.do("", "keys", "list")
	x.do("", "keys", "rotate")
	x.do("", "keys", "list")
	x.do("", "keys", "list", "--json")

	// Webhooks. Nothing the scenario does before the listings is a
	// user.deleted, so no delivery is attempted.
	var wh webhookJSON
	x.do("", "webhook", "add", "--url", "http://127.0.0.1:9/deleted", "--event", "user.deleted")
	x.jsonOf(&wh, "webhook", "add", "--url", "https://hooks.example.com/tessera?token=abc", "--event", "session.revoked,user.tokens_invalidated")
	x.do("", "webhook", "add", "--url", "https://x.example/", "--event", "session.nope")
	x.do("", "webhook", "add", "--url", "https://u:p@x.example/", "--event", "*")
	x.do("", "webhook", "list")
	x.do("", "webhook", "list", "--json")
	x.do("", "webhook", "deliveries", wh.ID)
	x.do("", "webhook", "deliveries", wh.ID, "--json")
	x.do("", "webhook", "deliveries", wh.ID, "--limit", "0")
	x.do("", "webhook", "deliveries", "wh_nope")
	x.do("", "webhook", "remove", wh.ID)
	x.do("", "webhook", "remove", wh.ID)
	x.do("", "webhook", "list")

	// Deleting a user; then the events log.
	x.do("", "user", "delete", "--email", "bob@example.com")
	x.do("", "user", "delete", "--email", "bob@example.com")
	x.do("", "sessions", "list", "--email", "bob@example.com")
	x.do("", "user", "list", "--json")
	x.do("", "events", "--type", "user.created", "--type", "user.deleted")
	x.do("", "events", "--type", "user.created,user.deleted", "--json")
	x.do("", "events", "--user", "ada@example.com", "--type", "user.updated")
	x.do("", "events", "--type", "session.revoked,user.tokens_invalidated", "--since", "1h")
	x.do("", "events", "--type", "client.created", "--since", "2000-01-01T00:00:00Z", "--limit", "1")
	x.do("", "events", "--type", "login.succeeded", "--since", "1h", "--user", "nobody@example.com")
	x.do("", "events", "--since", "2999-01-01T00:00:00Z")
	x.do("", "events", "--since", "yesterday")
	x.do("", "events", "--limit", "0")
	x.do("", "events", "--type", " ")
	return x.b.String()
}

var (
	rfc3339    = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`)
	whsec      = regexp.MustCompile(`whsec_[A-Za-z0-9+/]+=*`)
	word       = regexp.MustCompile(`[A-Za-z0-9_-]+`)
	uuid       = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	seqs       = regexp.MustCompile(`"(seq|cursor)": ?\d+|evt_\d+|(?m)^\d+ <time> `)
	cursorCell = regexp.MustCompile(`(?m)^(<wh\d+> \S+ \S+) \d+ `)
	durations  = regexp.MustCompile(`"duration_ms": ?\d+`)
)

// normalize replaces what differs between two runs of the scenario —
// generated IDs, secrets, times, sequence numbers — by placeholders numbered
// in order of appearance (so that the same ID is the same placeholder), and
// table padding by one space.
func normalize(s string) string {
	ids := map[string]string{}
	count := map[string]int{}
	id := func(kind, v string) string {
		if p, ok := ids[v]; ok {
			return p
		}
		count[kind]++
		ids[v] = fmt.Sprintf("<%s%d>", kind, count[kind])
		return ids[v]
	}
	s = rfc3339.ReplaceAllString(s, "<time>")
	s = whsec.ReplaceAllStringFunc(s, func(v string) string { return id("whsec", v) })
	s = word.ReplaceAllStringFunc(s, func(w string) string {
		switch {
		case uuid.MatchString(w):
			return id("usr", w)
		case len(w) == 19 && strings.HasPrefix(w, "cl_"):
			return id("cl", w)
		case len(w) == 19 && strings.HasPrefix(w, "wh_"):
			return id("wh", w)
		case len(w) == 22 && strings.ContainsAny(w, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"):
			return id("id", w) // a sid or kid
		case len(w) == 43:
			return id("secret", w)
		}
		return w
	})
	var b strings.Builder
	for l := range strings.Lines(s) {
		b.WriteString(strings.Join(strings.Fields(l), " ") + "\n")
	}
	s = seqs.ReplaceAllStringFunc(b.String(), func(v string) string {
		switch {
		case strings.HasPrefix(v, `"seq"`):
			return `"seq": <n>`
		case strings.HasPrefix(v, `"cursor"`):
			return `"cursor": <n>`
		case strings.HasPrefix(v, "evt_"):
			return "evt_<n>"
		}
		return "<n> <time> "
	})
	s = cursorCell.ReplaceAllString(s, "$1 <n> ")
	return durations.ReplaceAllString(s, `"duration_ms": <n>`)
}

// TestAdminCommandsBothTransports runs the scenario on a data folder and
// through a server's admin API, and requires the same output; then it tests
// what only --url has.
func TestAdminCommandsBothTransports(t *testing.T) {
	local := newAdminSide(t, newEnv(t), "on the store", false)
	remote := newAdminSide(t, newEnv(t), "with --url", true)
	compareSides(t, local, remote)
	checkRemote(t, remote)
	for _, side := range []*adminSide{local, remote} {
		if code := side.s.stop(syscall.SIGTERM); code != 0 {
			t.Errorf("%s: SIGTERM: exit %d:\n%s", side.name, code, side.s.logs())
		}
	}
}

// TestPostgresAdminCommandsBothTransports is the same comparison with
// PostgreSQL stores.
func TestPostgresAdminCommandsBothTransports(t *testing.T) {
	le, _ := pgEnv(t)
	re, _ := pgEnv(t)
	local := newAdminSide(t, le, "on PostgreSQL", false)
	remote := newAdminSide(t, re, "with --url, PostgreSQL", true)
	compareSides(t, local, remote)
	for _, side := range []*adminSide{local, remote} {
		if code := side.s.stop(syscall.SIGTERM); code != 0 {
			t.Errorf("%s: SIGTERM: exit %d:\n%s", side.name, code, side.s.logs())
		}
	}
}

// compareSides runs the scenario on both sides and compares.
func compareSides(t *testing.T, local, remote *adminSide) {
	t.Helper()
	want := adminScenario(t, local)
	got := adminScenario(t, remote)
	if diff := cmp.Diff(normalize(want), normalize(got)); diff != "" {
		t.Errorf("the admin commands print differently with --url (-on the store +with --url):\n%s", diff)
	}
	if testing.Verbose() {
		t.Logf("the scenario with --url, normalized:\n%s", normalize(got))
	}
	for _, want := range []string{
		"a user with this email exists", "no user with email nobody@example.com", "a role was removed",
		"no live sessions for bob@example.com", "give --sid SID", "has no live session", "signed bob@example.com out everywhere",
		"no client with ID cl_", "built-in", "client_secret", "published (verifies)", "no delivery attempts yet",
		"no webhook with ID wh_nope", "unknown event type", "must not hold credentials", "deleted bob@example.com",
		"user.deleted", "stderr: (the first 1 events; more may follow", "--since must be", "--limit must be 1 to", "--type must name",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the scenario with --url printed no %q", want)
		}
	}
	if _, err := os.Stat(filepath.Join(remote.e.dir, "not-used")); err == nil {
		t.Errorf("the commands with --url made a data folder of their own")
	}
}

// checkRemote tests what only --url has: its settings and their errors, the
// server's checks of the token, and tessera token admin.
func checkRemote(t *testing.T, side *adminSide) {
	u, tok := side.s.url, side.token
	// No store, no URL, no token.
	bare := side.e.with("TESSERA_DATA="+filepath.Join(side.e.dir, "not-used"), "TESSERA_URL=", "TESSERA_TOKEN=")
	remote := func(token string) *env { return bare.with("TESSERA_URL="+u, "TESSERA_TOKEN="+token) }

	t.Run("Flags", func(t *testing.T) {
		bare := bare.in(t)
		if r := bare.mustRun("", "user", "list", "--url", u, "--token", tok); !strings.Contains(r.stdout, "ada@example.com") {
			t.Errorf("user list --url --token:\n%s", r)
		}
		if r := bare.mustRun("", "client", "list", "--server-url", u+"/", "--token", tok); !strings.Contains(r.stdout, side.opsID) {
			t.Errorf("client list --server-url --token:\n%s", r)
		}
		r := bare.mustRun("", "webhook", "add", "--server-url", u, "--token", tok, "--url", "https://hooks.example.com/flags", "--event", "*", "--json")
		var wh webhookJSON
		if err := json.Unmarshal([]byte(r.stdout), &wh); err != nil || wh.URL != "https://hooks.example.com/flags" {
			t.Fatalf("webhook add --server-url: %v\n%s", err, r)
		}
		if r := remote(tok).in(t).mustRun("", "webhook", "list"); !strings.Contains(r.stdout, wh.ID) {
			t.Errorf("the webhook added with --server-url is not listed:\n%s", r)
		}
		remote(tok).in(t).mustRun("", "webhook", "remove", wh.ID)
	})
	t.Run("ErrNoToken", func(t *testing.T) {
		bare := bare.in(t)
		for _, args := range [][]string{
			{"user", "list"}, {"sessions", "list", "--email", "ada@example.com"}, {"client", "list"}, {"keys", "rotate"},
			{"events"}, {"webhook", "list"}, {"user", "disable", "--email", "ada@example.com"},
		} {
			bare.mustFail("--url (TESSERA_URL) needs --token (TESSERA_TOKEN)", "", append(args, "--url", u)...)
		}
		bare.with("TESSERA_URL="+u).mustFail("--url (TESSERA_URL) needs --token", "", "user", "list")
		bare.mustFail("--server-url (TESSERA_URL) needs --token", "", "webhook", "add", "--server-url", u, "--url", "https://x.example/", "--event", "*")
		bare.mustFail("--url (TESSERA_URL) needs --token", "", "config", "--url", u)
	})
	t.Run("ErrTokenWithoutURL", func(t *testing.T) {
		bare.in(t).with("TESSERA_TOKEN="+tok).mustFail("--token (TESSERA_TOKEN) is set but --url (TESSERA_URL) is not", "", "client", "list")
	})
	t.Run("ErrBadURL", func(t *testing.T) {
		bare := bare.in(t)
		bare.mustFail("must be the server's base URL", "", "user", "list", "--url", "auth.example.com", "--token", tok)
		r := bare.mustFail("must not contain credentials", "", "user", "list", "--url", "https://ops:hunter2@auth.example.com", "--token", tok)
		if strings.Contains(r.stderr, "hunter2") {
			t.Errorf("the error shows the URL's password: %s", r.stderr)
		}
		bare.mustFail("must not have a query", "", "user", "list", "--url", u+"?x=1", "--token", tok)
		bare.mustFail("127.0.0.1:1", "", "user", "list", "--url", "http://127.0.0.1:1", "--token", tok)
		bare.mustFail("--token (TESSERA_TOKEN) must be the bare token", "", "user", "list", "--url", u, "--token", "Bearer "+tok)
	})
	t.Run("ErrWrongToken", func(t *testing.T) {
		r := remote("not-a-token").in(t).mustFail("tessera: invalid bearer token\n", "", "user", "list")
		if r.stdout != "" {
			t.Errorf("a refused command printed %q", r.stdout)
		}
		remote("not.a.jwt").in(t).mustFail("tessera: invalid access token\n", "", "keys", "list")
		// A client without the admin scope.
		r = remote(tok).in(t).mustRun("", "client", "add", "--name", "reader", "--scope", "introspect", "--json")
		var reader newClientJSON
		if err := json.Unmarshal([]byte(r.stdout), &reader); err != nil {
			t.Fatal(err)
		}
		readerTok := clientCredentials(t, u, reader.ClientID, reader.ClientSecret)
		remote(readerTok).in(t).mustFail(`tessera: a client token with the "admin" scope is required`, "", "webhook", "list")
		// A client removed since its token was issued.
		r = remote(tok).in(t).mustRun("", "client", "add", "--name", "ops2", "--scope", "admin", "--json")
		var ops2 newClientJSON
		if err := json.Unmarshal([]byte(r.stdout), &ops2); err != nil {
			t.Fatal(err)
		}
		ops2Tok := clientCredentials(t, u, ops2.ClientID, ops2.ClientSecret)
		remote(ops2Tok).in(t).mustRun("", "events", "--type", "client.created")
		remote(tok).in(t).mustRun("", "client", "remove", ops2.ClientID)
		remote(ops2Tok).in(t).mustFail("tessera: the client no longer exists", "", "events")
	})
	t.Run("TokenAdmin", func(t *testing.T) {
		bare := bare.in(t)
		r := bare.mustRun("correct-horse-42\n", "token", "admin", "--url", u, "--email", "ada@example.com", "--password-stdin")
		userTok := strings.TrimSpace(r.stdout)
		if strings.Count(userTok, ".") != 2 || strings.Contains(userTok, "\n") {
			t.Fatalf("token admin printed %q; want one JWT", r.stdout)
		}
		if r := remote(userTok).in(t).mustRun("", "sessions", "list", "--email", "ada@example.com"); !strings.Contains(r.stdout, "Go-http-client") {
			t.Errorf("with the admin's token, sessions list shows no session:\n%s", r)
		}
		bare.with("TESSERA_URL="+u).mustRun("correct-horse-42\n", "token", "admin", "--email", "ada@example.com", "--password-stdin")
		bare.mustFail("email or password is wrong", "wrong-horse-1\n", "token", "admin", "--url", u, "--email", "ada@example.com", "--password-stdin")
		bare.mustFail("--password-stdin", "", "token", "admin", "--url", u, "--email", "ada@example.com")
		bare.mustFail("--url", "correct-horse-42\n", "token", "admin", "--email", "ada@example.com", "--password-stdin")
		remote(tok).in(t).mustRun("staple-carol-8\n", "user", "add", "--email", "carol@example.com", "--password-stdin")
		bare.mustFail(`carol@example.com does not have the "admin" role`, "staple-carol-8\n", "token", "admin", "--url", u, "--email", "carol@example.com", "--password-stdin")
	})
	t.Run("ConfigRedactsToken", func(t *testing.T) {
		got := effectiveConfig(t, remote(tok).in(t))
		if got["url"] != u || got["token"] != "REDACTED" {
			t.Errorf("tessera config: url %v, token %v; want %s and REDACTED", got["url"], got["token"], u)
		}
		if got := effectiveConfig(t, bare.in(t)); got["token"] != "" || got["url"] != "" {
			t.Errorf("tessera config without them: url %v, token %v", got["url"], got["token"])
		}
	})
	t.Run("NoTokenInLogs", func(t *testing.T) {
		logs := side.s.logs()
		if strings.Contains(logs, tok) || strings.Contains(logs, "correct-horse-42") {
			t.Errorf("the server logged the token or a password:\n%s", logs)
		}
		for l := range strings.Lines(logs) {
			if strings.Contains(l, "msg=configuration") && (strings.Contains(l, " token=") || strings.Contains(l, " url=")) {
				t.Errorf("serve's configuration line shows the admin commands' settings: %s", l)
			}
		}
		if !strings.Contains(logs, "admin change") {
			t.Errorf("the server did not log the admin changes made with --url:\n%s", logs)
		}
	})
}
