package session

import (
	"net/http"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/server/httpx"
)

type loginResponse struct {
	User         httpx.UserJSON    `json:"user"`
	Session      httpx.SessionJSON `json:"session"`
	SessionToken string            `json:"session_token,omitempty"`
	*httpx.TokenResponse
}

// handleLogin: POST /v1/login.
func (h *Handler) handleLogin(w http.ResponseWriter, r *http.Request) {
	k := h.kit
	// Login CSRF: a cross-site form could sign the victim into the attacker's
	// account. Checked whether or not a cookie is present.
	if err := k.CheckOrigin(r); err != nil {
		k.WriteError(w, r, err)
		return
	}
	var email, pw, mode, returnTo string
	var tr auth.TokenRequest
	cookie := true
	if err := httpx.DecodeBody(w, r, map[string]any{"email": &email, "password": &pw, "mode": &mode, "cookie": &cookie, "return_to": &returnTo,
		"client_id": &tr.ClientID, "scope": &tr.Scope, "audience": &tr.Audience}); err != nil {
		k.WriteError(w, r, err)
		return
	}
	switch mode {
	case "", "session":
		mode = "session"
	case "token":
		cookie = false
	case "hybrid":
	default:
		k.WriteError(w, r, auth.Errorf(auth.CodeInvalidRequest, `mode must be "session", "token" or "hybrid"`))
		return
	}
	if mode == "session" && tr != (auth.TokenRequest{}) {
		k.WriteError(w, r, auth.Errorf(auth.CodeInvalidRequest, `client_id, scope and audience need mode "token" or "hybrid"`))
		return
	}
	if mode != "session" {
		if err := k.Svc.ValidateTokenRequest(r.Context(), tr); err != nil {
			k.WriteError(w, r, err)
			return
		}
	}
	req := auth.LoginRequest{Email: email, Password: pw, Client: k.Client(r)}
	if old, ok := k.SessionCookie(r); ok {
		req.Replaces = old
	}
	login, err := k.Svc.Login(r.Context(), req)
	if err != nil {
		k.WriteError(w, r, err)
		return
	}
	resp := loginResponse{User: httpx.ToUserJSON(login.User), Session: k.ToSessionJSON(login.Session, login.Session.ID)}
	if mode != "session" {
		ts, err := k.Svc.IssueTokens(r.Context(), login, tr)
		if err != nil {
			k.WriteError(w, r, err)
			return
		}
		resp.TokenResponse = httpx.ToTokenResponse(ts)
	}
	if cookie {
		k.SetSessionCookie(w, login.Secret, login.Session.ExpiresAt)
	} else if mode == "session" {
		// A native app asked for the secret itself, to send as a bearer token.
		resp.SessionToken = login.Secret.Reveal()
	}
	httpx.WriteJSON(w, http.StatusOK, resp)
}

// handleLogout: POST /v1/logout. It always clears the cookie and answers 204,
// so that a client whose session already ended can still sign out cleanly.
func (h *Handler) handleLogout(w http.ResponseWriter, r *http.Request) {
	k := h.kit
	p, _, err := k.Authenticate(r)
	if auth.ErrorCode(err) == auth.CodeCrossOrigin {
		k.WriteError(w, r, err)
		return
	}
	if err == nil {
		if err := k.Svc.Logout(r.Context(), p); err != nil {
			k.WriteError(w, r, err)
			return
		}
	} else if auth.ErrorCode(err) != auth.CodeUnauthenticated {
		k.WriteError(w, r, err)
		return
	}
	k.ClearSessionCookie(w)
	w.WriteHeader(http.StatusNoContent)
}

// handleSession: GET /v1/session, "who am I".
func (h *Handler) handleSession(w http.ResponseWriter, r *http.Request) {
	k := h.kit
	p, _, err := k.Authenticate(r)
	if err != nil {
		k.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"user": httpx.ToUserJSON(p.User), "session": k.ToSessionJSON(&p.Session, p.Session.ID)})
}

// handleSessions: GET /v1/sessions, my devices.
func (h *Handler) handleSessions(w http.ResponseWriter, r *http.Request) {
	k := h.kit
	p, _, err := k.Authenticate(r)
	if err != nil {
		k.WriteError(w, r, err)
		return
	}
	list, err := k.Svc.Sessions(r.Context(), p.User.ID)
	if err != nil {
		k.WriteError(w, r, err)
		return
	}
	out := make([]httpx.SessionJSON, 0, len(list))
	for _, sess := range list {
		out = append(out, k.ToSessionJSON(sess, p.Session.ID))
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"sessions": out})
}

// handleRevokeSession: DELETE /v1/sessions/{sid}.
func (h *Handler) handleRevokeSession(w http.ResponseWriter, r *http.Request) {
	k := h.kit
	p, _, err := k.Authenticate(r)
	if err != nil {
		k.WriteError(w, r, err)
		return
	}
	sid := r.PathValue("sid")
	cause := auth.CauseSignedOut
	if sid == p.Session.ID {
		cause = auth.CauseLogout
	}
	if err := k.Svc.RevokeSession(r.Context(), p.User.ID, sid, cause); err != nil {
		k.WriteError(w, r, err)
		return
	}
	if sid == p.Session.ID {
		k.ClearSessionCookie(w)
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleRevokeOthers: DELETE /v1/sessions, sign out every other device.
func (h *Handler) handleRevokeOthers(w http.ResponseWriter, r *http.Request) {
	k := h.kit
	p, _, err := k.Authenticate(r)
	if err != nil {
		k.WriteError(w, r, err)
		return
	}
	n, err := k.Svc.RevokeOtherSessions(r.Context(), p.User.ID, p.Session.ID, auth.CauseSignedOut)
	if err != nil {
		k.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]int{"revoked": n})
}

// handleSessionToken: POST /v1/session/token, the hybrid mode: a live session
// mints a short-lived access token. CSRF-protected like every cookie request.
func (h *Handler) handleSessionToken(w http.ResponseWriter, r *http.Request) {
	k := h.kit
	p, _, err := k.Authenticate(r)
	if err != nil {
		k.WriteError(w, r, err)
		return
	}
	var tr auth.TokenRequest
	if r.ContentLength != 0 {
		if err := httpx.DecodeBody(w, r, map[string]any{"client_id": &tr.ClientID, "scope": &tr.Scope, "audience": &tr.Audience}); err != nil {
			k.WriteError(w, r, err)
			return
		}
	}
	ts, err := k.Svc.SessionToken(r.Context(), p, tr)
	if err != nil {
		k.WriteError(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, httpx.ToTokenResponse(ts))
}
