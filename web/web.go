// Package web serves Tessera's HTML pages: sign-in (/login), the account page
// (/account: devices, password change, sign-out) and the admin console
// (/admin: users, their sessions, security events, signing keys).
//
// The pages are server-rendered from embedded templates and one embedded
// style sheet; they need no JavaScript and load nothing from another origin.
// They are mounted on the API server (httpapi.Server.Handle), behind its
// request ID, security header, panic recovery and access log middleware.
//
// Security policy:
//
//   - Every state change is a POST form, checked by http.CrossOriginProtection
//     before anything else, the login form included (login CSRF); a refused
//     request gets a 403 page and changes nothing. GET and HEAD never change
//     state, and there is no method override.
//   - Every page sends a strict Content-Security-Policy (no script at all,
//     styles and images from this origin only, forms post to this origin only,
//     frame-ancestors 'none'), X-Frame-Options DENY and Cache-Control no-store.
//   - The session cookie is the API's (same name, attributes and lifetime):
//     __Host-, Secure, HttpOnly, SameSite=Lax, Path=/.
//   - After sign-in the browser is sent only to a same-origin path taken from
//     return_to (see safeReturnTo); anything else goes to /account.
//   - /admin and everything under it needs the admin role, checked on every
//     request; others get a 403 page.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/httpapi"
	"github.com/tessera-auth/tessera/secret"
)

// Config tunes the pages. Zero values are the defaults; InsecureCookie and
// TrustedProxies must match the httpapi.Config of the server the pages are
// mounted on.
type Config struct {
	// InsecureCookie uses httpapi.InsecureCookieName without Secure, as
	// httpapi.Config.InsecureCookie does.
	InsecureCookie bool
	// TrustedProxies are the peers whose X-Forwarded-For is believed when
	// taking the client IP (for login throttling and the device list).
	TrustedProxies []netip.Prefix
	Logger         *slog.Logger // default slog.Default()
}

// ContentSecurityPolicy is sent with every page: no script, styles and
// images from this origin only, forms to this origin only, no framing.
const ContentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// maxFormBytes bounds a form body.
const maxFormBytes = 64 << 10

// Handler serves the pages.
type Handler struct {
	svc    *auth.Service
	cfg    Config
	log    *slog.Logger
	cookie string
	cop    *http.CrossOriginProtection
	pages  map[string]*template.Template
	assets map[string]asset
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

type asset struct {
	body        []byte
	contentType string
	version     string // a hash of body, for cache-busting URLs
}

// New returns the pages for svc.
func New(svc *auth.Service, cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	h := &Handler{svc: svc, cfg: cfg, log: cfg.Logger, cookie: httpapi.CookieName, cop: http.NewCrossOriginProtection()}
	if cfg.InsecureCookie {
		h.cookie = httpapi.InsecureCookieName
	}
	h.cop.SetDenyHandler(http.HandlerFunc(h.denyCrossOrigin))
	h.assets = loadAssets()
	h.pages = parseTemplates(h.funcs())
	return h
}

// Mux is where the pages are mounted: *httpapi.Server and *http.ServeMux
// both are one.
type Mux interface {
	Handle(pattern string, h http.Handler)
}

// Mount registers the pages' routes on m, in the order of Routes.
func (h *Handler) Mount(m Mux) {
	for _, r := range h.routes() {
		m.Handle(r.pattern, r.handler)
	}
}

// Routes returns the pattern of every route Mount registers.
func (h *Handler) Routes() []string {
	var out []string
	for _, r := range h.routes() {
		out = append(out, r.pattern)
	}
	return out
}

type route struct {
	pattern string
	handler http.HandlerFunc
}

func (h *Handler) routes() []route {
	return []route{
		{"GET /{$}", h.handleRoot},
		{"GET /assets/{name}", h.handleAsset},
		{"GET /login", h.handleLoginPage},
		{"POST /login", h.post(h.handleLogin)},
		{"GET /account", h.handleAccount},
		{"POST /account/logout", h.post(h.handleLogout)},
		{"POST /account/sessions/revoke", h.post(h.handleRevokeDevice)},
		{"POST /account/sessions/revoke-others", h.post(h.handleRevokeOthers)},
		{"POST /account/password", h.post(h.handleChangePassword)},
		{"GET /admin", h.handleAdmin},
		{"GET /admin/users/{id}", h.handleAdminUser},
		{"POST /admin/users/{id}/disabled", h.post(h.handleAdminDisabled)},
		{"POST /admin/users/{id}/roles", h.post(h.handleAdminRoles)},
		{"POST /admin/users/{id}/sessions/revoke", h.post(h.handleAdminRevoke)},
		{"POST /admin/keys/rotate", h.post(h.handleAdminRotate)},
	}
}

// post wraps a state-changing handler: the cross-origin check comes first,
// then the body is bounded and parsed.
func (h *Handler) post(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h.cop.Check(r); err != nil {
			h.denyCrossOrigin(w, r)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			h.renderError(w, r, http.StatusBadRequest, "Bad request", "The form could not be read.")
			return
		}
		next(w, r)
	}
}

// denyCrossOrigin answers a form sent from another origin.
func (h *Handler) denyCrossOrigin(w http.ResponseWriter, r *http.Request) {
	h.renderError(w, r, http.StatusForbidden, "Request refused",
		"This form was sent from another site, so it was refused and nothing was changed. Open the page on this site and try again.")
}

func (h *Handler) handleRoot(w http.ResponseWriter, r *http.Request) {
	redirect(w, "/account")
}

func (h *Handler) handleAsset(w http.ResponseWriter, r *http.Request) {
	a, ok := h.assets[r.PathValue("name")]
	if !ok {
		h.renderError(w, r, http.StatusNotFound, "Not found", "There is no such page.")
		return
	}
	w.Header().Set("Content-Type", a.contentType)
	if r.URL.Query().Get("v") == a.version {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(a.body)))
	w.Write(a.body)
}

func loadAssets() map[string]asset {
	types := map[string]string{".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
	out := make(map[string]asset)
	entries, err := fs.ReadDir(assetFS, "assets")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		b, err := assetFS.ReadFile("assets/" + e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(b)
		ext := e.Name()[strings.LastIndexByte(e.Name(), '.'):]
		out[e.Name()] = asset{body: b, contentType: types[ext], version: hex.EncodeToString(sum[:6])}
	}
	return out
}

// view is what every template gets.
type view struct {
	Title  string
	Nav    string // "account" or "admin": the current section
	User   *auth.User
	Admin  bool
	Flash  string // a confirmation after a redirect
	Error  string // what went wrong with the form just sent
	Assets map[string]string
	Data   any // the page's own
	Now    time.Time
}

func parseTemplates(funcs template.FuncMap) map[string]*template.Template {
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html"))
	pages := make(map[string]*template.Template)
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, name := range names {
		name = strings.TrimPrefix(name, "templates/")
		if name == "layout.html" {
			continue
		}
		pages[strings.TrimSuffix(name, ".html")] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, "templates/"+name))
	}
	return pages
}

func (h *Handler) funcs() template.FuncMap {
	return template.FuncMap{
		"ago":       ago,
		"timestamp": func(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04 UTC") },
		"isoTime":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"device":    func(ua string) UserAgent { return ParseUserAgent(ua) },
		"join":      strings.Join,
		"eventLabel": func(typ string) string {
			if l, ok := eventLabels[typ]; ok {
				return l
			}
			return typ
		},
	}
}

// render writes page with the given status. Templates run into a buffer
// first, so that a template error is a clean 500.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, page string, v *view) {
	t, ok := h.pages[page]
	if !ok {
		panic("web: no template " + page)
	}
	v.Assets = make(map[string]string, len(h.assets))
	for name, a := range h.assets {
		v.Assets[name] = "/assets/" + name + "?v=" + a.version
	}
	if v.Now.IsZero() {
		v.Now = h.now()
	}
	if v.User != nil {
		v.Admin = v.User.HasRole(adminRole)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		h.log.Error("rendering page", "page", page, "request_id", w.Header().Get("X-Request-Id"), "err", err)
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString("internal error\n")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
	}
	setPageHeaders(w)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

func setPageHeaders(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", ContentSecurityPolicy)
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
}

type errorPage struct {
	Heading, Message, RequestID string
	Status                      int
}

// renderError answers with an error page.
func (h *Handler) renderError(w http.ResponseWriter, r *http.Request, status int, heading, message string) {
	h.render(w, r, status, "error", &view{Title: heading, Data: errorPage{
		Heading: heading, Message: message, Status: status, RequestID: w.Header().Get("X-Request-Id"),
	}})
}

// fail answers an error from the service that no form can show: internal
// errors are logged and shown without detail.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	if status >= 500 {
		h.log.LogAttrs(r.Context(), slog.LevelError, "page failed", slog.String("request_id", w.Header().Get("X-Request-Id")),
			slog.String("path", r.URL.Path), slog.String("err", err.Error()))
	}
	setRetryAfter(w, err)
	heading := http.StatusText(status)
	if status == http.StatusInternalServerError {
		h.renderError(w, r, status, "Something went wrong", "The server could not complete this request. Try again in a moment.")
		return
	}
	h.renderError(w, r, status, heading, capitalize(auth.ErrorMessage(err))+".")
}

// statusOf maps the service's error codes to the statuses of the pages.
func statusOf(err error) int {
	switch auth.ErrorCode(err) {
	case auth.CodeInvalidRequest, auth.CodeWeakPassword:
		return http.StatusBadRequest
	case auth.CodeInvalidCredentials:
		return http.StatusUnauthorized
	case auth.CodeForbidden, auth.CodeCrossOrigin:
		return http.StatusForbidden
	case auth.CodeNotFound:
		return http.StatusNotFound
	case auth.CodeConflict:
		return http.StatusConflict
	case auth.CodeThrottled:
		return http.StatusTooManyRequests
	case auth.CodeBusy:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func setRetryAfter(w http.ResponseWriter, err error) {
	var ae *auth.Error
	if errors.As(err, &ae) && ae.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retrySeconds(ae.RetryAfter)))
	}
}

// retrySeconds rounds a wait up to whole seconds, at least 1.
func retrySeconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// redirect answers 303 See Other: after a POST the browser GETs location.
// location must be a same-origin path.
func redirect(w http.ResponseWriter, location string) {
	setPageHeaders(w)
	w.Header().Set("Location", location)
	w.WriteHeader(http.StatusSeeOther)
}

// loginURL is the sign-in page that comes back to returnTo.
func loginURL(returnTo, msg string) string {
	q := url.Values{}
	if returnTo != "" {
		q.Set("return_to", returnTo)
	}
	if msg != "" {
		q.Set("msg", msg)
	}
	if len(q) == 0 {
		return "/login"
	}
	return "/login?" + q.Encode()
}

func (h *Handler) now() time.Time { return h.svc.Config().Now() }

// The session cookie, as httpapi sets and clears it.

func (h *Handler) setSessionCookie(w http.ResponseWriter, tok secret.Token, expires time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name:     h.cookie,
		Value:    tok.Reveal(),
		Path:     "/",
		Expires:  expires,
		MaxAge:   max(1, int(expires.Sub(h.now()).Seconds())),
		Secure:   !h.cfg.InsecureCookie,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
}

func (h *Handler) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: h.cookie, Value: "", Path: "/", MaxAge: -1,
		Secure: !h.cfg.InsecureCookie, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}

// sessionToken is the secret in the request's session cookie, if it holds a
// well-formed one.
func (h *Handler) sessionToken(r *http.Request) (secret.Token, bool) {
	c, err := r.Cookie(h.cookie)
	if err != nil || len(c.Value) > httpapi.MaxCredentialBytes {
		return secret.Token{}, false
	}
	tok, err := secret.Parse(c.Value)
	if err != nil {
		return secret.Token{}, false
	}
	return tok, true
}

// errNoSession: the request has no live session; the caller sends it to the
// sign-in page.
var errNoSession = errors.New("web: not signed in")

// principal authenticates the request by its session cookie. It returns
// errNoSession when there is no cookie or its session is not live, and the
// service's error for anything else.
func (h *Handler) principal(r *http.Request) (*auth.Principal, error) {
	tok, ok := h.sessionToken(r)
	if !ok {
		return nil, errNoSession
	}
	p, err := h.svc.Authenticate(r.Context(), tok, h.client(r))
	if auth.ErrorCode(err) == auth.CodeUnauthenticated {
		return nil, errNoSession
	}
	return p, err
}

// signedIn returns the principal, or answers the request itself (a redirect
// to the sign-in page that comes back to returnTo, or an error page) and
// returns nil.
func (h *Handler) signedIn(w http.ResponseWriter, r *http.Request, returnTo string) *auth.Principal {
	p, err := h.principal(r)
	switch {
	case err == nil:
		return p
	case errors.Is(err, errNoSession):
		msg := ""
		if _, had := h.sessionToken(r); had {
			// A cookie whose session ended (signed out elsewhere, expired,
			// revoked by an admin): drop it and say so.
			h.clearSessionCookie(w)
			msg = "ended"
		}
		redirect(w, loginURL(returnTo, msg))
	default:
		h.fail(w, r, err)
	}
	return nil
}

// client is who is calling, as httpapi takes it.
func (h *Handler) client(r *http.Request) auth.Client {
	return auth.Client{IP: h.clientIP(r), UserAgent: r.UserAgent()}
}

// clientIP is httpapi's rule for the client address, so that the pages and
// the API record and throttle the same address.
func (h *Handler) clientIP(r *http.Request) string { return httpapi.ClientIP(r, h.cfg.TrustedProxies) }

// ago says how long before now t was, in words.
func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 24*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	case d < 7*24*time.Hour:
		return plural(int(d/(24*time.Hour)), "day") + " ago"
	}
	if t.Year() == now.Year() {
		return t.UTC().Format("2 Jan")
	}
	return t.UTC().Format("2 Jan 2006")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// flash returns the confirmation named by a redirect's msg parameter. Only
// these fixed texts are shown: the parameter never reaches the page.
func flash(r *http.Request, texts map[string]string) string {
	return texts[r.URL.Query().Get("msg")]
}
