package admin_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/internal/clock"

	"github.com/google/go-cmp/cmp"

	"github.com/tessera-auth/tessera/admin"
	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/password"
	"github.com/tessera-auth/tessera/server"
	"github.com/tessera-auth/tessera/store/sqlite"
	"github.com/tessera-auth/tessera/webhook"
)

const pw = "correct-horse-battery"

// t0 is when the tests' clock starts: years from today.
var t0 = clock.Ahead

// backend is one transport under test, over its own database.
type backend struct {
	admin.Admin
	svc   *auth.Service
	clock *clock.Fake
}

// newService opens a fresh database and an auth service over it, with the
// admin client "cli" registered (Remote authenticates as it; Local has it
// too, so that both list the same clients).
func newService(t *testing.T, withWebhooks bool) (*auth.Service, admin.Webhooks, *clock.Fake, *auth.NewClient) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "tessera.db"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clk := clock.NewFake(t0)
	kek := make([]byte, 32)
	rand.Read(kek)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := auth.NewService(db, password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 2, 0),
		auth.Config{Now: clk.Now, Logger: log, Tokens: auth.TokenConfig{Issuer: "https://tessera.test", KEK: kek, AccessTTL: 24 * time.Hour}})
	if err := svc.LoadKeys(context.Background()); err != nil {
		t.Fatal(err)
	}
	cli, err := svc.CreateClient(context.Background(), "cli", []string{auth.ScopeAdmin})
	if err != nil {
		t.Fatal(err)
	}
	var whs admin.Webhooks
	if withWebhooks {
		w, err := webhook.NewService(db, kek, webhook.Config{Now: clk.Now, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		whs = w
	}
	return svc, whs, clk, cli
}

func newLocal(t *testing.T, withWebhooks bool) backend {
	svc, whs, clk, _ := newService(t, withWebhooks)
	return backend{Admin: admin.NewLocal(svc, whs), svc: svc, clock: clk}
}

// newRemote serves the admin API of a fresh server on loopback and returns
// a Remote authenticated by a client_credentials token of "cli".
func newRemote(t *testing.T, withWebhooks bool) backend {
	svc, whs, clk, cli := newService(t, withWebhooks)
	srv := httptest.NewServer(server.New(svc, server.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Webhooks: whs}))
	t.Cleanup(srv.Close)
	resp, err := http.PostForm(srv.URL+"/oauth2/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {cli.Client.ID}, "client_secret": {cli.Secret.Reveal()},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || tr.AccessToken == "" {
		t.Fatalf("client_credentials: %d %v", resp.StatusCode, err)
	}
	r, err := admin.NewRemote(srv.URL, tr.AccessToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	return backend{Admin: r, svc: svc, clock: clk}
}

// state carries what one run learned (IDs differ between databases) so that
// later steps can name it and results can be stated without it.
type state struct {
	b        backend
	users    map[string]string // name -> ID
	sessions map[string]string // name -> sid
	clients  map[string]string
	webhooks map[string]string
	cursor   string
}

func (s *state) name(id string) string {
	for n, v := range s.users {
		if v == id {
			return n
		}
	}
	return id
}

type step struct {
	name string
	run  func(ctx context.Context, s *state) (any, error)
	want any       // the result, as run states it
	code auth.Code // the error code; "" for success
}

func emails(us []admin.User) []string {
	out := []string{}
	for _, u := range us {
		out = append(out, u.Email)
	}
	return out
}

type userView struct {
	Email    string
	Roles    []string
	Disabled bool
}

func view(u *admin.User) userView { return userView{u.Email, u.Roles, u.Disabled} }

type keyView struct {
	New, Active, Published, Retired bool
}

type eventView struct {
	Type, User string
}

func (s *state) events(p *admin.EventPage) []eventView {
	out := []eventView{}
	for _, ev := range p.Events {
		out = append(out, eventView{ev.Type, s.name(ev.UserID)})
	}
	return out
}

// login signs a user in through the service (sessions are made by users,
// not by admins) and names the session.
func (s *state) login(ctx context.Context, user, session string) error {
	l, err := s.b.svc.Login(ctx, auth.LoginRequest{Email: user + "@example.com", Password: pw, Client: auth.Client{IP: "192.0.2.1", UserAgent: "test"}})
	if err != nil {
		return err
	}
	s.sessions[session] = l.Session.ID
	return nil
}

func newUser(name string, roles ...string) admin.NewUser {
	return admin.NewUser{Email: name + "@example.com", Password: pw, Roles: roles}
}

func ptr[T any](v T) *T { return &v }

// steps is the one table of operations that both transports run, in order,
// each on its own fresh server.
var steps = []step{
	{"CreateUser", func(ctx context.Context, s *state) (any, error) {
		u, err := s.b.CreateUser(ctx, newUser("ada", "billing", "admin", "admin"))
		if err != nil {
			return nil, err
		}
		s.users["ada"] = u.ID
		return view(u), nil
	}, userView{"ada@example.com", []string{"admin", "billing"}, false}, ""},
	{"CreateUser/Others", func(ctx context.Context, s *state) (any, error) {
		for _, n := range []string{"bob", "carol", "dave"} {
			u, err := s.b.CreateUser(ctx, admin.NewUser{Email: strings.ToUpper(n[:1]) + n[1:] + "@Example.com", Password: pw})
			if err != nil {
				return nil, err
			}
			s.users[n] = u.ID
		}
		return len(s.users), nil
	}, 4, ""},
	{"CreateUser/ErrConflict", func(ctx context.Context, s *state) (any, error) {
		return s.b.CreateUser(ctx, newUser("ADA"))
	}, nil, auth.CodeConflict},
	{"CreateUser/ErrWeakPassword", func(ctx context.Context, s *state) (any, error) {
		return s.b.CreateUser(ctx, admin.NewUser{Email: "eve@example.com", Password: "password"})
	}, nil, auth.CodeWeakPassword},
	{"CreateUser/ErrEmail", func(ctx context.Context, s *state) (any, error) {
		return s.b.CreateUser(ctx, admin.NewUser{Email: "Eve <eve@example.com>", Password: pw})
	}, nil, auth.CodeInvalidRequest},
	{"CreateUser/ErrRole", func(ctx context.Context, s *state) (any, error) {
		return s.b.CreateUser(ctx, newUser("eve", "Bad Role"))
	}, nil, auth.CodeInvalidRequest},

	{"User/ByID", func(ctx context.Context, s *state) (any, error) {
		u, err := s.b.User(ctx, s.users["bob"])
		if err != nil {
			return nil, err
		}
		return view(u), nil
	}, userView{"bob@example.com", []string{}, false}, ""},
	{"User/ByEmail", func(ctx context.Context, s *state) (any, error) {
		u, err := s.b.User(ctx, "CAROL@example.com")
		if err != nil {
			return nil, err
		}
		return u.ID == s.users["carol"], nil
	}, true, ""},
	{"User/ErrNotFound", func(ctx context.Context, s *state) (any, error) {
		return s.b.User(ctx, "0190a6c2-0000-7000-8000-000000000000")
	}, nil, auth.CodeNotFound},
	{"User/ErrNotFoundEmail", func(ctx context.Context, s *state) (any, error) {
		return s.b.User(ctx, "nobody@example.com")
	}, nil, auth.CodeNotFound},
	{"User/ErrNotFoundOdd", func(ctx context.Context, s *state) (any, error) {
		return s.b.User(ctx, "a/../b?c=d#e f")
	}, nil, auth.CodeNotFound},
	{"User/ErrNotFoundEmpty", func(ctx context.Context, s *state) (any, error) {
		return s.b.User(ctx, "")
	}, nil, auth.CodeNotFound},

	{"Users/Pages", func(ctx context.Context, s *state) (any, error) {
		var pages [][]string
		q := admin.UserQuery{Limit: 3}
		for {
			p, err := s.b.Users(ctx, q)
			if err != nil {
				return nil, err
			}
			pages = append(pages, emails(p.Users))
			if p.Next == "" {
				return pages, nil
			}
			q.After = p.Next
		}
	}, [][]string{{"ada@example.com", "bob@example.com", "carol@example.com"}, {"dave@example.com"}}, ""},
	{"Users/ExactPage", func(ctx context.Context, s *state) (any, error) {
		p, err := s.b.Users(ctx, admin.UserQuery{Limit: 4})
		if err != nil {
			return nil, err
		}
		return []any{len(p.Users), p.Next}, nil
	}, []any{4, ""}, ""},
	{"Users/Search", func(ctx context.Context, s *state) (any, error) {
		p, err := s.b.Users(ctx, admin.UserQuery{Search: "AR"})
		if err != nil {
			return nil, err
		}
		return emails(p.Users), nil
	}, []string{"carol@example.com"}, ""},
	{"Users/ErrLimit", func(ctx context.Context, s *state) (any, error) {
		return s.b.Users(ctx, admin.UserQuery{Limit: admin.MaxUserLimit + 1})
	}, nil, auth.CodeInvalidRequest},
	{"Users/ErrNegativeLimit", func(ctx context.Context, s *state) (any, error) {
		return s.b.Users(ctx, admin.UserQuery{Limit: -1})
	}, nil, auth.CodeInvalidRequest},

	{"UpdateUser/RemoveRole", func(ctx context.Context, s *state) (any, error) {
		u, err := s.b.UpdateUser(ctx, "ada@example.com", admin.UserUpdate{Roles: &[]string{"admin"}})
		if err != nil {
			return nil, err
		}
		return view(u), nil
	}, userView{"ada@example.com", []string{"admin"}, false}, ""},
	{"UpdateUser/ErrWeakPasswordChangesNothing", func(ctx context.Context, s *state) (any, error) {
		_, err := s.b.UpdateUser(ctx, s.users["ada"], admin.UserUpdate{Roles: &[]string{}, Password: ptr("short")})
		u, err2 := s.b.User(ctx, s.users["ada"])
		if err2 != nil {
			return nil, err2
		}
		return view(u), err
	}, userView{"ada@example.com", []string{"admin"}, false}, auth.CodeWeakPassword},
	{"UpdateUser/ErrBadRoleChangesNothing", func(ctx context.Context, s *state) (any, error) {
		_, err := s.b.UpdateUser(ctx, s.users["ada"], admin.UserUpdate{Roles: &[]string{"ok", "NOT OK"}, Disabled: ptr(true)})
		u, err2 := s.b.User(ctx, s.users["ada"])
		if err2 != nil {
			return nil, err2
		}
		return view(u), err
	}, userView{"ada@example.com", []string{"admin"}, false}, auth.CodeInvalidRequest},
	{"UpdateUser/ErrNothing", func(ctx context.Context, s *state) (any, error) {
		return s.b.UpdateUser(ctx, s.users["ada"], admin.UserUpdate{})
	}, nil, auth.CodeInvalidRequest},
	{"UpdateUser/ErrNotFound", func(ctx context.Context, s *state) (any, error) {
		return s.b.UpdateUser(ctx, "nobody@example.com", admin.UserUpdate{Disabled: ptr(true)})
	}, nil, auth.CodeNotFound},

	{"Sessions", func(ctx context.Context, s *state) (any, error) {
		for _, n := range []string{"phone", "laptop"} {
			if err := s.login(ctx, "bob", n); err != nil {
				return nil, err
			}
			s.b.clock.Add(time.Second)
		}
		if err := s.login(ctx, "carol", "carols"); err != nil {
			return nil, err
		}
		list, err := s.b.Sessions(ctx, "bob@example.com")
		if err != nil {
			return nil, err
		}
		var out []string
		for _, ss := range list {
			for n, sid := range s.sessions {
				if sid == ss.ID {
					out = append(out, n+" from "+ss.IP)
				}
			}
		}
		return out, nil
	}, []string{"laptop from 192.0.2.1", "phone from 192.0.2.1"}, ""},
	{"RevokeSession", func(ctx context.Context, s *state) (any, error) {
		if err := s.b.RevokeSession(ctx, s.users["bob"], s.sessions["phone"]); err != nil {
			return nil, err
		}
		list, err := s.b.Sessions(ctx, s.users["bob"])
		return len(list), err
	}, 1, ""},
	{"RevokeSession/ErrAgain", func(ctx context.Context, s *state) (any, error) {
		return nil, s.b.RevokeSession(ctx, s.users["bob"], s.sessions["phone"])
	}, nil, auth.CodeNotFound},
	{"RevokeSession/ErrOtherUsers", func(ctx context.Context, s *state) (any, error) {
		return nil, s.b.RevokeSession(ctx, s.users["bob"], s.sessions["carols"])
	}, nil, auth.CodeNotFound},
	{"RevokeSession/ErrEmpty", func(ctx context.Context, s *state) (any, error) {
		return nil, s.b.RevokeSession(ctx, s.users["bob"], "")
	}, nil, auth.CodeNotFound},
	{"SignOutEverywhere", func(ctx context.Context, s *state) (any, error) {
		if err := s.b.SignOutEverywhere(ctx, "bob@example.com"); err != nil {
			return nil, err
		}
		list, err := s.b.Sessions(ctx, s.users["bob"])
		if err != nil {
			return nil, err
		}
		carols, err := s.b.Sessions(ctx, s.users["carol"])
		return []int{len(list), len(carols)}, err
	}, []int{0, 1}, ""},
	{"Sessions/ErrNotFound", func(ctx context.Context, s *state) (any, error) {
		return s.b.Sessions(ctx, "nobody@example.com")
	}, nil, auth.CodeNotFound},
	{"UpdateUser/Disable", func(ctx context.Context, s *state) (any, error) {
		s.b.clock.Add(time.Second)
		u, err := s.b.UpdateUser(ctx, "carol@example.com", admin.UserUpdate{Disabled: ptr(true)})
		if err != nil {
			return nil, err
		}
		list, err := s.b.Sessions(ctx, s.users["carol"])
		return []any{view(u), len(list)}, err
	}, []any{userView{"carol@example.com", []string{}, true}, 0}, ""},
	{"UpdateUser/Password", func(ctx context.Context, s *state) (any, error) {
		if _, err := s.b.UpdateUser(ctx, "dave@example.com", admin.UserUpdate{Password: ptr("another-long-passphrase")}); err != nil {
			return nil, err
		}
		_, errOld := s.b.svc.Login(ctx, auth.LoginRequest{Email: "dave@example.com", Password: pw})
		_, errNew := s.b.svc.Login(ctx, auth.LoginRequest{Email: "dave@example.com", Password: "another-long-passphrase"})
		return []auth.Code{auth.ErrorCode(errOld), auth.ErrorCode(errNew)}, nil
	}, []auth.Code{auth.CodeInvalidCredentials, ""}, ""},

	{"CreateClient", func(ctx context.Context, s *state) (any, error) {
		nc, err := s.b.CreateClient(ctx, "billing", []string{"introspect", "events", "introspect"})
		if err != nil {
			return nil, err
		}
		s.clients["billing"] = nc.ID
		return []any{nc.Name, nc.Scopes, nc.Secret.IsZero(), strings.HasPrefix(nc.ID, "cl_")}, nil
	}, []any{"billing", []string{"introspect", "events"}, false, true}, ""},
	{"CreateClient/ErrName", func(ctx context.Context, s *state) (any, error) {
		return s.b.CreateClient(ctx, " ", nil)
	}, nil, auth.CodeInvalidRequest},
	{"CreateClient/ErrScope", func(ctx context.Context, s *state) (any, error) {
		return s.b.CreateClient(ctx, "x", []string{`"quoted"`})
	}, nil, auth.CodeInvalidRequest},
	{"Clients", func(ctx context.Context, s *state) (any, error) {
		list, err := s.b.Clients(ctx)
		var names []string
		for _, c := range list {
			names = append(names, c.Name)
		}
		return names, err
	}, []string{"cli", "billing"}, ""},
	{"RemoveClient", func(ctx context.Context, s *state) (any, error) {
		if err := s.b.RemoveClient(ctx, s.clients["billing"]); err != nil {
			return nil, err
		}
		list, err := s.b.Clients(ctx)
		return len(list), err
	}, 1, ""},
	{"RemoveClient/ErrNotFound", func(ctx context.Context, s *state) (any, error) {
		return nil, s.b.RemoveClient(ctx, s.clients["billing"])
	}, nil, auth.CodeNotFound},

	{"Keys", func(ctx context.Context, s *state) (any, error) {
		list, err := s.b.Keys(ctx)
		var out []string
		for _, k := range list {
			out = append(out, k.Alg)
			if !k.Active || !k.Published || !k.RetiredAt.IsZero() {
				return nil, errors.New("the only key is not active and published")
			}
		}
		return out, err
	}, []string{"EdDSA"}, ""},
	{"RotateKey", func(ctx context.Context, s *state) (any, error) {
		before, err := s.b.Keys(ctx)
		if err != nil {
			return nil, err
		}
		k, err := s.b.RotateKey(ctx)
		if err != nil {
			return nil, err
		}
		list, err := s.b.Keys(ctx)
		if err != nil {
			return nil, err
		}
		var out []keyView
		for _, l := range list {
			out = append(out, keyView{l.ID == k.ID, l.Active, l.Published, !l.RetiredAt.IsZero()})
		}
		return []any{k.Active, len(before), out}, nil
	}, []any{true, 1, []keyView{{true, true, true, false}, {false, false, true, true}}}, ""},

	{"Events/ByType", func(ctx context.Context, s *state) (any, error) {
		p, err := s.b.Events(ctx, admin.EventQuery{Types: []string{auth.EventUserCreated}})
		if err != nil {
			return nil, err
		}
		return s.events(p), nil
	}, []eventView{{"user.created", "ada"}, {"user.created", "bob"}, {"user.created", "carol"}, {"user.created", "dave"}}, ""},
	{"Events/ByUserPaged", func(ctx context.Context, s *state) (any, error) {
		var all [][]eventView
		q := admin.EventQuery{UserID: s.users["bob"], Types: []string{auth.EventUserCreated, auth.EventSessionRevoked, auth.EventTokensInvalidated}, Limit: 2}
		for i := 0; i < 10; i++ {
			p, err := s.b.Events(ctx, q)
			if err != nil {
				return nil, err
			}
			all = append(all, s.events(p))
			if p.Next == "" {
				return all, nil
			}
			var n int64
			if err := json.Unmarshal([]byte(p.Next), &n); err != nil {
				return nil, err
			}
			q.After = n
		}
		return nil, errors.New("paging did not end")
	}, [][]eventView{
		{{"user.created", "bob"}, {"session.revoked", "bob"}},
		{{"user.tokens_invalidated", "bob"}, {"session.revoked", "bob"}},
		{},
	}, ""},
	{"Events/TimeRange", func(ctx context.Context, s *state) (any, error) {
		s.b.clock.Add(time.Hour)
		if _, err := s.b.CreateUser(ctx, newUser("erin")); err != nil {
			return nil, err
		}
		mid := t0.Add(30 * time.Minute)
		since, err := s.b.Events(ctx, admin.EventQuery{Types: []string{auth.EventUserCreated}, Since: mid})
		if err != nil {
			return nil, err
		}
		before, err := s.b.Events(ctx, admin.EventQuery{Types: []string{auth.EventUserCreated}, Before: mid})
		if err != nil {
			return nil, err
		}
		return []any{emailsOf(since), len(before.Events)}, nil
	}, []any{[]string{"erin@example.com"}, 4}, ""},
	{"Events/ErrLimit", func(ctx context.Context, s *state) (any, error) {
		return s.b.Events(ctx, admin.EventQuery{Limit: admin.MaxEventLimit + 1})
	}, nil, auth.CodeInvalidRequest},
	{"Events/ErrRange", func(ctx context.Context, s *state) (any, error) {
		return s.b.Events(ctx, admin.EventQuery{Since: t0, Before: t0})
	}, nil, auth.CodeInvalidRequest},
	{"Events/ErrAfter", func(ctx context.Context, s *state) (any, error) {
		return s.b.Events(ctx, admin.EventQuery{After: -5})
	}, nil, auth.CodeInvalidRequest},

	{"AddWebhook", func(ctx context.Context, s *state) (any, error) {
		nw, err := s.b.AddWebhook(ctx, "https://hooks.example.com/tessera?token=x", []string{auth.EventSessionRevoked, auth.EventUserDeleted})
		if err != nil {
			return nil, err
		}
		s.webhooks["h"] = nw.ID
		return []any{nw.URL, nw.Events, nw.Secret.IsZero()}, nil
	}, []any{"https://hooks.example.com/tessera?token=x", []string{"session.revoked", "user.deleted"}, false}, ""},
	{"AddWebhook/ErrURL", func(ctx context.Context, s *state) (any, error) {
		return s.b.AddWebhook(ctx, "ftp://hooks.example.com/", []string{"*"})
	}, nil, auth.CodeInvalidRequest},
	{"AddWebhook/ErrEvents", func(ctx context.Context, s *state) (any, error) {
		return s.b.AddWebhook(ctx, "https://hooks.example.com/", nil)
	}, nil, auth.CodeInvalidRequest},
	{"Webhooks", func(ctx context.Context, s *state) (any, error) {
		list, err := s.b.Webhooks(ctx)
		var ids []bool
		for _, w := range list {
			ids = append(ids, w.ID == s.webhooks["h"] && w.Cursor > 0)
		}
		return ids, err
	}, []bool{true}, ""},
	{"Deliveries", func(ctx context.Context, s *state) (any, error) {
		list, err := s.b.Deliveries(ctx, s.webhooks["h"], 0)
		return len(list), err
	}, 0, ""},
	{"Deliveries/ErrNotFound", func(ctx context.Context, s *state) (any, error) {
		return s.b.Deliveries(ctx, "wh_nope", 10)
	}, nil, auth.CodeNotFound},
	{"RemoveWebhook", func(ctx context.Context, s *state) (any, error) {
		if err := s.b.RemoveWebhook(ctx, s.webhooks["h"]); err != nil {
			return nil, err
		}
		list, err := s.b.Webhooks(ctx)
		return len(list), err
	}, 0, ""},
	{"RemoveWebhook/ErrNotFound", func(ctx context.Context, s *state) (any, error) {
		return nil, s.b.RemoveWebhook(ctx, s.webhooks["h"])
	}, nil, auth.CodeNotFound},

	{"DeleteUser", func(ctx context.Context, s *state) (any, error) {
		if err := s.b.DeleteUser(ctx, "bob@example.com"); err != nil {
			return nil, err
		}
		_, err := s.b.User(ctx, s.users["bob"])
		return auth.ErrorCode(err), nil
	}, auth.CodeNotFound, ""},
	{"DeleteUser/ErrNotFound", func(ctx context.Context, s *state) (any, error) {
		return nil, s.b.DeleteUser(ctx, s.users["bob"])
	}, nil, auth.CodeNotFound},
}

func emailsOf(p *admin.EventPage) []string {
	var out []string
	for _, ev := range p.Events {
		out = append(out, ev.Data["email"])
	}
	return out
}

// TestLocalAndRemoteAlike runs every step against Local and against Remote
// (each on a fresh server) and holds both to the same expected results and
// error codes.
func TestLocalAndRemoteAlike(t *testing.T) {
	for _, tr := range []struct {
		name string
		new  func(*testing.T, bool) backend
	}{{"Local", newLocal}, {"Remote", newRemote}} {
		t.Run(tr.name, func(t *testing.T) {
			s := &state{b: tr.new(t, true), users: map[string]string{}, sessions: map[string]string{}, clients: map[string]string{}, webhooks: map[string]string{}}
			ctx := context.Background()
			for _, st := range steps {
				got, err := st.run(ctx, s)
				if code := auth.ErrorCode(err); code != st.code {
					t.Fatalf("%s: error %v (code %q), want code %q", st.name, err, code, st.code)
				}
				if st.want == nil {
					continue
				}
				if diff := cmp.Diff(st.want, got); diff != "" {
					t.Fatalf("%s: result differs (-want +got):\n%s", st.name, diff)
				}
			}
		})
	}
}

// TestWithoutWebhooks: a server without the webhook service answers every
// webhook operation not_found, over either transport.
func TestWithoutWebhooks(t *testing.T) {
	for _, b := range []backend{newLocal(t, false), newRemote(t, false)} {
		ctx := context.Background()
		_, err1 := b.Webhooks(ctx)
		_, err2 := b.AddWebhook(ctx, "https://hooks.example.com/", []string{"*"})
		err3 := b.RemoveWebhook(ctx, "wh_x")
		_, err4 := b.Deliveries(ctx, "wh_x", 0)
		for i, err := range []error{err1, err2, err3, err4} {
			if auth.ErrorCode(err) != auth.CodeNotFound {
				t.Errorf("%T: operation %d: %v, want not_found", b.Admin, i, err)
			}
		}
	}
}

// TestRemoteErrors: Remote carries the server's message, Retry-After and
// request ID, refuses bad configuration, and never shows its token.
func TestRemoteErrors(t *testing.T) {
	b := newRemote(t, false)
	_, err := b.CreateUser(context.Background(), admin.NewUser{Email: "x@example.com", Password: "password"})
	var ae *auth.Error
	if !errors.As(err, &ae) || ae.Code != auth.CodeWeakPassword || ae.Message == "" || !strings.Contains(err.Error(), "request ID") {
		t.Errorf("weak password: %#v", err)
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer sekrit-token" {
			t.Errorf("Authorization %q", r.Header.Get("Authorization"))
		}
		switch r.URL.EscapedPath() {
		case "/base/admin/v1/users/a%2Fb":
			w.Header().Set("Content-Type", "application/problem+json")
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(503)
			io.WriteString(w, `{"type":"x","title":"Service Unavailable","status":503,"code":"busy","detail":"slow down"}`)
		default:
			w.WriteHeader(502)
			io.WriteString(w, "<html>bad gateway</html>")
		}
	}))
	defer srv.Close()
	r, err := admin.NewRemote(srv.URL+"/base/", "sekrit-token", nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := r.String(); strings.Contains(s, "sekrit") {
		t.Errorf("String shows the token: %s", s)
	}
	_, err = r.User(context.Background(), "a/b")
	if !errors.As(err, &ae) || ae.Code != auth.CodeBusy || ae.Message != "slow down" || ae.RetryAfter != 7*time.Second {
		t.Errorf("problem: %#v", err)
	}
	_, err = r.Clients(context.Background())
	if auth.ErrorCode(err) != auth.CodeInternal || strings.Contains(err.Error(), "sekrit") {
		t.Errorf("non-problem answer: %v", err)
	}
	for _, bad := range []struct{ url, token string }{
		{"ftp://x", "t"}, {"https://", "t"}, {"https://user:pw@x", "t"}, {"https://x?a=b", "t"}, {"https://x", ""}, {"https://x", "a b"}, {"https://x", "a\r\nX: y"},
	} {
		if _, err := admin.NewRemote(bad.url, bad.token, nil); err == nil {
			t.Errorf("NewRemote(%q, %q) accepted", bad.url, bad.token)
		}
	}
}

// TestSecretsRedacted: the admin inputs that carry a password do not print it.
func TestSecretsRedacted(t *testing.T) {
	nu := admin.NewUser{Email: "a@example.com", Password: "hunter2-hunter2"}
	up := admin.UserUpdate{Password: ptr("hunter2-hunter2")}
	var buf strings.Builder
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "nu", nu, "up", up)
	for _, s := range []string{buf.String(), nu.String(), up.String()} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("password printed: %s", s)
		}
	}
}
