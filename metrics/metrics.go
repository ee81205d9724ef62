// Package metrics is Tessera's Prometheus instrumentation: one Metrics value
// owns a registry of its own (never the global one) and the collectors below,
// and is handed to the parts it measures.
//
// # What is measured
//
//	tessera_logins_total{result}                         ok, invalid_credentials, throttled, busy, invalid_request, error
//	tessera_session_checks_total{kind,result}             kind: cookie, bearer_session, jwt; result: ok, unauthenticated, error
//	tessera_session_check_duration_seconds{kind}          histogram, 1 µs to 100 ms
//	tessera_refreshes_total{result}                       ok, invalid_grant, error
//	tessera_refresh_reuse_detected_total                  replayed refresh tokens (session revoked)
//	tessera_sessions_revoked_total{cause}                 the auth.Cause* constants
//	tessera_event_stream_subscribers                      gauge (auth.Service.Subscribers)
//	tessera_webhook_deliveries_total{result}              delivered, failed, gave_up (webhook.Deliverer.Stats)
//	tessera_store_operation_duration_seconds{operation}   histogram per auth.Store method, 10 µs to 2.5 s
//	tessera_argon2_queue_depth                            gauge: sign-ins waiting for a hashing slot
//	tessera_http_requests_total{route,code}               route is the ServeMux pattern ("GET /v1/session")
//	tessera_http_request_duration_seconds{route}          histogram, 100 µs to 10 s (event streams count their whole life)
//
// plus the Go runtime and process collectors.
//
// # Wiring
//
// Metrics implements auth.Recorder (set it as auth.Config.Recorder);
// WrapStore times the auth service's store calls (the store latency is
// measured at the service boundary, so every store package gets it without
// instrumenting its driver); ObserveService, ObserveHasher and
// ObserveWebhooks attach the sources of the gauges and of the delivery
// counters, which are read at scrape time; the HTTP layer (server.Config.
// Metrics) serves Handler at GET /metrics and reports its requests through
// Route.
//
// # Cost
//
// Every label combination that a hot path uses is resolved once, when
// Metrics (or a Route) is made; a session check then costs two atomic adds
// and a histogram observation, with no allocation and no lock.
package metrics

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/password"
	"github.com/tessera-auth/tessera/webhook"
)

// Histogram buckets, in seconds.
var (
	// checkBuckets spans a cache hit (about 1 µs) to a slow store read.
	checkBuckets = []float64{1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 0.1}
	// storeBuckets spans an SQLite primary-key read (about 16 µs) to a
	// network round trip under load.
	storeBuckets = []float64{1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 1, 2.5}
	// httpBuckets spans a cached check over loopback to a slow sign-in.
	httpBuckets = []float64{1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
)

// The label values of each counter, in the order of their index.
var (
	loginResults   = []string{auth.LoginOK, auth.LoginInvalidCredentials, auth.LoginThrottled, auth.LoginBusy, auth.LoginInvalidRequest, auth.LoginError}
	checkKinds     = []string{auth.CheckCookie, auth.CheckBearerSession, auth.CheckJWT, "other"}
	checkResults   = []string{auth.CheckOK, auth.CheckUnauthenticated, auth.CheckError}
	refreshResults = []string{auth.RefreshOK, auth.RefreshInvalidGrant, auth.RefreshError}
	revokeCauses   = []string{auth.CauseLogout, auth.CauseSignedOut, auth.CauseAdmin, auth.CauseReplaced, auth.CauseInvalidated, auth.CauseReuse, auth.CauseTokenRevoked, "other"}
)

// Metrics holds Tessera's collectors and the registry they are registered on.
// Make it with New; it is safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	logins       []prometheus.Counter   // by loginResults
	checks       [][]prometheus.Counter // by checkKinds, then checkResults
	checkLatency []prometheus.Observer  // by checkKinds
	refreshes    []prometheus.Counter   // by refreshResults
	reuse        prometheus.Counter
	revoked      []prometheus.Counter // by revokeCauses

	storeLatency *prometheus.HistogramVec
	httpRequests *prometheus.CounterVec
	httpLatency  *prometheus.HistogramVec

	// Sources read at scrape time; nil until attached.
	svc      atomic.Pointer[auth.Service]
	hasher   atomic.Pointer[password.Hasher]
	webhooks atomic.Pointer[statsSource]
}

// Stats is what the webhook-delivery counters read: *webhook.Deliverer.
type Stats interface{ Stats() webhook.Stats }

type statsSource struct{ Stats }

// New returns Metrics with every collector registered on a new registry.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	logins := m.counterVec("tessera_logins_total", "Password sign-ins, by result.", "result")
	m.logins = resolve(logins, loginResults)

	checks := m.counterVec("tessera_session_checks_total", "Checks of a request's session credential, by kind (cookie, bearer_session, jwt) and result.", "kind", "result")
	checkLatency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "tessera_session_check_duration_seconds",
		Help:    "Time to check a request's session credential (cache hit, store read, JWT verification), by kind.",
		Buckets: checkBuckets,
	}, []string{"kind"})
	m.reg.MustRegister(checkLatency)
	for _, k := range checkKinds {
		row := make([]prometheus.Counter, len(checkResults))
		for j, r := range checkResults {
			row[j] = checks.WithLabelValues(k, r)
		}
		m.checks = append(m.checks, row)
		m.checkLatency = append(m.checkLatency, checkLatency.WithLabelValues(k))
	}

	m.refreshes = resolve(m.counterVec("tessera_refreshes_total", "Refresh-token grants, by result.", "result"), refreshResults)
	m.reuse = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "tessera_refresh_reuse_detected_total",
		Help: "Refresh tokens presented again after rotation; each revoked its session.",
	})
	m.reg.MustRegister(m.reuse)
	m.revoked = resolve(m.counterVec("tessera_sessions_revoked_total", "Sessions ended, by cause.", "cause"), revokeCauses)

	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "tessera_event_stream_subscribers",
		Help: "Live subscriptions to the events feed (GET /v1/events streams and the webhook deliverer).",
	}, func() float64 {
		if s := m.svc.Load(); s != nil {
			return float64(s.Subscribers())
		}
		return 0
	}))
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "tessera_argon2_queue_depth",
		Help: "Password hashes waiting for a hashing slot (argon2id runs under a concurrency bound).",
	}, func() float64 {
		if h := m.hasher.Load(); h != nil {
			return float64(h.Waiting())
		}
		return 0
	}))
	for _, r := range []struct {
		name string
		get  func(webhook.Stats) uint64
	}{
		{"delivered", func(s webhook.Stats) uint64 { return s.Delivered }},
		{"failed", func(s webhook.Stats) uint64 { return s.Failed }},
		{"gave_up", func(s webhook.Stats) uint64 { return s.GaveUp }},
	} {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "tessera_webhook_deliveries_total",
			Help:        "Webhook delivery attempts by result: delivered (2xx), failed (to be retried), gave_up (event skipped after the last attempt).",
			ConstLabels: prometheus.Labels{"result": r.name},
		}, func() float64 {
			if s := m.webhooks.Load(); s != nil {
				return float64(r.get(s.Stats.Stats()))
			}
			return 0
		}))
	}

	m.storeLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "tessera_store_operation_duration_seconds",
		Help:    "Latency of the auth service's store calls, by operation (the auth.Store method).",
		Buckets: storeBuckets,
	}, []string{"operation"})
	m.reg.MustRegister(m.storeLatency)
	m.httpRequests = m.counterVec("tessera_http_requests_total", "HTTP requests answered, by route pattern and status code.", "route", "code")
	m.httpLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "tessera_http_request_duration_seconds",
		Help:    "Time to answer HTTP requests, by route pattern (an event stream counts its whole life).",
		Buckets: httpBuckets,
	}, []string{"route"})
	m.reg.MustRegister(m.httpLatency)
	return m
}

func (m *Metrics) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	m.reg.MustRegister(v)
	return v
}

// resolve returns v's counter for each value, in order, so that every series
// exists (at 0) from the start and the hot path never looks one up.
func resolve(v *prometheus.CounterVec, values []string) []prometheus.Counter {
	out := make([]prometheus.Counter, len(values))
	for i, val := range values {
		out[i] = v.WithLabelValues(val)
	}
	return out
}

// index returns the position of s in values, or the last position (the
// catch-all) when it is not there.
func index(values []string, s string) int {
	for i, v := range values {
		if v == s {
			return i
		}
	}
	return len(values) - 1
}

// Registry returns the registry, for registering more collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text format (or
// OpenMetrics, when the scraper asks for it).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, EnableOpenMetrics: true})
}

// ObserveService makes the subscribers gauge read svc.
func (m *Metrics) ObserveService(svc *auth.Service) { m.svc.Store(svc) }

// ObserveHasher makes the argon2 queue gauge read h.
func (m *Metrics) ObserveHasher(h *password.Hasher) { m.hasher.Store(h) }

// ObserveWebhooks makes the webhook-delivery counters read d (a
// *webhook.Deliverer). Its counters start at zero with the process, as a
// Prometheus counter should.
func (m *Metrics) ObserveWebhooks(d Stats) { m.webhooks.Store(&statsSource{d}) }

// The auth.Recorder methods.

var _ auth.Recorder = (*Metrics)(nil)

// Login implements auth.Recorder.
func (m *Metrics) Login(result string) { m.logins[index(loginResults, result)].Inc() }

// SessionCheck implements auth.Recorder.
func (m *Metrics) SessionCheck(kind, result string, d time.Duration) {
	k := index(checkKinds, kind)
	r := index(checkResults, result)
	m.checks[k][r].Inc()
	m.checkLatency[k].Observe(d.Seconds())
}

// Refresh implements auth.Recorder.
func (m *Metrics) Refresh(result string) { m.refreshes[index(refreshResults, result)].Inc() }

// ReuseDetected implements auth.Recorder.
func (m *Metrics) ReuseDetected() { m.reuse.Inc() }

// Revoked implements auth.Recorder.
func (m *Metrics) Revoked(cause string, n int) {
	if n > 0 {
		m.revoked[index(revokeCauses, cause)].Add(float64(n))
	}
}

// Route is the pre-resolved instrumentation of one HTTP route.
type Route struct {
	vec      *prometheus.CounterVec
	route    string
	latency  prometheus.Observer
	byStatus [len(commonStatuses)]prometheus.Counter
}

// commonStatuses are the codes resolved in advance for every route; others
// are looked up when they occur.
var commonStatuses = [...]int{200, 201, 204, 400, 401, 403, 404, 405, 409, 413, 415, 429, 500, 503}

// Route returns the instrumentation of the route named pattern (a ServeMux
// pattern). Call it once per route, when registering it.
func (m *Metrics) Route(pattern string) *Route {
	r := &Route{vec: m.httpRequests, route: pattern, latency: m.httpLatency.WithLabelValues(pattern)}
	for i, code := range commonStatuses {
		r.byStatus[i] = m.httpRequests.WithLabelValues(pattern, strconv.Itoa(code))
	}
	return r
}

// Observe counts one answered request with its status and duration.
func (r *Route) Observe(status int, d time.Duration) {
	c := r.counter(status)
	c.Inc()
	r.latency.Observe(d.Seconds())
}

func (r *Route) counter(status int) prometheus.Counter {
	for i, code := range commonStatuses {
		if code == status {
			return r.byStatus[i]
		}
	}
	return r.vec.WithLabelValues(r.route, strconv.Itoa(status))
}
