// Package oauth serves the OAuth 2.0 endpoints: token (RFC 6749:
// refresh_token and client_credentials), introspection (RFC 7662),
// revocation (RFC 7009), the JWKS (RFC 7517) and the authorization server
// metadata (RFC 8414, also served as OpenID discovery). They authenticate
// clients only; cookies are never read here. Errors follow RFC 6749 §5.2.
package oauth

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/server/httpx"
)

// Handler serves the routes of this package.
type Handler struct {
	kit *httpx.Kit
	log *slog.Logger
}

// New returns the handlers over kit.
func New(kit *httpx.Kit) *Handler { return &Handler{kit: kit, log: kit.Log} }

// Mount registers the routes on m.
func (s *Handler) Mount(m httpx.Mux) {
	m.Handle("POST /oauth2/token", http.HandlerFunc(s.handleToken))
	m.Handle("POST /oauth2/introspect", http.HandlerFunc(s.handleIntrospect))
	m.Handle("POST /oauth2/revoke", http.HandlerFunc(s.handleRevoke))
	m.Handle("GET /.well-known/jwks.json", http.HandlerFunc(s.handleJWKS))
	m.Handle("GET /.well-known/oauth-authorization-server", http.HandlerFunc(s.handleMetadata))
	m.Handle("GET /.well-known/openid-configuration", http.HandlerFunc(s.handleMetadata))
}

// oauthError answers per RFC 6749 §5.2: {"error", "error_description"}.
func (s *Handler) oauthError(w http.ResponseWriter, r *http.Request, err error) {
	code := auth.ErrorCode(err)
	status := http.StatusBadRequest
	switch code {
	case auth.CodeInvalidClient:
		status = http.StatusUnauthorized
		w.Header().Set("WWW-Authenticate", `Basic realm="tessera"`)
	case auth.CodeInvalidGrant, auth.CodeInvalidScope, auth.CodeUnauthorizedClient, auth.CodeUnsupportedGrantType, auth.CodeInvalidRequest:
	case httpx.CodeTooLarge:
		status = http.StatusRequestEntityTooLarge
		code = auth.CodeInvalidRequest
	case httpx.CodeUnsupportedMedia:
		code = auth.CodeInvalidRequest
	case auth.CodeBusy:
		status, code = http.StatusServiceUnavailable, "temporarily_unavailable"
	default:
		s.log.LogAttrs(r.Context(), slog.LevelError, "oauth request failed", slog.String("request_id", httpx.RequestID(r.Context())), slog.String("err", err.Error()))
		status, code = http.StatusInternalServerError, "server_error"
	}
	body := map[string]string{"error": string(code)}
	if status < 500 {
		body["error_description"] = auth.ErrorMessage(err)
	}
	w.Header().Set("Pragma", "no-cache")
	httpx.WriteJSON(w, status, body)
}

// oauthForm reads an application/x-www-form-urlencoded body. Parameters may
// not repeat (RFC 6749 §3.1); unknown ones are ignored, as the RFC requires.
func oauthForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	if httpx.MediaType(r) != "application/x-www-form-urlencoded" {
		return nil, auth.Errorf(httpx.CodeUnsupportedMedia, "send application/x-www-form-urlencoded")
	}
	body, err := httpx.ReadBody(w, r)
	if err != nil {
		return nil, err
	}
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, auth.Errorf(auth.CodeInvalidRequest, "malformed form body")
	}
	for k, v := range vals {
		if len(v) > 1 {
			return nil, auth.Errorf(auth.CodeInvalidRequest, "parameter %q appears more than once", httpx.TruncateField(k))
		}
	}
	if len(r.URL.RawQuery) > 0 {
		return nil, auth.Errorf(auth.CodeInvalidRequest, "send parameters in the body, not the URL")
	}
	return vals, nil
}

// oauthClient authenticates the calling client: client_secret_basic (with
// RFC 6749 §2.3.1's URL-decoding) or client_secret_post, never both; or the
// public first-party client by client_id alone. With neither, and allowPublic,
// the first-party client is assumed.
func (s *Handler) oauthClient(r *http.Request, form url.Values, allowPublic bool) (*auth.OAuthClient, error) {
	id, sec, basic := r.BasicAuth()
	if basic {
		if form.Has("client_secret") {
			return nil, auth.Errorf(auth.CodeInvalidRequest, "use one client authentication method")
		}
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		sec, err2 = url.QueryUnescape(sec)
		if err1 != nil || err2 != nil {
			return nil, &auth.Error{Code: auth.CodeInvalidClient, Message: "client credentials are not URL-encoded correctly"}
		}
		if form.Has("client_id") && form.Get("client_id") != id { // allowed only if it agrees
			return nil, auth.Errorf(auth.CodeInvalidRequest, "client_id differs from the authenticated client")
		}
	} else if r.Header.Get("Authorization") != "" {
		return nil, &auth.Error{Code: auth.CodeInvalidClient, Message: "unsupported Authorization scheme"}
	} else {
		id, sec = form.Get("client_id"), form.Get("client_secret")
		if id == "" && sec == "" && allowPublic {
			id = auth.FirstPartyClientID
		}
	}
	if id == auth.FirstPartyClientID && !allowPublic {
		return nil, &auth.Error{Code: auth.CodeInvalidClient, Message: "this endpoint needs a confidential client"}
	}
	return s.kit.Svc.AuthenticateClient(r.Context(), id, sec)
}

// handleToken: POST /oauth2/token.
func (s *Handler) handleToken(w http.ResponseWriter, r *http.Request) {
	form, err := oauthForm(w, r)
	if err != nil {
		s.oauthError(w, r, err)
		return
	}
	grant := form.Get("grant_type")
	var ts *auth.TokenSet
	switch grant {
	case "refresh_token":
		c, err := s.oauthClient(r, form, true)
		if err != nil {
			s.oauthError(w, r, err)
			return
		}
		if form.Get("refresh_token") == "" {
			s.oauthError(w, r, auth.Errorf(auth.CodeInvalidRequest, "refresh_token is required"))
			return
		}
		ts, err = s.kit.Svc.Refresh(r.Context(), c, form.Get("refresh_token"), s.kit.Client(r))
		if err != nil {
			s.oauthError(w, r, err)
			return
		}
	case "client_credentials":
		c, err := s.oauthClient(r, form, false)
		if err != nil {
			s.oauthError(w, r, err)
			return
		}
		ts, err = s.kit.Svc.ClientCredentials(r.Context(), c, form.Get("scope"), form.Get("audience"))
		if err != nil {
			s.oauthError(w, r, err)
			return
		}
	case "":
		s.oauthError(w, r, auth.Errorf(auth.CodeInvalidRequest, "grant_type is required"))
		return
	default:
		s.oauthError(w, r, &auth.Error{Code: auth.CodeUnsupportedGrantType, Message: "supported grant types: refresh_token, client_credentials"})
		return
	}
	w.Header().Set("Pragma", "no-cache")
	httpx.WriteJSON(w, http.StatusOK, httpx.ToTokenResponse(ts))
}

// tokenRequest reads the form of an introspection or revocation request,
// authenticates its client and checks that it names a token; on failure it
// has answered and returns ok false.
func (s *Handler) tokenRequest(w http.ResponseWriter, r *http.Request, allowPublic bool) (*auth.OAuthClient, url.Values, bool) {
	form, err := oauthForm(w, r)
	var c *auth.OAuthClient
	if err == nil {
		c, err = s.oauthClient(r, form, allowPublic)
	}
	if err == nil && form.Get("token") == "" {
		err = auth.Errorf(auth.CodeInvalidRequest, "token is required")
	}
	if err != nil {
		s.oauthError(w, r, err)
		return nil, nil, false
	}
	return c, form, true
}

// handleIntrospect: POST /oauth2/introspect (RFC 7662).
func (s *Handler) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	c, form, ok := s.tokenRequest(w, r, false)
	if !ok {
		return
	}
	in, err := s.kit.Svc.Introspect(r.Context(), c, form.Get("token"), form.Get("token_type_hint"))
	if err != nil {
		s.oauthError(w, r, err)
		return
	}
	if !in.Active {
		httpx.WriteJSON(w, http.StatusOK, map[string]bool{"active": false})
		return
	}
	out := map[string]any{
		"active": true, "token_type": in.TokenType, "iss": s.kit.Svc.Config().Tokens.Issuer, "sub": in.Subject,
		"client_id": in.ClientID, "exp": in.ExpiresAt.Unix(), "iat": in.IssuedAt.Unix(),
	}
	if in.Scope != "" {
		out["scope"] = in.Scope
	}
	if in.SessionID != "" {
		out["sid"] = in.SessionID
	}
	if in.Username != "" {
		out["username"] = in.Username
	}
	if len(in.Audience) > 0 {
		out["aud"] = in.Audience
	}
	if in.JTI != "" {
		out["jti"] = in.JTI
	}
	if in.Roles != nil {
		out["roles"] = in.Roles
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

// handleRevoke: POST /oauth2/revoke (RFC 7009). 200 whether or not the token
// was known, so that it tells a caller nothing about other clients' tokens.
func (s *Handler) handleRevoke(w http.ResponseWriter, r *http.Request) {
	c, form, ok := s.tokenRequest(w, r, true)
	if !ok {
		return
	}
	if err := s.kit.Svc.RevokeToken(r.Context(), c, form.Get("token"), form.Get("token_type_hint")); err != nil {
		s.oauthError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// handleJWKS: GET /.well-known/jwks.json. Public keys only; cacheable briefly
// so that verifiers pick up rotations within minutes.
func (s *Handler) handleJWKS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=60")
	w.Write(s.kit.Svc.JWKS())
}

// handleMetadata: RFC 8414 metadata, also served as OpenID discovery. It lists
// only what Tessera implements: no authorization endpoint, since there is no
// authorization-code flow.
func (s *Handler) handleMetadata(w http.ResponseWriter, r *http.Request) {
	iss := s.kit.Svc.Config().Tokens.Issuer
	base := strings.TrimSuffix(iss, "/")
	algs := []string{"EdDSA", "ES256", "RS256"}
	w.Header().Set("Cache-Control", "public, max-age=300")
	httpx.WriteJSON(w, http.StatusOK, map[string]any{
		"issuer":                                        iss,
		"token_endpoint":                                base + "/oauth2/token",
		"jwks_uri":                                      base + "/.well-known/jwks.json",
		"introspection_endpoint":                        base + "/oauth2/introspect",
		"revocation_endpoint":                           base + "/oauth2/revoke",
		"grant_types_supported":                         []string{"refresh_token", "client_credentials"},
		"response_types_supported":                      []string{},
		"subject_types_supported":                       []string{"public"},
		"scopes_supported":                              []string{auth.ScopeAdmin, auth.ScopeEvents, auth.ScopeIntrospect},
		"token_endpoint_auth_methods_supported":         []string{"client_secret_basic", "client_secret_post"},
		"introspection_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"revocation_endpoint_auth_methods_supported":    []string{"client_secret_basic", "client_secret_post", "none"},
		"id_token_signing_alg_values_supported":         algs,
		"access_token_signing_alg_values_supported":     algs,
	})
}
