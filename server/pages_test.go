package server_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/tessera-auth/tessera/server/servertest"
)

// TestNoExternalResources: no page has a script, an inline style, or a
// reference to another origin.
func TestNoExternalResources(t *testing.T) {
	e := servertest.New(t)
	root := e.MustUser("root@example.com", servertest.Password, "admin")
	c := e.LoginPage("root@example.com", servertest.Password)
	ref := regexp.MustCompile(`(?i)(src|href|action)\s*=\s*"([^"]*)"`)
	for _, path := range []string{"/login", "/account", "/admin", "/admin/users/" + root.ID, "/admin/users/nobody"} {
		r := e.Do(servertest.Request{Path: path, Cookie: c})
		if path == "/login" {
			r = e.Do(servertest.Request{Path: path})
		}
		low := strings.ToLower(r.Text())
		if strings.Contains(low, "<script") || strings.Contains(low, " style=") || strings.Contains(low, "<style") || strings.Contains(low, "javascript:") {
			t.Errorf("%s has script or inline style", path)
		}
		for _, m := range ref.FindAllStringSubmatch(r.Text(), -1) {
			if u := m[2]; !strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "#") || strings.HasPrefix(u, "//") {
				t.Errorf("%s: %s=%q", path, m[1], u)
			}
		}
	}
}

func TestAssets(t *testing.T) {
	e := servertest.New(t)
	page := e.Do(servertest.Request{Path: "/login"}).Text()
	m := regexp.MustCompile(`href="(/assets/style\.css\?v=[0-9a-f]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no versioned style sheet link")
	}
	r := e.Do(servertest.Request{Path: m[1]})
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "text/css; charset=utf-8" || !strings.Contains(r.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("%s: %d %q %q", m[1], r.StatusCode, r.Header.Get("Content-Type"), r.Header.Get("Cache-Control"))
	}
	if r := e.Do(servertest.Request{Path: "/assets/style.css"}); r.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("unversioned: Cache-Control %q", r.Header.Get("Cache-Control"))
	}
	if r := e.Do(servertest.Request{Path: "/assets/icon.svg"}); r.StatusCode != 200 || r.Header.Get("Content-Type") != "image/svg+xml" {
		t.Errorf("icon: %d %q", r.StatusCode, r.Header.Get("Content-Type"))
	}
	for _, p := range []string{"/assets/nope.css", "/assets/", "/assets/..%2Fweb.go"} {
		if r := e.Do(servertest.Request{Path: p}); r.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d", p, r.StatusCode)
		}
	}
	if r := e.Do(servertest.Request{Path: "/"}); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/account" {
		t.Errorf("GET /: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
}
