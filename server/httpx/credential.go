package httpx

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tessera-auth/tessera/accesstoken"
	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/secret"
)

// MaxCredentialBytes bounds a cookie or bearer value before it is parsed.
const MaxCredentialBytes = 8 << 10

// Credential is what a request presented to authenticate.
type Credential struct {
	FromCookie bool
	Session    secret.Token // a session secret (cookie, or bearer for native apps)
	JWT        string       // or an access token
}

// Credential reads the Authorization header, else the session cookie. A
// present but malformed credential is an error; none at all is not (ok is
// false).
func (k *Kit) Credential(r *http.Request) (cred Credential, ok bool, err error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, value, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || len(value) > MaxCredentialBytes {
			return Credential{}, false, auth.Errorf(auth.CodeUnauthenticated, "Authorization must be a Bearer token")
		}
		value = strings.TrimSpace(value)
		if strings.Contains(value, ".") {
			return Credential{JWT: value}, true, nil
		}
		tok, err := secret.Parse(value)
		if err != nil {
			return Credential{}, false, auth.Errorf(auth.CodeUnauthenticated, "invalid bearer token")
		}
		return Credential{Session: tok}, true, nil
	}
	c, err := r.Cookie(k.cookie)
	if err != nil {
		return Credential{}, false, nil
	}
	if len(c.Value) > MaxCredentialBytes {
		return Credential{}, false, auth.Errorf(auth.CodeUnauthenticated, "invalid session cookie")
	}
	tok, err := secret.Parse(c.Value)
	if err != nil {
		return Credential{}, false, auth.Errorf(auth.CodeUnauthenticated, "invalid session cookie")
	}
	return Credential{FromCookie: true, Session: tok}, true, nil
}

// Authenticate resolves the request's principal. Cookie-authenticated
// requests must pass the cross-origin check first (it passes every GET and
// HEAD): a browser attaches cookies to cross-site requests, but never an
// Authorization header, so bearer requests are not CSRF-prone.
func (k *Kit) Authenticate(r *http.Request) (*auth.Principal, Credential, error) {
	cred, ok, err := k.Credential(r)
	if err != nil {
		return nil, cred, err
	}
	if !ok {
		return nil, cred, auth.Errorf(auth.CodeUnauthenticated, "sign in first")
	}
	if cred.FromCookie {
		if err := k.CheckOrigin(r); err != nil {
			return nil, cred, err
		}
	}
	p, err := k.Check(r, cred)
	return p, cred, err
}

// Check is the session check of cred, reported to the recorder by kind and
// result with its duration.
func (k *Kit) Check(r *http.Request, cred Credential) (*auth.Principal, error) {
	start := time.Now()
	var p *auth.Principal
	var err error
	kind := auth.CheckCookie
	switch {
	case cred.JWT != "":
		kind = auth.CheckJWT
		p, _, err = k.Svc.AuthenticateAccess(r.Context(), cred.JWT, k.Client(r))
	case !cred.FromCookie:
		kind = auth.CheckBearerSession
		fallthrough
	default:
		p, err = k.Svc.Authenticate(r.Context(), cred.Session, k.Client(r))
	}
	k.rec.SessionCheck(kind, auth.CheckResult(err), time.Since(start))
	return p, err
}

// ClientToken checks a client_credentials access token (one without a
// session) that must hold scope, and that its client still exists; it
// returns the client's ID.
func (k *Kit) ClientToken(ctx context.Context, jwt, scope string) (string, error) {
	c, err := k.Svc.Verifier().Verify(jwt)
	if err != nil {
		return "", &auth.Error{Code: auth.CodeUnauthenticated, Message: "invalid access token", Err: err}
	}
	return k.ClientClaims(ctx, c, scope)
}

// ClientClaims is ClientToken for claims already verified.
func (k *Kit) ClientClaims(ctx context.Context, c *accesstoken.Claims, scope string) (string, error) {
	if c.SessionID != "" || !slices.Contains(strings.Fields(c.Scope), scope) {
		return "", auth.Errorf(auth.CodeForbidden, "a client token with the %q scope is required", scope)
	}
	if _, err := k.Svc.Store().ClientByID(ctx, c.ClientID); err != nil {
		if errors.Is(err, auth.ErrNotFound) {
			return "", auth.Errorf(auth.CodeUnauthenticated, "the client no longer exists")
		}
		return "", err
	}
	return c.ClientID, nil
}
