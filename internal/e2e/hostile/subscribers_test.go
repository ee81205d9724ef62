//go:build linux

package hostile

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/internal/clock"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/internal/e2e/e2etest"
	"github.com/tessera-auth/tessera/password"
	"github.com/tessera-auth/tessera/server"
	"github.com/tessera-auth/tessera/server/events"
	"github.com/tessera-auth/tessera/server/httpx"
	"github.com/tessera-auth/tessera/store/sqlite"
)

// stream is one open GET /v1/events.
type stream struct {
	resp   *http.Response
	body   []byte      // of a refusal
	events chan string // event types, in order
	cancel context.CancelFunc
}

// subscribe opens the event stream with Basic credentials. On 200 it reads
// events in the background until the stream ends or close is called.
func subscribe(base, id, sec string) (*stream, error) {
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/v1/events", nil)
	req.SetBasicAuth(id, sec)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	s := &stream{resp: resp, events: make(chan string, 64), cancel: cancel}
	if resp.StatusCode != 200 {
		s.body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		close(s.events)
		return s, nil
	}
	go func() {
		defer close(s.events)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if typ, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				select {
				case s.events <- typ:
				default: // a slow test reader loses events, not the stream
				}
			}
		}
	}()
	return s, nil
}

func (s *stream) close() { s.cancel() }

// await waits for an event of type typ.
func (s *stream) await(typ string, d time.Duration) bool {
	deadline := time.After(d)
	for {
		select {
		case got, ok := <-s.events:
			if !ok {
				return false
			}
			if got == typ {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

// TestSubscriberBound: GET /v1/events admits at most events.MaxSubscribers
// streams, even when many connect at once; the rest get 503 busy with
// Retry-After; a closed stream frees its slot.
//
// The binary has no setting for the bound (it is 1000), so this runs the
// HTTP API in-process with the bound set low.
func TestSubscriberBound(t *testing.T) {
	const bound = 8
	old := events.MaxSubscribers
	events.MaxSubscribers = bound
	t.Cleanup(func() { events.MaxSubscribers = old })

	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "tessera.db"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	srv := httptest.NewUnstartedServer(nil)
	kek := make([]byte, 32)
	rand.Read(kek)
	svc := auth.NewService(db, password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 1, 0),
		auth.Config{Tokens: auth.TokenConfig{Issuer: "http://" + srv.Listener.Addr().String(), KEK: kek}, Now: clock.NewShifted(clock.Epoch(t)).Now})
	if err := svc.LoadKeys(ctx); err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = server.New(svc, server.Config{})
	srv.Start()
	t.Cleanup(srv.Close)
	nc, err := svc.CreateClient(ctx, "watcher", []string{auth.ScopeEvents})
	if err != nil {
		t.Fatal(err)
	}
	id, sec := nc.Client.ID, nc.Secret.Reveal()
	// Every stream is closed before the server (cleanups run last-in
	// first-out): the server's Close waits for its open streams.
	var mu sync.Mutex
	var all []*stream
	subscribe := func(base, id, sec string) (*stream, error) {
		s, err := subscribe(base, id, sec)
		if err == nil {
			mu.Lock()
			all = append(all, s)
			mu.Unlock()
		}
		return s, err
	}
	t.Cleanup(func() {
		for _, s := range all {
			s.close()
		}
	})

	// Stampedes: many subscribers at once, a few times over (the window
	// between a check and a subscription is short).
	const stampede, rounds = 60, 5
	for round := 1; round <= rounds; round++ {
		streams := make([]*stream, stampede)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range stampede {
			wg.Go(func() {
				<-start
				s, err := subscribe(srv.URL, id, sec)
				if err != nil {
					t.Error(err)
					return
				}
				streams[i] = s
			})
		}
		close(start)
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		admitted := 0
		for _, s := range streams {
			switch s.resp.StatusCode {
			case 200:
				admitted++
			case 503:
				if s.resp.Header.Get("Retry-After") == "" {
					t.Error("503 without Retry-After")
				}
			default:
				t.Errorf("subscriber: status %d", s.resp.StatusCode)
			}
		}
		peak := svc.Subscribers()
		if admitted > bound || peak > bound {
			t.Errorf("stampede %d: %d subscribers at once with a bound of %d: %d streams admitted, %d subscribed", round, stampede, bound, admitted, peak)
		} else {
			t.Logf("stampede %d: %d subscribers at once with a bound of %d: %d admitted, %d refused with 503", round, stampede, bound, admitted, stampede-admitted)
		}
		if admitted == 0 {
			t.Error("no subscriber admitted")
		}
		for _, s := range streams {
			s.close()
		}
		waitFor(t, "every subscription to end", func() bool { return svc.Subscribers() == 0 })
	}

	// One at a time: bound admitted, the next refused, a closed one frees
	// its slot.
	var open []*stream
	for i := range bound + 1 {
		s, err := subscribe(srv.URL, id, sec)
		if err != nil {
			t.Fatal(err)
		}
		want := 200
		if i == bound {
			want = 503
		}
		if s.resp.StatusCode != want {
			t.Fatalf("subscriber %d of %d: status %d, want %d", i+1, bound, s.resp.StatusCode, want)
		}
		if want == 200 {
			if !s.await("hello", 5*time.Second) {
				t.Fatalf("subscriber %d: no hello", i+1)
			}
			open = append(open, s)
		} else {
			var p httpx.Problem
			if err := json.Unmarshal(s.body, &p); err != nil || p.Code != string(auth.CodeBusy) || s.resp.Header.Get("Retry-After") == "" {
				t.Errorf("refused subscriber: %s (Retry-After %q)", s.body, s.resp.Header.Get("Retry-After"))
			}
		}
	}
	open[0].close()
	waitFor(t, "a freed slot to be taken", func() bool {
		s, err := subscribe(srv.URL, id, sec)
		if err != nil || s.resp.StatusCode != 200 {
			return false
		}
		open = append(open, s)
		return true
	})
	for _, s := range open {
		s.close()
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestManySubscribers: the real server with hundreds of event-stream
// subscribers: every one is admitted (below the default bound of 1000), gets
// its hello, and receives a revocation within seconds; the server's memory
// stays bounded.
func TestManySubscribers(t *testing.T) {
	t.Parallel()
	n := 400
	if testing.Short() {
		n = 100
	}
	st := e2etest.SQLite(t)
	st.AddUser(t, bin, "ada@example.com", userPassword)
	id, sec := st.AddClient(t, bin, "watcher", "events")
	srv := e2etest.Start(t, bin, st, nil)
	before, _ := srv.RSS()

	streams := make([]*stream, n)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := range n {
		wg.Go(func() {
			s, err := subscribe(srv.URL, id, sec)
			if err != nil || s.resp.StatusCode != 200 || !s.await("hello", 20*time.Second) {
				failed.Add(1)
				if s != nil {
					s.close()
				}
				return
			}
			streams[i] = s
		})
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, s := range streams {
			if s != nil {
				s.close()
			}
		}
	})
	if f := failed.Load(); f > 0 {
		t.Fatalf("%d of %d subscribers were not admitted or got no hello", f, n)
	}

	// A logout reaches every subscriber.
	c := e2etest.NewClient(srv.URL, 1)
	defer c.Close()
	ctx := context.Background()
	l, r, err := c.Login(ctx, "ada@example.com", userPassword, "session")
	if err != nil || l == nil {
		t.Fatalf("login: %v %v", err, r)
	}
	if r, err := c.Logout(ctx, e2etest.CookieHeader(l.Secret)); err != nil || r.Status != 204 {
		t.Fatalf("logout: %v %v", err, r)
	}
	missed := 0
	for _, s := range streams {
		if !s.await(auth.EventSessionRevoked, 10*time.Second) {
			missed++
		}
	}
	if missed > 0 {
		t.Errorf("%d of %d subscribers did not receive the revocation", missed, n)
	}
	after, _ := srv.RSS()
	t.Logf("%d subscribers: server RSS %s before, %s with them", n, e2etest.MiB(before), e2etest.MiB(after))
	if per := (after - before) / int64(n); per > 1<<20 {
		t.Errorf("%s of memory per subscriber", e2etest.MiB(per))
	}
}
