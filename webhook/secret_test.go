package webhook_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/webhook"
)

// The signature vector of the Standard Webhooks reference libraries.
const (
	specSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specMsgID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTimestamp = 1614265330
	specPayload   = `{"test": 2432232314}`
	specSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignVector(t *testing.T) {
	sec, err := webhook.ParseSecret(specSecret)
	if err != nil {
		t.Fatalf("ParseSecret: %v", err)
	}
	if got := sec.Sign(specMsgID, time.Unix(specTimestamp, 0), []byte(specPayload)); got != specSignature {
		t.Errorf("Sign = %s, want %s", got, specSignature)
	}
	// The prefix is optional, as in the reference libraries.
	bare, err := webhook.ParseSecret(strings.TrimPrefix(specSecret, "whsec_"))
	if err != nil || !bare.Equal(sec) {
		t.Errorf("ParseSecret without the prefix: %v, equal %v", err, bare.Equal(sec))
	}
	if got := sec.Sign(specMsgID, time.Unix(specTimestamp+1, 0), []byte(specPayload)); got == specSignature {
		t.Error("Sign does not depend on the timestamp")
	}
}

func ExampleSecret_Sign() {
	sec, _ := webhook.ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	fmt.Println(sec.Sign("msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`)))
	// Output: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=
}

func TestNewSecret(t *testing.T) {
	a, err := webhook.NewSecret(nil)
	if err != nil {
		t.Fatal(err)
	}
	text := a.Reveal()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(text, "whsec_"))
	if !strings.HasPrefix(text, "whsec_") || err != nil || len(key) != 32 {
		t.Fatalf("Reveal = %q: want whsec_ and the base64 of 32 bytes (%v)", text, err)
	}
	back, err := webhook.ParseSecret(text)
	if err != nil || !back.Equal(a) {
		t.Fatalf("ParseSecret(Reveal()) = %v, equal %v", err, back.Equal(a))
	}
	b, _ := webhook.NewSecret(nil)
	if a.Equal(b) {
		t.Error("two new secrets are equal")
	}
	fixed, _ := webhook.NewSecret(bytes.NewReader(bytes.Repeat([]byte{1}, 32)))
	if want := "whsec_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32)); fixed.Reveal() != want {
		t.Errorf("NewSecret(fixed reader).Reveal() = %q, want %q", fixed.Reveal(), want)
	}
	if _, err := webhook.NewSecret(bytes.NewReader(nil)); err == nil {
		t.Error("NewSecret with a failing reader: no error")
	}
}

func TestParseSecretMalformed(t *testing.T) {
	for _, s := range []string{
		"",
		"whsec_",
		"whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 23)), // too short
		"whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 65)), // too long
		"whsec_" + base64.RawStdEncoding.EncodeToString(make([]byte, 32)),
		"whsec_" + base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32)),
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS\n",
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw ",
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS!",
	} {
		if _, err := webhook.ParseSecret(s); err != webhook.ErrMalformedSecret {
			t.Errorf("ParseSecret(%q) = %v, want ErrMalformedSecret", s, err)
		}
	}
}

func FuzzParseSecret(f *testing.F) {
	f.Add(specSecret)
	f.Add("whsec_")
	f.Add("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw==")
	f.Fuzz(func(t *testing.T, s string) {
		sec, err := webhook.ParseSecret(s)
		if err != nil {
			return
		}
		// What parses reveals a canonical form that parses to the same key.
		again, err := webhook.ParseSecret(sec.Reveal())
		if err != nil || !again.Equal(sec) || again.Reveal() != sec.Reveal() {
			t.Fatalf("ParseSecret(%q).Reveal() = %q does not round-trip: %v", s, sec.Reveal(), err)
		}
	})
}

// TestSecretRedacted: no fmt verb or slog handler prints the secret.
func TestSecretRedacted(t *testing.T) {
	sec, _ := webhook.ParseSecret(specSecret)
	key := strings.TrimPrefix(specSecret, "whsec_")
	var out bytes.Buffer
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		fmt.Fprintf(&out, verb+"\n", sec)
		fmt.Fprintf(&out, verb+"\n", struct{ S webhook.Secret }{sec})
		fmt.Fprintf(&out, verb+"\n", &sec)
	}
	slog.New(slog.NewJSONHandler(&out, nil)).Info("x", "secret", sec)
	slog.New(slog.NewTextHandler(&out, nil)).Info("x", "secret", sec)
	raw, _ := base64.StdEncoding.DecodeString(key)
	if s := out.String(); strings.Contains(s, key) || strings.Contains(s, fmt.Sprintf("%x", raw)) || bytes.Contains(out.Bytes(), raw) {
		t.Errorf("the secret was printed:\n%s", s)
	}
}
