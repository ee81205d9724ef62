package web

import (
	"net/http"
	"slices"
	"time"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/password"
)

// device is a session as the device lists show it.
type device struct {
	ID         string
	Agent      UserAgent
	IP         string
	CreatedAt  time.Time
	LastSeenAt time.Time
	Current    bool
}

// devices lists sessions, the current one first, then by last use.
func devices(list []*auth.Session, current string) []device {
	out := make([]device, 0, len(list))
	for _, s := range list {
		ip := s.LastIP
		if ip == "" {
			ip = s.CreatedIP
		}
		ua := s.LastUA
		if ua == "" {
			ua = s.CreatedUA
		}
		out = append(out, device{ID: s.ID, Agent: ParseUserAgent(ua), IP: ip, CreatedAt: s.CreatedAt, LastSeenAt: s.LastSeenAt, Current: s.ID == current})
	}
	slices.SortStableFunc(out, func(a, b device) int {
		if a.Current != b.Current {
			if a.Current {
				return -1
			}
			return 1
		}
		return b.LastSeenAt.Compare(a.LastSeenAt)
	})
	return out
}

type accountPage struct {
	Devices       []device
	Others        int
	PasswordError string
	MinChars      int
}

var accountNotices = map[string]string{
	"device":   "That device was signed out.",
	"gone":     "That device had already signed out.",
	"others":   "All your other devices were signed out.",
	"password": "Your password was changed, and your other devices were signed out.",
}

// handleAccount: GET /account.
func (h *Handler) handleAccount(w http.ResponseWriter, r *http.Request) {
	p := h.signedIn(w, r, "/account")
	if p == nil {
		return
	}
	h.renderAccount(w, r, p, http.StatusOK, "")
}

func (h *Handler) renderAccount(w http.ResponseWriter, r *http.Request, p *auth.Principal, status int, passwordErr string) {
	list, err := h.svc.Sessions(r.Context(), p.User.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	devs := devices(list, p.Session.ID)
	others := 0
	for _, d := range devs {
		if !d.Current {
			others++
		}
	}
	v := &view{Title: "Your account", Nav: "account", User: p.User, Data: accountPage{Devices: devs, Others: others, PasswordError: passwordErr, MinChars: password.MinChars}}
	if status == http.StatusOK {
		v.Flash = flash(r, accountNotices)
	}
	h.render(w, r, status, "account", v)
}

// handleRevokeDevice: POST /account/sessions/revoke, sid=…: sign one of my
// devices out; this one too, which is signing out.
func (h *Handler) handleRevokeDevice(w http.ResponseWriter, r *http.Request) {
	p := h.signedIn(w, r, "/account")
	if p == nil {
		return
	}
	sid := r.PostFormValue("sid")
	if sid == p.Session.ID {
		h.handleLogout(w, r)
		return
	}
	err := h.svc.RevokeSession(r.Context(), p.User.ID, sid, auth.CauseSignedOut)
	switch auth.ErrorCode(err) {
	case "":
		redirect(w, "/account?msg=device")
	case auth.CodeNotFound:
		redirect(w, "/account?msg=gone")
	default:
		h.fail(w, r, err)
	}
}

// handleRevokeOthers: POST /account/sessions/revoke-others.
func (h *Handler) handleRevokeOthers(w http.ResponseWriter, r *http.Request) {
	p := h.signedIn(w, r, "/account")
	if p == nil {
		return
	}
	if _, err := h.svc.RevokeOtherSessions(r.Context(), p.User.ID, p.Session.ID, auth.CauseSignedOut); err != nil {
		h.fail(w, r, err)
		return
	}
	redirect(w, "/account?msg=others")
}

// handleChangePassword: POST /account/password. auth.ChangePassword ends
// every session of the user and starts a new one for this browser, whose
// cookie replaces the old.
func (h *Handler) handleChangePassword(w http.ResponseWriter, r *http.Request) {
	p := h.signedIn(w, r, "/account")
	if p == nil {
		return
	}
	current, next, confirm := r.PostFormValue("current_password"), r.PostFormValue("new_password"), r.PostFormValue("confirm_password")
	switch {
	case current == "" || next == "":
		h.renderAccount(w, r, p, http.StatusBadRequest, "Enter your current password and a new one.")
		return
	case next != confirm:
		h.renderAccount(w, r, p, http.StatusBadRequest, "The new password and its confirmation do not match.")
		return
	}
	login, err := h.svc.ChangePassword(r.Context(), p, current, next, h.client(r))
	if err != nil {
		switch code := auth.ErrorCode(err); code {
		case auth.CodeInvalidCredentials:
			h.renderAccount(w, r, p, http.StatusBadRequest, "Your current password is wrong.")
		case auth.CodeWeakPassword, auth.CodeInvalidRequest, auth.CodeBusy:
			setRetryAfter(w, err)
			h.renderAccount(w, r, p, statusOf(err), capitalize(auth.ErrorMessage(err))+".")
		default:
			h.fail(w, r, err)
		}
		return
	}
	h.setSessionCookie(w, login.Secret, login.Session.ExpiresAt)
	redirect(w, "/account?msg=password")
}
