package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/internal/clock"
	"github.com/tessera-auth/tessera/internal/syncbuf"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/server/httpx"
)

// server is a `tessera serve` subprocess.
type server struct {
	t    *testing.T
	cmd  *exec.Cmd
	url  string
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, once done

	mu  sync.Mutex
	log bytes.Buffer // its stderr so far
}

var listening = regexp.MustCompile(`listening on (https?://[0-9a-f.:\[\]]+)`)

// startServe starts tessera serve on a free loopback port and waits for its
// "listening on" line.
func (e *env) startServe(args ...string) *server {
	e.t.Helper()
	s := &server{t: e.t, done: make(chan struct{})}
	s.cmd = exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	s.cmd.Dir, s.cmd.Env = e.dir, e.vars
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			s.mu.Lock()
			s.log.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, stderr)
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	e.t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			s.cmd.Process.Kill()
			<-s.done
		}
	})
	select {
	case s.url = <-addr:
	case <-s.done:
		e.t.Fatalf("tessera serve exited before listening: %v\n%s", s.err, s.logs())
	case <-time.After(60 * time.Second):
		e.t.Fatalf("tessera serve did not say it listens within 60s:\n%s", s.logs())
	}
	return s
}

func (s *server) logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// stop sends sig and returns the exit code.
func (s *server) stop(sig syscall.Signal) int {
	s.t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatal(err)
	}
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.t.Fatalf("tessera serve did not stop within 30s of %v:\n%s", sig, s.logs())
	}
	var ee *exec.ExitError
	if errors.As(s.err, &ee) {
		return ee.ExitCode()
	}
	if s.err != nil {
		s.t.Fatal(s.err)
	}
	return 0
}

// login signs in and returns the session cookie's value.
func login(t *testing.T, base, email, pw string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"email": email, "password": pw})
	resp, err := http.Post(base+"/v1/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login %s: %s %s", email, resp.Status, b)
	}
	for _, c := range resp.Cookies() {
		if c.Name == httpx.CookieName {
			return c.Value
		}
	}
	t.Fatalf("login set no %s cookie: %v", httpx.CookieName, resp.Header)
	return ""
}

// sessionStatus is the status of GET /v1/session with the cookie.
func sessionStatus(t *testing.T, base, cookie string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/v1/session", nil)
	req.Header.Set("Cookie", httpx.CookieName+"="+cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// waitUnauthenticated polls GET /v1/session until it answers 401, failing
// if that takes more than 3 s from now: a change made by the CLI must reach
// the running server's cache within a second (--events-poll is 250ms).
func waitUnauthenticated(t *testing.T, s *server, cookie, what string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		code := sessionStatus(t, s.url, cookie)
		if code == http.StatusUnauthorized {
			return
		}
		if code != http.StatusOK {
			t.Fatalf("after %s: GET /v1/session answered %d", what, code)
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s the running server still accepts the session 3s later:\n%s", what, s.logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServeFollowsCLIChanges runs the server and the CLI as separate
// processes on one data folder: a user disabled, stripped of a role or given
// a new password by the CLI loses their session on the running server.
func TestServeFollowsCLIChanges(t *testing.T) {
	e := newEnv(t)
	e.mustRun("correct-horse-42\n", "user", "add", "--email", "ada@example.com", "--password-stdin", "--role", "admin")
	s := e.startServe()
	if code := sessionStatus(t, s.url, "bogus"); code != http.StatusUnauthorized {
		t.Fatalf("a bogus cookie got %d", code)
	}

	t.Run("Disable", func(t *testing.T) {
		cookie := login(t, s.url, "ada@example.com", "correct-horse-42")
		if code := sessionStatus(t, s.url, cookie); code != http.StatusOK {
			t.Fatalf("fresh session: %d", code)
		}
		e.mustRun("", "user", "disable", "--email", "ada@example.com")
		waitUnauthenticated(t, s, cookie, "user disable")
		e.mustRun("", "user", "enable", "--email", "ada@example.com")
	})
	t.Run("UserAddedWhileServing", func(t *testing.T) {
		e.mustRun("staple-battery-7\n", "user", "add", "--email", "bob@example.com", "--password-stdin")
		login(t, s.url, "bob@example.com", "staple-battery-7")
	})
	t.Run("SetRolesRemovingARole", func(t *testing.T) {
		cookie := login(t, s.url, "ada@example.com", "correct-horse-42")
		e.mustRun("", "user", "set-roles", "--email", "ada@example.com", "--role", "ops")
		waitUnauthenticated(t, s, cookie, "user set-roles")
	})
	t.Run("Passwd", func(t *testing.T) {
		cookie := login(t, s.url, "ada@example.com", "correct-horse-42")
		e.mustRun("new-horse-staple-9\n", "user", "passwd", "--email", "ada@example.com", "--password-stdin")
		waitUnauthenticated(t, s, cookie, "user passwd")
		login(t, s.url, "ada@example.com", "new-horse-staple-9")
	})

	if code := s.stop(syscall.SIGTERM); code != 0 {
		t.Errorf("SIGTERM: exit %d, want 0:\n%s", code, s.logs())
	}
}

func TestServeStopsOnSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			e := newEnv(t)
			s := e.startServe("--log-format", "json")
			resp, err := http.Get(s.url + "/readyz")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("/readyz: %s", resp.Status)
			}
			if code := s.stop(sig); code != 0 {
				t.Fatalf("exit %d, want 0:\n%s", code, s.logs())
			}
			if !strings.Contains(s.logs(), `"msg":"stopped"`) {
				t.Errorf("no JSON log line saying it stopped:\n%s", s.logs())
			}
		})
	}
}

func TestServeLogsConfiguration(t *testing.T) {
	e := newEnv(t).with("TESSERA_STORE=sqlite:" + filepath.Join(t.TempDir(), "t.db"))
	s := e.startServe("--idle-timeout", "3h")
	logs := s.logs()
	s.stop(syscall.SIGTERM)
	var line string
	for l := range strings.Lines(logs) {
		if strings.Contains(l, "msg=configuration") {
			if line != "" {
				t.Fatalf("more than one configuration line:\n%s", logs)
			}
			line = l
		}
	}
	for _, want := range []string{"idle-timeout=3h", "events-poll=250ms", "addr=127.0.0.1:0", "store=sqlite:"} {
		if !strings.Contains(line, want) {
			t.Errorf("configuration line lacks %q: %s", want, line)
		}
	}
}

// parseConfig fills a Config from command-line args, as tessera config would.
func parseConfig(t *testing.T, args ...string) Config {
	t.Helper()
	var cli CLI
	parser, err := newParser(&cli, &app{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parser.Parse(append([]string{"config"}, args...)); err != nil {
		t.Fatal(err)
	}
	return Config{Global: cli.Global, Hashing: cli.Settings.Hashing, Server: cli.Settings.Server}
}

// TestServeInProcess runs the whole server in-process through startNode,
// as serve does.
func TestServeInProcess(t *testing.T) {
	cfg := parseConfig(t, "--data", t.TempDir(), "--addr", "127.0.0.1:0", "--argon2-memory", "1024", "--argon2-time", "1")
	var logs syncbuf.Buffer
	ctx := context.Background()
	n, err := startNode(ctx, cfg, slog.New(slog.NewTextHandler(&logs, nil)), clock.NewShifted(clock.Epoch(t)).Now)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if _, err := n.Auth.CreateUser(ctx, auth.NewUser{Email: "ada@example.com", Password: "correct-horse-42"}); err != nil {
		t.Fatal(err)
	}
	base := "http://" + n.Addr().String()
	cookie := login(t, base, "ada@example.com", "correct-horse-42")
	if code := sessionStatus(t, base, cookie); code != http.StatusOK {
		t.Fatalf("GET /v1/session: %d", code)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("the server still answers after Close")
	}
}
