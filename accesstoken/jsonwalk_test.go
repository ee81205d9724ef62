package accesstoken

import (
	"encoding/json"
	"errors"
	"strconv"
	"testing"
)

// TestFoldMatchesEncodingJSON: a name is a case-variant duplicate for the
// walk exactly when encoding/json would decode it into the same field.
func TestFoldMatchesEncodingJSON(t *testing.T) {
	for _, field := range []string{"sub", "kid", "alg", "sk"} {
		for _, name := range []string{
			"sub", "SUB", "Sub", "ſub", "ſUB", "sUb", "sub ", "su", "subb", "\u212aid", "KID", "kId", "ALG", "aLg",
			"alG", "ſk", "\u212a", "sK", "s\u212a", "ß", "ǅ", "",
		} {
			want := jsonFieldMatches(t, field, name)
			if got := foldEqual(field, name); got != want {
				t.Errorf("foldEqual(%q, %q) = %v, encoding/json matches: %v", field, name, got, want)
			}
			if got := foldString(field) == foldString(name); got != want {
				t.Errorf("foldString(%q) == foldString(%q): %v, encoding/json matches: %v", field, name, got, want)
			}
		}
	}
}

// jsonFieldMatches reports whether encoding/json decodes member name into a
// struct field tagged field.
func jsonFieldMatches(t *testing.T, field, name string) bool {
	t.Helper()
	doc, err := json.Marshal(map[string]string{name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	switch field {
	case "sub":
		var v struct {
			F string `json:"sub"`
		}
		_ = json.Unmarshal(doc, &v)
		return v.F == "x"
	case "kid":
		var v struct {
			F string `json:"kid"`
		}
		_ = json.Unmarshal(doc, &v)
		return v.F == "x"
	case "alg":
		var v struct {
			F string `json:"alg"`
		}
		_ = json.Unmarshal(doc, &v)
		return v.F == "x"
	case "sk":
		var v struct {
			F string `json:"sk"`
		}
		_ = json.Unmarshal(doc, &v)
		return v.F == "x"
	}
	t.Fatalf("field %q", field)
	return false
}

// TestJSONStringMatchesEncodingJSON: jsonString's fast path gives what
// encoding/json gives, and non-strings (null included) are refused.
func TestJSONStringMatchesEncodingJSON(t *testing.T) {
	for _, lit := range []string{
		`""`, `"a"`, `"sub"`, `"\u0073ub"`, `"a\"b"`, `"a\\b"`, `"\/"`, `"é"`, "\"\xff\"", "\"a\xc3\"",
		"\"\xed\xa0\x80\"", `"\ud800"`, `"\ud83d\ude00"`, `"😀"`, "\"\xf4\x90\x80\x80\"", `"\u0000"`,
	} {
		var want string
		if err := json.Unmarshal([]byte(lit), &want); err != nil {
			t.Fatalf("%s: %v", lit, err)
		}
		var got jsonString
		if err := got.UnmarshalJSON([]byte(lit)); err != nil || got.s != want {
			t.Errorf("%q: got %q, %v; encoding/json %q", lit, got.s, err, want)
		}
	}
	for _, lit := range []string{`null`, `1`, `true`, `[]`, `{}`, `["a"]`} {
		var got jsonString
		if err := got.UnmarshalJSON([]byte(lit)); !errors.Is(err, errType) {
			t.Errorf("%s: %v, want errType", lit, err)
		}
	}
}

func FuzzJSONString(f *testing.F) {
	for _, s := range []string{`"a"`, `"\u0073"`, "\"\xff\"", `"\ud800"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, lit string) {
		var want string
		// The decoder hands UnmarshalJSON exactly one literal, without
		// surrounding whitespace.
		if len(lit) < 2 || lit[0] != '"' || lit[len(lit)-1] != '"' || json.Unmarshal([]byte(lit), &want) != nil {
			return
		}
		var got jsonString
		if err := got.UnmarshalJSON([]byte(lit)); err != nil || got.s != want {
			t.Fatalf("%q: got %q, %v; encoding/json %q", lit, got.s, err, want)
		}
	})
}

// TestWalkObject covers the walk directly: duplicates beyond the linear
// scan, nested values skipped, trailing data.
func TestWalkObject(t *testing.T) {
	names := func(doc string) ([]string, error) {
		var out []string
		err := walkObject([]byte(doc), ErrMalformed, "test", func(name string, dec *json.Decoder) error {
			out = append(out, name)
			if err := skipValue(dec); err != nil {
				return refuse(ErrMalformed, "value: %v", err)
			}
			return nil
		})
		return out, err
	}
	for _, doc := range []string{`{}`, ` { "a" : 1 } `, `{"a":{"a":1,"a":2},"b":[{"c":1}]}`, `{"\u0061":1,"b":2}`} {
		if _, err := names(doc); err != nil {
			t.Errorf("%s: %v", doc, err)
		}
	}
	big := `{"x0":0`
	for i := 1; i < 40; i++ {
		big += `,"x` + strconv.Itoa(i) + `":0`
	}
	for _, doc := range []string{
		`{"a":1,"a":1}`, `{"a":1,"A":1}`, `{"a":1,"\u0061":1}`, big + `,"X39":1}`, big + `,"x0":1}`,
		`{"a":1}{}`, `{"a":1} x`, `{"a":1`, `{"a"}`, `[]`, `1`, ``, `{"a":1,}`, `{,"a":1}`, `{"a":[}`,
	} {
		if _, err := names(doc); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", doc, err)
		}
	}
	if got, err := names(big + `}`); err != nil || len(got) != 40 {
		t.Errorf("40 distinct members: %d, %v", len(got), err)
	}
}
