package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/tessera-auth/tessera/auth"
)

// defaultReturn is where the browser goes after sign-in without a usable
// return_to.
const defaultReturn = "/account"

// maxReturnTo bounds return_to.
const maxReturnTo = 2048

// safeReturnTo returns raw when it is a path on this origin, else
// defaultReturn. raw is the value as the form or query string decoded it.
// It must start with exactly one "/" (not "//" nor "/\", which browsers read
// as another host), hold no backslash and no control character (no CR/LF,
// no tab, which browsers strip), and parse as a URL with no scheme, host or
// user; the same must hold after each further percent-decoding, so that a
// proxy or framework that decodes again ("/%2F%2Fevil.example") cannot turn
// it into another origin.
func safeReturnTo(raw string) string {
	if raw == "" || len(raw) > maxReturnTo {
		return defaultReturn
	}
	s := raw
	for range 4 {
		if !isLocalPath(s) {
			return defaultReturn
		}
		d, err := url.PathUnescape(s)
		if err != nil {
			return defaultReturn
		}
		if d == s {
			return raw
		}
		s = d
	}
	return defaultReturn // encoded more than three times over: no one does that
}

func isLocalPath(s string) bool {
	if len(s) == 0 || s[0] != '/' || (len(s) > 1 && (s[1] == '/' || s[1] == '\\')) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return false
		}
	}
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil && u.Opaque == "" && strings.HasPrefix(u.Path, "/")
}

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
	returnTo := safeReturnTo(r.URL.Query().Get("return_to"))
	if _, err := h.principal(r); err == nil {
		redirect(w, returnTo)
		return
	}
	h.render(w, r, http.StatusOK, "login", &view{Title: "Sign in", Data: loginPage{ReturnTo: returnTo, Notice: flash(r, loginNotices)}})
}

// handleLogin: POST /login (cross-origin checked by post: login CSRF).
func (h *Handler) handleLogin(w http.ResponseWriter, r *http.Request) {
	email := strings.TrimSpace(r.PostFormValue("email"))
	returnTo := safeReturnTo(r.PostFormValue("return_to"))
	req := auth.LoginRequest{Email: email, Password: r.PostFormValue("password"), Client: h.client(r)}
	if tok, ok := h.sessionToken(r); ok {
		req.Replaces = tok // never reused; ended if live
	}
	login, err := h.svc.Login(r.Context(), req)
	if err != nil {
		status, msg := statusOf(err), ""
		var ae *auth.Error
		switch code := auth.ErrorCode(err); {
		case code == auth.CodeInvalidCredentials:
			msg = "Email or password is wrong."
		case code == auth.CodeThrottled && errors.As(err, &ae):
			msg = fmt.Sprintf("Too many attempts, try again in %d s.", retrySeconds(ae.RetryAfter))
		case code == auth.CodeInvalidRequest && (email == "" || r.PostFormValue("password") == ""):
			msg = "Enter your email address and your password."
		case status < 500:
			msg = capitalize(auth.ErrorMessage(err)) + "."
		default:
			h.fail(w, r, err)
			return
		}
		setRetryAfter(w, err)
		h.render(w, r, status, "login", &view{Title: "Sign in", Error: msg, Data: loginPage{Email: email, ReturnTo: returnTo}})
		return
	}
	h.setSessionCookie(w, login.Secret, login.Session.ExpiresAt)
	redirect(w, returnTo)
}

// handleLogout: POST /account/logout ends this session. Without a live
// session it only clears the cookie.
func (h *Handler) handleLogout(w http.ResponseWriter, r *http.Request) {
	p, err := h.principal(r)
	switch {
	case err == nil:
		if err := h.svc.Logout(r.Context(), p); err != nil {
			h.fail(w, r, err)
			return
		}
	case !errors.Is(err, errNoSession):
		h.fail(w, r, err)
		return
	}
	h.clearSessionCookie(w)
	redirect(w, loginURL("", "signed-out"))
}
