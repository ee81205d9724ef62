package session

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/server/httpx"
)

type loginPage struct {
	Email    string
	ReturnTo string
	Notice   string
}

var loginNotices = map[string]string{
	"signed-out": "You signed out.",
	"ended":      "Your session ended. Sign in again to continue.",
}

// handleLoginPage: GET /login. A browser that is signed in already goes
// straight on.
func (h *Handler) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	returnTo := httpx.SafeReturnTo(r.URL.Query().Get("return_to"))
	if _, err := h.kit.PagePrincipal(r); err == nil {
		httpx.Redirect(w, returnTo)
		return
	}
	h.pages.Render(w, r, http.StatusOK, "login", &httpx.View{Title: "Sign in", Data: loginPage{ReturnTo: returnTo, Notice: httpx.Flash(r, loginNotices)}})
}

// handleLoginForm: POST /login (cross-origin checked by Kit.Form: login CSRF).
func (h *Handler) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	k := h.kit
	email := strings.TrimSpace(r.PostFormValue("email"))
	returnTo := httpx.SafeReturnTo(r.PostFormValue("return_to"))
	req := auth.LoginRequest{Email: email, Password: r.PostFormValue("password"), Client: k.Client(r)}
	if tok, ok := k.SessionCookie(r); ok {
		req.Replaces = tok // never reused; ended if live
	}
	login, err := k.Svc.Login(r.Context(), req)
	if err != nil {
		status, msg := httpx.Status(err), ""
		var ae *auth.Error
		switch code := auth.ErrorCode(err); {
		case code == auth.CodeInvalidCredentials:
			msg = "Email or password is wrong."
		case code == auth.CodeThrottled && errors.As(err, &ae):
			msg = fmt.Sprintf("Too many attempts, try again in %d s.", httpx.RetrySeconds(ae.RetryAfter))
		case code == auth.CodeInvalidRequest && (email == "" || r.PostFormValue("password") == ""):
			msg = "Enter your email address and your password."
		case status < 500:
			msg = httpx.Sentence(auth.ErrorMessage(err))
		default:
			k.Fail(w, r, err)
			return
		}
		httpx.SetRetryAfter(w, err)
		h.pages.Render(w, r, status, "login", &httpx.View{Title: "Sign in", Error: msg, Data: loginPage{Email: email, ReturnTo: returnTo}})
		return
	}
	k.SetSessionCookie(w, login.Secret, login.Session.ExpiresAt)
	httpx.Redirect(w, returnTo)
}

// handleLogoutForm: POST /account/logout ends this session.
func (h *Handler) handleLogoutForm(w http.ResponseWriter, r *http.Request) { h.kit.SignOut(w, r) }
