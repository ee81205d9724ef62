// Package account serves the account page (/account): who you are, your
// devices with "sign out" and "sign out of all other devices", and changing
// your password. The rules live in package auth.
package account

import (
	"embed"
	"net/http"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/password"
	"github.com/tessera-auth/tessera/server/httpx"
)

//go:embed templates
var templates embed.FS

// Handler serves the routes of this package.
type Handler struct {
	kit   *httpx.Kit
	pages *httpx.Pages
}

// New returns the handlers over kit.
func New(kit *httpx.Kit) *Handler {
	return &Handler{kit: kit, pages: kit.Pages(templates, nil)}
}

// Mount registers the routes on m.
func (h *Handler) Mount(m httpx.Mux) {
	m.Handle("GET /account", http.HandlerFunc(h.handleAccount))
	m.Handle("POST /account/sessions/revoke", h.kit.Form(h.handleRevokeDevice))
	m.Handle("POST /account/sessions/revoke-others", h.kit.Form(h.handleRevokeOthers))
	m.Handle("POST /account/password", h.kit.Form(h.handleChangePassword))
}

type accountPage struct {
	Devices       []httpx.Device
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
	p := h.kit.SignedIn(w, r, "/account")
	if p == nil {
		return
	}
	h.renderAccount(w, r, p, http.StatusOK, "")
}

func (h *Handler) renderAccount(w http.ResponseWriter, r *http.Request, p *auth.Principal, status int, passwordErr string) {
	list, err := h.kit.Svc.Sessions(r.Context(), p.User.ID)
	if err != nil {
		h.kit.Fail(w, r, err)
		return
	}
	devs := httpx.Devices(list, p.Session.ID)
	others := 0
	for _, d := range devs {
		if !d.Current {
			others++
		}
	}
	v := &httpx.View{Title: "Your account", Nav: "account", User: p.User, Data: accountPage{Devices: devs, Others: others, PasswordError: passwordErr, MinChars: password.MinChars}}
	if status == http.StatusOK {
		v.Flash = httpx.Flash(r, accountNotices)
	}
	h.pages.Render(w, r, status, "account", v)
}

// handleRevokeDevice: POST /account/sessions/revoke, sid=…: sign one of my
// devices out; this one too, which is signing out.
func (h *Handler) handleRevokeDevice(w http.ResponseWriter, r *http.Request) {
	p := h.kit.SignedIn(w, r, "/account")
	if p == nil {
		return
	}
	sid := r.PostFormValue("sid")
	if sid == p.Session.ID {
		h.kit.SignOut(w, r)
		return
	}
	err := h.kit.Svc.RevokeSession(r.Context(), p.User.ID, sid, auth.CauseSignedOut)
	switch auth.ErrorCode(err) {
	case "":
		httpx.Redirect(w, "/account?msg=device")
	case auth.CodeNotFound:
		httpx.Redirect(w, "/account?msg=gone")
	default:
		h.kit.Fail(w, r, err)
	}
}

// handleRevokeOthers: POST /account/sessions/revoke-others.
func (h *Handler) handleRevokeOthers(w http.ResponseWriter, r *http.Request) {
	p := h.kit.SignedIn(w, r, "/account")
	if p == nil {
		return
	}
	if _, err := h.kit.Svc.RevokeOtherSessions(r.Context(), p.User.ID, p.Session.ID, auth.CauseSignedOut); err != nil {
		h.kit.Fail(w, r, err)
		return
	}
	httpx.Redirect(w, "/account?msg=others")
}

// handleChangePassword: POST /account/password. auth.ChangePassword ends
// every session of the user and starts a new one for this browser, whose
// cookie replaces the old.
func (h *Handler) handleChangePassword(w http.ResponseWriter, r *http.Request) {
	k := h.kit
	p := k.SignedIn(w, r, "/account")
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
	login, err := k.Svc.ChangePassword(r.Context(), p, current, next, k.Client(r))
	if err != nil {
		switch code := auth.ErrorCode(err); code {
		case auth.CodeInvalidCredentials:
			h.renderAccount(w, r, p, http.StatusBadRequest, "Your current password is wrong.")
		case auth.CodeWeakPassword, auth.CodeInvalidRequest, auth.CodeBusy:
			httpx.SetRetryAfter(w, err)
			h.renderAccount(w, r, p, httpx.Status(err), httpx.Sentence(auth.ErrorMessage(err)))
		default:
			k.Fail(w, r, err)
		}
		return
	}
	k.SetSessionCookie(w, login.Secret, login.Session.ExpiresAt)
	httpx.Redirect(w, "/account?msg=password")
}
