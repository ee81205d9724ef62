package secret

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestNewIsUniqueAndFullEntropy(t *testing.T) {
	seen := make(map[string]bool, 10000)
	for i := 0; i < 10000; i++ {
		tok := New()
		if len(tok.Reveal()) != TextLen || TextLen != 43 {
			t.Fatalf("token length %d, want 43", len(tok.Reveal()))
		}
		if seen[tok.Reveal()] {
			t.Fatalf("duplicate token after %d draws", i)
		}
		seen[tok.Reveal()] = true
	}
}

func TestParse(t *testing.T) {
	good := New().Reveal()
	if _, err := Parse(good); err != nil {
		t.Fatalf("Parse(valid) = %v", err)
	}
	bad := map[string]string{
		"Empty":        "",
		"Short":        good[:42],
		"Long":         good + "A",
		"Padding":      good[:42] + "=",
		"StdAlphabet":  "+" + good[1:],
		"Slash":        "/" + good[1:],
		"Newline":      good[:20] + "\n" + good[21:],
		"TrailingBits": good[:42] + "B", // 43rd char carries 2 bits that must be zero; 'B' sets one
		"NUL":          good[:10] + "\x00" + good[11:],
	}
	for name, s := range bad {
		t.Run("Err"+name, func(t *testing.T) {
			if name == "TrailingBits" && strings.IndexByte("AEIMQUYcgkosw048", good[42]) < 0 {
				t.Fatalf("generated token has non-canonical last char %q", good[42])
			}
			if _, err := Parse(s); err == nil {
				t.Fatalf("Parse(%q) accepted", s)
			}
		})
	}
}

func TestNeverPrints(t *testing.T) {
	tok := New()
	raw := tok.Reveal()
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("x", "token", tok)
	out := buf.String() + fmt.Sprintf("%v %+v %#v %s", tok, tok, tok, tok) + fmt.Sprint(struct{ T Token }{tok})
	if strings.Contains(out, raw) {
		t.Fatalf("secret leaked into output: %s", out)
	}
}

func TestHashIsSHA256OfText(t *testing.T) {
	tok := New()
	want := sha256.Sum256([]byte(tok.Reveal()))
	if got := tok.Hash(); !got.Equal(want) {
		t.Fatal("Hash is not SHA-256 of the text")
	}
	if other := New(); tok.Equal(other) || tok.Hash().Equal(other.Hash()) {
		t.Fatal("different tokens compare equal")
	}
}
