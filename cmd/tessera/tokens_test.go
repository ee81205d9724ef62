package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tokenResponse is the token part of POST /v1/login and /oauth2/token.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

// loginToken signs in with mode token.
func loginToken(t *testing.T, base, email, pw string) tokenResponse {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"email": email, "password": pw, "mode": "token"})
	resp, err := http.Post(base+"/v1/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var tr tokenResponse
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &tr) != nil || tr.AccessToken == "" || tr.TokenType != "Bearer" {
		t.Fatalf("login %s with mode token: %s %s", email, resp.Status, b)
	}
	return tr
}

// bearerStatus is the status of GET /v1/session with a bearer token.
func bearerStatus(t *testing.T, base, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/v1/session", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// getJSON GETs url and decodes the JSON answer into v.
func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %s", url, resp.Status, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v\n%s", url, err, b)
	}
}

// jwksKids returns the kids of the server's JWKS.
func jwksKids(t *testing.T, base string) []string {
	t.Helper()
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	getJSON(t, base+"/.well-known/jwks.json", &set)
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.Kid)
	}
	return kids
}

// listKeys runs keys list --json.
func listKeys(t *testing.T, e *env) []keyJSON {
	t.Helper()
	r := e.mustRun("", "keys", "list", "--json")
	var keys []keyJSON
	if err := json.Unmarshal([]byte(r.stdout), &keys); err != nil {
		t.Fatalf("keys list --json: %v\n%s", err, r)
	}
	return keys
}

// in returns a copy of e that reports to t (a subtest).
func (e *env) in(t *testing.T) *env {
	return &env{t: t, dir: e.dir, vars: e.vars}
}

func TestClientCommands(t *testing.T) {
	e := newEnv(t)
	r := e.mustRun("", "client", "add", "--name", "billing worker", "--scope", "invoices:read", "--scope", "introspect", "--json")
	out := strings.TrimSuffix(r.stdout, "\n")
	if strings.Contains(out, "\n") {
		t.Fatalf("client add --json printed more than one line:\n%s", r.stdout)
	}
	var added map[string]string
	if err := json.Unmarshal([]byte(out), &added); err != nil {
		t.Fatalf("client add --json: %v\n%s", err, r)
	}
	id, sec := added["client_id"], added["client_secret"]
	if len(added) != 2 || !strings.HasPrefix(id, "cl_") || len(sec) < 40 {
		t.Fatalf("client add --json printed %s; want exactly client_id and client_secret", out)
	}

	t.Run("Human", func(t *testing.T) {
		e := e.in(t)
		r := e.mustRun("", "client", "add", "--name", "gateway")
		if !strings.Contains(r.stdout, "client_id") || !strings.Contains(r.stdout, "client_secret") ||
			!strings.Contains(r.stdout, "cannot be shown again") {
			t.Errorf("client add printed:\n%s", r.stdout)
		}
	})
	t.Run("List", func(t *testing.T) {
		e := e.in(t)
		r := e.mustRun("", "client", "list", "--json")
		var cs []clientJSON
		if err := json.Unmarshal([]byte(r.stdout), &cs); err != nil {
			t.Fatalf("client list --json: %v\n%s", err, r)
		}
		if len(cs) != 2 {
			t.Fatalf("client list --json: want 2 clients, got %+v", cs)
		}
		i := slices.IndexFunc(cs, func(c clientJSON) bool { return c.ID == id })
		if i < 0 || cs[i].Name != "billing worker" || !slices.Equal(cs[i].Scopes, []string{"invoices:read", "introspect"}) || cs[i].CreatedAt.IsZero() {
			t.Errorf("client list --json: %+v; want %s with its name and scopes", cs, id)
		}
		if strings.Contains(r.stdout, sec) {
			t.Error("client list shows the secret")
		}
		table := e.mustRun("", "client", "list").stdout
		if !strings.HasPrefix(table, "ID") || !strings.Contains(table, id) || !strings.Contains(table, "invoices:read,introspect") {
			t.Errorf("client list:\n%s", table)
		}
	})
	t.Run("Refused", func(t *testing.T) {
		e := e.in(t)
		e.mustFail("--name", "", "client", "add")
		e.mustFail("client name", "", "client", "add", "--name", " ")
		e.mustFail("scope", "", "client", "add", "--name", "x", "--scope", `bad"scope`)
		e.mustFail("built-in", "", "client", "remove", "tessera")
		e.mustFail("no client with ID cl_nope", "", "client", "remove", "cl_nope")
	})
	t.Run("Remove", func(t *testing.T) {
		e := e.in(t)
		r := e.mustRun("", "client", "remove", id)
		if !strings.Contains(r.stdout, "removed client "+id) {
			t.Errorf("client remove printed %q", r.stdout)
		}
		if strings.Contains(e.mustRun("", "client", "list").stdout, id) {
			t.Error("the removed client is still listed")
		}
		e.mustFail("no client with ID "+id, "", "client", "remove", id)
	})
}

func TestKeysListRotate(t *testing.T) {
	e := newEnv(t)
	if keys := listKeys(t, e); len(keys) != 0 {
		t.Fatalf("a new store lists keys: %+v", keys)
	}
	if r := e.mustRun("", "keys", "list"); !strings.Contains(r.stdout, "no signing keys yet") {
		t.Errorf("keys list on a new store: %q", r.stdout)
	}
	first := strings.TrimSpace(e.mustRun("", "keys", "rotate").stdout)
	second := strings.TrimSpace(e.mustRun("", "keys", "rotate", "--signing-alg", "ES256").stdout)
	if first == "" || second == "" || first == second || strings.ContainsAny(first+second, " \n") {
		t.Fatalf("keys rotate printed %q, then %q; want two kids", first, second)
	}
	keys := listKeys(t, e)
	if len(keys) != 2 {
		t.Fatalf("keys list --json: want 2 keys, got %+v", keys)
	}
	newest, older := keys[0], keys[1]
	if newest.Kid != second || newest.Alg != "ES256" || !newest.Active || !newest.Published || newest.RetiredAt != nil {
		t.Errorf("the new key: %+v", newest)
	}
	if older.Kid != first || older.Alg != "EdDSA" || older.Active || !older.Published || older.RetiredAt == nil {
		t.Errorf("the retired key (published until its tokens expire): %+v", older)
	}
	table := e.mustRun("", "keys", "list").stdout
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "KID") || !strings.Contains(lines[1], second) || !strings.Contains(lines[1], "active") ||
		!strings.Contains(lines[2], first) || !strings.Contains(lines[2], "published") {
		t.Errorf("keys list:\n%s", table)
	}
}

// TestTokens runs the server and the CLI on one data folder: login with
// mode token and client_credentials over HTTP, token inspect on the tokens,
// and a key rotation by the CLI that the running server publishes.
func TestTokens(t *testing.T) {
	e := newEnv(t)
	e.mustRun("correct-horse-42\n", "user", "add", "--email", "ada@example.com", "--password-stdin", "--role", "admin")
	r := e.mustRun("", "client", "add", "--name", "worker", "--scope", "invoices:read", "--json")
	var cl newClientJSON
	if err := json.Unmarshal([]byte(r.stdout), &cl); err != nil {
		t.Fatal(err)
	}
	s := e.startServe()

	// With port 0 the default issuer is the address actually bound, the
	// same string in the metadata, the tokens and the configuration line.
	var meta map[string]any
	getJSON(t, s.url+"/.well-known/oauth-authorization-server", &meta)
	if meta["issuer"] != s.url || meta["jwks_uri"] != s.url+"/.well-known/jwks.json" {
		t.Fatalf("metadata issuer %v, jwks_uri %v; want %s", meta["issuer"], meta["jwks_uri"], s.url)
	}
	if !strings.Contains(s.logs(), "issuer="+s.url+" ") {
		t.Errorf("the configuration line does not show issuer=%s:\n%s", s.url, s.logs())
	}
	iss := "--issuer=" + s.url

	tr := loginToken(t, s.url, "ada@example.com", "correct-horse-42")
	if code := bearerStatus(t, s.url, tr.AccessToken); code != http.StatusOK {
		t.Fatalf("GET /v1/session with the access token: %d", code)
	}

	t.Run("InspectValid", func(t *testing.T) {
		e := e.in(t)
		r := e.mustRun("", "token", "inspect", iss, tr.AccessToken)
		for _, want := range []string{"signature: valid (kid ", `"typ": "at+jwt"`, `"iss": "` + s.url + `"`, `"roles": [`, "exp  20", "(expires in "} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("token inspect output lacks %q:\n%s", want, r.stdout)
			}
		}
	})
	t.Run("InspectStdinJSON", func(t *testing.T) {
		e := e.in(t)
		r := e.mustRun(tr.AccessToken+"\n", "token", "inspect", "--json", iss, "-")
		var got struct {
			Header map[string]any    `json:"header"`
			Claims map[string]any    `json:"claims"`
			Times  map[string]string `json:"times"`
			Valid  bool              `json:"valid"`
			Kid    string            `json:"kid"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
			t.Fatalf("token inspect --json: %v\n%s", err, r)
		}
		if !got.Valid || got.Kid == "" || got.Kid != got.Header["kid"] || got.Claims["iss"] != s.url || got.Claims["client_id"] != "tessera" {
			t.Errorf("token inspect --json: %+v", got)
		}
		exp, err := time.Parse(time.RFC3339, got.Times["exp"])
		if err != nil || exp.Unix() != int64(got.Claims["exp"].(float64)) {
			t.Errorf("times.exp %q does not match exp %v", got.Times["exp"], got.Claims["exp"])
		}
	})
	t.Run("InspectTampered", func(t *testing.T) {
		e := e.in(t)
		parts := strings.Split(tr.AccessToken, ".")
		claims, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		forged := bytes.Replace(claims, []byte(`"roles":["admin"]`), []byte(`"roles":["owner"]`), 1)
		if bytes.Equal(forged, claims) {
			t.Fatalf("no roles claim to change in %s", claims)
		}
		parts[1] = base64.RawURLEncoding.EncodeToString(forged)
		r := e.mustFail("bad signature", "", "token", "inspect", iss, strings.Join(parts, "."))
		if !strings.Contains(r.stdout, `"owner"`) || strings.Contains(r.stdout, "signature: valid") {
			t.Errorf("the tampered token's claims are not shown, or it is called valid:\n%s", r)
		}
		// A stripped signature.
		e.mustFail("invalid token", "", "token", "inspect", iss, parts[0]+"."+parts[1]+".")
	})
	t.Run("InspectWrongIssuer", func(t *testing.T) {
		e := e.in(t)
		// Without --issuer, the default is http://127.0.0.1:8080.
		r := e.mustFail("wrong issuer", "", "token", "inspect", tr.AccessToken)
		if !strings.Contains(r.stderr, s.url) || !strings.Contains(r.stderr, "http://127.0.0.1:8080") {
			t.Errorf("the message does not show both issuers: %s", r.stderr)
		}
		e.mustFail("wrong audience", "", "token", "inspect", iss, "--audience", "https://api.example.com", tr.AccessToken)
	})
	t.Run("InspectUnknownKey", func(t *testing.T) {
		other := newEnv(t)
		other.mustRun("", "keys", "rotate")
		other.mustFail("unknown signing key", "", "token", "inspect", iss, tr.AccessToken)
	})
	t.Run("InspectNotAToken", func(t *testing.T) {
		e := e.in(t)
		e.mustFail("malformed", "", "token", "inspect", iss, "not-a-jwt")
		e.mustFail("no token given", "", "token", "inspect", iss, "-")
	})
	t.Run("ClientCredentials", func(t *testing.T) {
		e := e.in(t)
		form := url.Values{"grant_type": {"client_credentials"}}
		req, _ := http.NewRequest(http.MethodPost, s.url+"/oauth2/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(cl.ClientID), url.QueryEscape(cl.ClientSecret))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var ctr tokenResponse
		if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &ctr) != nil || ctr.AccessToken == "" {
			t.Fatalf("client_credentials with the secret from client add: %s %s", resp.Status, b)
		}
		r := e.mustRun("", "token", "inspect", iss, ctr.AccessToken)
		if !strings.Contains(r.stdout, "signature: valid") || !strings.Contains(r.stdout, `"sub": "`+cl.ClientID+`"`) {
			t.Errorf("token inspect of the client's token:\n%s", r.stdout)
		}
	})

	// A rotation by the CLI reaches the running server through the events
	// log: the new kid is in its JWKS within 3 s, next to the old one, and
	// the next token is signed with it.
	t.Run("RotateWhileServing", func(t *testing.T) {
		e := e.in(t)
		before := jwksKids(t, s.url)
		if len(before) != 1 {
			t.Fatalf("JWKS before rotation: %v", before)
		}
		kid := strings.TrimSpace(e.mustRun("", "keys", "rotate").stdout)
		deadline := time.Now().Add(3 * time.Second)
		for {
			kids := jwksKids(t, s.url)
			if slices.Contains(kids, kid) {
				if !slices.Contains(kids, before[0]) {
					t.Errorf("the retired key %s left the JWKS at once: %v", before[0], kids)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the running server's JWKS lacks the new key %s 3s after keys rotate: %v\n%s", kid, kids, s.logs())
			}
			time.Sleep(20 * time.Millisecond)
		}
		next := loginToken(t, s.url, "ada@example.com", "correct-horse-42")
		r := e.mustRun("", "token", "inspect", iss, next.AccessToken)
		if !strings.Contains(r.stdout, "signature: valid (kid "+kid+")") {
			t.Errorf("a token minted after the rotation is not signed by %s:\n%s", kid, r.stdout)
		}
		// The token signed before the rotation still verifies.
		e.mustRun("", "token", "inspect", iss, tr.AccessToken)
		if code := bearerStatus(t, s.url, tr.AccessToken); code != http.StatusOK {
			t.Errorf("the token signed before the rotation: GET /v1/session answered %d", code)
		}
	})

	if code := s.stop(syscall.SIGTERM); code != 0 {
		t.Errorf("SIGTERM: exit %d:\n%s", code, s.logs())
	}
}

// TestSecretKey pins the key-encryption secret: generated into the data
// folder with mode 0600, reused on the next start (tokens signed before a
// restart still verify), never printed, and checked.
func TestSecretKey(t *testing.T) {
	e := newEnv(t)
	e.mustRun("correct-horse-42\n", "user", "add", "--email", "ada@example.com", "--password-stdin")
	path := filepath.Join(e.dir, "data", "secret.key")
	issuer := "TESSERA_ISSUER=http://tessera.test"
	e = e.with(issuer)

	s := e.startServe()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("serve generated no secret.key: %v", err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("secret.key mode %04o, want 0600", mode)
	}
	if fi, err := os.Stat(filepath.Dir(path)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data folder: %v, %v; want mode 0700", fi.Mode(), err)
	}
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	value := strings.TrimSpace(string(content))
	if kek, err := base64.StdEncoding.DecodeString(value); err != nil || len(kek) != 32 {
		t.Fatalf("secret.key holds %d bytes (%v); want 32 in base64", len(kek), err)
	}
	tr := loginToken(t, s.url, "ada@example.com", "correct-horse-42")
	if strings.Contains(s.logs(), value) {
		t.Fatalf("the server logged the secret:\n%s", s.logs())
	}
	s.stop(syscall.SIGTERM)

	t.Run("ReusedAfterRestart", func(t *testing.T) {
		e := e.in(t)
		s := e.startServe()
		defer s.stop(syscall.SIGTERM)
		if code := bearerStatus(t, s.url, tr.AccessToken); code != http.StatusOK {
			t.Fatalf("after a restart, the token signed before it: GET /v1/session answered %d\n%s", code, s.logs())
		}
		if b, _ := os.ReadFile(path); string(b) != string(content) {
			t.Error("secret.key changed on restart")
		}
	})
	t.Run("SameSecretFromEnvironment", func(t *testing.T) {
		e := e.in(t)
		// The file's content is a valid TESSERA_SECRET_KEY; given so, it is
		// redacted in the configuration line.
		s := e.with("TESSERA_SECRET_KEY=" + value).startServe()
		defer s.stop(syscall.SIGTERM)
		if code := bearerStatus(t, s.url, tr.AccessToken); code != http.StatusOK {
			t.Fatalf("with TESSERA_SECRET_KEY: GET /v1/session answered %d", code)
		}
		if logs := s.logs(); strings.Contains(logs, value) || !strings.Contains(logs, "secret-key=REDACTED") {
			t.Errorf("the configuration line does not redact the secret:\n%s", logs)
		}
	})
	t.Run("ErrOtherSecret", func(t *testing.T) {
		e := e.in(t)
		other := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
		r := e.with("TESSERA_SECRET_KEY="+other).mustFail("cannot be opened", "", "serve", "--addr", "127.0.0.1:0")
		if !strings.Contains(r.stderr, "TESSERA_SECRET_KEY") || strings.Contains(r.stderr, other) {
			t.Errorf("want a message naming TESSERA_SECRET_KEY, without the value: %s", r.stderr)
		}
		e.with("TESSERA_SECRET_KEY="+other).mustFail("cannot be opened", "", "keys", "list")
	})
	t.Run("ErrMalformed", func(t *testing.T) {
		e := e.in(t)
		r := e.with("TESSERA_SECRET_KEY=not base64!").mustFail("not standard base64", "", "serve", "--addr", "127.0.0.1:0")
		if strings.Contains(r.stderr, "not base64!") {
			t.Errorf("the error shows the value: %s", r.stderr)
		}
		e.with("TESSERA_SECRET_KEY="+base64.StdEncoding.EncodeToString([]byte("sixteen bytes..."))).
			mustFail("must be 32 bytes", "", "config")
	})
	t.Run("ErrGroupReadable", func(t *testing.T) {
		e := e.in(t)
		if err := os.Chmod(path, 0o640); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(path, 0o600)
		e.mustFail("chmod 600", "", "serve", "--addr", "127.0.0.1:0")
		e.mustFail("chmod 600", "", "keys", "rotate")
	})
	t.Run("ErrJustGeneratedButKeysExist", func(t *testing.T) {
		e := e.in(t)
		if err := os.Rename(path, path+".bak"); err != nil {
			t.Fatal(err)
		}
		defer os.Rename(path+".bak", path)
		r := e.in(t).run("", "serve", "--addr", "127.0.0.1:0")
		os.Remove(path)
		if r.code != 1 || !strings.Contains(r.stderr, "tessera: ") || !strings.Contains(r.stderr, "generated just now") {
			t.Errorf("serve with a new secret.key and old keys: want exit 1 saying the file was generated just now, got %s", r)
		}
	})
}

func TestConfigRedactsSecretKey(t *testing.T) {
	value := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))
	got := effectiveConfig(t, newEnv(t).with("TESSERA_SECRET_KEY="+value))
	if got["secret-key"] != "REDACTED" {
		t.Errorf("secret-key = %v, want REDACTED", got["secret-key"])
	}
	if got := effectiveConfig(t, newEnv(t)); got["secret-key"] != "" {
		t.Errorf("unset secret-key = %v, want \"\"", got["secret-key"])
	}
}

func TestTokenSettings(t *testing.T) {
	t.Run("DefaultIssuer", func(t *testing.T) {
		for addr, want := range map[string]string{
			"127.0.0.1:8080":         "http://127.0.0.1:8080",
			"0.0.0.0:9000":           "http://127.0.0.1:9000",
			"[::]:9000":              "http://127.0.0.1:9000",
			":9000":                  "http://127.0.0.1:9000",
			"[::1]:9000":             "http://[::1]:9000",
			"auth.internal:80":       "http://auth.internal:80",
			"[::ffff:0.0.0.0]:44321": "http://127.0.0.1:44321",
		} {
			cfg := parseConfig(t, "--addr", addr)
			if got := cfg.EffectiveIssuer(); got != want {
				t.Errorf("--addr %s: issuer %s, want %s", addr, got, want)
			}
			if got := cfg.EffectiveAudience(); got != want {
				t.Errorf("--addr %s: audience %s, want the issuer %s", addr, got, want)
			}
		}
		cfg := parseConfig(t, "--addr", "0.0.0.0:9000", "--issuer", "https://auth.example.com", "--audience", "api")
		if tc := cfg.TokenConfig(nil); tc.Issuer != "https://auth.example.com" || tc.Audience != "api" {
			t.Errorf("explicit issuer and audience: %+v", tc)
		}
	})
	t.Run("Defaults", func(t *testing.T) {
		cfg := parseConfig(t)
		tc := cfg.TokenConfig(nil)
		if tc.AccessTTL != 5*time.Minute || tc.RefreshIdle != 24*time.Hour || tc.RefreshAbsolute != 720*time.Hour ||
			tc.RefreshGrace != 5*time.Second || tc.Alg != "EdDSA" || tc.KeyRotation != 720*time.Hour {
			t.Errorf("defaults: %+v", tc)
		}
		cfg = parseConfig(t, "--refresh-grace", "0", "--key-rotation", "0")
		tc = cfg.TokenConfig(nil)
		if tc.RefreshGrace >= 0 || tc.KeyRotation >= 0 {
			t.Errorf("0 must reach auth as none/never (negative), not as its default: grace %v, rotation %v", tc.RefreshGrace, tc.KeyRotation)
		}
	})
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--issuer", "auth.example.com"}, "absolute URL"},
		{[]string{"--issuer", "/relative"}, "absolute URL"},
		{[]string{"--issuer", "ftp://auth.example.com"}, "http or https"},
		{[]string{"--issuer", "https://auth.example.com?tenant=1"}, "query or fragment"},
		{[]string{"--issuer", "https://auth.example.com/#"}, "query or fragment"},
		{[]string{"--issuer", "https://user:pw@auth.example.com"}, "credentials"},
		{[]string{"--issuer", "https:///path"}, "no host"},
		{[]string{"--audience", "a b"}, "--audience"},
		{[]string{"--addr", "8080"}, "HOST:PORT"},
		{[]string{"--access-ttl", "0s"}, "--access-ttl must be positive"},
		{[]string{"--access-ttl", "48h"}, "at most 24h"},
		{[]string{"--refresh-idle=-1h"}, "--refresh-idle must be positive"},
		{[]string{"--refresh-absolute", "0s"}, "--refresh-absolute must be positive"},
		{[]string{"--refresh-grace", "2m"}, "--refresh-grace must be 0 to 1m"},
		{[]string{"--refresh-grace=-1s"}, "--refresh-grace must be 0 to 1m"},
		{[]string{"--key-rotation", "10m"}, "--key-rotation"},
		{[]string{"--key-rotation=-1h"}, "--key-rotation"},
		{[]string{"--signing-alg", "HS256"}, "--signing-alg"},
		{[]string{"--signing-alg", "eddsa"}, "--signing-alg"},
	} {
		t.Run("Err"+strings.Join(tc.args, "="), func(t *testing.T) {
			var cli CLI
			parser, err := newParser(&cli, &app{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = parser.Parse(append([]string{"config"}, tc.args...))
			if err == nil {
				cfg := Config{Global: cli.Global, Hashing: cli.Settings.Hashing, Server: cli.Settings.Server}
				err = cfg.Validate()
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v: got %v, want an error containing %q", tc.args, err, tc.want)
			}
		})
	}
	for _, ok := range []string{"https://auth.example.com", "https://auth.example.com/", "https://example.com/tenants/a", "http://localhost:8080"} {
		if err := checkIssuer(ok); err != nil {
			t.Errorf("checkIssuer(%q): %v", ok, err)
		}
	}
}
