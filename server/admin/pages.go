package admin

import (
	"context"
	"embed"
	"html/template"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/server/httpx"
)

// Sizes of the admin listings.
const (
	usersPerPage = 50
	recentEvents = 50
	eventsScan   = 5000 // at most this many events are read to find recentEvents shown ones
)

//go:embed templates
var templates embed.FS

// eventLabels names the event types in words.
var eventLabels = map[string]string{
	auth.EventLoginSucceeded:    "Signed in",
	auth.EventLoginFailed:       "Sign-in failed",
	auth.EventSessionRevoked:    "Session ended",
	auth.EventUserCreated:       "User created",
	auth.EventUserUpdated:       "User changed",
	auth.EventUserDeleted:       "User deleted",
	auth.EventTokensInvalidated: "Sessions and tokens ended",
	auth.EventRefreshReuse:      "Refresh token reused",
	auth.EventKeyRotated:        "Signing key rotated",
	auth.EventClientCreated:     "Client created",
	auth.EventClientRemoved:     "Client removed",
}

// quietEvents are left out of the security events: routine and numerous.
var quietEvents = map[string]bool{auth.EventTokenIssued: true}

// pageFuncs are the admin pages' own template functions.
var pageFuncs = template.FuncMap{
	"eventLabel": func(typ string) string {
		if l, ok := eventLabels[typ]; ok {
			return l
		}
		return typ
	},
}

func (h *Handler) mountPages(m httpx.Mux) {
	k := h.kit
	m.Handle("GET /admin", http.HandlerFunc(h.handleAdmin))
	m.Handle("GET /admin/users/{id}", http.HandlerFunc(h.handleAdminUser))
	m.Handle("POST /admin/users/{id}/disabled", k.Form(h.handleAdminDisabled))
	m.Handle("POST /admin/users/{id}/roles", k.Form(h.handleAdminRoles))
	m.Handle("POST /admin/users/{id}/sessions/revoke", k.Form(h.handleAdminRevoke))
	m.Handle("POST /admin/keys/rotate", k.Form(h.handleAdminRotate))
}

// signedInAdmin returns the principal when it has the admin role; otherwise
// it answers the request (sign-in redirect, or a 403 page) and returns nil.
func (h *Handler) signedInAdmin(w http.ResponseWriter, r *http.Request, returnTo string) *auth.Principal {
	p := h.kit.SignedIn(w, r, returnTo)
	if p == nil {
		return nil
	}
	if !p.User.HasRole(auth.RoleAdmin) {
		h.kit.RenderError(w, r, http.StatusForbidden, p.User, "Not allowed", "This page is for administrators. Your account does not have the admin role.")
		return nil
	}
	return p
}

type eventRow struct {
	Seq    int64
	At     time.Time
	Type   string
	User   string // email, when known
	IP     string
	Detail string
	Failed bool
}

type adminPage struct {
	Query     string
	Users     []*auth.User
	NextAfter string // the "after" of the next page of users, if any
	Events    []eventRow
	Keys      []auth.KeyInfo
	KeyError  string
}

var adminNotices = map[string]string{
	"rotated": "A new signing key is active. The previous one keeps verifying until the tokens it signed expire.",
}

// handleAdmin: GET /admin?q=…&after=….
func (h *Handler) handleAdmin(w http.ResponseWriter, r *http.Request) {
	p := h.signedInAdmin(w, r, "/admin")
	if p == nil {
		return
	}
	h.renderAdmin(w, r, p, http.StatusOK, "")
}

func (h *Handler) renderAdmin(w http.ResponseWriter, r *http.Request, p *auth.Principal, status int, keyErr string) {
	ctx := r.Context()
	q := r.URL.Query()
	data := adminPage{Query: strings.TrimSpace(q.Get("q")), KeyError: keyErr, Keys: h.kit.Svc.Keys()}
	if len(data.Query) > 254 {
		data.Query = data.Query[:254]
	}
	users, err := h.kit.Svc.Users(ctx, auth.UserFilter{Search: strings.ToLower(data.Query), After: q.Get("after"), Limit: usersPerPage + 1})
	if err != nil {
		h.kit.Fail(w, r, err)
		return
	}
	if len(users) > usersPerPage {
		users = users[:usersPerPage]
		data.NextAfter = users[len(users)-1].ID
	}
	data.Users = users
	if data.Events, err = h.recentEvents(ctx, recentEvents); err != nil {
		h.kit.Fail(w, r, err)
		return
	}
	v := &httpx.View{Title: "Admin", Nav: "admin", User: p.User, Data: data}
	if status == http.StatusOK {
		v.Flash = httpx.Flash(r, adminNotices)
	}
	h.pages.Render(w, r, status, "admin", v)
}

// recentEvents returns the last n security events, newest first. Sequence
// numbers may have gaps, so the window read grows until it holds n of them.
func (h *Handler) recentEvents(ctx context.Context, n int) ([]eventRow, error) {
	st := h.kit.Svc.Store()
	last, err := st.LastEventSeq(ctx)
	if err != nil {
		return nil, err
	}
	var picked []auth.Event
	for window := int64(n); ; window *= 4 {
		from := max(0, last-window)
		evs, err := st.EventsAfter(ctx, from, int(window))
		if err != nil {
			return nil, err
		}
		picked = picked[:0]
		for _, ev := range slices.Backward(evs) {
			if ev.Seq <= last && !quietEvents[ev.Type] {
				picked = append(picked, ev)
			}
		}
		if len(picked) >= n || from == 0 || window >= eventsScan {
			break
		}
	}
	picked = picked[:min(n, len(picked))]

	emails := make(map[string]string)
	for _, ev := range picked {
		if _, ok := emails[ev.UserID]; ev.UserID != "" && !ok {
			emails[ev.UserID] = ""
			if u, err := h.kit.Svc.User(ctx, ev.UserID); err == nil {
				emails[ev.UserID] = u.Email
			} else if auth.ErrorCode(err) != auth.CodeNotFound {
				return nil, err
			}
		}
	}
	rows := make([]eventRow, 0, len(picked))
	for _, ev := range picked {
		row := eventRow{Seq: ev.Seq, At: ev.At, Type: ev.Type, IP: ev.Data["ip"], Failed: ev.Type == auth.EventLoginFailed || ev.Type == auth.EventRefreshReuse}
		row.User = emails[ev.UserID]
		if row.User == "" {
			row.User = ev.Data["email"]
		}
		if row.User == "" && ev.UserID != "" {
			row.User = "deleted user " + ev.UserID
		}
		var detail []string
		for _, k := range slices.Sorted(maps.Keys(ev.Data)) {
			if k != "ip" && k != "email" && ev.Data[k] != "" {
				detail = append(detail, k+": "+ev.Data[k])
			}
		}
		row.Detail = strings.Join(detail, ", ")
		rows = append(rows, row)
	}
	return rows, nil
}

type adminUserPage struct {
	Target   *auth.User
	Self     bool
	Roles    string // the roles field's value
	Sessions []httpx.Device
}

var adminUserNotices = map[string]string{
	"disabled": "The account is disabled, and its sessions were ended.",
	"enabled":  "The account is enabled again.",
	"roles":    "Roles saved.",
	"revoked":  "The session was ended.",
	"gone":     "That session had already ended.",
}

func userPath(id string) string { return "/admin/users/" + url.PathEscape(id) }

// handleAdminUser: GET /admin/users/{id}.
func (h *Handler) handleAdminUser(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	p := h.signedInAdmin(w, r, userPath(id))
	if p == nil {
		return
	}
	h.renderAdminUser(w, r, p, id, http.StatusOK, "", "")
}

func (h *Handler) renderAdminUser(w http.ResponseWriter, r *http.Request, p *auth.Principal, id string, status int, errMsg, roles string) {
	u, err := h.kit.Svc.User(r.Context(), id)
	if err != nil {
		h.kit.Fail(w, r, err)
		return
	}
	list, err := h.kit.Svc.Sessions(r.Context(), id)
	if err != nil {
		h.kit.Fail(w, r, err)
		return
	}
	if roles == "" {
		roles = strings.Join(u.Roles, " ")
	}
	v := &httpx.View{Title: u.Email, Nav: "admin", User: p.User, Error: errMsg, Data: adminUserPage{
		Target: u, Self: u.ID == p.User.ID, Roles: roles, Sessions: httpx.Devices(list, p.Session.ID),
	}}
	if status == http.StatusOK {
		v.Flash = httpx.Flash(r, adminUserNotices)
	}
	h.pages.Render(w, r, status, "admin_user", v)
}

// handleAdminDisabled: POST /admin/users/{id}/disabled, disabled=true|false.
func (h *Handler) handleAdminDisabled(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	p := h.signedInAdmin(w, r, userPath(id))
	if p == nil {
		return
	}
	disable := r.PostFormValue("disabled") == "true"
	if disable && id == p.User.ID {
		h.renderAdminUser(w, r, p, id, http.StatusBadRequest, "You cannot disable your own account. Ask another administrator, or use the tessera CLI.", "")
		return
	}
	if _, err := h.kit.Svc.SetDisabled(r.Context(), id, disable); err != nil {
		h.kit.Fail(w, r, err)
		return
	}
	msg := "enabled"
	if disable {
		msg = "disabled"
	}
	httpx.Redirect(w, userPath(id)+"?msg="+msg)
}

// handleAdminRoles: POST /admin/users/{id}/roles, roles="a b c".
func (h *Handler) handleAdminRoles(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	p := h.signedInAdmin(w, r, userPath(id))
	if p == nil {
		return
	}
	field := r.PostFormValue("roles")
	roles := strings.FieldsFunc(strings.ToLower(field), func(c rune) bool { return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r' })
	if id == p.User.ID && !slices.Contains(roles, auth.RoleAdmin) {
		h.renderAdminUser(w, r, p, id, http.StatusBadRequest, "You cannot remove your own admin role. Ask another administrator, or use the tessera CLI.", field)
		return
	}
	if _, err := h.kit.Svc.SetRoles(r.Context(), id, roles); err != nil {
		if auth.ErrorCode(err) == auth.CodeInvalidRequest {
			h.renderAdminUser(w, r, p, id, http.StatusBadRequest, httpx.Sentence(auth.ErrorMessage(err)), field)
			return
		}
		h.kit.Fail(w, r, err)
		return
	}
	httpx.Redirect(w, userPath(id)+"?msg=roles")
}

// handleAdminRevoke: POST /admin/users/{id}/sessions/revoke, sid=….
func (h *Handler) handleAdminRevoke(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	p := h.signedInAdmin(w, r, userPath(id))
	if p == nil {
		return
	}
	sid := r.PostFormValue("sid")
	if id == p.User.ID && sid == p.Session.ID {
		h.kit.SignOut(w, r)
		return
	}
	err := h.kit.Svc.RevokeSession(r.Context(), id, sid, auth.CauseAdmin)
	switch auth.ErrorCode(err) {
	case "":
		httpx.Redirect(w, userPath(id)+"?msg=revoked")
	case auth.CodeNotFound:
		httpx.Redirect(w, userPath(id)+"?msg=gone")
	default:
		h.kit.Fail(w, r, err)
	}
}

// handleAdminRotate: POST /admin/keys/rotate.
func (h *Handler) handleAdminRotate(w http.ResponseWriter, r *http.Request) {
	p := h.signedInAdmin(w, r, "/admin")
	if p == nil {
		return
	}
	if _, err := h.kit.Svc.RotateKey(r.Context()); err != nil {
		h.log.Error("rotating the signing key", "request_id", httpx.RequestID(r.Context()), "err", err)
		r.URL.RawQuery = ""
		h.renderAdmin(w, r, p, http.StatusInternalServerError, "The signing key could not be rotated; the server log has the reason.")
		return
	}
	httpx.Redirect(w, "/admin?msg=rotated#keys")
}
