package httpx

import (
	"net/url"
	"strings"
)

// DefaultReturn is where the browser goes after sign-in without a usable
// return_to.
const DefaultReturn = "/account"

// maxReturnTo bounds return_to.
const maxReturnTo = 2048

// SafeReturnTo returns raw when it is a path on this origin, else
// DefaultReturn. raw is the value as the form or query string decoded it.
// It must start with exactly one "/" (not "//" nor "/\", which browsers read
// as another host), hold no backslash and no control character (no CR/LF,
// no tab, which browsers strip), and parse as a URL with no scheme, host or
// user; the same must hold after each further percent-decoding, so that a
// proxy or framework that decodes again ("/%2F%2Fevil.example") cannot turn
// it into another origin. Every redirect to a client-supplied place goes
// through here.
func SafeReturnTo(raw string) string {
	if raw == "" || len(raw) > maxReturnTo {
		return DefaultReturn
	}
	s := raw
	for range 4 {
		if !isLocalPath(s) {
			return DefaultReturn
		}
		d, err := url.PathUnescape(s)
		if err != nil {
			return DefaultReturn
		}
		if d == s {
			return raw
		}
		s = d
	}
	return DefaultReturn // encoded more than three times over: no one does that
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

// LoginURL is the sign-in page that comes back to returnTo, with the notice
// msg (a key of the page's fixed texts).
func LoginURL(returnTo, msg string) string {
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
