package secret

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics and accepts only the canonical
// text form of 32 bytes: exactly TextLen characters of the base64url
// alphabet that decode to 32 bytes and encode back to the same text. Session
// cookies, bearer session tokens and refresh tokens all pass through Parse
// before anything else looks at them.
func FuzzParse(f *testing.F) {
	good := MustFrom(bytes.NewReader(bytes.Repeat([]byte{0xA5}, Size))).Reveal()
	for _, s := range []string{
		good,
		strings.Repeat("A", TextLen),
		strings.Repeat("_", TextLen),
		strings.Repeat("A", TextLen-1) + "B", // non-zero trailing bits
		strings.Repeat("A", TextLen-1) + "E", // canonical last character
		good[:TextLen-1] + "=",
		good[:TextLen-2] + "\r\n",
		good[:20] + "\n" + good[21:],
		good + "=",
		good[:TextLen-1],
		strings.ReplaceAll(good, "_", "/"),
		strings.ReplaceAll(good, "-", "+"),
		"", " ", "\x00", strings.Repeat("A", 1<<10),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := Parse(s)
		if err != nil {
			if err != ErrMalformed || !tok.IsZero() {
				t.Fatalf("Parse(%q) = %v, %v; want the zero Token and ErrMalformed", s, tok.IsZero(), err)
			}
			return
		}
		if len(s) != TextLen || tok.Reveal() != s || tok.IsZero() {
			t.Fatalf("Parse(%q) accepted text of length %d", s, len(s))
		}
		b, err := enc.DecodeString(s)
		if err != nil || len(b) != Size {
			t.Fatalf("Parse(%q) accepted text that does not decode to %d bytes: %v", s, Size, err)
		}
		if again := enc.EncodeToString(b); again != s {
			t.Fatalf("Parse(%q) accepted a non-canonical form of %q", s, again)
		}
		if !tok.Equal(Token{text: s}) || tok.Hash() != HashBytes(s) {
			t.Fatal("Equal or Hash disagree with the text")
		}
		if strings.Contains(tok.String()+tok.GoString()+tok.LogValue().String(), s) {
			t.Fatal("the token printed itself")
		}
	})
}
