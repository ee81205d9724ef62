package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/secret"
)

// MaxCredentialBytes bounds a cookie or bearer value before it is parsed.
const MaxCredentialBytes = 8 << 10

// credential is what a request presented to authenticate.
type credential struct {
	fromCookie bool
	session    secret.Token // a session secret (cookie, or bearer for native apps)
	jwt        string       // or an access token
}

// credentialOf reads the Authorization header, else the session cookie.
// A present but malformed credential is an error; none at all is not.
func (s *Server) credentialOf(r *http.Request) (credential, bool, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, value, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || len(value) > MaxCredentialBytes {
			return credential{}, false, auth.Errorf(auth.CodeUnauthenticated, "Authorization must be a Bearer token")
		}
		value = strings.TrimSpace(value)
		if strings.Contains(value, ".") {
			return credential{jwt: value}, true, nil
		}
		tok, err := secret.Parse(value)
		if err != nil {
			return credential{}, false, auth.Errorf(auth.CodeUnauthenticated, "invalid bearer token")
		}
		return credential{session: tok}, true, nil
	}
	c, err := r.Cookie(s.cookie)
	if err != nil {
		return credential{}, false, nil
	}
	if len(c.Value) > MaxCredentialBytes {
		return credential{}, false, auth.Errorf(auth.CodeUnauthenticated, "invalid session cookie")
	}
	tok, err := secret.Parse(c.Value)
	if err != nil {
		return credential{}, false, auth.Errorf(auth.CodeUnauthenticated, "invalid session cookie")
	}
	return credential{fromCookie: true, session: tok}, true, nil
}

// authenticate resolves the request's principal. Cookie-authenticated
// requests with unsafe methods must pass the cross-origin check first: a
// browser attaches cookies to cross-site requests, but never an Authorization
// header, so bearer requests are not CSRF-prone.
func (s *Server) authenticate(r *http.Request) (*auth.Principal, credential, error) {
	cred, ok, err := s.credentialOf(r)
	if err != nil {
		return nil, cred, err
	}
	if !ok {
		return nil, cred, auth.Errorf(auth.CodeUnauthenticated, "sign in first")
	}
	if cred.fromCookie {
		if err := s.cop.Check(r); err != nil {
			return nil, cred, auth.Errorf(auth.CodeCrossOrigin, "cross-origin request refused")
		}
	}
	p, err := s.check(r, cred)
	return p, cred, err
}

// check is the session check of cred, reported to the recorder by kind and
// result with its duration.
func (s *Server) check(r *http.Request, cred credential) (*auth.Principal, error) {
	start := time.Now()
	var p *auth.Principal
	var err error
	kind := auth.CheckCookie
	switch {
	case cred.jwt != "":
		kind = auth.CheckJWT
		p, _, err = s.auth.AuthenticateAccess(r.Context(), cred.jwt, s.client(r))
	case !cred.fromCookie:
		kind = auth.CheckBearerSession
		fallthrough
	default:
		p, err = s.auth.Authenticate(r.Context(), cred.session, s.client(r))
	}
	s.rec.SessionCheck(kind, auth.CheckResult(err), time.Since(start))
	return p, err
}

func (s *Server) setSessionCookie(w http.ResponseWriter, tok secret.Token, expires time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name:     s.cookie,
		Value:    tok.Reveal(),
		Path:     "/",
		Expires:  expires,
		MaxAge:   max(1, int(expires.Sub(s.auth.Config().Now()).Seconds())),
		Secure:   !s.cfg.InsecureCookie,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: s.cookie, Value: "", Path: "/", MaxAge: -1,
		Secure: !s.cfg.InsecureCookie, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}

// The JSON shapes of the API.
type userJSON struct {
	ID       string   `json:"id"`
	Email    string   `json:"email"`
	Roles    []string `json:"roles"`
	Disabled bool     `json:"disabled,omitempty"`
}

type sessionJSON struct {
	ID            string    `json:"sid"`
	CreatedAt     time.Time `json:"created_at"`
	LastSeenAt    time.Time `json:"last_seen_at"`
	IdleExpiresAt time.Time `json:"idle_expires_at"`
	ExpiresAt     time.Time `json:"expires_at"`
	IP            string    `json:"ip"`
	UserAgent     string    `json:"user_agent"`
	CreatedIP     string    `json:"created_ip"`
	Current       bool      `json:"current"`
}

func toUserJSON(u *auth.User) userJSON {
	roles := u.Roles
	if roles == nil {
		roles = []string{}
	}
	return userJSON{ID: u.ID, Email: u.Email, Roles: roles, Disabled: u.Disabled}
}

func (s *Server) toSessionJSON(sess *auth.Session, current string) sessionJSON {
	return sessionJSON{
		ID: sess.ID, CreatedAt: sess.CreatedAt, LastSeenAt: sess.LastSeenAt,
		IdleExpiresAt: sess.LastSeenAt.Add(s.auth.Config().IdleTimeout), ExpiresAt: sess.ExpiresAt,
		IP: sess.LastIP, UserAgent: sess.LastUA, CreatedIP: sess.CreatedIP, Current: sess.ID == current,
	}
}

type loginResponse struct {
	User         userJSON    `json:"user"`
	Session      sessionJSON `json:"session"`
	SessionToken string      `json:"session_token,omitempty"`
	*tokenResponse
}

// tokenResponse is RFC 6749 §5.1's successful token response.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
}

func toTokenResponse(ts *auth.TokenSet) *tokenResponse {
	tr := &tokenResponse{AccessToken: ts.AccessToken, TokenType: "Bearer", ExpiresIn: int(ts.ExpiresIn.Seconds()), Scope: ts.Scope}
	if !ts.RefreshToken.IsZero() {
		tr.RefreshToken = ts.RefreshToken.Reveal()
	}
	return tr
}

// handleLogin: POST /v1/login.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	// Login CSRF: a cross-site form could sign the victim into the attacker's
	// account. Checked whether or not a cookie is present.
	if err := s.cop.Check(r); err != nil {
		s.writeError(w, r, auth.Errorf(auth.CodeCrossOrigin, "cross-origin request refused"))
		return
	}
	var email, pw, mode, returnTo string
	var tr auth.TokenRequest
	cookie := true
	if err := decodeBody(w, r, map[string]any{"email": &email, "password": &pw, "mode": &mode, "cookie": &cookie, "return_to": &returnTo,
		"client_id": &tr.ClientID, "scope": &tr.Scope, "audience": &tr.Audience}); err != nil {
		s.writeError(w, r, err)
		return
	}
	switch mode {
	case "", "session":
		mode = "session"
	case "token":
		cookie = false
	case "hybrid":
	default:
		s.writeError(w, r, auth.Errorf(auth.CodeInvalidRequest, `mode must be "session", "token" or "hybrid"`))
		return
	}
	if mode == "session" && tr != (auth.TokenRequest{}) {
		s.writeError(w, r, auth.Errorf(auth.CodeInvalidRequest, `client_id, scope and audience need mode "token" or "hybrid"`))
		return
	}
	if mode != "session" {
		if err := s.auth.ValidateTokenRequest(r.Context(), tr); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	req := auth.LoginRequest{Email: email, Password: pw, Client: s.client(r)}
	if c, err := r.Cookie(s.cookie); err == nil {
		if old, err := secret.Parse(c.Value); err == nil {
			req.Replaces = old
		}
	}
	login, err := s.auth.Login(r.Context(), req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp := loginResponse{User: toUserJSON(login.User), Session: s.toSessionJSON(login.Session, login.Session.ID)}
	if mode != "session" {
		ts, err := s.auth.IssueTokens(r.Context(), login, tr)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		resp.tokenResponse = toTokenResponse(ts)
	}
	if cookie {
		s.setSessionCookie(w, login.Secret, login.Session.ExpiresAt)
	} else if mode == "session" {
		// A native app asked for the secret itself, to send as a bearer token.
		resp.SessionToken = login.Secret.Reveal()
	}
	writeJSON(w, http.StatusOK, resp)
}

// handleLogout: POST /v1/logout. It always clears the cookie and answers 204,
// so that a client whose session already ended can still sign out cleanly.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	p, _, err := s.authenticate(r)
	if auth.ErrorCode(err) == auth.CodeCrossOrigin {
		s.writeError(w, r, err)
		return
	}
	if err == nil {
		if err := s.auth.Logout(r.Context(), p); err != nil {
			s.writeError(w, r, err)
			return
		}
	} else if auth.ErrorCode(err) != auth.CodeUnauthenticated {
		s.writeError(w, r, err)
		return
	}
	s.clearSessionCookie(w)
	w.WriteHeader(http.StatusNoContent)
}

// handleSession: GET /v1/session, "who am I".
func (s *Server) handleSession(w http.ResponseWriter, r *http.Request) {
	p, _, err := s.authenticate(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": toUserJSON(p.User), "session": s.toSessionJSON(&p.Session, p.Session.ID)})
}

// handleSessions: GET /v1/sessions, my devices.
func (s *Server) handleSessions(w http.ResponseWriter, r *http.Request) {
	p, _, err := s.authenticate(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.auth.Sessions(r.Context(), p.User.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]sessionJSON, 0, len(list))
	for _, sess := range list {
		out = append(out, s.toSessionJSON(sess, p.Session.ID))
	}
	writeJSON(w, http.StatusOK, map[string]any{"sessions": out})
}

// handleRevokeSession: DELETE /v1/sessions/{sid}.
func (s *Server) handleRevokeSession(w http.ResponseWriter, r *http.Request) {
	p, _, err := s.authenticate(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sid := r.PathValue("sid")
	cause := auth.CauseSignedOut
	if sid == p.Session.ID {
		cause = auth.CauseLogout
	}
	if err := s.auth.RevokeSession(r.Context(), p.User.ID, sid, cause); err != nil {
		s.writeError(w, r, err)
		return
	}
	if sid == p.Session.ID {
		s.clearSessionCookie(w)
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleRevokeOthers: DELETE /v1/sessions, sign out every other device.
func (s *Server) handleRevokeOthers(w http.ResponseWriter, r *http.Request) {
	p, _, err := s.authenticate(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	n, err := s.auth.RevokeOtherSessions(r.Context(), p.User.ID, p.Session.ID, auth.CauseSignedOut)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"revoked": n})
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		s.writeError(w, r, &auth.Error{Code: auth.CodeBusy, Message: "shutting down"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.auth.Store().Ping(ctx); err != nil {
		s.writeError(w, r, &auth.Error{Code: auth.CodeBusy, Message: "store unreachable", Err: err})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
