package metrics

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/password"
	"github.com/tessera-auth/tessera/store/sqlite"
	"github.com/tessera-auth/tessera/webhook"
)

// sample returns the value of the series name{labels} (a counter's or
// gauge's value, a histogram's count), or -1 if there is none.
func sample(t *testing.T, m *Metrics, name string, labels ...string) float64 {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, s := range f.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				if !hasLabel(s, labels[i], labels[i+1]) {
					continue next
				}
			}
			switch {
			case s.Counter != nil:
				return s.Counter.GetValue()
			case s.Gauge != nil:
				return s.Gauge.GetValue()
			case s.Histogram != nil:
				return float64(s.Histogram.GetSampleCount())
			}
		}
	}
	return -1
}

func hasLabel(s *dto.Metric, name, value string) bool {
	for _, l := range s.GetLabel() {
		if l.GetName() == name {
			return l.GetValue() == value
		}
	}
	return false
}

func TestRecorder(t *testing.T) {
	m := New()
	m.Login(auth.LoginOK)
	m.Login(auth.LoginThrottled)
	m.Login("something new") // counted under the catch-all, never a new series
	m.SessionCheck(auth.CheckCookie, auth.CheckOK, 2*time.Microsecond)
	m.SessionCheck(auth.CheckJWT, auth.CheckUnauthenticated, 80*time.Microsecond)
	m.SessionCheck("carrier pigeon", "lost", time.Millisecond)
	m.Refresh(auth.RefreshInvalidGrant)
	m.ReuseDetected()
	m.Revoked(auth.CauseAdmin, 3)
	m.Revoked("cosmic ray", 1)
	m.Revoked(auth.CauseLogout, 0)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"tessera_logins_total", []string{"result", "ok"}, 1},
		{"tessera_logins_total", []string{"result", "throttled"}, 1},
		{"tessera_logins_total", []string{"result", "error"}, 1},
		{"tessera_logins_total", []string{"result", "busy"}, 0},
		{"tessera_session_checks_total", []string{"kind", "cookie", "result", "ok"}, 1},
		{"tessera_session_checks_total", []string{"kind", "jwt", "result", "unauthenticated"}, 1},
		{"tessera_session_checks_total", []string{"kind", "other", "result", "error"}, 1},
		{"tessera_session_check_duration_seconds", []string{"kind", "cookie"}, 1},
		{"tessera_refreshes_total", []string{"result", "invalid_grant"}, 1},
		{"tessera_refresh_reuse_detected_total", nil, 1},
		{"tessera_sessions_revoked_total", []string{"cause", "admin"}, 3},
		{"tessera_sessions_revoked_total", []string{"cause", "other"}, 1},
		{"tessera_sessions_revoked_total", []string{"cause", "logout"}, 0},
		{"tessera_event_stream_subscribers", nil, 0},
		{"tessera_argon2_queue_depth", nil, 0},
		{"tessera_webhook_deliveries_total", []string{"result", "delivered"}, 0},
	} {
		if got := sample(t, m, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

type fakeStats webhook.Stats

func (f fakeStats) Stats() webhook.Stats { return webhook.Stats(f) }

func TestSources(t *testing.T) {
	m := New()
	h := password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 1, 1)
	m.ObserveHasher(h)
	m.ObserveWebhooks(fakeStats{Delivered: 5, Failed: 2, GaveUp: 1})
	if got := sample(t, m, "tessera_webhook_deliveries_total", "result", "delivered"); got != 5 {
		t.Errorf("delivered %v", got)
	}
	if got := sample(t, m, "tessera_webhook_deliveries_total", "result", "gave_up"); got != 1 {
		t.Errorf("gave_up %v", got)
	}
	if got := sample(t, m, "tessera_argon2_queue_depth"); got != 0 {
		t.Errorf("queue %v", got)
	}
}

// TestWrapStore: every auth.Store method is timed under its own name, and
// the wrapped store works as the service's store.
func TestWrapStore(t *testing.T) {
	it := reflect.TypeFor[auth.Store]()
	var names []string
	for i := range it.NumMethod() {
		names = append(names, it.Method(i).Name)
	}
	ops := opNames[:]
	slices.Sort(names)
	sorted := slices.Sorted(slices.Values(ops))
	if !slices.Equal(names, sorted) {
		t.Fatalf("auth.Store methods %v\nbut timed operations %v", names, sorted)
	}
	// Each method is timed (not promoted untimed from the embedded store):
	// over a nil store every call panics, after the deferred timing ran.
	m := New()
	v := reflect.ValueOf(m.WrapStore(nil))
	for _, n := range names {
		mv := v.MethodByName(n)
		args := make([]reflect.Value, 0, mv.Type().NumIn())
		for i := range mv.Type().NumIn() {
			if mv.Type().IsVariadic() && i == mv.Type().NumIn()-1 {
				break
			}
			args = append(args, reflect.Zero(mv.Type().In(i)))
		}
		func() {
			defer func() { recover() }()
			mv.Call(args)
		}()
		if got := sample(t, m, "tessera_store_operation_duration_seconds", "operation", n); got != 1 {
			t.Errorf("%s is not timed (%v observations)", n, got)
		}
	}

	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m = New()
	kek := make([]byte, 32)
	rand.Read(kek)
	svc := auth.NewService(m.WrapStore(db), password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 1, 0),
		auth.Config{Recorder: m, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Tokens: auth.TokenConfig{Issuer: "https://t.test", KEK: kek}})
	ctx := context.Background()
	if _, err := svc.CreateUser(ctx, auth.NewUser{Email: "a@example.com", Password: "correct-horse-battery"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Login(ctx, auth.LoginRequest{Email: "a@example.com", Password: "correct-horse-battery"}); err != nil {
		t.Fatal(err)
	}
	for _, op := range []string{"CreateUser", "UserByEmail", "CreateSession"} {
		if got := sample(t, m, "tessera_store_operation_duration_seconds", "operation", op); got != 1 {
			t.Errorf("%s timed %v times, want 1", op, got)
		}
	}
	if got := sample(t, m, "tessera_logins_total", "result", "ok"); got != 1 {
		t.Errorf("logins ok %v", got)
	}
}

// TestHandler: the registry is served in the text format, on its own (no
// series of the global registry's default collectors twice).
func TestHandler(t *testing.T) {
	m := New()
	m.Route("GET /x").Observe(200, time.Millisecond)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("%d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	for _, want := range []string{
		`tessera_http_requests_total{code="200",route="GET /x"} 1`,
		`tessera_http_requests_total{code="404",route="GET /x"} 0`,
		`tessera_http_request_duration_seconds_count{route="GET /x"} 1`,
		"go_goroutines", "process_cpu_seconds_total",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("no %q in\n%s", want, body)
		}
	}
	m.Route("GET /x").Observe(418, 0) // an uncommon status still counts
	if got := sample(t, m, "tessera_http_requests_total", "route", "GET /x", "code", "418"); got != 1 {
		t.Errorf("418 counted %v", got)
	}
}

// TestNoAllocations: what the hot paths call allocates nothing.
func TestNoAllocations(t *testing.T) {
	m := New()
	r := m.Route("GET /v1/session")
	for name, f := range map[string]func(){
		"SessionCheck": func() { m.SessionCheck(auth.CheckCookie, auth.CheckOK, time.Microsecond) },
		"Login":        func() { m.Login(auth.LoginInvalidCredentials) },
		"Revoked":      func() { m.Revoked(auth.CauseLogout, 1) },
		"Route":        func() { r.Observe(200, time.Millisecond) },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations", name, n)
		}
	}
}

// BenchmarkSessionCheck is the cost that metrics add to a session check.
func BenchmarkSessionCheck(b *testing.B) {
	m := New()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.SessionCheck(auth.CheckCookie, auth.CheckOK, 1500*time.Nanosecond)
		}
	})
}
