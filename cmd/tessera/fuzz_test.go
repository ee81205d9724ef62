package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzConfigFile runs `tessera config --config FILE` in-process on arbitrary
// file contents, the whole way a server reads its configuration: kong's
// loader, the resolver, the settings' types and Validate. It must exit 0 or
// 1 without panicking; an error is one "tessera: …" line; a success prints a
// JSON object that, read back as a config file, prints the same again
// (unless a secret was redacted in it). The
// secrets of the file (secret-key, the password of a store URL) appear in
// neither stdout nor stderr, whatever else the file says.
func FuzzConfigFile(f *testing.F) {
	for _, kv := range os.Environ() {
		if k, v, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "TESSERA_") {
			os.Unsetenv(k)
			f.Cleanup(func() { os.Setenv(k, v) })
		}
	}
	for _, s := range []string{
		`{}`,
		`{"addr": "127.0.0.1:1111", "idle-timeout": "1h", "events-poll": "100ms", "session-cache": 42, "insecure-cookie": true, "trusted-proxies": ["10.0.0.0/8", "192.0.2.1"], "argon2-memory": 2048}`,
		`{"data": "/srv/tessera", "log-level": "debug", "log-format": "json"}`,
		`{"store": "postgres://tessera:hunter2hunter2@db.example/tessera?sslmode=disable"}`,
		`{"store": "postgres://h/db?password=hunter2hunter2&sslmode=disable"}`,
		`{"store": "postgres://u:p%zzhunter2@h/db"}`,
		`{"store": "host=h user=u password=hunter2hunter2 dbname=d"}`,
		`{"secret-key": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI="}`,
		`{"secret-key": "hunter2hunter2"}`,
		`{"secret-key": 12345678901234567890}`,
		`{"issuer": "https://auth.example.com", "audience": "api", "access-ttl": "5m", "refresh-grace": "0s", "signing-alg": "ES256", "key-rotation": "0s"}`,
		`{"idle_timeout": "1h"}`, `{"config": "x.json"}`, `{"help": true}`, `{"idle-timeout": 3600}`, `{"session-cache": 1.5}`,
		`{"argon2-threads": 300}`, `{"argon2-memory": -1}`, `{"argon2-time": 1e400}`, `{"trusted-proxies": "10.0.0.0/8,::1"}`,
		`{"trusted-proxies": [1, {}]}`, `{"addr": null}`, `{"addr": {"a": 1}}`, `{"events-poll": "5s"}`, `{"idle-timeout": "-1h"}`,
		`{"sqlite-synchronous": "OFF"}`, `{"pg-max-conns": 0}`, `{"insecure-cookie": "yes"}`,
		`{} {}`, `[]`, `null`, `"x"`, ``, `{`, "\xef\xbb\xbf{}",
	} {
		f.Add([]byte(s))
	}
	path := filepath.Join(f.TempDir(), "tessera.json")
	again := filepath.Join(f.TempDir(), "again.json")
	f.Fuzz(func(t *testing.T, file []byte) {
		if err := os.WriteFile(path, file, 0o600); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr := runConfig(path)
		switch code {
		case 0:
		case 1:
			if !strings.HasPrefix(stderr, "tessera: ") || stdout != "" {
				t.Fatalf("exit 1 with stdout %q, stderr %q", stdout, stderr)
			}
		default:
			t.Fatalf("exit %d; stdout %q, stderr %q", code, stdout, stderr)
		}
		for _, sec := range fileSecrets(file) {
			if strings.Contains(stdout, sec) || strings.Contains(stderr, sec) {
				t.Fatalf("the secret %q was printed:\nstdout %s\nstderr %s", sec, stdout, stderr)
			}
		}
		if code != 0 {
			return
		}
		var out map[string]any
		if err := json.Unmarshal([]byte(stdout), &out); err != nil {
			t.Fatalf("config printed no JSON object: %v\n%s", err, stdout)
		}
		if strings.Contains(stdout, "REDACTED") || strings.Contains(stdout, "[redacted]") || strings.Contains(stdout, "xxxxx") {
			return // what was redacted does not read back as itself
		}
		if err := os.WriteFile(again, []byte(stdout), 0o600); err != nil {
			t.Fatal(err)
		}
		if code2, stdout2, stderr2 := runConfig(again); code2 != 0 || stdout2 != stdout {
			t.Fatalf("the output, read back as a config file, gives exit %d and\n%s%s\ninstead of\n%s", code2, stdout2, stderr2, stdout)
		}
	})
}

func runConfig(path string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(context.Background(), nil, []string{"config", "--config", path}, strings.NewReader(""), &o, &e)
	return code, o.String(), e.String()
}

// fileSecrets returns the secrets a config file holds that must never be
// printed: the secret-key, and the password of the store URL. Short ones
// and ones that appear elsewhere in the file (and so may be printed as part
// of another setting) are left out.
func fileSecrets(file []byte) []string {
	var m map[string]any
	if json.Unmarshal(file, &m) != nil {
		return nil
	}
	var out []string
	keep := func(s string) {
		if len(s) >= 8 && bytes.Count(file, []byte(s)) == 1 && !strings.Contains("xxxxxREDACTED[redacted]", s) {
			out = append(out, s)
		}
	}
	if s, ok := m["secret-key"].(string); ok {
		keep(s)
	}
	if s, ok := m["store"].(string); ok {
		if u, err := url.Parse(s); err == nil {
			if p, ok := u.User.Password(); ok {
				keep(p)
			}
		}
	}
	return out
}

// FuzzRedact: redact (what config, the serve log line and errors print for
// the store URL) and scrub (what hides it in driver errors) never let the
// password of a URL through, whatever the URL and the message around it.
func FuzzRedact(f *testing.F) {
	for _, s := range []string{
		"postgres://u:hunter2hunter2@h:5432/db", "postgres://h/db?password=hunter2hunter2&sslmode=x",
		"postgresql://u:hunter2%40hunter2@h/db", "postgres://u:p@ss:hunter2hunter2@h/db", "postgres://u:p%zz@h/db",
		"host=h user=u password=hunter2hunter2 dbname=d", "postgres://h/db?sslpassword=hunter2hunter2&PASSWORD=hunter2hunter3",
		"postgres://[::1]:5432/db?password=hunter2hunter2", "sqlite:/var/lib/tessera/tessera.db", "",
	} {
		f.Add(s, "failed to connect to `"+s+"`: password authentication failed")
	}
	f.Fuzz(func(t *testing.T, raw, msg string) {
		u, err := url.Parse(raw)
		if err != nil {
			return
		}
		var secrets []string
		if p, ok := u.User.Password(); ok {
			secrets = append(secrets, p)
		}
		for k, vs := range u.Query() {
			switch strings.ToLower(k) {
			case "password", "sslpassword", "pass", "secret", "token", "key", "sslkey":
				secrets = append(secrets, vs...)
			}
		}
		red := redact(raw)
		scrubbed := scrub(msg, raw)
		for _, sec := range secrets {
			// Short secrets, and ones that appear in the URL beyond their
			// own place, may show for those other places.
			if len(sec) < 8 || strings.Count(raw, sec) != 1 {
				continue
			}
			if strings.Contains(red, sec) {
				t.Fatalf("redact(%q) = %q shows %q", raw, red, sec)
			}
			// The mask "xxxxx" next to what remains of the message can spell
			// a secret with an x in it again, and one secret's mask another:
			// those are left out.
			if len(secrets) == 1 && !strings.Contains(sec, "x") && strings.Contains(scrubbed, sec) {
				t.Fatalf("scrub(%q, %q) = %q shows %q", msg, raw, scrubbed, sec)
			}
		}
	})
}

// TestRedactKeyValueSecrets: a key=value connection string (which --store
// refuses, printing it redacted in the error) hides every credential that
// redact hides in a URL's query, not only password=. Found by FuzzRedact
// (testdata/fuzz/FuzzRedact/eb31604abd93c685).
func TestRedactKeyValueSecrets(t *testing.T) {
	for _, s := range []string{
		"host=db user=u password=pw sslpassword=hunter2hunter2 dbname=d",
		"host=db user=u sslpassword=hunter2hunter2 password=pw",
		"host=db password = 'hunter2 hunter2' dbname=d",
	} {
		if got := redact(s); strings.Contains(got, "hunter2") {
			t.Errorf("redact(%q) = %q", s, got)
		}
	}
}
