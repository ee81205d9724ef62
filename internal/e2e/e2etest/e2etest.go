//go:build linux

// Package e2etest runs the real tessera binary for the end-to-end tests in
// internal/e2e: crash safety (crash), load (load) and hostile clients
// (hostile). It builds the binary, starts `tessera serve` on a loopback port
// with a data folder or a PostgreSQL database, kills it, reads its memory
// from /proc, and speaks the HTTP API as a plain client would.
package e2etest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/internal/clock"

	"github.com/jackc/pgx/v5"
)

// Build compiles ./cmd/tessera into dir and returns the binary's path. It is
// built with the tessera_testclock tag, so that the processes of a Store run
// on its clock (Store.ClockOffset), years away from today. The
// binary is built without the race detector whatever the tests run with: the
// tests measure its memory and kill it, and the race detector's shadow memory
// and exit delay would distort both. (cmd/tessera's own tests run it raced.)
func Build(dir string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "tessera")
	cmd := exec.Command(goTool(), "build", "-tags", "tessera_testclock", "-o", bin, "./cmd/tessera")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building tessera: %v\n%s", err, out)
	}
	return bin, nil
}

// Main is a TestMain body: it builds the binary into *bin, runs the tests
// and removes the binary.
func Main(m *testing.M, bin *string) int {
	dir, err := os.MkdirTemp("", "tessera-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if *bin, err = Build(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

func moduleRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if ok {
		root := filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			return root, nil
		}
	}
	out, err := exec.Command(goTool(), "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		return "", errors.New("cannot find the module root")
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "/usr/local/go/bin/go"
}

// Store is where a server keeps its data: a data folder (SQLite), or a
// PostgreSQL database with its secret key.
type Store struct {
	Data string   // the data folder, always set
	Env  []string // TESSERA_STORE, TESSERA_SECRET_KEY for PostgreSQL
	// ClockOffset moves the clock of every process on the store this far
	// from real time: to clock.Epoch, so that a wall-clock read in an
	// expiry path fails the tests.
	ClockOffset time.Duration
	Kind        string // "sqlite" or "postgres"
}

// SQLite is a fresh SQLite store in a temporary folder.
func SQLite(t testing.TB) *Store {
	return &Store{Data: filepath.Join(t.TempDir(), "data"), Kind: "sqlite", ClockOffset: time.Until(clock.Epoch(t))}
}

// Postgres is a fresh PostgreSQL database on the server named by
// TESSERA_TEST_POSTGRES, dropped when t ends; it skips t without the
// variable. Start servers on it after calling it, so that they are stopped
// (cleanups run last-in first-out) before the database is dropped.
func Postgres(t testing.TB) *Store {
	base := os.Getenv("TESSERA_TEST_POSTGRES")
	if base == "" {
		t.Skip("set TESSERA_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable (as .ci/run does) to run on PostgreSQL")
	}
	b := make([]byte, 8)
	rand.Read(b)
	name := "tessera_e2e_" + hex.EncodeToString(b)
	id := pgx.Identifier{name}.Sanitize()
	pgExec(t, base, "CREATE DATABASE "+id)
	t.Cleanup(func() { pgExec(t, base, "DROP DATABASE IF EXISTS "+id+" WITH (FORCE)") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("TESSERA_TEST_POSTGRES is not a URL: %v", err)
	}
	u.Path = "/" + name
	key := make([]byte, 32)
	rand.Read(key)
	return &Store{
		ClockOffset: time.Until(clock.Epoch(t)),
		Data:        filepath.Join(t.TempDir(), "data"),
		Env:         []string{"TESSERA_STORE=" + u.String(), "TESSERA_SECRET_KEY=" + base64.StdEncoding.EncodeToString(key)},
		Kind:        "postgres",
	}
}

func pgExec(t testing.TB, dbURL, sql string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("connecting to the PostgreSQL test server: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// CheapArgon2 are argon2id settings that keep logins cheap where the tests
// are not about hashing cost.
var CheapArgon2 = []string{"TESSERA_ARGON2_MEMORY=1024", "TESSERA_ARGON2_TIME=1"}

// env is the environment of a tessera process on st: the caller's, without
// TESSERA_* variables, plus st's and extra.
func (st *Store) env(extra []string) []string {
	var vars []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TESSERA_") {
			vars = append(vars, kv)
		}
	}
	vars = append(vars, "TESSERA_DATA="+st.Data, "TESSERA_TEST_CLOCK_OFFSET="+st.ClockOffset.String())
	vars = append(vars, st.Env...)
	return append(vars, extra...)
}

// Run runs a tessera command on st with stdin and returns its stdout; it
// fails t unless the command exits 0.
func (st *Store) Run(t testing.TB, bin, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = st.env(CheapArgon2)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tessera %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// AddUser creates a user with the CLI (cheap argon2id parameters, which the
// server re-hashes at the first login if its own differ).
func (st *Store) AddUser(t testing.TB, bin, email, password string) {
	t.Helper()
	st.Run(t, bin, password+"\n", "user", "add", "--email", email, "--password-stdin")
}

// AddClient registers an OAuth client with the CLI and returns its ID and
// secret.
func (st *Store) AddClient(t testing.TB, bin, name string, scopes ...string) (id, sec string) {
	t.Helper()
	args := []string{"client", "add", "--name", name, "--json"}
	for _, s := range scopes {
		args = append(args, "--scope", s)
	}
	var c struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}
	if err := json.Unmarshal([]byte(st.Run(t, bin, "", args...)), &c); err != nil {
		t.Fatalf("client add: %v", err)
	}
	return c.ID, c.Secret
}

// Server is a running `tessera serve`.
type Server struct {
	URL  string // http://127.0.0.1:PORT
	Addr string
	PID  int

	cmd    *exec.Cmd
	log    *logBuffer
	exited chan struct{}
	err    error // Wait's, once exited is closed
}

var listening = regexp.MustCompile(`listening on http://([0-9.:\[\]a-f]+)`)

// Start runs `tessera serve --addr 127.0.0.1:0` on st with the extra
// arguments and environment (CheapArgon2 unless env sets argon2 itself),
// waits for its "listening on http://ADDR" log line, and kills it when t
// ends if it still runs.
func Start(t testing.TB, bin string, st *Store, env []string, args ...string) *Server {
	t.Helper()
	s, err := start(bin, st, env, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Kill() })
	return s
}

func start(bin string, st *Store, env []string, args ...string) (*Server, error) {
	if !hasArgon2(env) {
		env = append(append([]string{}, env...), CheapArgon2...)
	}
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = st.env(env)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &Server{PID: cmd.Process.Pid, cmd: cmd, log: &logBuffer{}, exited: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.log.add(line)
			if m := listening.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, stderr)
		s.err = cmd.Wait()
		close(s.exited)
	}()
	select {
	case a := <-addr:
		s.Addr, s.URL = a, "http://"+a
		return s, nil
	case <-s.exited:
		return nil, fmt.Errorf("tessera serve exited before listening: %v\n%s", s.err, s.Logs())
	case <-time.After(60 * time.Second):
		s.Kill()
		return nil, fmt.Errorf("tessera serve did not say it was listening within 60s:\n%s", s.Logs())
	}
}

func hasArgon2(env []string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, "TESSERA_ARGON2_MEMORY=") {
			return true
		}
	}
	return false
}

// Kill sends SIGKILL and waits for the process to be gone.
func (s *Server) Kill() {
	select {
	case <-s.exited:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
}

// Stop sends SIGTERM and waits up to 30 s for a graceful exit, then kills.
func (s *Server) Stop() error {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		return s.err
	case <-time.After(30 * time.Second):
		s.Kill()
		return errors.New("tessera serve did not stop within 30s of SIGTERM")
	}
}

// Exited is closed when the process has ended.
func (s *Server) Exited() <-chan struct{} { return s.exited }

// Logs returns what the server logged so far (its last 2000 lines).
func (s *Server) Logs() string { return s.log.String() }

// RSS is the server's resident set size in bytes, from /proc/PID/status.
func (s *Server) RSS() (int64, error) { return RSS(s.PID) }

// RSS reads VmRSS of process pid in bytes.
func RSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) == 2 && f[1] == "kB" {
				n, err := strconv.ParseInt(f[0], 10, 64)
				return n << 10, err
			}
		}
	}
	return 0, errors.New("no VmRSS in /proc/PID/status")
}

type logBuffer struct {
	mu    sync.Mutex
	lines []string
}

func (b *logBuffer) add(line string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.lines) >= 2000 {
		b.lines = b.lines[1:]
	}
	b.lines = append(b.lines, line)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.lines, "\n")
}

// Client speaks Tessera's HTTP API to one server.
type Client struct {
	Base string
	HTTP *http.Client
}

// NewClient returns a client of base with its own connection pool (up to
// conns idle connections, so that load tests reuse them).
func NewClient(base string, conns int) *Client {
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: 30 * time.Second, DisableCompression: true}
	return &Client{Base: base, HTTP: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// Close closes the client's idle connections.
func (c *Client) Close() { c.HTTP.CloseIdleConnections() }

// Response is a finished request.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends a request; body is sent as is with contentType.
func (c *Client) Do(ctx context.Context, method, path, contentType string, body []byte, header map[string]string) (*Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// Login is a successful sign-in as a client keeps it.
type Login struct {
	SID          string // the session's public ID
	Secret       string // the session secret: the cookie's value (mode session)
	AccessToken  string // mode token
	RefreshToken string // mode token
}

// Login posts POST /v1/login in mode "session" (the secret is read from the
// Set-Cookie header) or "token". A non-200 answer returns the response and
// a nil Login.
func (c *Client) Login(ctx context.Context, email, password, mode string) (*Login, *Response, error) {
	body, _ := json.Marshal(map[string]string{"email": email, "password": password, "mode": mode})
	r, err := c.Do(ctx, "POST", "/v1/login", "application/json", body, nil)
	if err != nil || r.Status != 200 {
		return nil, r, err
	}
	var v struct {
		Session struct {
			ID string `json:"sid"`
		} `json:"session"`
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(r.Body, &v); err != nil {
		return nil, r, fmt.Errorf("login response %q: %w", r.Body, err)
	}
	l := &Login{SID: v.Session.ID, AccessToken: v.AccessToken, RefreshToken: v.RefreshToken}
	if mode != "token" {
		l.Secret = SessionCookie(r.Header)
		if l.Secret == "" {
			return nil, r, fmt.Errorf("login in mode %s set no session cookie: %v", mode, r.Header["Set-Cookie"])
		}
	}
	return l, r, nil
}

// SessionCookie returns the session cookie's value in a response's headers.
func SessionCookie(h http.Header) string {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if (c.Name == "__Host-tessera_session" || c.Name == "tessera_session") && c.Value != "" {
			return c.Value
		}
	}
	return ""
}

// CookieHeader is the request header that presents a session secret as the
// session cookie.
func CookieHeader(secret string) map[string]string {
	return map[string]string{"Cookie": "__Host-tessera_session=" + secret}
}

// BearerHeader presents a token as a bearer.
func BearerHeader(tok string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + tok}
}

// Session calls GET /v1/session with the given credential headers and
// returns the status and the session ID on 200.
func (c *Client) Session(ctx context.Context, header map[string]string) (int, string, error) {
	r, err := c.Do(ctx, "GET", "/v1/session", "", nil, header)
	if err != nil {
		return 0, "", err
	}
	var v struct {
		Session struct {
			ID string `json:"sid"`
		} `json:"session"`
	}
	if r.Status == 200 {
		if err := json.Unmarshal(r.Body, &v); err != nil {
			return r.Status, "", fmt.Errorf("session response %q: %w", r.Body, err)
		}
	}
	return r.Status, v.Session.ID, nil
}

// Refresh runs grant_type=refresh_token for the first-party client and
// returns the response and, on 200, the new tokens.
func (c *Client) Refresh(ctx context.Context, rt string) (*Response, string, string, error) {
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"tessera"}}
	r, err := c.Do(ctx, "POST", "/oauth2/token", "application/x-www-form-urlencoded", []byte(form.Encode()), nil)
	if err != nil || r.Status != 200 {
		return r, "", "", err
	}
	var v struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(r.Body, &v); err != nil || v.RefreshToken == "" || v.AccessToken == "" {
		return r, "", "", fmt.Errorf("token response %q: %v", r.Body, err)
	}
	return r, v.AccessToken, v.RefreshToken, nil
}

// Revoke revokes a first-party token (RFC 7009).
func (c *Client) Revoke(ctx context.Context, tok string) (*Response, error) {
	form := url.Values{"token": {tok}, "client_id": {"tessera"}}
	return c.Do(ctx, "POST", "/oauth2/revoke", "application/x-www-form-urlencoded", []byte(form.Encode()), nil)
}

// Logout posts POST /v1/logout with the credential headers.
func (c *Client) Logout(ctx context.Context, header map[string]string) (*Response, error) {
	return c.Do(ctx, "POST", "/v1/logout", "", nil, header)
}

// RevokeSession calls DELETE /v1/sessions/{sid} with the credential headers.
func (c *Client) RevokeSession(ctx context.Context, sid string, header map[string]string) (*Response, error) {
	return c.Do(ctx, "DELETE", "/v1/sessions/"+url.PathEscape(sid), "", nil, header)
}

// MiB formats a byte count.
func MiB(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
