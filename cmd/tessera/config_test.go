package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tessera-auth/tessera/auth"
)

// effectiveConfig runs tessera config and decodes its output.
func effectiveConfig(t *testing.T, e *env, args ...string) map[string]any {
	t.Helper()
	r := e.mustRun("", append([]string{"config"}, args...)...)
	var m map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
		t.Fatalf("tessera config printed no JSON object: %v\n%s", err, r)
	}
	return m
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestConfigPrecedence pins the order: flag > environment > config file >
// default. (kong alone would let the file override the environment; our
// resolver stands back for flags whose variable is set.)
func TestConfigPrecedence(t *testing.T) {
	e := newEnv(t)
	file := writeFile(t, filepath.Join(e.dir, "tessera.json"), `{
		"addr": "127.0.0.1:1111",
		"idle-timeout": "1h",
		"events-poll": "100ms",
		"session-cache": 42,
		"insecure-cookie": true,
		"trusted-proxies": ["10.0.0.0/8", "192.0.2.1"],
		"argon2-memory": 2048
	}`)
	withEnv := e.with("TESSERA_ADDR=127.0.0.1:2222", "TESSERA_IDLE_TIMEOUT=2h")

	got := effectiveConfig(t, withEnv, "--config", file, "--addr", "127.0.0.1:3333")
	want := map[string]any{
		"addr":            "127.0.0.1:3333", // flag beats env and file
		"idle-timeout":    "2h",             // env beats file
		"events-poll":     "100ms",          // file beats default
		"session-cache":   42.0,
		"insecure-cookie": true,
		"trusted-proxies": []any{"10.0.0.0/8", "192.0.2.1"},
		"touch-interval":  "1m", // default
		"argon2-memory":   1024.0,
	}
	for k, v := range want {
		if fmt.Sprint(got[k]) != fmt.Sprint(v) {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	// argon2-memory comes from the test env (1024), which beats the file.

	t.Run("ConfigFromEnv", func(t *testing.T) {
		got := effectiveConfig(t, e.with("TESSERA_CONFIG="+file))
		if got["addr"] != "127.0.0.1:1111" || got["argon2-memory"] != 1024.0 {
			t.Errorf("TESSERA_CONFIG: addr %v, argon2-memory %v", got["addr"], got["argon2-memory"])
		}
	})
	t.Run("FileAppliesToGlobalSettings", func(t *testing.T) {
		file := writeFile(t, filepath.Join(e.dir, "global.json"), `{"data": "/srv/tessera", "log-level": "debug"}`)
		clean := &env{t: t, dir: e.dir}
		for _, kv := range e.vars {
			if !strings.HasPrefix(kv, "TESSERA_DATA=") {
				clean.vars = append(clean.vars, kv)
			}
		}
		got := effectiveConfig(t, clean, "--config", file)
		if got["data"] != "/srv/tessera" || got["store"] != "sqlite:/srv/tessera/tessera.db" || got["log-level"] != "debug" {
			t.Errorf("data %v, store %v, log-level %v", got["data"], got["store"], got["log-level"])
		}
	})
	t.Run("OutputIsAConfigFile", func(t *testing.T) {
		r := e.mustRun("", "config", "--config", file)
		again := writeFile(t, filepath.Join(e.dir, "again.json"), r.stdout)
		if r2 := e.mustRun("", "config", "--config", again); r2.stdout != r.stdout {
			t.Errorf("config's output read back as a config file differs:\n%s\nvs\n%s", r.stdout, r2.stdout)
		}
	})
	t.Run("ErrUnknownKey", func(t *testing.T) {
		bad := writeFile(t, filepath.Join(e.dir, "bad.json"), `{"idle_timeout": "1h"}`)
		e.mustFail(`unknown key "idle_timeout"; keys are flag names: "idle-timeout"`, "", "config", "--config", bad)
	})
	t.Run("ErrNotASetting", func(t *testing.T) {
		bad := writeFile(t, filepath.Join(e.dir, "bad.json"), `{"email": "ada@example.com", "help": true}`)
		r := e.mustFail(`unknown key "email"`, "", "user", "disable", "--config", bad)
		if !strings.Contains(r.stderr, `unknown key "help"`) {
			t.Errorf("the key help was accepted: %s", r)
		}
	})
	t.Run("ErrDurationAsNumber", func(t *testing.T) {
		bad := writeFile(t, filepath.Join(e.dir, "bad.json"), `{"idle-timeout": 3600}`)
		e.mustFail("write a duration as a string", "", "config", "--config", bad)
	})
	t.Run("ErrNotJSON", func(t *testing.T) {
		bad := writeFile(t, filepath.Join(e.dir, "bad.json"), `addr = 1`)
		e.mustFail("not a JSON object", "", "config", "--config", bad)
	})
	t.Run("ErrMissingFile", func(t *testing.T) {
		e.mustFail("config file", "", "config", "--config", filepath.Join(e.dir, "missing.json"))
	})
	t.Run("ErrInvalidValue", func(t *testing.T) {
		e.mustFail("--events-poll", "", "config", "--events-poll", "5s")
		e.mustFail("--trusted-proxies", "", "config", "--trusted-proxies", "not-a-cidr")
	})
}

func TestConfigRedactsSecrets(t *testing.T) {
	e := newEnv(t).with("TESSERA_STORE=postgres://tessera:hunter2@db.example/tessera?sslmode=disable")
	r := e.mustRun("", "config")
	if strings.Contains(r.stdout, "hunter2") || !strings.Contains(r.stdout, "postgres://tessera:xxxxx@db.example/tessera?sslmode=disable") {
		t.Errorf("config printed:\n%s", r.stdout)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"":                                      "",
		"sqlite:tessera-data/tessera.db":        "sqlite:tessera-data/tessera.db",
		"sqlite:/var/lib/tessera/tessera.db":    "sqlite:/var/lib/tessera/tessera.db",
		"postgres://u:pw@h:5432/db":             "postgres://u:xxxxx@h:5432/db",
		"postgres://u@h/db":                     "postgres://u@h/db",
		"postgres://h/db?password=pw&sslmode=x": "postgres://h/db?password=xxxxx&sslmode=x",
		"postgres://u:p%zz@h/db":                "[redacted]",
		"host=h user=u password=pw dbname=d":    "host=h user=u password=xxxxx dbname=d",
		"host=h password='p w' dbname=d":        "host=h password=xxxxx dbname=d",
		"just-a-secret-value":                   "[redacted]",
	} {
		if got := redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}

var update = flag.Bool("update", false, "rewrite the README's configuration table")

const (
	tableBegin = "<!-- BEGIN CONFIG TABLE: generated from cmd/tessera/config.go; go test ./cmd/tessera -run TestREADMEConfigTable -update -->\n"
	tableEnd   = "<!-- END CONFIG TABLE -->\n"
)

var mdEscape = strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;", "_", `\_`, "*", `\*`)

// configTable renders the settings of Config as the README's markdown.
func configTable() string {
	var b strings.Builder
	scope := ""
	code := func(s string) string {
		if s == "" {
			return "—"
		}
		return "`" + s + "`"
	}
	for _, s := range settings(&Config{}) {
		if s.Scope != scope {
			scope = s.Scope
			fmt.Fprintf(&b, "\nRead by %s:\n\n", scope)
			b.WriteString("| flag | environment | config key | default | meaning |\n|---|---|---|---|---|\n")
		}
		key, def := s.Name, s.Default
		if s.NoFile {
			key = ""
		}
		switch {
		case s.Name == "store":
			def = "sqlite:<data>/tessera.db"
		case s.Name == "secret-key":
			def = "<data>/secret.key (SQLite)"
		case s.Name == "issuer":
			def = "http://<addr>"
		case s.Name == "audience":
			def = "<issuer>"
		case s.Value.Kind() == reflect.Bool && def == "":
			def = "false"
		}
		fmt.Fprintf(&b, "| `--%s` | %s | %s | %s | %s |\n", s.Name, code(s.Env), code(key), code(def), mdEscape.Replace(s.Help))
	}
	return b.String()
}

func TestREADMEConfigTable(t *testing.T) {
	path := filepath.Join("..", "..", "README.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	i, j := strings.Index(readme, tableBegin), strings.Index(readme, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md has no configuration table between %q and %q", tableBegin, tableEnd)
	}
	want := configTable() + "\n"
	got := readme[i+len(tableBegin) : j]
	if got == want {
		return
	}
	if *update {
		readme = readme[:i+len(tableBegin)] + want + readme[j:]
		if err := os.WriteFile(path, []byte(readme), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md's configuration table is out of date with Config; run\n\tgo test ./cmd/tessera -run TestREADMEConfigTable -update")
}

// TestErrorsDoc checks that docs/errors.md documents every problem code with
// a heading whose anchor is the code (problem types link there).
func TestErrorsDoc(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "errors.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	codes := map[auth.Code]int{
		auth.CodeInvalidRequest: 400, auth.CodeWeakPassword: 400,
		auth.CodeInvalidCredentials: 401, auth.CodeUnauthenticated: 401,
		auth.CodeForbidden: 403, auth.CodeCrossOrigin: 403, auth.CodeNotFound: 404,
		"method_not_allowed": 405, auth.CodeConflict: 409, "body_too_large": 413,
		"unsupported_media_type": 415, auth.CodeThrottled: 429, auth.CodeInternal: 500, auth.CodeBusy: 503,
	}
	for code, status := range codes {
		if !strings.Contains(doc, "\n## "+string(code)+"\n") {
			t.Errorf("no heading %q", "## "+code)
		}
		if !strings.Contains(doc, fmt.Sprintf("| [`%s`](#%s) | %d |", code, code, status)) {
			t.Errorf("no table row for %s with status %d", code, status)
		}
	}
}
