package bench_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/bench"
	"github.com/tessera-auth/tessera/password"
	tesserasrv "github.com/tessera-auth/tessera/server"
	"github.com/tessera-auth/tessera/store/sqlite"
)

// cheapArgon keeps the smoke test quick; the figures are not looked at.
var cheapArgon = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// smokeOptions runs every scenario briefly: 200 ms at concurrency 2, the
// growth scenarios at 1k (one insert per session) and 2k (the bulk path).
func smokeOptions() bench.Options {
	return bench.Options{
		Duration:    200 * time.Millisecond,
		Concurrency: []int{2},
		GrowthSizes: []int{1000, 2000},
		Revocations: 5,
		Argon2:      cheapArgon,
	}
}

// TestSmoke runs every scenario against the in-process server on SQLite and
// checks that each produced figures, and that every output renders.
func TestSmoke(t *testing.T) {
	defer bench.SetBulkAbove(1000)()
	var progress bytes.Buffer
	rep, err := bench.Run(t.Context(), smokeOptions(), &progress)
	if err != nil {
		t.Fatalf("Run: %v\nprogress:\n%s", err, progress.String())
	}
	want := []string{
		"floor", "session-cache-hit", "session-cache-off-sqlite", "authz",
		"resource-floor", "jwt-guard-fast", "hybrid-guard-strict",
		"argon2id-raw", "login", "refresh", "client-credentials",
		"revocation-session", "revocation-jwt", "revocation-guard",
		"growth-1k-session", "growth-1k-refresh", "growth-2k-session", "growth-2k-refresh",
	}
	checkReport(t, rep, want, 5)
	if t.Failed() {
		t.Logf("progress:\n%s", progress.String())
	}
}

// TestSmokePostgres runs the store-bound scenarios with the in-process
// server on PostgreSQL (TESSERA_TEST_POSTGRES), in a schema of its own that
// it drops.
func TestSmokePostgres(t *testing.T) {
	url := os.Getenv("TESSERA_TEST_POSTGRES")
	if url == "" {
		t.Skip("set TESSERA_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run the PostgreSQL variant")
	}
	defer bench.SetBulkAbove(1000)()
	opts := smokeOptions()
	opts.Store = url
	opts.Scenarios = []string{"session", "refresh", "revocation-session", "growth"}
	var progress bytes.Buffer
	rep, err := bench.Run(t.Context(), opts, &progress)
	if err != nil {
		t.Fatalf("Run: %v\nprogress:\n%s", err, progress.String())
	}
	checkReport(t, rep, []string{
		"floor", "session-cache-hit", "session-cache-off-sqlite", "session-cache-off-postgres", "refresh",
		"revocation-session", "growth-1k-session", "growth-1k-refresh", "growth-2k-session", "growth-2k-refresh",
	}, 5)
	for _, r := range rep.Results {
		if r.Name == "session-cache-hit" && r.Store != "postgres" {
			t.Errorf("session-cache-hit ran on %q, want postgres", r.Store)
		}
	}
	if rep.Store != "postgres" {
		t.Errorf("report store %q, want postgres", rep.Store)
	}
}

// checkReport checks that rep holds exactly the named scenarios, each with
// figures, and that the table, JSON and HTML forms hold them all.
func checkReport(t *testing.T, rep *bench.Report, want []string, revocations int) {
	t.Helper()
	var got []string
	for _, r := range rep.Results {
		if !slices.Contains(got, r.Name) {
			got = append(got, r.Name)
		}
		switch r.Kind {
		case bench.KindLag:
			if r.Samples != revocations || (r.Errors != 0 && !r.Computed) {
				t.Errorf("%s: %d samples, %d timeouts (%s); want %d, 0", r.Name, r.Samples, r.Errors, r.FirstError, revocations)
			}
			if r.Max < r.P99 || r.P99 < r.P50 || r.P50 < 0 {
				t.Errorf("%s: p50 %v p99 %v max %v out of order", r.Name, r.P50, r.P99, r.Max)
			}
			if r.Computed && (r.P50 <= time.Minute || r.P50 > 5*time.Minute) {
				t.Errorf("%s: computed lag %v, want the token's remaining lifetime (about 5m)", r.Name, r.P50)
			}
			if r.Name == "revocation-guard" && r.Max <= 0 {
				t.Errorf("%s: no lag measured (max %v)", r.Name, r.Max)
			}
		default:
			if r.RPS <= 0 || r.Ratio <= 0 || r.Requests == 0 {
				t.Errorf("%s c=%d: rps %v ratio %v requests %d; errors %d, the first: %s", r.Name, r.Concurrency, r.RPS, r.Ratio, r.Requests, r.Errors, r.FirstError)
			}
			if r.P50 <= 0 || r.P99 < r.P50 || r.P999 < r.P99 || r.Max < r.P999 {
				t.Errorf("%s: percentiles out of order: p50 %v p99 %v p99.9 %v max %v", r.Name, r.P50, r.P99, r.P999, r.Max)
			}
			if r.Errors > 0 {
				t.Errorf("%s: %d errors, the first: %s", r.Name, r.Errors, r.FirstError)
			}
			if r.Floor == "" || (r.Kind == bench.KindFloor) != (r.Floor == r.Name) {
				t.Errorf("%s: kind %s, floor %q", r.Name, r.Kind, r.Floor)
			}
			if strings.HasPrefix(r.Name, "growth-") && (r.StoredSessions == 0 || r.InsertTime <= 0 || r.InsertMethod == "") {
				t.Errorf("%s: stored %d in %v by %q", r.Name, r.StoredSessions, r.InsertTime, r.InsertMethod)
			}
		}
	}
	slices.Sort(got)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Errorf("scenarios run:\n  %v\nwant\n  %v", got, want)
	}
	if len(rep.Warnings) > 0 {
		t.Errorf("warnings: %q", rep.Warnings)
	}

	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, n := range want {
		if !strings.Contains(table.String(), n) {
			t.Errorf("the table lacks %s:\n%s", n, table.String())
		}
	}

	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(js.String()), "\n")
	if len(lines) != len(rep.Results) {
		t.Errorf("JSON: %d lines for %d results", len(lines), len(rep.Results))
	}
	for _, line := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("JSON line %q: %v", line, err)
		}
		keys := []string{"name", "p50_ms", "p99_ms", "max_ms"}
		if m["kind"] != bench.KindLag {
			keys = append(keys, "rps", "ratio")
		}
		for _, k := range keys {
			if _, ok := m[k]; !ok {
				t.Errorf("JSON line lacks %q: %s", k, line)
			}
		}
	}

	var html bytes.Buffer
	if err := rep.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	checkHTML(t, html.String(), want)
}

var (
	externalRef = regexp.MustCompile(`(?i)\b(src|href|xlink:href|url)\s*(=|\()\s*["']?\s*(https?:)?//`)
	importRule  = regexp.MustCompile(`(?i)@import|<script|<link\b`)
)

// checkHTML loosely checks that the report is well formed and
// self-contained: charts as inline SVG, every scenario named, nothing loaded
// from another origin.
func checkHTML(t *testing.T, page string, names []string) {
	t.Helper()
	if !strings.HasPrefix(page, "<!DOCTYPE html>") || !strings.Contains(page, "</html>") {
		t.Error("the report is not a whole HTML document")
	}
	if n := strings.Count(page, "<svg"); n < 3 || n != strings.Count(page, "</svg>") {
		t.Errorf("the report has %d <svg> and %d </svg>; want 3 charts", n, strings.Count(page, "</svg>"))
	}
	for _, tag := range []string{"table", "figure", "ul", "dl"} {
		if o, c := strings.Count(page, "<"+tag), strings.Count(page, "</"+tag+">"); o != c {
			t.Errorf("<%s> opened %d times, closed %d", tag, o, c)
		}
	}
	for _, n := range names {
		if !strings.Contains(page, n) {
			t.Errorf("the report never names %s", n)
		}
	}
	if m := externalRef.FindString(page); m != "" {
		t.Errorf("the report loads something from another origin: %q", m)
	}
	if m := importRule.FindString(page); m != "" {
		t.Errorf("the report has %q: it must be self-contained", m)
	}
	if !strings.Contains(page, "shares this machine") {
		t.Error("the report lacks the note that the load generator shares the machine")
	}
}

// TestSelect: names and prefixes select scenarios, the floors they need come
// with them, growth-1m runs only when named, and unknown names are refused.
func TestSelect(t *testing.T) {
	for _, tc := range []struct {
		filter []string
		skip   bool
		want   []string
	}{
		{filter: []string{"login"}, want: []string{"argon2id-raw", "login"}},
		{filter: []string{"jwt-guard-fast"}, want: []string{"resource-floor", "jwt-guard-fast"}},
		{filter: []string{"session"}, want: []string{"floor", "session-cache-hit", "session-cache-off-sqlite", "session-cache-off-postgres"}},
		{filter: []string{"revocation"}, want: []string{"revocation-session", "revocation-jwt", "revocation-guard"}},
		{filter: []string{"growth"}, want: []string{"floor", "growth-10k-session", "growth-10k-refresh", "growth-100k-session", "growth-100k-refresh"}},
		{filter: []string{"growth-1m"}, want: []string{"floor", "growth-1m-session", "growth-1m-refresh"}},
		{filter: []string{"growth-1m-refresh"}, want: []string{"floor", "growth-1m-refresh"}},
		{skip: true, want: []string{"floor", "session-cache-hit", "session-cache-off-sqlite", "session-cache-off-postgres", "authz",
			"resource-floor", "jwt-guard-fast", "hybrid-guard-strict", "argon2id-raw", "login", "refresh", "client-credentials",
			"revocation-session", "revocation-jwt", "revocation-guard"}},
	} {
		got, err := bench.Select(bench.Options{Scenarios: tc.filter, SkipGrowth: tc.skip})
		if err != nil {
			t.Errorf("%v: %v", tc.filter, err)
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%v (skip growth %v):\n  got  %v\n  want %v", tc.filter, tc.skip, got, tc.want)
		}
	}
	all, _ := bench.Select(bench.Options{})
	if slices.Contains(all, "growth-1m-session") || !slices.Contains(all, "growth-100k-session") {
		t.Errorf("by default: %v; want growth at 10k and 100k, not 1m", all)
	}
	if _, err := bench.Select(bench.Options{Scenarios: []string{"sesion"}}); err == nil || !strings.Contains(err.Error(), "session-cache-hit") {
		t.Errorf("an unknown name: %v; want an error listing the scenarios", err)
	}
}

// TestOptionsRefused: options that cannot run are refused before anything
// starts.
func TestOptionsRefused(t *testing.T) {
	for _, o := range []bench.Options{
		{URL: "https://auth.example.com"},                                    // no token
		{URL: "ftp://x", Token: "t"},                                         // not http
		{URL: "https://auth.example.com", Token: "t", Store: "postgres://x"}, // both
		{Store: "mysql://x"},
		{Concurrency: []int{0}},
		{Duration: time.Millisecond},
		{SQLiteSynchronous: "OFF"},
	} {
		if _, err := bench.Run(context.Background(), o, nil); err == nil {
			t.Errorf("%+v: accepted", o)
		}
	}
}

// TestSmokeRemote drives a server the way --url does: a Tessera server of
// the test's own (another process in real use), reached over HTTP, with the
// user and client made through its admin API with a client token of scope
// "admin", and removed at the end.
func TestSmokeRemote(t *testing.T) {
	ctx := t.Context()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "remote.db"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	srv := httptest.NewUnstartedServer(nil)
	kek := make([]byte, 32)
	rand.Read(kek)
	logger := slog.New(slog.DiscardHandler)
	svc := auth.NewService(db, password.NewHasher(cheapArgon, 0, 0), auth.Config{Logger: logger,
		Tokens: auth.TokenConfig{Issuer: "http://" + srv.Listener.Addr().String(), KEK: kek}})
	if err := svc.LoadKeys(ctx); err != nil {
		t.Fatal(err)
	}
	fctx, stop := context.WithCancel(ctx)
	defer stop()
	go svc.Follow(fctx, 0, 250*time.Millisecond)
	srv.Config.Handler = tesserasrv.New(svc, tesserasrv.Config{Logger: logger})
	srv.Start()
	defer srv.Close()

	adm, err := svc.CreateClient(ctx, "operator", []string{auth.ScopeAdmin})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := svc.ClientCredentials(ctx, adm.Client, "", "")
	if err != nil {
		t.Fatal(err)
	}
	usersBefore, _ := db.ListUsers(ctx, auth.UserFilter{})

	opts := smokeOptions()
	opts.URL, opts.Token = srv.URL, ts.AccessToken
	opts.Scenarios = []string{"session", "jwt-guard-fast", "refresh", "revocation", "growth"}
	var progress bytes.Buffer
	rep, err := bench.Run(ctx, opts, &progress)
	if err != nil {
		t.Fatalf("Run: %v\nprogress:\n%s", err, progress.String())
	}
	checkReport(t, rep, []string{"floor", "session-cache-hit", "resource-floor", "jwt-guard-fast", "refresh",
		"revocation-session", "revocation-jwt", "revocation-guard"}, 5)
	notes := strings.Join(rep.Notes, "\n")
	for _, n := range []string{"session-cache-off-sqlite", "growth-1k-session"} {
		if !strings.Contains(notes, n+": skipped") {
			t.Errorf("the notes do not say that %s was skipped:\n%s", n, notes)
		}
	}
	// What the run made is gone.
	usersAfter, _ := db.ListUsers(ctx, auth.UserFilter{})
	clients, _ := db.ListClients(ctx)
	if len(usersAfter) != len(usersBefore) || len(clients) != 1 {
		t.Errorf("after the run: %d users (before: %d), %d clients (want the operator's alone)", len(usersAfter), len(usersBefore), len(clients))
	}
}
