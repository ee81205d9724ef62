package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/store/postgres"
	"github.com/tessera-auth/tessera/store/storetest"
)

// testURL returns the URL of the test server, or skips tb without one.
func testURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv("TESSERA_TEST_POSTGRES")
	if u == "" {
		tb.Skip("set TESSERA_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run the PostgreSQL tests")
	}
	return u
}

func randomName(prefix string) string {
	b := make([]byte, 8)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// admin runs sql on a connection of its own (not a store's).
func admin(tb testing.TB, sql string, args ...any) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, testURL(tb))
	if err != nil {
		tb.Fatalf("connecting to the test server: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
}

// adminQuery returns the first column of the first row of sql.
func adminQuery[T any](tb testing.TB, sql string, args ...any) T {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, testURL(tb))
	if err != nil {
		tb.Fatalf("connecting to the test server: %v", err)
	}
	defer conn.Close(ctx)
	var v T
	if err := conn.QueryRow(ctx, sql, args...).Scan(&v); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
	return v
}

// newSchema creates a fresh, empty schema and drops it, with everything in
// it, when tb ends (after the stores opened later are closed).
func newSchema(tb testing.TB) string {
	tb.Helper()
	name := randomName("tessera_test_")
	id := pgx.Identifier{name}.Sanitize()
	admin(tb, "CREATE SCHEMA "+id)
	tb.Cleanup(func() { admin(tb, "DROP SCHEMA "+id+" CASCADE") })
	return name
}

// mustOpen opens (and migrates) the store in schema, closing it when tb ends.
func mustOpen(tb testing.TB, schema string, opt postgres.Options) *postgres.DB {
	tb.Helper()
	if opt.MaxConns == 0 {
		opt.MaxConns = 8
	}
	opt.Schema = schema
	db, err := postgres.Open(tb.Context(), testURL(tb), opt)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	testURL(t)
	var mu sync.Mutex
	schemas := make(map[storetest.Store]string)
	open := func(t *testing.T, schema string) storetest.Store {
		db, err := postgres.Open(t.Context(), testURL(t), postgres.Options{MaxConns: 8, Schema: schema})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		mu.Lock()
		schemas[db] = schema
		mu.Unlock()
		return db
	}
	storetest.RunWith(t, storetest.Options{
		Open: func(t *testing.T) storetest.Store { return open(t, newSchema(t)) },
		Reopen: func(t *testing.T, old storetest.Store) storetest.Store {
			mu.Lock()
			schema := schemas[old]
			mu.Unlock()
			return open(t, schema)
		},
	})
}

// TestMigrate: a fresh schema is migrated to the latest version; migrating
// again changes nothing; nodes starting at once migrate once; a schema newer
// than the binary is refused.
func TestMigrate(t *testing.T) {
	schema := newSchema(t)
	ctx := t.Context()

	t.Run("ConcurrentOpen", func(t *testing.T) {
		const nodes = 4
		dbs := make([]*postgres.DB, nodes)
		errs := make([]error, nodes)
		var wg sync.WaitGroup
		for i := range nodes {
			wg.Go(func() {
				dbs[i], errs[i] = postgres.Open(ctx, testURL(t), postgres.Options{MaxConns: 2, Schema: schema})
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("node %d: Open: %v", i, err)
			}
			dbs[i].Close()
		}
	})

	db := mustOpen(t, schema, postgres.Options{})
	applied, latest, err := db.SchemaVersion(ctx)
	if err != nil || applied != latest || latest < 3 {
		t.Fatalf("SchemaVersion = %d, %d, %v; want applied = latest ≥ 3", applied, latest, err)
	}
	count := func() int64 {
		return adminQuery[int64](t, "SELECT count(*) FROM "+pgx.Identifier{schema, "schema_migrations"}.Sanitize())
	}
	if n := count(); n != int64(latest) {
		t.Errorf("schema_migrations has %d rows, want %d (each migration once)", n, latest)
	}

	t.Run("Idempotent", func(t *testing.T) {
		for range 2 {
			if err := db.Migrate(ctx); err != nil {
				t.Fatalf("Migrate again: %v", err)
			}
		}
		if n := count(); n != int64(latest) {
			t.Errorf("schema_migrations has %d rows after migrating again, want %d", n, latest)
		}
		if a, _, _ := db.SchemaVersion(ctx); a != latest {
			t.Errorf("applied = %d after migrating again, want %d", a, latest)
		}
	})

	t.Run("NeverMigrated", func(t *testing.T) {
		fresh, err := postgres.OpenNoMigrate(ctx, testURL(t), postgres.Options{Schema: newSchema(t)})
		if err != nil {
			t.Fatalf("OpenNoMigrate: %v", err)
		}
		defer fresh.Close()
		if a, l, err := fresh.SchemaVersion(ctx); err != nil || a != 0 || l != latest {
			t.Errorf("SchemaVersion of an empty schema = %d, %d, %v; want 0, %d, nil", a, l, err, latest)
		}
	})

	t.Run("ErrSchemaTooNew", func(t *testing.T) {
		admin(t, "INSERT INTO "+pgx.Identifier{schema, "schema_migrations"}.Sanitize()+" (version, name) VALUES ($1, 'from_the_future.sql')", latest+1)
		_, err := postgres.Open(ctx, testURL(t), postgres.Options{Schema: schema})
		if !errors.Is(err, postgres.ErrSchemaTooNew) {
			t.Fatalf("Open of a newer schema: %v, want ErrSchemaTooNew", err)
		}
		if err := db.Migrate(ctx); !errors.Is(err, postgres.ErrSchemaTooNew) {
			t.Fatalf("Migrate of a newer schema: %v, want ErrSchemaTooNew", err)
		}
		if a, l, err := db.SchemaVersion(ctx); err != nil || a != latest+1 || l != latest {
			t.Errorf("SchemaVersion = %d, %d, %v; want %d, %d, nil", a, l, err, latest+1, latest)
		}
	})
}

// waitForLockWaiter waits until some transaction waits for the events lock.
func waitForLockWaiter(t *testing.T) {
	t.Helper()
	key := uint64(postgres.EventsLockKey)
	for range 500 {
		n := adminQuery[int64](t, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
			AND classid = $1 AND objid = $2 AND objsubid = 1`, int64(key>>32), int64(key&0xffffffff))
		if n > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no transaction waits for the events lock")
}

// TestEventsCommitOrder shows the failure that the events lock prevents,
// step by step, and that the lock prevents it: transaction A draws a Seq and
// stays uncommitted while B, which drew the next, commits; a follower that
// reads B's event moves past A's Seq.
func TestEventsCommitOrder(t *testing.T) {
	run := func(t *testing.T, lock bool) (seen, stored []auth.Event) {
		schema := newSchema(t)
		a := mustOpen(t, schema, postgres.Options{})
		b := mustOpen(t, schema, postgres.Options{})
		if !lock {
			postgres.DisableEventsLock(a)
			postgres.DisableEventsLock(b)
		}
		inserted, releaseC := make(chan struct{}), make(chan struct{})
		release := sync.OnceFunc(func() { close(releaseC) })
		t.Cleanup(release) // before the stores close: A's transaction must end
		postgres.SetEventsHook(a, func() { close(inserted); <-releaseC })
		errs := make(chan error, 2)
		pending := 2
		go func() { errs <- a.AppendEvents(t.Context(), auth.Event{Type: "test.a", At: time.Now()}) }()
		<-inserted
		go func() { errs <- b.AppendEvents(t.Context(), auth.Event{Type: "test.b", At: time.Now()}) }()
		if lock {
			waitForLockWaiter(t) // B waits for A's commit
		} else {
			if err := <-errs; err != nil {
				t.Fatalf("B: AppendEvents: %v", err)
			}
			pending--
		}
		follower := mustOpen(t, schema, postgres.Options{})
		var last int64
		follow := func() {
			evs, err := follower.EventsAfter(t.Context(), last, 100)
			if err != nil {
				t.Fatalf("EventsAfter(%d): %v", last, err)
			}
			for _, ev := range evs {
				seen = append(seen, ev)
				last = ev.Seq
			}
		}
		follow()
		release()
		for range pending {
			if err := <-errs; err != nil {
				t.Fatalf("AppendEvents: %v", err)
			}
		}
		follow()
		stored, err := follower.EventsAfter(t.Context(), 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		return seen, stored
	}

	t.Run("WithoutLockAFollowerSkips", func(t *testing.T) {
		seen, stored := run(t, false)
		if len(stored) != 2 || stored[0].Type != "test.a" {
			t.Fatalf("stored %v, want test.a then test.b", stored)
		}
		if len(seen) != 1 || seen[0].Type != "test.b" {
			t.Fatalf("without the lock the follower saw %v; want it to skip test.a (the bug the lock prevents)", seen)
		}
	})
	t.Run("WithLockTheFollowerSeesAll", func(t *testing.T) {
		seen, stored := run(t, true)
		if len(stored) != 2 || stored[0].Type != "test.a" || stored[1].Type != "test.b" {
			t.Fatalf("stored %v, want test.a then test.b", stored)
		}
		if len(seen) != 2 {
			t.Fatalf("the follower saw %v, want both events", seen)
		}
	})
}

// TestEventsTailUnderLoad: writers on three nodes (DB handles) append events
// through every kind of call, each transaction lingering between its inserts
// and its COMMIT, while a follower on a fourth tails the log. The follower
// sees every event exactly once, in Seq order.
func TestEventsTailUnderLoad(t *testing.T) {
	const nodes, writersPerNode, rounds = 3, 6, 15
	schema := newSchema(t)
	dbs := make([]*postgres.DB, nodes)
	for i := range dbs {
		dbs[i] = mustOpen(t, schema, postgres.Options{MaxConns: 4})
		var mu sync.Mutex
		n := 0
		postgres.SetEventsHook(dbs[i], func() {
			mu.Lock()
			n++
			d := time.Duration(n%3) * 300 * time.Microsecond
			mu.Unlock()
			time.Sleep(d)
		})
	}
	follower := mustOpen(t, schema, postgres.Options{MaxConns: 2})
	ctx := t.Context()

	var wg sync.WaitGroup
	total := 0
	for node, db := range dbs {
		for w := range writersPerNode {
			total += 1 + 4*rounds // CreateUser + rounds×(CreateSession, AppendEvents×2, RevokeSessions)
			wg.Go(func() {
				key := fmt.Sprintf("%d/%d", node, w)
				n := 0
				ev := func(typ string) auth.Event {
					e := auth.Event{Type: typ, At: time.Now(), Data: map[string]string{"w": key, "n": strconv.Itoa(n)}}
					n++
					return e
				}
				u := storetest.NewUser(randomName("u") + "@example.com")
				if err := db.CreateUser(ctx, u, ev(auth.EventUserCreated)); err != nil {
					t.Errorf("writer %s: CreateUser: %v", key, err)
					return
				}
				for range rounds {
					s := storetest.NewSession(u.ID, time.Now())
					if err := db.CreateSession(ctx, s, ev(auth.EventLoginSucceeded)); err != nil {
						t.Errorf("writer %s: CreateSession: %v", key, err)
						return
					}
					if err := db.AppendEvents(ctx, ev("test.a"), ev("test.b")); err != nil {
						t.Errorf("writer %s: AppendEvents: %v", key, err)
						return
					}
					if _, err := db.RevokeSessions(ctx, []string{s.ID}, time.Now(), auth.CauseLogout, ev(auth.EventSessionRevoked)); err != nil {
						t.Errorf("writer %s: RevokeSessions: %v", key, err)
						return
					}
				}
			})
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	next := make(map[string]int) // writer → the n of its next event
	count := 0
	var last int64
	read := func() int {
		evs, err := follower.EventsAfter(ctx, last, 37)
		if err != nil {
			t.Fatalf("EventsAfter(%d): %v", last, err)
		}
		for _, ev := range evs {
			if ev.Seq <= last {
				t.Fatalf("EventsAfter(%d) returned Seq %d", last, ev.Seq)
			}
			last = ev.Seq
			w, n := ev.Data["w"], ev.Data["n"]
			if n != strconv.Itoa(next[w]) {
				t.Fatalf("Seq %d: writer %s's event %s, want its event %d (an event was skipped or repeated)", ev.Seq, w, n, next[w])
			}
			next[w]++
			count++
		}
		return len(evs)
	}
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		read()
	}
	for read() > 0 {
	}
	if count != total {
		t.Fatalf("the follower saw %d events, want %d", count, total)
	}
	if last != mustLastSeq(t, follower) {
		t.Errorf("the follower stopped at Seq %d, LastEventSeq is %d", last, mustLastSeq(t, follower))
	}
}

func mustLastSeq(tb testing.TB, db *postgres.DB) int64 {
	tb.Helper()
	seq, err := db.LastEventSeq(tb.Context())
	if err != nil {
		tb.Fatal(err)
	}
	return seq
}

// waitWake waits for a call of wake.
func waitWake(t *testing.T, woke <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-woke:
	case <-time.After(10 * time.Second):
		t.Fatalf("no wake-up %s", what)
	}
}

func drain(c <-chan struct{}) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

// TestListen: an append on another node wakes the listener; when its
// connection is killed, it reconnects, wakes at once (so that the follower
// reads what it missed), and wakes again for later appends.
func TestListen(t *testing.T) {
	schema := newSchema(t)
	channel := randomName("tessera_test_events_") // no wake-ups from other tests
	opt := postgres.Options{NotifyChannel: channel}
	listener, writer := mustOpen(t, schema, opt), mustOpen(t, schema, opt)
	ctx, cancel := context.WithCancel(t.Context())
	woke := make(chan struct{}, 100)
	stopped := make(chan error, 1)
	go func() { stopped <- listener.Listen(ctx, func() { woke <- struct{}{} }) }()

	listenerPID := func() int32 {
		t.Helper()
		for range 500 {
			pids := adminQueryAll[int32](t, `SELECT pid FROM pg_stat_activity
				WHERE application_name = 'tessera-listen' AND query = $1`, "LISTEN "+pgx.Identifier{channel}.Sanitize())
			if len(pids) == 1 && listener.Listening() {
				return pids[0]
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatal("no listening connection in pg_stat_activity")
		return 0
	}
	appendOne := func() {
		t.Helper()
		if err := writer.AppendEvents(ctx, auth.Event{Type: "test.listen", At: time.Now()}); err != nil {
			t.Fatalf("AppendEvents: %v", err)
		}
	}

	waitWake(t, woke, "after connecting")
	pid := listenerPID()
	drain(woke)
	appendOne()
	waitWake(t, woke, "for an append on another node")

	drain(woke)
	admin(t, "SELECT pg_terminate_backend($1)", pid)
	waitWake(t, woke, "after the connection was killed")
	pid2 := listenerPID()
	if pid2 == pid {
		t.Fatalf("listener still on backend %d after it was terminated", pid)
	}
	drain(woke)
	appendOne()
	waitWake(t, woke, "for an append after reconnecting")

	// Killed again, with an append while it is away: a wake-up follows.
	admin(t, "SELECT pg_terminate_backend($1)", pid2)
	drain(woke)
	appendOne()
	waitWake(t, woke, "for an append made while the connection was down")

	cancel()
	select {
	case err := <-stopped:
		if err != nil {
			t.Errorf("Listen returned %v after its context ended, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Listen did not return after its context ended")
	}
	if listener.Listening() {
		t.Error("Listening() after Listen returned")
	}
}

// TestListenStopsAtClose: Close ends Listen.
func TestListenStopsAtClose(t *testing.T) {
	db := mustOpen(t, newSchema(t), postgres.Options{NotifyChannel: randomName("tessera_test_events_")})
	stopped := make(chan error, 1)
	woke := make(chan struct{}, 10)
	go func() { stopped <- db.Listen(context.Background(), func() { woke <- struct{}{} }) }()
	waitWake(t, woke, "after connecting")
	db.Close()
	select {
	case err := <-stopped:
		if err != nil {
			t.Errorf("Listen returned %v at Close, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Listen did not return at Close")
	}
}

func adminQueryAll[T any](tb testing.TB, sql string, args ...any) []T {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, testURL(tb))
	if err != nil {
		tb.Fatalf("connecting to the test server: %v", err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, sql, args...)
	if err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
	vs, err := pgx.CollectRows(rows, pgx.RowTo[T])
	if err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
	return vs
}

// TestUnstorableText: text that PostgreSQL cannot hold (NUL, invalid UTF-8)
// is cleaned when it is client data, and finds nothing when it is a key.
func TestUnstorableText(t *testing.T) {
	db := mustOpen(t, newSchema(t), postgres.Options{})
	ctx := t.Context()
	u := storetest.MustCreateUser(t, db, storetest.NewUser("user@example.com"))
	s := storetest.NewSession(u.ID, storetest.Base)
	s.CreatedUA, s.LastIP = "curl\xff/8\x00", "192.0.2.1\x00"
	storetest.MustCreateSession(t, db, s)
	got := storetest.MustSessionByID(t, db, s.ID)
	if got.CreatedUA != "curl\uFFFD/8" || got.LastIP != "192.0.2.1" {
		t.Errorf("stored UA %q, IP %q; want %q, %q", got.CreatedUA, got.LastIP, "curl\uFFFD/8", "192.0.2.1")
	}
	if err := db.TouchSession(ctx, s.ID, storetest.Base.Add(time.Hour), "\xfe", "\x00"); err != nil {
		t.Errorf("TouchSession with unstorable text: %v", err)
	}
	for _, key := range []string{"\xff", "a\x00b"} {
		if _, err := db.UserByEmail(ctx, key); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("UserByEmail(%q): %v, want ErrNotFound", key, err)
		}
		if _, err := db.UserByID(ctx, key); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("UserByID(%q): %v, want ErrNotFound", key, err)
		}
		if _, err := db.SessionByID(ctx, key); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("SessionByID(%q): %v, want ErrNotFound", key, err)
		}
		if _, err := db.ClientByID(ctx, key); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("ClientByID(%q): %v, want ErrNotFound", key, err)
		}
		if us, err := db.ListUsers(ctx, auth.UserFilter{Search: key}); err != nil || len(us) != 0 {
			t.Errorf("ListUsers(Search: %q) = %d users, %v; want none", key, len(us), err)
		}
	}
	if ids, err := db.RevokeSessions(ctx, []string{"\xff", s.ID, "a\x00b"}, storetest.Base, auth.CauseAdmin); err != nil || len(ids) != 1 {
		t.Errorf("RevokeSessions with unstorable IDs = %q, %v; want the one stored session", ids, err)
	}
	if err := db.AppendEvents(ctx, auth.Event{Type: "test.data", At: storetest.Base, Data: map[string]string{"ua": "a\x00\xffb"}}); err != nil {
		t.Errorf("AppendEvents with NUL in Data: %v", err)
	}
}
