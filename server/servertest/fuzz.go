package servertest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/server"
)

// FuzzEmail is the user that NewFuzz creates, with Password.
const FuzzEmail = "ada@example.com"

// NewFuzz is a server for fuzz targets: login throttling never kicks in, so
// that a long run of failures does not hide the successes behind 429s, and
// the user FuzzEmail exists.
func NewFuzz(f *testing.F) *Env {
	e := New(f, func(a *auth.Config, _ *server.Config) {
		a.AccountBurst, a.IPBurst = 1<<30, 1<<30
	})
	e.MustUser(FuzzEmail, Password)
	return e
}

// WireHeader reports whether v could arrive as a header value from the wire:
// net/http refuses control characters other than tab, and trims spaces and
// tabs around the value, which it returns here.
func WireHeader(v string) (string, bool) {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return "", false
		}
	}
	return strings.Trim(v, " \t"), true
}

// Serve runs one request through the handler, in process.
func (e *Env) Serve(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.API.ServeHTTP(w, r)
	return w
}
