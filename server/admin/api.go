// Package admin serves the admin API (/admin/v1) and the admin pages
// (/admin): users, their sessions, OAuth clients, signing keys, the events
// log and webhooks. The API's handlers decode, call adminops.Local (the same
// code the CLI runs against the store) and encode; admin.Remote is the
// client of these routes. The pages call the auth service.
package admin

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"

	adminops "github.com/tessera-auth/tessera/admin"
	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/server/httpx"
)

// The admin API, /admin/v1: the operations of package admin over HTTP.
//
// Callers are an admin user — a session (cookie, CSRF-checked on unsafe
// methods; or a bearer session token) or a user access token, of a user with
// the AdminRole role — or a client, by a client_credentials access token
// with the "admin" scope. Bodies are JSON only and strict; query parameters
// are strict too: unknown or repeated parameters are refused, on every route.

// Handler serves the routes of this package.
type Handler struct {
	kit   *httpx.Kit
	log   *slog.Logger
	admin *adminops.Local
	pages *httpx.Pages
}

// New returns the handlers over kit; webhooks is the webhook service behind
// /admin/v1/webhooks (nil answers those routes 404).
func New(kit *httpx.Kit, webhooks adminops.Webhooks) *Handler {
	return &Handler{kit: kit, log: kit.Log, admin: adminops.NewLocal(kit.Svc, webhooks), pages: kit.Pages(templates, pageFuncs)}
}

// Mount registers the routes on m.
func (s *Handler) Mount(m httpx.Mux) {
	a := s.adminHandler
	m.Handle("POST /admin/v1/users", a(s.adminCreateUser))
	m.Handle("GET /admin/v1/users", a(s.adminUsers, "search", "after", "limit"))
	m.Handle("GET /admin/v1/users/{id}", a(s.adminUser))
	m.Handle("PATCH /admin/v1/users/{id}", a(s.adminUpdateUser))
	m.Handle("DELETE /admin/v1/users/{id}", a(s.adminDeleteUser))
	m.Handle("GET /admin/v1/users/{id}/sessions", a(s.adminSessions))
	m.Handle("DELETE /admin/v1/users/{id}/sessions", a(s.adminSignOutEverywhere))
	m.Handle("DELETE /admin/v1/users/{id}/sessions/{sid}", a(s.adminRevokeSession))
	m.Handle("GET /admin/v1/clients", a(s.adminClients))
	m.Handle("POST /admin/v1/clients", a(s.adminCreateClient))
	m.Handle("DELETE /admin/v1/clients/{id}", a(s.adminRemoveClient))
	m.Handle("GET /admin/v1/keys", a(s.adminKeys))
	m.Handle("POST /admin/v1/keys/rotate", a(s.adminRotateKey))
	m.Handle("GET /admin/v1/events", a(s.adminEvents, "type*", "user", "after", "since", "before", "limit"))
	// Webhooks (package webhook; without it these answer 404).
	m.Handle("GET /admin/v1/webhooks", a(s.adminWebhooks))
	m.Handle("POST /admin/v1/webhooks", a(s.adminAddWebhook))
	m.Handle("DELETE /admin/v1/webhooks/{id}", a(s.adminRemoveWebhook))
	m.Handle("GET /admin/v1/webhooks/{id}/deliveries", a(s.adminDeliveries, "limit"))
	s.mountPages(m)
}

// adminHandler authorizes the caller and checks the query parameters (only
// those in params, once each, or repeated when named with a trailing "*"),
// then runs fn and answers its error. Changes are logged with who made them.
func (s *Handler) adminHandler(fn func(http.ResponseWriter, *http.Request) error, params ...string) http.HandlerFunc {
	var allowed, repeatable []string
	for _, p := range params {
		if name, ok := strings.CutSuffix(p, "*"); ok {
			repeatable = append(repeatable, name)
			p = name
		}
		allowed = append(allowed, p)
	}
	return func(w http.ResponseWriter, r *http.Request) {
		actor, err := s.requireAdmin(r)
		if err != nil {
			s.kit.WriteError(w, r, err)
			return
		}
		if err := httpx.CheckQuery(r, allowed, repeatable); err != nil {
			s.kit.WriteError(w, r, err)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			s.log.LogAttrs(r.Context(), slog.LevelInfo, "admin change", slog.String("request_id", httpx.RequestID(r.Context())),
				slog.String("actor", actor), slog.String("route", r.Pattern))
		}
		if err := fn(w, r); err != nil {
			s.kit.WriteError(w, r, err)
		}
	}
}

// requireAdmin authenticates an admin user or a client with the admin
// scope, and names it ("user:ID" or "client:ID").
func (s *Handler) requireAdmin(r *http.Request) (string, error) {
	cred, ok, err := s.kit.Credential(r)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", auth.Errorf(auth.CodeUnauthenticated, "sign in as an admin, or send a client access token with the %q scope", auth.ScopeAdmin)
	}
	if cred.JWT != "" {
		c, err := s.kit.Svc.Verifier().Verify(cred.JWT)
		if err != nil {
			return "", &auth.Error{Code: auth.CodeUnauthenticated, Message: "invalid access token", Err: err}
		}
		if c.SessionID == "" { // a client's own token
			id, err := s.kit.ClientClaims(r.Context(), c, auth.ScopeAdmin)
			return "client:" + id, err
		}
	}
	p, _, err := s.kit.Authenticate(r)
	if err != nil {
		return "", err
	}
	if !p.User.HasRole(auth.RoleAdmin) {
		return "", auth.Errorf(auth.CodeForbidden, "the %q role is required", auth.RoleAdmin)
	}
	return "user:" + p.User.ID, nil
}

func (s *Handler) adminCreateUser(w http.ResponseWriter, r *http.Request) error {
	var nu adminops.NewUser
	if err := httpx.DecodeJSONBody(w, r, map[string]any{"email": &nu.Email, "password": &nu.Password, "roles": &nu.Roles}); err != nil {
		return err
	}
	u, err := s.admin.CreateUser(r.Context(), nu)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, u)
	return nil
}

func (s *Handler) adminUsers(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit, err := httpx.IntParam(q, "limit", 1, adminops.MaxUserLimit)
	if err != nil {
		return err
	}
	page, err := s.admin.Users(r.Context(), adminops.UserQuery{Search: q.Get("search"), After: q.Get("after"), Limit: int(limit)})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, page)
	return nil
}

func (s *Handler) adminUser(w http.ResponseWriter, r *http.Request) error {
	u, err := s.admin.User(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, u)
	return nil
}

func (s *Handler) adminUpdateUser(w http.ResponseWriter, r *http.Request) error {
	var roles, disabled, pw json.RawMessage
	if err := httpx.DecodeJSONBody(w, r, map[string]any{"roles": &roles, "disabled": &disabled, "password": &pw}); err != nil {
		return err
	}
	var up adminops.UserUpdate
	if roles != nil {
		up.Roles = new([]string)
		if err := httpx.StrictJSON("roles", roles, up.Roles); err != nil {
			return err
		}
	}
	if disabled != nil {
		up.Disabled = new(bool)
		if err := httpx.StrictJSON("disabled", disabled, up.Disabled); err != nil {
			return err
		}
	}
	if pw != nil {
		up.Password = new(string)
		if err := httpx.StrictJSON("password", pw, up.Password); err != nil {
			return err
		}
	}
	u, err := s.admin.UpdateUser(r.Context(), r.PathValue("id"), up)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, u)
	return nil
}

func (s *Handler) adminDeleteUser(w http.ResponseWriter, r *http.Request) error {
	if err := httpx.NoBody(r); err != nil {
		return err
	}
	if err := s.admin.DeleteUser(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Handler) adminSessions(w http.ResponseWriter, r *http.Request) error {
	list, err := s.admin.Sessions(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"sessions": list})
	return nil
}

func (s *Handler) adminSignOutEverywhere(w http.ResponseWriter, r *http.Request) error {
	if err := httpx.NoBody(r); err != nil {
		return err
	}
	if err := s.admin.SignOutEverywhere(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Handler) adminRevokeSession(w http.ResponseWriter, r *http.Request) error {
	if err := httpx.NoBody(r); err != nil {
		return err
	}
	if err := s.admin.RevokeSession(r.Context(), r.PathValue("id"), r.PathValue("sid")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Handler) adminClients(w http.ResponseWriter, r *http.Request) error {
	list, err := s.admin.Clients(r.Context())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"clients": list})
	return nil
}

func (s *Handler) adminCreateClient(w http.ResponseWriter, r *http.Request) error {
	var name string
	var scopes []string
	if err := httpx.DecodeJSONBody(w, r, map[string]any{"name": &name, "scopes": &scopes}); err != nil {
		return err
	}
	nc, err := s.admin.CreateClient(r.Context(), name, scopes)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, struct {
		adminops.Client
		ClientSecret string `json:"client_secret"`
	}{nc.Client, nc.Secret.Reveal()})
	return nil
}

func (s *Handler) adminRemoveClient(w http.ResponseWriter, r *http.Request) error {
	if err := httpx.NoBody(r); err != nil {
		return err
	}
	if err := s.admin.RemoveClient(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Handler) adminKeys(w http.ResponseWriter, r *http.Request) error {
	list, err := s.admin.Keys(r.Context())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"keys": list})
	return nil
}

func (s *Handler) adminRotateKey(w http.ResponseWriter, r *http.Request) error {
	if err := httpx.NoBody(r); err != nil {
		return err
	}
	k, err := s.admin.RotateKey(r.Context())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, k)
	return nil
}

func (s *Handler) adminEvents(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var err error
	eq := adminops.EventQuery{Types: q["type"], UserID: q.Get("user")}
	if eq.After, err = httpx.IntParam(q, "after", 0, 1<<62); err != nil {
		return err
	}
	limit, err := httpx.IntParam(q, "limit", 1, adminops.MaxEventLimit)
	if err != nil {
		return err
	}
	eq.Limit = int(limit)
	if eq.Since, err = httpx.TimeParam(q, "since"); err != nil {
		return err
	}
	if eq.Before, err = httpx.TimeParam(q, "before"); err != nil {
		return err
	}
	page, err := s.admin.Events(r.Context(), eq)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, page)
	return nil
}

func (s *Handler) adminWebhooks(w http.ResponseWriter, r *http.Request) error {
	list, err := s.admin.Webhooks(r.Context())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"webhooks": list})
	return nil
}

func (s *Handler) adminAddWebhook(w http.ResponseWriter, r *http.Request) error {
	var u string
	var events []string
	if err := httpx.DecodeJSONBody(w, r, map[string]any{"url": &u, "events": &events}); err != nil {
		return err
	}
	nw, err := s.admin.AddWebhook(r.Context(), u, events)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, struct {
		adminops.Webhook
		Secret string `json:"secret"`
	}{nw.Webhook, nw.Secret.Reveal()})
	return nil
}

func (s *Handler) adminRemoveWebhook(w http.ResponseWriter, r *http.Request) error {
	if err := httpx.NoBody(r); err != nil {
		return err
	}
	if err := s.admin.RemoveWebhook(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Handler) adminDeliveries(w http.ResponseWriter, r *http.Request) error {
	limit, err := httpx.IntParam(r.URL.Query(), "limit", 1, 1000)
	if err != nil {
		return err
	}
	list, err := s.admin.Deliveries(r.Context(), r.PathValue("id"), int(limit))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"deliveries": list})
	return nil
}
