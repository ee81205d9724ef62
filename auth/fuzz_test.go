package auth

import (
	"net/mail"
	"slices"
	"strings"
	"testing"
)

// FuzzNormalizeEmail: every login and every account change passes the
// client's email through NormalizeEmail. It must never panic; what it
// accepts is a bare address of at most 254 bytes, returned lower-cased; and
// normalising is idempotent, so that the stored form finds the same account
// again (the CLI and the admin API look users up by it).
func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{
		"ada@example.com", "ADA@EXAMPLE.COM", "Ada <ada@example.com>", "<ada@example.com>",
		`"a b"@example.com`, "a@b", "@", "a@", "@b", "a@@b", "a@[127.0.0.1]", "(c)a@example.com",
		"ada@example.com\x00", "ada@example.com\r\nBcc: x@y", "=?utf-8?q?ada?= <ada@example.com>",
		"\u212Aate@example.com", "İ@example.com", "ǅ@example.com",
		strings.Repeat("a", 64) + "@" + strings.Repeat("b", 189), strings.Repeat("a", 250) + "@e.co",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := NormalizeEmail(s)
		if err != nil {
			if out != "" || ErrorCode(err) != CodeInvalidRequest {
				t.Fatalf("NormalizeEmail(%q) = %q, %v", s, out, err)
			}
			return
		}
		if len(s) > 254 || !strings.Contains(s, "@") || out != strings.ToLower(s) {
			t.Fatalf("NormalizeEmail(%q) = %q", s, out)
		}
		if a, err := mail.ParseAddress(s); err != nil || a.Name != "" || a.Address != s {
			t.Fatalf("NormalizeEmail(%q) accepted what is not a bare address", s)
		}
		if again, err := NormalizeEmail(out); err != nil || again != out {
			t.Fatalf("NormalizeEmail is not idempotent: %q → %q → %q, %v", s, out, again, err)
		}
	})
}

// FuzzParseScope: scopes come from login bodies and token requests. What
// parseScope accepts is a list of distinct printable-ASCII tokens without
// '"' or '\', which joined with spaces parses back to the same list.
func FuzzParseScope(f *testing.F) {
	for _, s := range []string{"", " ", "a b", "a  a", "read:invoices write", `a"b`, `a\b`, "a\tb", "é", "a\x7fb", strings.Repeat("s ", 600)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := parseScope(s)
		if err != nil {
			if ErrorCode(err) != CodeInvalidRequest {
				t.Fatalf("parseScope(%q): %v", s, err)
			}
			return
		}
		if len(s) > 1024 {
			t.Fatalf("parseScope accepted %d bytes", len(s))
		}
		for i, sc := range out {
			if sc == "" || strings.ContainsFunc(sc, func(r rune) bool { return r < 0x21 || r > 0x7e || r == '"' || r == '\\' }) {
				t.Fatalf("parseScope(%q) returned %q", s, sc)
			}
			if slices.Contains(out[:i], sc) {
				t.Fatalf("parseScope(%q) returned %q twice", s, sc)
			}
		}
		again, err := parseScope(strings.Join(out, " "))
		if err != nil || !slices.Equal(again, out) {
			t.Fatalf("parseScope(%q) = %q does not round-trip: %q, %v", s, out, again, err)
		}
	})
}
