//go:build linux

package hostile

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/internal/e2e/e2etest"
)

// TestSlowHeaders: slowloris. Many connections send their headers a line
// every second and never finish; the server closes each one at
// ReadHeaderTimeout (5 s), and serves other clients meanwhile. The bound
// checked is generous (25 s); what matters is that the connections end.
func TestSlowHeaders(t *testing.T) {
	t.Parallel()
	srv := e2etest.Start(t, bin, e2etest.SQLite(t), nil)
	longest := slowClients(t, srv, 50, 25*time.Second, time.Second,
		"GET /healthz HTTP/1.1\r\nHost: "+srv.Addr+"\r\n",
		func(n int) string { return fmt.Sprintf("X-Slow-%d: a\r\n", n) })
	t.Logf("50 slow-header connections closed by the server, the last after %v (ReadHeaderTimeout %v)", longest.Round(time.Millisecond), readHeaderTimeout)
}

// TestSlowBody: complete headers, then a body trickled a byte every two
// seconds. ReadTimeout (30 s) covers the body: the server gives up on it and
// closes the connection. Other clients are served meanwhile.
func TestSlowBody(t *testing.T) {
	t.Parallel()
	srv := e2etest.Start(t, bin, e2etest.SQLite(t), nil)
	longest := slowClients(t, srv, 20, readTimeout+30*time.Second, 2*time.Second,
		"POST /v1/login HTTP/1.1\r\nHost: "+srv.Addr+"\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{",
		func(int) string { return " " })
	t.Logf("20 slow-body connections closed by the server, the last after %v (ReadTimeout %v)", longest.Round(time.Millisecond), readTimeout)
}

// slowClients opens n connections that each send start, then next(0),
// next(1), … one every interval, never finishing the request. It checks that
// the server stays healthy meanwhile and closes every connection within the
// bound, and returns how long the last one took.
func slowClients(t *testing.T, srv *e2etest.Server, n int, within, interval time.Duration, start string, next func(int) string) time.Duration {
	t.Helper()
	var wg sync.WaitGroup
	took := make([]time.Duration, n)
	closed := make([]bool, n)
	for i := range n {
		wg.Go(func() {
			conn, err := net.Dial("tcp", srv.Addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			stop := make(chan struct{})
			defer close(stop)
			go func() { // the trickle
				conn.Write([]byte(start))
				for k := 0; ; k++ {
					select {
					case <-stop:
						return
					case <-time.After(interval):
					}
					if _, err := conn.Write([]byte(next(k))); err != nil {
						return
					}
				}
			}()
			took[i], _, closed[i] = closedWithin(conn, within)
		})
	}
	time.Sleep(time.Second)
	healthy(t, srv.URL)
	wg.Wait()
	var longest time.Duration
	for i := range n {
		if !closed[i] {
			t.Fatalf("connection %d still open after %v of a slow request", i, took[i])
		}
		longest = max(longest, took[i])
	}
	return longest
}

// TestHugeHeaders: headers beyond MaxHeaderBytes (32 KiB) get 431, in one
// huge header, in a huge cookie or in many small headers; headers within
// the limit are served.
func TestHugeHeaders(t *testing.T) {
	t.Parallel()
	srv := e2etest.Start(t, bin, e2etest.SQLite(t), nil)
	req := func(headers string) string {
		return "GET /v1/session HTTP/1.1\r\nHost: " + srv.Addr + "\r\n" + headers + "Connection: close\r\n\r\n"
	}
	big := strings.Repeat("a", 2*maxHeaderBytes)
	var many strings.Builder
	for i := range 2 * maxHeaderBytes / 32 {
		fmt.Fprintf(&many, "X-Header-%05d: %s\r\n", i, strings.Repeat("b", 12))
	}
	for name, headers := range map[string]string{
		"OneHugeHeader": "X-Pad: " + big + "\r\n",
		"HugeCookie":    "Cookie: __Host-tessera_session=" + big + "\r\n",
		"HugeBearer":    "Authorization: Bearer " + big + "\r\n",
		"ManyHeaders":   many.String(),
	} {
		if got := rawRequest(t, srv.Addr, req(headers)); got != "431" {
			t.Errorf("%s: status %s, want 431", name, got)
		}
	}
	// Within the limit: a 16 KiB header is read, and the request answered
	// on its merits (no session: 401).
	if got := rawRequest(t, srv.Addr, req("X-Pad: "+strings.Repeat("a", 16<<10)+"\r\n")); got != "401" {
		t.Errorf("16 KiB header: status %s, want 401", got)
	}
	// A bearer longer than MaxCredentialBytes (8 KiB) but within the header
	// limit is refused before it is parsed.
	if got := rawRequest(t, srv.Addr, req("Authorization: Bearer "+strings.Repeat("a.", 6<<10)+"\r\n")); got != "401" {
		t.Errorf("12 KiB bearer: status %s, want 401", got)
	}
	healthy(t, srv.URL)
}

// TestHugeBody: a body beyond MaxBodyBytes (64 KiB) gets 413 without being
// read whole, on the JSON API and on the OAuth form endpoints.
func TestHugeBody(t *testing.T) {
	t.Parallel()
	srv := e2etest.Start(t, bin, e2etest.SQLite(t), nil)
	body := `{"email":"ada@example.com","password":"` + strings.Repeat("p", 8<<20) + `"}`
	for _, c := range []struct{ path, ct string }{
		{"/v1/login", "application/json"},
		{"/oauth2/token", "application/x-www-form-urlencoded"},
		{"/oauth2/revoke", "application/x-www-form-urlencoded"},
	} {
		resp, err := http.Post(srv.URL+c.path, c.ct, strings.NewReader(body))
		if err != nil {
			// The server may close the connection after answering, before
			// the client has sent the whole body.
			t.Logf("%s: %v", c.path, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != 413 {
			t.Errorf("%s with 8 MiB: status %d, want 413", c.path, resp.StatusCode)
		}
	}
	healthy(t, srv.URL)
}
