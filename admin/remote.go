package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/secret"
	"github.com/tessera-auth/tessera/webhook"
)

// Remote is Admin over a server's admin API (/admin/v1). Its token is any
// credential the API accepts as a bearer token: a client access token with
// the "admin" scope (from POST /oauth2/token, grant client_credentials), or
// an admin user's access token or session token. The token is sent only in
// the Authorization header, and Remote never prints it.
type Remote struct {
	base   *url.URL
	token  string
	client *http.Client
}

var _ Admin = (*Remote)(nil)

// maxResponse bounds an answer of the admin API.
const maxResponse = 32 << 20

// NewRemote returns Admin over the server at baseURL (such as
// "https://auth.example.com", without /admin/v1) with token. client nil uses
// a client with a 30 s timeout that does not follow redirects (the token
// goes to the URL given, and nowhere else).
func NewRemote(baseURL, token string, client *http.Client) (*Remote, error) {
	u, err := url.Parse(strings.TrimSuffix(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("admin: the server URL must be an http or https URL such as https://auth.example.com")
	}
	if token == "" || strings.ContainsAny(token, " \t\r\n") {
		return nil, errors.New("admin: the token must be one bearer token, without spaces")
	}
	if client == nil {
		client = &http.Client{
			Timeout:       30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return &Remote{base: u, token: token, client: client}, nil
}

// String names the server, not the token.
func (r *Remote) String() string { return "admin.Remote(" + r.base.String() + ")" }

// do calls the API: method on path (under /admin/v1) with query, in as the
// JSON body, out decoded from the answer.
func (r *Remote) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	// path is escaped already (seg); Path must hold the unescaped form.
	u := *r.base
	u.RawPath = r.base.EscapedPath() + "/admin/v1" + path
	p, err := url.PathUnescape(u.RawPath)
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	u.Path = p
	u.RawQuery = query.Encode()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+r.token)
	resp, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("admin: calling %s: %w", r.base.Host, redactURLError(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return fmt.Errorf("admin: reading the answer of %s: %w", r.base.Host, err)
	}
	if len(b) > maxResponse {
		return fmt.Errorf("admin: the answer of %s is larger than %d bytes", r.base.Host, maxResponse)
	}
	switch {
	case resp.StatusCode >= 400:
		return problemError(resp, b)
	case resp.StatusCode >= 300:
		return fmt.Errorf("admin: %s answered %s (to %q): give the server's own URL", r.base.Host, resp.Status, resp.Header.Get("Location"))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("admin: the answer of %s to %s %s is not the expected JSON: %w", r.base.Host, method, path, err)
	}
	return nil
}

// redactURLError keeps the error but not the URL that *url.Error repeats
// (which holds no secret, but may be long); the token is never in it.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// problemError turns an RFC 9457 problem document into the *auth.Error it
// was made from.
func problemError(resp *http.Response, body []byte) error {
	var p struct {
		Status    int    `json:"status"`
		Detail    string `json:"detail"`
		Code      string `json:"code"`
		RequestID string `json:"request_id"`
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt != "application/problem+json" || json.Unmarshal(body, &p) != nil || p.Code == "" {
		return &auth.Error{Code: codeOfStatus(resp.StatusCode), Message: fmt.Sprintf("the server answered %s", resp.Status)}
	}
	e := &auth.Error{Code: auth.Code(p.Code), Message: p.Detail}
	if p.RequestID != "" {
		e.Err = fmt.Errorf("status %d, request ID %s", resp.StatusCode, p.RequestID)
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	return e
}

func codeOfStatus(status int) auth.Code {
	switch status {
	case http.StatusBadRequest:
		return auth.CodeInvalidRequest
	case http.StatusUnauthorized:
		return auth.CodeUnauthenticated
	case http.StatusForbidden:
		return auth.CodeForbidden
	case http.StatusNotFound:
		return auth.CodeNotFound
	case http.StatusConflict:
		return auth.CodeConflict
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return auth.CodeBusy
	}
	return auth.CodeInternal
}

// seg is one escaped path segment.
func seg(s string) string { return "/" + url.PathEscape(s) }

// badSeg reports whether s cannot name anything in a path: empty, or a dot
// segment that the server's path cleaning would remove.
func badSeg(s string) bool { return s == "" || s == "." || s == ".." }

// CreateUser implements Admin.
func (r *Remote) CreateUser(ctx context.Context, nu NewUser) (*User, error) {
	var u User
	return &u, r.do(ctx, "POST", "/users", nil, nu, &u)
}

// User implements Admin.
func (r *Remote) User(ctx context.Context, ref string) (*User, error) {
	if badSeg(ref) {
		return nil, auth.Errorf(auth.CodeNotFound, "no such user")
	}
	var u User
	if err := r.do(ctx, "GET", "/users"+seg(ref), nil, nil, &u); err != nil {
		return nil, err
	}
	return &u, nil
}

// Users implements Admin.
func (r *Remote) Users(ctx context.Context, q UserQuery) (*UserPage, error) {
	v := url.Values{}
	if q.Search != "" {
		v.Set("search", q.Search)
	}
	if q.After != "" {
		v.Set("after", q.After)
	}
	if q.Limit != 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var p UserPage
	if err := r.do(ctx, "GET", "/users", v, nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// UpdateUser implements Admin.
func (r *Remote) UpdateUser(ctx context.Context, ref string, up UserUpdate) (*User, error) {
	if badSeg(ref) {
		return nil, auth.Errorf(auth.CodeNotFound, "no such user")
	}
	var u User
	if err := r.do(ctx, "PATCH", "/users"+seg(ref), nil, up, &u); err != nil {
		return nil, err
	}
	return &u, nil
}

// DeleteUser implements Admin.
func (r *Remote) DeleteUser(ctx context.Context, ref string) error {
	if badSeg(ref) {
		return auth.Errorf(auth.CodeNotFound, "no such user")
	}
	return r.do(ctx, "DELETE", "/users"+seg(ref), nil, nil, nil)
}

// Sessions implements Admin.
func (r *Remote) Sessions(ctx context.Context, ref string) ([]Session, error) {
	if badSeg(ref) {
		return nil, auth.Errorf(auth.CodeNotFound, "no such user")
	}
	var out struct {
		Sessions []Session `json:"sessions"`
	}
	if err := r.do(ctx, "GET", "/users"+seg(ref)+"/sessions", nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Sessions, nil
}

// RevokeSession implements Admin.
func (r *Remote) RevokeSession(ctx context.Context, ref, sid string) error {
	if badSeg(ref) {
		return auth.Errorf(auth.CodeNotFound, "no such user")
	}
	if badSeg(sid) {
		return auth.Errorf(auth.CodeNotFound, "no such session")
	}
	return r.do(ctx, "DELETE", "/users"+seg(ref)+"/sessions"+seg(sid), nil, nil, nil)
}

// SignOutEverywhere implements Admin.
func (r *Remote) SignOutEverywhere(ctx context.Context, ref string) error {
	if badSeg(ref) {
		return auth.Errorf(auth.CodeNotFound, "no such user")
	}
	return r.do(ctx, "DELETE", "/users"+seg(ref)+"/sessions", nil, nil, nil)
}

// Clients implements Admin.
func (r *Remote) Clients(ctx context.Context) ([]Client, error) {
	var out struct {
		Clients []Client `json:"clients"`
	}
	if err := r.do(ctx, "GET", "/clients", nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Clients, nil
}

// newClientJSON is the answer of POST /admin/v1/clients.
type newClientJSON struct {
	Client
	ClientSecret string `json:"client_secret"`
}

// CreateClient implements Admin.
func (r *Remote) CreateClient(ctx context.Context, name string, scopes []string) (*NewClient, error) {
	if scopes == nil {
		scopes = []string{}
	}
	var out newClientJSON
	if err := r.do(ctx, "POST", "/clients", nil, map[string]any{"name": name, "scopes": scopes}, &out); err != nil {
		return nil, err
	}
	sec, err := secret.Parse(out.ClientSecret)
	if err != nil {
		return nil, fmt.Errorf("admin: the server answered a malformed client secret")
	}
	return &NewClient{Client: out.Client, Secret: sec}, nil
}

// RemoveClient implements Admin.
func (r *Remote) RemoveClient(ctx context.Context, id string) error {
	if badSeg(id) {
		return auth.Errorf(auth.CodeNotFound, "no such client")
	}
	return r.do(ctx, "DELETE", "/clients"+seg(id), nil, nil, nil)
}

// Keys implements Admin.
func (r *Remote) Keys(ctx context.Context) ([]Key, error) {
	var out struct {
		Keys []Key `json:"keys"`
	}
	if err := r.do(ctx, "GET", "/keys", nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Keys, nil
}

// RotateKey implements Admin.
func (r *Remote) RotateKey(ctx context.Context) (*Key, error) {
	var k Key
	if err := r.do(ctx, "POST", "/keys/rotate", nil, nil, &k); err != nil {
		return nil, err
	}
	return &k, nil
}

// Events implements Admin.
func (r *Remote) Events(ctx context.Context, q EventQuery) (*EventPage, error) {
	v := url.Values{}
	for _, t := range q.Types {
		v.Add("type", t)
	}
	if q.UserID != "" {
		v.Set("user", q.UserID)
	}
	if q.After != 0 {
		v.Set("after", strconv.FormatInt(q.After, 10))
	}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.Format(time.RFC3339Nano))
	}
	if !q.Before.IsZero() {
		v.Set("before", q.Before.Format(time.RFC3339Nano))
	}
	if q.Limit != 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var p EventPage
	if err := r.do(ctx, "GET", "/events", v, nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Webhooks implements Admin.
func (r *Remote) Webhooks(ctx context.Context) ([]Webhook, error) {
	var out struct {
		Webhooks []Webhook `json:"webhooks"`
	}
	if err := r.do(ctx, "GET", "/webhooks", nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Webhooks, nil
}

// newWebhookJSON is the answer of POST /admin/v1/webhooks.
type newWebhookJSON struct {
	Webhook
	Secret string `json:"secret"`
}

// AddWebhook implements Admin.
func (r *Remote) AddWebhook(ctx context.Context, url string, events []string) (*NewWebhook, error) {
	if events == nil {
		events = []string{}
	}
	var out newWebhookJSON
	if err := r.do(ctx, "POST", "/webhooks", nil, map[string]any{"url": url, "events": events}, &out); err != nil {
		return nil, err
	}
	sec, err := webhook.ParseSecret(out.Secret)
	if err != nil {
		return nil, fmt.Errorf("admin: the server answered a malformed webhook secret")
	}
	return &NewWebhook{Webhook: out.Webhook, Secret: sec}, nil
}

// RemoveWebhook implements Admin.
func (r *Remote) RemoveWebhook(ctx context.Context, id string) error {
	if badSeg(id) {
		return auth.Errorf(auth.CodeNotFound, "no such webhook")
	}
	return r.do(ctx, "DELETE", "/webhooks"+seg(id), nil, nil, nil)
}

// Deliveries implements Admin.
func (r *Remote) Deliveries(ctx context.Context, id string, limit int) ([]Delivery, error) {
	if badSeg(id) {
		return nil, auth.Errorf(auth.CodeNotFound, "no such webhook")
	}
	v := url.Values{}
	if limit != 0 {
		v.Set("limit", strconv.Itoa(limit))
	}
	var out struct {
		Deliveries []Delivery `json:"deliveries"`
	}
	if err := r.do(ctx, "GET", "/webhooks"+seg(id)+"/deliveries", v, nil, &out); err != nil {
		return nil, err
	}
	return out.Deliveries, nil
}
