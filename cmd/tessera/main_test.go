package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/internal/clock"
)

// bin is the tessera binary built once by TestMain; the CLI tests run it as
// a real subprocess, in a temporary data folder, with no stdin unless given.
var bin string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "tessera-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin = filepath.Join(dir, "tessera")
	// The test build runs on TESSERA_TEST_CLOCK_OFFSET (clock_testclock.go):
	// each env moves it years from today.
	args := []string{"build", "-tags", "tessera_testclock", "-o", bin}
	if raceEnabled {
		args = append(args, "-race") // the server's goroutines get checked too
	}
	cmd := exec.Command(goTool(), append(args, ".")...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building tessera:", err)
		return 1
	}
	return m.Run()
}

// goTool finds the go command: on PATH, else in the usual place.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "/usr/local/go/bin/go"
}

// env is a test environment: a data folder of its own, no TESSERA_*
// variables from the caller's environment, and cheap argon2 parameters
// (the tests are about the CLI, not about hashing cost).
type env struct {
	t    *testing.T
	dir  string
	vars []string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	var vars []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TESSERA_") {
			vars = append(vars, kv)
		}
	}
	vars = append(vars,
		// A race-enabled binary otherwise sleeps 1s at exit.
		"GORACE=atexit_sleep_ms=0 "+os.Getenv("GORACE"),
		"TESSERA_DATA="+filepath.Join(dir, "data"),
		"TESSERA_ARGON2_MEMORY=1024",
		"TESSERA_ARGON2_TIME=1",
		// Every process of the env (the CLI and servers) agrees on one
		// clock, years from today: a wall-clock expiry fails the tests.
		"TESSERA_TEST_CLOCK_OFFSET="+time.Until(clock.Epoch(t)).String(),
	)
	return &env{t: t, dir: dir, vars: vars}
}

// with returns a copy of e with more variables.
func (e *env) with(vars ...string) *env {
	return &env{t: e.t, dir: e.dir, vars: append(append([]string{}, e.vars...), vars...)}
}

// result is a finished run of the binary.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// run runs tessera with args and stdin (nil: none) in the env's folder.
func (e *env) run(stdin string, args ...string) result {
	e.t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = e.dir
	cmd.Env = e.vars
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			e.t.Fatalf("running tessera %s: %v", strings.Join(args, " "), err)
		}
		r.code = ee.ExitCode()
	}
	if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic:") {
		e.t.Fatalf("tessera %s printed a stack trace:\n%s", strings.Join(args, " "), r)
	}
	return r
}

// mustRun runs tessera and fails the test unless it exits 0.
func (e *env) mustRun(stdin string, args ...string) result {
	e.t.Helper()
	r := e.run(stdin, args...)
	if r.code != 0 {
		e.t.Fatalf("tessera %s: %s", strings.Join(args, " "), r)
	}
	return r
}

// mustFail runs tessera and fails the test unless it exits 1 with an error
// line "tessera: …" that contains want.
func (e *env) mustFail(want, stdin string, args ...string) result {
	e.t.Helper()
	r := e.run(stdin, args...)
	if r.code != 1 || !strings.HasPrefix(r.stderr, "tessera: ") || !strings.Contains(r.stderr, want) {
		e.t.Fatalf("tessera %s: want exit 1 and an error containing %q, got %s", strings.Join(args, " "), want, r)
	}
	return r
}
