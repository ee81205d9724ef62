//go:build linux

// Package hostile runs hostile clients against the real server: slowloris
// headers and bodies, oversized headers and bodies, floods of event-stream
// subscribers and of logins, and many clients racing to refresh, log out and
// revoke the same sessions. Each test checks that the server stays within
// its bounds (timeouts, header and body limits, subscriber and hashing
// limits), answers the overflow with a clear status, keeps serving
// legitimate clients, and ends in a consistent state.
package hostile

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/internal/e2e/e2etest"
)

var bin string

func TestMain(m *testing.M) { os.Exit(e2etest.Main(m, &bin)) }

const userPassword = "correct-horse-battery"

// The server's limits, as node/node.go sets them.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	maxHeaderBytes    = 32 << 10
)

// closedWithin reads from conn until the server closes it (EOF or a reset)
// or d passes; it returns how long that took, what was read, and whether the
// server closed it.
func closedWithin(conn net.Conn, d time.Duration) (time.Duration, string, bool) {
	start := time.Now()
	conn.SetReadDeadline(start.Add(d))
	var got strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			var ne net.Error
			timedOut := false
			if ok := asNetError(err, &ne); ok && ne.Timeout() {
				timedOut = true
			}
			return time.Since(start), got.String(), !timedOut
		}
	}
}

func asNetError(err error, target *net.Error) bool {
	ne, ok := err.(net.Error)
	if ok {
		*target = ne
	}
	return ok
}

// rawRequest sends req as is on a new connection and returns the status
// line's code ("431") and the connection, closed.
func rawRequest(t *testing.T, addr, req string) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := conn.Write([]byte(req)); err != nil {
		// The server may answer and close before it has read everything.
		t.Logf("writing the request: %v", err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatalf("no status line: %v", err)
	}
	f := strings.Fields(line)
	if len(f) < 2 {
		t.Fatalf("status line %q", line)
	}
	return f[1]
}

// healthy checks that a plain request is still served promptly.
func healthy(t *testing.T, base string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(base + "/healthz")
	if err != nil {
		t.Errorf("GET /healthz while under attack: %v", err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /healthz while under attack: %d", resp.StatusCode)
	}
}

// login signs in with the given credentials and returns the response.
func login(ctx context.Context, c *e2etest.Client, email, pw string) (*e2etest.Response, error) {
	_, r, err := c.Login(ctx, email, pw, "session")
	return r, err
}

func oneOf(status int, want ...int) bool { return slices.Contains(want, status) }
