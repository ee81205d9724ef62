package httpx

import (
	"net/http"
	"time"

	"github.com/tessera-auth/tessera/secret"
)

// The session cookie's name; with Config.InsecureCookie it is
// InsecureCookieName, since browsers refuse a __Host- cookie without Secure.
const (
	CookieName         = "__Host-tessera_session"
	InsecureCookieName = "tessera_session"
)

// CookieName is the name of the session cookie this server sets.
func (k *Kit) CookieName() string { return k.cookie }

// SetSessionCookie sets the session cookie: __Host- (unless InsecureCookie),
// Secure, HttpOnly, SameSite=Lax, Path=/, living until expires. Max-Age is
// counted on the service's clock, the same one that decided expires, so the
// cookie lives exactly as long as its session whatever the wall clock says.
func (k *Kit) SetSessionCookie(w http.ResponseWriter, tok secret.Token, expires time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name:     k.cookie,
		Value:    tok.Reveal(),
		Path:     "/",
		Expires:  expires,
		MaxAge:   max(1, int(expires.Sub(k.Now()).Seconds())),
		Secure:   !k.cfg.InsecureCookie,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
}

// ClearSessionCookie tells the browser to drop the session cookie.
func (k *Kit) ClearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: k.cookie, Value: "", Path: "/", MaxAge: -1,
		Secure: !k.cfg.InsecureCookie, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}

// SessionCookie is the secret in the request's session cookie, if it holds
// a well-formed one.
func (k *Kit) SessionCookie(r *http.Request) (secret.Token, bool) {
	c, err := r.Cookie(k.cookie)
	if err != nil || len(c.Value) > MaxCredentialBytes {
		return secret.Token{}, false
	}
	tok, err := secret.Parse(c.Value)
	if err != nil {
		return secret.Token{}, false
	}
	return tok, true
}

// Now is the service's clock: every time that decides an expiry comes
// from it.
func (k *Kit) Now() time.Time { return k.Svc.Config().Now() }
