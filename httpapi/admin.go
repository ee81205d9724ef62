package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tessera-auth/tessera/admin"
	"github.com/tessera-auth/tessera/auth"
)

// The admin API, /admin/v1: the operations of package admin over HTTP. The
// handlers decode, call admin.Local (the same code the CLI runs against the
// store) and encode; admin.Remote is the client of these routes.
//
// Callers are an admin user — a session (cookie, CSRF-checked on unsafe
// methods; or a bearer session token) or a user access token, of a user with
// the AdminRole role — or a client, by a client_credentials access token
// with the "admin" scope. Bodies are JSON only and strict; query parameters
// are strict too: unknown or repeated parameters are refused, on every route.

// AdminRole is the role that opens the admin API to a user.
const AdminRole = "admin"

func (s *Server) adminRoutes() {
	a := s.adminHandler
	s.handle("POST /admin/v1/users", a(s.adminCreateUser))
	s.handle("GET /admin/v1/users", a(s.adminUsers, "search", "after", "limit"))
	s.handle("GET /admin/v1/users/{id}", a(s.adminUser))
	s.handle("PATCH /admin/v1/users/{id}", a(s.adminUpdateUser))
	s.handle("DELETE /admin/v1/users/{id}", a(s.adminDeleteUser))
	s.handle("GET /admin/v1/users/{id}/sessions", a(s.adminSessions))
	s.handle("DELETE /admin/v1/users/{id}/sessions", a(s.adminSignOutEverywhere))
	s.handle("DELETE /admin/v1/users/{id}/sessions/{sid}", a(s.adminRevokeSession))
	s.handle("GET /admin/v1/clients", a(s.adminClients))
	s.handle("POST /admin/v1/clients", a(s.adminCreateClient))
	s.handle("DELETE /admin/v1/clients/{id}", a(s.adminRemoveClient))
	s.handle("GET /admin/v1/keys", a(s.adminKeys))
	s.handle("POST /admin/v1/keys/rotate", a(s.adminRotateKey))
	s.handle("GET /admin/v1/events", a(s.adminEvents, "type*", "user", "after", "since", "before", "limit"))
	// Webhooks (package webhook, through Config.Webhooks; without it these
	// answer 404).
	s.handle("GET /admin/v1/webhooks", a(s.adminWebhooks))
	s.handle("POST /admin/v1/webhooks", a(s.adminAddWebhook))
	s.handle("DELETE /admin/v1/webhooks/{id}", a(s.adminRemoveWebhook))
	s.handle("GET /admin/v1/webhooks/{id}/deliveries", a(s.adminDeliveries, "limit"))
}

// adminHandler authorizes the caller and checks the query parameters (only
// those in params, once each, or repeated when named with a trailing "*"),
// then runs fn and answers its error. Changes are logged with who made them.
func (s *Server) adminHandler(fn func(http.ResponseWriter, *http.Request) error, params ...string) http.HandlerFunc {
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
			s.writeError(w, r, err)
			return
		}
		if err := checkQuery(r, allowed, repeatable); err != nil {
			s.writeError(w, r, err)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			s.log.LogAttrs(r.Context(), slog.LevelInfo, "admin change", slog.String("request_id", requestID(r.Context())),
				slog.String("actor", actor), slog.String("route", r.Pattern))
		}
		if err := fn(w, r); err != nil {
			s.writeError(w, r, err)
		}
	}
}

// requireAdmin authenticates an admin user or a client with the admin
// scope, and names it ("user:ID" or "client:ID").
func (s *Server) requireAdmin(r *http.Request) (string, error) {
	cred, ok, err := s.credentialOf(r)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", auth.Errorf(auth.CodeUnauthenticated, "sign in as an admin, or send a client access token with the %q scope", auth.ScopeAdmin)
	}
	if cred.jwt != "" {
		c, err := s.auth.Verifier().Verify(cred.jwt)
		if err != nil {
			return "", &auth.Error{Code: auth.CodeUnauthenticated, Message: "invalid access token", Err: err}
		}
		if c.SessionID == "" { // a client's own token
			if !slices.Contains(strings.Fields(c.Scope), auth.ScopeAdmin) {
				return "", auth.Errorf(auth.CodeForbidden, "a client token with the %q scope is required", auth.ScopeAdmin)
			}
			if _, err := s.auth.Store().ClientByID(r.Context(), c.ClientID); err != nil {
				if errors.Is(err, auth.ErrNotFound) {
					return "", auth.Errorf(auth.CodeUnauthenticated, "the client no longer exists")
				}
				return "", err
			}
			return "client:" + c.ClientID, nil
		}
	}
	p, _, err := s.authenticate(r)
	if err != nil {
		return "", err
	}
	if !p.User.HasRole(AdminRole) {
		return "", auth.Errorf(auth.CodeForbidden, "the %q role is required", AdminRole)
	}
	return "user:" + p.User.ID, nil
}

// adminBody decodes a JSON body strictly into fields (see decodeBody).
func adminBody(w http.ResponseWriter, r *http.Request, fields map[string]any) error {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return auth.Errorf(codeUnsupportedMedia, "send application/json")
	}
	return decodeBody(w, r, fields)
}

// noBody refuses a request body where none is expected.
func noBody(r *http.Request) error {
	if r.ContentLength != 0 {
		return auth.Errorf(auth.CodeInvalidRequest, "this endpoint takes no request body")
	}
	return nil
}

// checkQuery refuses a malformed query string, parameters not in allowed,
// and repeated ones but those in repeatable.
func checkQuery(r *http.Request, allowed, repeatable []string) error {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return auth.Errorf(auth.CodeInvalidRequest, "malformed query string")
	}
	for k, v := range q {
		if !slices.Contains(allowed, k) {
			return auth.Errorf(auth.CodeInvalidRequest, "unknown query parameter %q", truncateField(k))
		}
		if len(v) > 1 && !slices.Contains(repeatable, k) {
			return auth.Errorf(auth.CodeInvalidRequest, "query parameter %q appears twice", k)
		}
	}
	return nil
}

// intParam parses q's name as an integer in [lo, hi]; absent is 0.
func intParam(q url.Values, name string, lo, hi int64) (int64, error) {
	v := q.Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, auth.Errorf(auth.CodeInvalidRequest, "%s must be an integer from %d to %d", name, lo, hi)
	}
	return n, nil
}

// timeParam parses q's name as an RFC 3339 time; absent is the zero time.
func timeParam(q url.Values, name string) (time.Time, error) {
	v := q.Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, auth.Errorf(auth.CodeInvalidRequest, "%s must be an RFC 3339 time such as 2026-01-02T15:04:05Z", name)
	}
	return t, nil
}

// strictJSON unmarshals a field's raw JSON value; null is refused.
func strictJSON(name string, raw json.RawMessage, v any) error {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) || json.Unmarshal(raw, v) != nil {
		return auth.Errorf(auth.CodeInvalidRequest, "field %q has the wrong type", name)
	}
	return nil
}

func (s *Server) adminCreateUser(w http.ResponseWriter, r *http.Request) error {
	var nu admin.NewUser
	if err := adminBody(w, r, map[string]any{"email": &nu.Email, "password": &nu.Password, "roles": &nu.Roles}); err != nil {
		return err
	}
	u, err := s.admin.CreateUser(r.Context(), nu)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, u)
	return nil
}

func (s *Server) adminUsers(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit, err := intParam(q, "limit", 1, admin.MaxUserLimit)
	if err != nil {
		return err
	}
	page, err := s.admin.Users(r.Context(), admin.UserQuery{Search: q.Get("search"), After: q.Get("after"), Limit: int(limit)})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (s *Server) adminUser(w http.ResponseWriter, r *http.Request) error {
	u, err := s.admin.User(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

func (s *Server) adminUpdateUser(w http.ResponseWriter, r *http.Request) error {
	var roles, disabled, pw json.RawMessage
	if err := adminBody(w, r, map[string]any{"roles": &roles, "disabled": &disabled, "password": &pw}); err != nil {
		return err
	}
	var up admin.UserUpdate
	if roles != nil {
		up.Roles = new([]string)
		if err := strictJSON("roles", roles, up.Roles); err != nil {
			return err
		}
	}
	if disabled != nil {
		up.Disabled = new(bool)
		if err := strictJSON("disabled", disabled, up.Disabled); err != nil {
			return err
		}
	}
	if pw != nil {
		up.Password = new(string)
		if err := strictJSON("password", pw, up.Password); err != nil {
			return err
		}
	}
	u, err := s.admin.UpdateUser(r.Context(), r.PathValue("id"), up)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

func (s *Server) adminDeleteUser(w http.ResponseWriter, r *http.Request) error {
	if err := noBody(r); err != nil {
		return err
	}
	if err := s.admin.DeleteUser(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) adminSessions(w http.ResponseWriter, r *http.Request) error {
	list, err := s.admin.Sessions(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"sessions": list})
	return nil
}

func (s *Server) adminSignOutEverywhere(w http.ResponseWriter, r *http.Request) error {
	if err := noBody(r); err != nil {
		return err
	}
	if err := s.admin.SignOutEverywhere(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) adminRevokeSession(w http.ResponseWriter, r *http.Request) error {
	if err := noBody(r); err != nil {
		return err
	}
	if err := s.admin.RevokeSession(r.Context(), r.PathValue("id"), r.PathValue("sid")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) adminClients(w http.ResponseWriter, r *http.Request) error {
	list, err := s.admin.Clients(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"clients": list})
	return nil
}

func (s *Server) adminCreateClient(w http.ResponseWriter, r *http.Request) error {
	var name string
	var scopes []string
	if err := adminBody(w, r, map[string]any{"name": &name, "scopes": &scopes}); err != nil {
		return err
	}
	nc, err := s.admin.CreateClient(r.Context(), name, scopes)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, struct {
		admin.Client
		ClientSecret string `json:"client_secret"`
	}{nc.Client, nc.Secret.Reveal()})
	return nil
}

func (s *Server) adminRemoveClient(w http.ResponseWriter, r *http.Request) error {
	if err := noBody(r); err != nil {
		return err
	}
	if err := s.admin.RemoveClient(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) adminKeys(w http.ResponseWriter, r *http.Request) error {
	list, err := s.admin.Keys(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": list})
	return nil
}

func (s *Server) adminRotateKey(w http.ResponseWriter, r *http.Request) error {
	if err := noBody(r); err != nil {
		return err
	}
	k, err := s.admin.RotateKey(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, k)
	return nil
}

func (s *Server) adminEvents(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var err error
	eq := admin.EventQuery{Types: q["type"], UserID: q.Get("user")}
	if eq.After, err = intParam(q, "after", 0, 1<<62); err != nil {
		return err
	}
	limit, err := intParam(q, "limit", 1, admin.MaxEventLimit)
	if err != nil {
		return err
	}
	eq.Limit = int(limit)
	if eq.Since, err = timeParam(q, "since"); err != nil {
		return err
	}
	if eq.Before, err = timeParam(q, "before"); err != nil {
		return err
	}
	page, err := s.admin.Events(r.Context(), eq)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (s *Server) adminWebhooks(w http.ResponseWriter, r *http.Request) error {
	list, err := s.admin.Webhooks(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhooks": list})
	return nil
}

func (s *Server) adminAddWebhook(w http.ResponseWriter, r *http.Request) error {
	var u string
	var events []string
	if err := adminBody(w, r, map[string]any{"url": &u, "events": &events}); err != nil {
		return err
	}
	nw, err := s.admin.AddWebhook(r.Context(), u, events)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, struct {
		admin.Webhook
		Secret string `json:"secret"`
	}{nw.Webhook, nw.Secret.Reveal()})
	return nil
}

func (s *Server) adminRemoveWebhook(w http.ResponseWriter, r *http.Request) error {
	if err := noBody(r); err != nil {
		return err
	}
	if err := s.admin.RemoveWebhook(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) adminDeliveries(w http.ResponseWriter, r *http.Request) error {
	limit, err := intParam(r.URL.Query(), "limit", 1, 1000)
	if err != nil {
		return err
	}
	list, err := s.admin.Deliveries(r.Context(), r.PathValue("id"), int(limit))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"deliveries": list})
	return nil
}
