package httpx

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
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tessera-auth/tessera/auth"
)

// The HTML pages are server-rendered from templates embedded in the binary:
// one layout and one style sheet here, each feature's own pages in its
// package. They need no JavaScript and load nothing from another origin.
//
// Security policy, for every page:
//
//   - Every state change is a POST form, checked by the cross-origin check
//     before anything else (Kit.Form), the sign-in form included (login
//     CSRF); a refused request gets a 403 page and changes nothing. GET and
//     HEAD never change state, and there is no method override.
//   - A strict Content-Security-Policy (no script at all, styles and images
//     from this origin only, forms post to this origin only,
//     frame-ancestors 'none'), X-Frame-Options DENY, Cache-Control no-store
//     and Referrer-Policy no-referrer.
//   - After sign-in the browser is sent only to a same-origin path
//     (SafeReturnTo).

// ContentSecurityPolicy is sent with every page: no script, styles and
// images from this origin only, forms to this origin only, no framing.
const ContentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// MaxFormBytes bounds a form body.
const MaxFormBytes = 64 << 10

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

type asset struct {
	body        []byte
	contentType string
	version     string // a hash of body, for cache-busting URLs
}

// site is what every page shares: the layout, the error page, the assets and
// the template functions.
type site struct {
	assets map[string]asset
	urls   map[string]string // asset name → versioned URL
	funcs  template.FuncMap
	base   *template.Template // the layout
	errors *Pages
}

func newSite() *site {
	s := &site{assets: loadAssets(), funcs: template.FuncMap{
		"ago":       Ago,
		"timestamp": func(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04 UTC") },
		"isoTime":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"join":      strings.Join,
	}}
	s.urls = make(map[string]string, len(s.assets))
	for name, a := range s.assets {
		s.urls[name] = "/assets/" + name + "?v=" + a.version
	}
	s.base = template.Must(template.New("layout.html").Funcs(s.funcs).ParseFS(templateFS, "templates/layout.html"))
	return s
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

// Pages is one feature's page templates, each parsed onto the shared layout.
// A page template defines "content".
type Pages struct {
	kit   *Kit
	pages map[string]*template.Template
}

// Pages parses every templates/*.html of fsys (a feature's embedded
// templates) onto the layout; funcs adds the feature's own template
// functions. It panics on a template error: templates are part of the binary.
func (k *Kit) Pages(fsys fs.FS, funcs template.FuncMap) *Pages {
	ps := &Pages{kit: k, pages: make(map[string]*template.Template)}
	names, err := fs.Glob(fsys, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, name := range names {
		if name == "templates/layout.html" {
			continue
		}
		t := template.Must(k.site.base.Clone()).Funcs(funcs)
		ps.pages[strings.TrimSuffix(strings.TrimPrefix(name, "templates/"), ".html")] = template.Must(t.ParseFS(fsys, name))
	}
	return ps
}

// View is what every template gets.
type View struct {
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

// Render writes page with the given status. Templates run into a buffer
// first, so that a template error is a clean 500.
func (ps *Pages) Render(w http.ResponseWriter, r *http.Request, status int, page string, v *View) {
	t, ok := ps.pages[page]
	if !ok {
		panic("httpx: no template " + page)
	}
	k := ps.kit
	v.Assets = k.site.urls
	if v.Now.IsZero() {
		v.Now = k.Now()
	}
	if v.User != nil {
		v.Admin = v.User.HasRole(auth.RoleAdmin)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		k.Log.Error("rendering page", "page", page, "request_id", RequestID(r.Context()), "err", err)
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString("internal error\n")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
	}
	SetPageHeaders(w)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

// SetPageHeaders sets the security headers of every page.
func SetPageHeaders(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", ContentSecurityPolicy)
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
}

// ErrorPage is the data of the error page.
type ErrorPage struct {
	Heading, Message, RequestID string
	Status                      int
}

// RenderError answers with an error page; user, when known, keeps the
// navigation.
func (k *Kit) RenderError(w http.ResponseWriter, r *http.Request, status int, user *auth.User, heading, message string) {
	k.site.errors.Render(w, r, status, "error", &View{Title: heading, User: user, Data: ErrorPage{
		Heading: heading, Message: message, Status: status, RequestID: RequestID(r.Context()),
	}})
}

// Fail answers an error from the service that no form can show: internal
// errors are logged and shown without detail.
func (k *Kit) Fail(w http.ResponseWriter, r *http.Request, err error) {
	status := Status(err)
	if status >= 500 {
		k.Log.LogAttrs(r.Context(), slog.LevelError, "page failed", slog.String("request_id", RequestID(r.Context())),
			slog.String("path", r.URL.Path), slog.String("err", err.Error()))
	}
	SetRetryAfter(w, err)
	if status == http.StatusInternalServerError {
		k.RenderError(w, r, status, nil, "Something went wrong", "The server could not complete this request. Try again in a moment.")
		return
	}
	k.RenderError(w, r, status, nil, http.StatusText(status), Sentence(auth.ErrorMessage(err)))
}

// Form wraps a page's state-changing handler: the cross-origin check comes
// first, then the body is bounded and parsed.
func (k *Kit) Form(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := k.CheckOrigin(r); err != nil {
			k.DenyCrossOrigin(w, r)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
		if err := r.ParseForm(); err != nil {
			k.RenderError(w, r, http.StatusBadRequest, nil, "Bad request", "The form could not be read.")
			return
		}
		next(w, r)
	}
}

// DenyCrossOrigin answers a form sent from another origin.
func (k *Kit) DenyCrossOrigin(w http.ResponseWriter, r *http.Request) {
	k.RenderError(w, r, http.StatusForbidden, nil, "Request refused",
		"This form was sent from another site, so it was refused and nothing was changed. Open the page on this site and try again.")
}

// ServeAsset serves GET /assets/{name}: the style sheet and icon, cached for
// good under their versioned URL.
func (k *Kit) ServeAsset(w http.ResponseWriter, r *http.Request) {
	a, ok := k.site.assets[r.PathValue("name")]
	if !ok {
		k.RenderError(w, r, http.StatusNotFound, nil, "Not found", "There is no such page.")
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

// Redirect answers 303 See Other: after a POST the browser GETs location.
// location must be a same-origin path.
func Redirect(w http.ResponseWriter, location string) {
	SetPageHeaders(w)
	w.Header().Set("Location", location)
	w.WriteHeader(http.StatusSeeOther)
}

// ErrNoSession: the request has no live session; the caller sends it to the
// sign-in page.
var ErrNoSession = errors.New("httpx: not signed in")

// PagePrincipal authenticates a page request by its session cookie. It
// returns ErrNoSession when there is no cookie or its session is not live,
// and the service's error for anything else.
func (k *Kit) PagePrincipal(r *http.Request) (*auth.Principal, error) {
	tok, ok := k.SessionCookie(r)
	if !ok {
		return nil, ErrNoSession
	}
	p, err := k.Svc.Authenticate(r.Context(), tok, k.Client(r))
	if auth.ErrorCode(err) == auth.CodeUnauthenticated {
		return nil, ErrNoSession
	}
	return p, err
}

// SignedIn returns the principal, or answers the request itself (a redirect
// to the sign-in page that comes back to returnTo, or an error page) and
// returns nil.
func (k *Kit) SignedIn(w http.ResponseWriter, r *http.Request, returnTo string) *auth.Principal {
	p, err := k.PagePrincipal(r)
	switch {
	case err == nil:
		return p
	case errors.Is(err, ErrNoSession):
		msg := ""
		if _, had := k.SessionCookie(r); had {
			// A cookie whose session ended (signed out elsewhere, expired,
			// revoked by an admin): drop it and say so.
			k.ClearSessionCookie(w)
			msg = "ended"
		}
		Redirect(w, LoginURL(returnTo, msg))
	default:
		k.Fail(w, r, err)
	}
	return nil
}

// Flash returns the confirmation named by a redirect's msg parameter. Only
// these fixed texts are shown: the parameter never reaches the page.
func Flash(r *http.Request, texts map[string]string) string {
	return texts[r.URL.Query().Get("msg")]
}

// Sentence makes a service message ("password is too short") a sentence for
// a page.
func Sentence(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:] + "."
}

// Ago says how long before now t was, in words.
func Ago(now, t time.Time) string {
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

// Device is a session as the device lists (the account page, an admin's
// view of a user) show it.
type Device struct {
	ID         string
	Agent      UserAgent
	IP         string
	CreatedAt  time.Time
	LastSeenAt time.Time
	Current    bool
}

// Devices lists sessions, the current one first, then by last use.
func Devices(list []*auth.Session, current string) []Device {
	out := make([]Device, 0, len(list))
	for _, s := range list {
		ip := s.LastIP
		if ip == "" {
			ip = s.CreatedIP
		}
		ua := s.LastUA
		if ua == "" {
			ua = s.CreatedUA
		}
		out = append(out, Device{ID: s.ID, Agent: ParseUserAgent(ua), IP: ip, CreatedAt: s.CreatedAt, LastSeenAt: s.LastSeenAt, Current: s.ID == current})
	}
	slices.SortStableFunc(out, func(a, b Device) int {
		if a.Current != b.Current {
			if a.Current {
				return -1
			}
			return 1
		}
		return b.LastSeenAt.Compare(a.LastSeenAt)
	})
	return out
}

// SignOut ends the page request's session, clears the cookie and sends the
// browser to the sign-in page. Without a live session it only clears the
// cookie.
func (k *Kit) SignOut(w http.ResponseWriter, r *http.Request) {
	p, err := k.PagePrincipal(r)
	switch {
	case err == nil:
		if err := k.Svc.Logout(r.Context(), p); err != nil {
			k.Fail(w, r, err)
			return
		}
	case !errors.Is(err, ErrNoSession):
		k.Fail(w, r, err)
		return
	}
	k.ClearSessionCookie(w)
	Redirect(w, LoginURL("", "signed-out"))
}
