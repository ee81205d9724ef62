package httpx

import (
	"net/url"
	"strings"
	"testing"
)

// returnToVectors are return_to values as the form or query decoder hands
// them over, with what SafeReturnTo makes of them.
var returnToVectors = []struct {
	name, in, want string
}{
	{"Empty", "", "/account"},
	{"Account", "/account", "/account"},
	{"Admin", "/admin", "/admin"},
	{"QueryAndFragment", "/admin?q=ada%40example.com#users", "/admin?q=ada%40example.com#users"},
	{"EncodedPath", "/admin/users/a%20b", "/admin/users/a%20b"},
	{"Unicode", "/caf\u00e9", "/caf\u00e9"},
	{"Dots", "/../admin", "/../admin"}, // resolves on this origin

	{"ErrProtocolRelative", "//evil.example", "/account"},
	{"ErrProtocolRelativePath", "//evil.example/account", "/account"},
	{"ErrTripleSlash", "///evil.example", "/account"},
	{"ErrBackslash", "/\\evil.example", "/account"},
	{"ErrBackslashLater", "/account\\..\\\\evil.example", "/account"},
	{"ErrAbsolute", "https://evil.example", "/account"},
	{"ErrAbsoluteHTTP", "http://evil.example/account", "/account"},
	{"ErrSchemeNoSlashes", "https:evil.example", "/account"},
	{"ErrSchemeOneSlash", "http:/evil.example", "/account"},
	{"ErrJavascript", "javascript:alert(1)", "/account"},
	{"ErrData", "data:text/html,<script>alert(1)</script>", "/account"},
	{"ErrRelative", "account", "/account"},
	{"ErrHostOnly", "evil.example", "/account"},
	{"ErrEncodedSlashes", "/%2F%2Fevil.example", "/account"},
	{"ErrEncodedSlashesLower", "/%2f%2fevil.example", "/account"},
	{"ErrEncodedSlashOnce", "/%2Fevil.example", "/account"},
	{"ErrEncodedBackslash", "/%5Cevil.example", "/account"},
	{"ErrDoubleEncoded", "/%252F%252Fevil.example", "/account"},
	{"ErrTripleEncoded", "/%25252F%25252Fevil.example", "/account"},
	{"ErrFullyEncoded", "%2F%2Fevil.example", "/account"},
	{"ErrCRLF", "/account\r\nSet-Cookie: a=b", "/account"},
	{"ErrEncodedCRLF", "/account%0d%0aSet-Cookie:%20a=b", "/account"},
	{"ErrTab", "/\t/evil.example", "/account"},
	{"ErrNUL", "/account\x00", "/account"},
	{"ErrDEL", "/\x7f/evil.example", "/account"},
	{"ErrBadEscape", "/%zz", "/account"},
	{"ErrUserinfo", "//user@evil.example", "/account"},
	{"ErrTooLong", "/" + strings.Repeat("a", maxReturnTo), "/account"},
}

func TestSafeReturnTo(t *testing.T) {
	for _, v := range returnToVectors {
		t.Run(v.name, func(t *testing.T) {
			if got := SafeReturnTo(v.in); got != v.want {
				t.Errorf("SafeReturnTo(%q) = %q, want %q", v.in, got, v.want)
			}
		})
	}
}

// FuzzSafeReturnTo: whatever comes in, what goes out is this origin's.
func FuzzSafeReturnTo(f *testing.F) {
	for _, v := range returnToVectors {
		f.Add(v.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := SafeReturnTo(in)
		if out != DefaultReturn && out != in {
			t.Fatalf("SafeReturnTo(%q) = %q: neither the input nor the default", in, out)
		}
		base, _ := url.Parse("https://tessera.example/login")
		for s := out; ; {
			ref, err := url.Parse(s)
			if err != nil {
				t.Fatalf("SafeReturnTo(%q) = %q, which does not parse: %v", in, out, err)
			}
			if got := base.ResolveReference(ref); got.Host != base.Host || got.Scheme != base.Scheme {
				t.Fatalf("SafeReturnTo(%q) = %q leads to %s", in, out, got)
			}
			if strings.ContainsAny(s, "\\\r\n\t\x00") {
				t.Fatalf("SafeReturnTo(%q) = %q has a backslash or control character", in, out)
			}
			d, err := url.PathUnescape(s)
			if err != nil || d == s {
				break
			}
			s = d
		}
	})
}
