package guard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tessera-auth/tessera/accesstoken"
)

// metadata is what Guard reads of the server's RFC 8414 metadata.
type metadata struct {
	Issuer                string `json:"issuer"`
	JWKSURI               string `json:"jwks_uri"`
	TokenEndpoint         string `json:"token_endpoint"`
	IntrospectionEndpoint string `json:"introspection_endpoint"`
}

// statusError is a non-2xx answer.
type statusError struct {
	url    string
	status int
	oauth  string // the RFC 6749 §5.2 error and description, if the body had them
}

func (e *statusError) Error() string {
	if e.oauth != "" {
		return fmt.Sprintf("%s: HTTP %d: %s", e.url, e.status, e.oauth)
	}
	return fmt.Sprintf("%s: HTTP %d", e.url, e.status)
}

// oauthError reads {"error", "error_description"} from an error body.
func oauthError(body []byte) string {
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error == "" {
		return ""
	}
	msg := fmt.Sprintf("%.64q", e.Error)
	if e.Description != "" {
		msg += fmt.Sprintf(" (%.200q)", e.Description)
	}
	return msg
}

// do sends req and reads a JSON body of at most maxBody bytes into out.
func (g *Guard) do(req *http.Request, out any) error {
	req.Header.Set("Accept", "application/json")
	resp, err := g.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return fmt.Errorf("%s: reading body: %w", req.URL.Redacted(), err)
	}
	if resp.StatusCode/100 != 2 {
		return &statusError{url: req.URL.Redacted(), status: resp.StatusCode, oauth: oauthError(body)}
	}
	if len(body) > maxBody {
		return fmt.Errorf("%s: body larger than %d bytes", req.URL.Redacted(), maxBody)
	}
	if out == nil {
		return nil
	}
	if raw, ok := out.(*[]byte); ok {
		*raw = body
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%s: %w", req.URL.Redacted(), err)
	}
	return nil
}

// discover reads the server's metadata and checks its issuer.
func (g *Guard) discover(ctx context.Context) error {
	u := strings.TrimSuffix(g.cfg.Issuer, "/") + "/.well-known/oauth-authorization-server"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("guard: discovery: %w", err)
	}
	var m metadata
	if err := g.do(req, &m); err != nil {
		return fmt.Errorf("guard: discovery: %w", err)
	}
	if m.Issuer != g.cfg.Issuer {
		return fmt.Errorf("guard: discovery: the server's issuer is %.200q, not %.200q (issuers are compared exactly)", m.Issuer, g.cfg.Issuer)
	}
	for name, v := range map[string]string{"jwks_uri": m.JWKSURI, "token_endpoint": m.TokenEndpoint, "introspection_endpoint": m.IntrospectionEndpoint} {
		if pu, err := url.Parse(v); err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
			return fmt.Errorf("guard: discovery: %s %.200q is not an absolute http(s) URL", name, v)
		}
	}
	g.meta = m
	g.eventsURL = strings.TrimSuffix(g.cfg.Issuer, "/") + "/v1/events"
	return nil
}

// fetchKeys reads the JWKS and makes it the trusted key set.
func (g *Guard) fetchKeys(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.meta.JWKSURI, nil)
	if err != nil {
		return err
	}
	var body []byte
	if err := g.do(req, &body); err != nil {
		return fmt.Errorf("guard: fetching JWKS: %w", err)
	}
	set, err := accesstoken.ParseJWKS(body)
	if err != nil {
		return fmt.Errorf("guard: JWKS from %s: %w", req.URL.Redacted(), err)
	}
	g.keys.Store(set)
	g.stats.keyFetches.Add(1)
	return nil
}

// setClientAuth adds client_secret_basic credentials, form-encoded first as
// RFC 6749 §2.3.1 requires.
func (g *Guard) setClientAuth(req *http.Request) {
	req.SetBasicAuth(url.QueryEscape(g.cfg.ClientID), url.QueryEscape(g.cfg.ClientSecret))
}

func (g *Guard) postForm(ctx context.Context, endpoint string, form url.Values, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	g.setClientAuth(req)
	return g.do(req, out)
}

// clientToken is Guard's own client_credentials access token, for the event
// stream.
type clientToken struct {
	mu      sync.Mutex
	token   string
	renewAt time.Time // on the guard's clock
}

// clientToken returns a valid token of Guard's own client, fetching a new one
// when the current one nears its expiry or when fresh is set.
func (g *Guard) clientToken(ctx context.Context, fresh bool) (string, error) {
	ct := &g.ctok
	ct.mu.Lock()
	defer ct.mu.Unlock()
	if !fresh && ct.token != "" && g.cfg.Now().Before(ct.renewAt) {
		return ct.token, nil
	}
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"events introspect"}}
	var resp struct {
		AccessToken string  `json:"access_token"`
		ExpiresIn   float64 `json:"expires_in"`
	}
	start := g.cfg.Now()
	if err := g.postForm(ctx, g.meta.TokenEndpoint, form, &resp); err != nil {
		return "", fmt.Errorf("guard: client_credentials token for client %.64q: %w", g.cfg.ClientID, err)
	}
	if resp.AccessToken == "" {
		return "", errors.New("guard: client_credentials: no access_token in the answer")
	}
	life := time.Duration(resp.ExpiresIn * float64(time.Second))
	if life <= 0 || life > 24*time.Hour {
		life = time.Minute
	}
	// Renew once 80% of the lifetime has passed.
	ct.token, ct.renewAt = resp.AccessToken, start.Add(life*4/5)
	return ct.token, nil
}

// introspection is what Guard reads of an RFC 7662 answer.
type introspection struct {
	Active    bool   `json:"active"`
	Subject   string `json:"sub"`
	SessionID string `json:"sid"`
	ClientID  string `json:"client_id"`
}

// introspect asks the server whether token is active. Errors wrap
// ErrUnavailable.
func (g *Guard) introspect(ctx context.Context, token string) (*introspection, error) {
	g.stats.introspections.Add(1)
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	var in introspection
	if err := g.postForm(ctx, g.meta.IntrospectionEndpoint, form, &in); err != nil {
		var se *statusError
		if errors.As(err, &se) && (se.status == http.StatusUnauthorized || se.status == http.StatusForbidden) {
			g.log.Error("guard: introspection refused Guard's client credentials; check ClientID, ClientSecret and the introspect scope", "client_id", g.cfg.ClientID, "status", se.status)
		}
		return nil, &unavailableError{cause: err}
	}
	return &in, nil
}
