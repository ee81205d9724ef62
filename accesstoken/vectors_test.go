package accesstoken

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// TestRFC8037A4 reproduces the Ed25519 JWS of RFC 8037 Appendix A.4 through
// golang-jwt's EdDSA method, the one Sign uses, and checks it with
// verifySignature, the one Verify uses.
func TestRFC8037A4(t *testing.T) {
	const (
		d    = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
		x    = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
		want = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
	)
	seed, err := base64.RawURLEncoding.DecodeString(d)
	if err != nil {
		t.Fatal(err)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	if got := b64b(priv.Public().(ed25519.PublicKey)); got != x {
		t.Fatalf("public key %s, want %s", got, x)
	}
	input := b64s(`{"alg":"EdDSA"}`) + "." + b64s("Example of Ed25519 signing")
	sig, err := jwt.SigningMethodEdDSA.Sign(input, priv)
	if err != nil {
		t.Fatal(err)
	}
	if got := input + "." + b64b(sig); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	k := &Key{ID: "rfc8037", Alg: EdDSA, Public: priv.Public()}
	if err := verifySignature(k, input, sig); err != nil {
		t.Errorf("verifySignature: %v", err)
	}
	sig[0] ^= 1
	if err := verifySignature(k, input, sig); err == nil {
		t.Error("verifySignature accepted a modified signature")
	}
	// Not an access token (no typ, no kid, payload not JSON): Verify refuses.
	v := &Verifier{Keys: mustKeySet(t, k), Issuer: testIss, Audience: testAud}
	if _, err := v.Verify(want); !errors.Is(err, ErrInvalid) {
		t.Errorf("Verify: %v", err)
	}
}

// wycheproofDir finds the Wycheproof vectors: $TESSERA_TESTVECTORS, else
// <repo root>/../shared/testvectors/wycheproof. It fails when CI is set and
// the files are missing, and skips otherwise.
func wycheproofDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("TESSERA_TESTVECTORS")
	if dir == "" {
		root, err := filepath.Abs(".")
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
				break
			}
			parent := filepath.Dir(root)
			if parent == root {
				root = ""
				break
			}
			root = parent
		}
		if root != "" {
			dir = filepath.Join(root, "..", "shared", "testvectors", "wycheproof")
		}
	}
	if dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "ed25519_test.json")); err == nil {
			return dir
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("wycheproof vectors not found (looked in %q); set TESSERA_TESTVECTORS", dir)
	}
	t.Skip("wycheproof vectors not found; set TESSERA_TESTVECTORS=/path/to/wycheproof (the directory holding ed25519_test.json)")
	return ""
}

type wycheproofFile struct {
	Algorithm     string `json:"algorithm"`
	NumberOfTests int    `json:"numberOfTests"`
	TestGroups    []struct {
		Type         string `json:"type"`
		PublicKeyDer string `json:"publicKeyDer"`
		Tests        []struct {
			TcID    int      `json:"tcId"`
			Comment string   `json:"comment"`
			Flags   []string `json:"flags"`
			Msg     string   `json:"msg"`
			Sig     string   `json:"sig"`
			Result  string   `json:"result"`
		} `json:"tests"`
	} `json:"testGroups"`
}

// TestWycheproof runs every vector through verifySignature, the signature
// check of Verify: "valid" must verify, "invalid" must not, "acceptable" may
// go either way.
func TestWycheproof(t *testing.T) {
	dir := wycheproofDir(t)
	for _, tc := range []struct {
		file, groupType string
		alg             Alg
	}{
		{"ed25519_test.json", "EddsaVerify", EdDSA},
		{"ecdsa_secp256r1_sha256_p1363_test.json", "EcdsaP1363Verify", ES256},
		{"rsa_signature_2048_sha256_test.json", "RsassaPkcs1Verify", RS256},
	} {
		t.Run(string(tc.alg), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			var f wycheproofFile
			if err := json.Unmarshal(data, &f); err != nil {
				t.Fatal(err)
			}
			ran, valid, invalid, acceptable, acceptedAcceptable, malleability := 0, 0, 0, 0, 0, 0
			for gi, g := range f.TestGroups {
				if g.Type != tc.groupType {
					t.Fatalf("group %d has type %q", gi, g.Type)
				}
				der, err := hex.DecodeString(g.PublicKeyDer)
				if err != nil {
					t.Fatal(err)
				}
				pub, err := x509.ParsePKIXPublicKey(der)
				if err != nil {
					t.Fatalf("group %d: public key: %v", gi, err)
				}
				// Build the key the way a verifier gets it: through the
				// key-set checks.
				set, err := NewKeySet(&Key{ID: "wycheproof", Alg: tc.alg, Public: pub})
				if err != nil {
					t.Fatalf("group %d: %v", gi, err)
				}
				key := set.lookup("wycheproof")
				for _, v := range g.Tests {
					msg, err1 := hex.DecodeString(v.Msg)
					sig, err2 := hex.DecodeString(v.Sig)
					if err1 != nil || err2 != nil {
						t.Fatalf("tc %d: bad hex", v.TcID)
					}
					err := verifySignature(key, string(msg), sig)
					ran++
					if slices.Contains(v.Flags, "SignatureMalleability") {
						malleability++
						if err == nil {
							t.Errorf("tc %d: malleated signature accepted", v.TcID)
						}
					}
					switch v.Result {
					case "valid":
						valid++
						if err != nil {
							t.Errorf("tc %d (%s %v): valid signature rejected: %v", v.TcID, v.Comment, v.Flags, err)
						}
					case "invalid":
						invalid++
						if err == nil {
							t.Errorf("tc %d (%s %v): invalid signature accepted", v.TcID, v.Comment, v.Flags)
						}
					case "acceptable":
						acceptable++
						if err == nil {
							acceptedAcceptable++
						}
					default:
						t.Fatalf("tc %d: result %q", v.TcID, v.Result)
					}
				}
			}
			t.Logf("%s: %d cases (%d valid, %d invalid, %d acceptable of which %d accepted; %d malleability cases)",
				tc.file, ran, valid, invalid, acceptable, acceptedAcceptable, malleability)
			if tc.alg == EdDSA && malleability == 0 {
				t.Error("no Ed25519 SignatureMalleability (S >= L) case ran")
			}
			if ran <= 100 {
				t.Fatalf("only %d cases ran", ran)
			}
			if ran != f.NumberOfTests {
				t.Errorf("ran %d cases, the file declares %d", ran, f.NumberOfTests)
			}
		})
	}
}
