package accesstoken

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
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

// readMember walks doc, reading member "s" with read; any other member is
// skipped.
func readMember(doc string, read func(dec *jsontext.Decoder) error) error {
	return walkObject([]byte(doc), ErrMalformed, "test", func(name string, dec *jsontext.Decoder) error {
		if name != "s" {
			return skipValue(dec)
		}
		return read(dec)
	})
}

// TestReadStringMatchesEncodingJSON: readString gives what encoding/json
// gives for every valid string, refuses invalid UTF-8 (which encoding/json
// would silently replace) as invalid JSON, and refuses non-strings, null
// included, as the wrong type after consuming them.
func TestReadStringMatchesEncodingJSON(t *testing.T) {
	for _, lit := range []string{
		`""`, `"a"`, `"sub"`, `"\u0073ub"`, `"a\"b"`, `"a\\b"`, `"\/"`, `"é"`, `"\ud83d\ude00"`, `"😀"`, `"\u0000"`,
	} {
		var want string
		if err := json.Unmarshal([]byte(lit), &want); err != nil {
			t.Fatalf("%s: %v", lit, err)
		}
		var got string
		err := readMember(`{"s":`+lit+`,"t":1}`, func(dec *jsontext.Decoder) (err error) {
			got, err = readString(dec)
			return err
		})
		if err != nil || got != want {
			t.Errorf("%q: got %q, %v; encoding/json %q", lit, got, err, want)
		}
	}
	for _, lit := range []string{"\"\xff\"", "\"a\xc3\"", "\"\xed\xa0\x80\"", `"\ud800"`, "\"\xf4\x90\x80\x80\""} {
		err := readMember(`{"s":`+lit+`}`, func(dec *jsontext.Decoder) error {
			_, err := readString(dec)
			return err
		})
		if !errors.Is(err, errJSON) {
			t.Errorf("%q: %v, want errJSON", lit, err)
		}
	}
	for _, lit := range []string{`null`, `1`, `true`, `[]`, `{}`, `["a"]`, `{"a":[1,{"b":"c"}]}`} {
		err := readMember(`{"s":`+lit+`,"t":1}`, func(dec *jsontext.Decoder) error {
			_, err := readString(dec)
			if errors.Is(err, errType) {
				return nil // consumed: the walk goes on to "t"
			}
			return fmt.Errorf("got %v, want errType", err)
		})
		if err != nil {
			t.Errorf("%s: %v", lit, err)
		}
	}
}

// TestReadStrings: arrays of strings, a single string only where allowed,
// and arrays holding another type refused whole.
func TestReadStrings(t *testing.T) {
	for _, c := range []struct {
		lit     string
		single  bool
		want    []string
		asArray bool
		err     error
	}{
		{`["a","b"]`, false, []string{"a", "b"}, true, nil},
		{`[]`, false, nil, true, nil},
		{`"a"`, true, []string{"a"}, false, nil},
		{`"a"`, false, nil, false, errType},
		{`["a",1]`, false, nil, true, errType},
		{`["a",null,"b"]`, true, nil, true, errType},
		{`null`, true, nil, false, errType},
		{`{"a":"b"}`, true, nil, false, errType},
		{`["a",]`, false, nil, true, errJSON},
	} {
		var got []string
		var asArray bool
		var rerr error
		err := readMember(`{"s":`+c.lit+`,"t":1}`, func(dec *jsontext.Decoder) error {
			got, asArray, rerr = readStrings(dec, c.single)
			if errors.Is(rerr, errJSON) {
				return rerr
			}
			return nil
		})
		if c.err == errJSON {
			if !errors.Is(err, errJSON) {
				t.Errorf("%s: %v, want errJSON", c.lit, err)
			}
			continue
		}
		if err != nil || !errors.Is(rerr, c.err) || !slices.Equal(got, c.want) || asArray != c.asArray {
			t.Errorf("%s (single %v): %q, array %v, %v (walk %v); want %q, array %v, %v", c.lit, c.single, got, asArray, rerr, err, c.want, c.asArray, c.err)
		}
	}
}

// FuzzReadString: whatever readString accepts, encoding/json reads as the
// same string.
func FuzzReadString(f *testing.F) {
	for _, s := range []string{`"a"`, `"\u0073"`, "\"\xff\"", `"\ud800"`, `"\ud83d\ude00"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, lit string) {
		var got string
		err := readMember(`{"s":`+lit+`}`, func(dec *jsontext.Decoder) (err error) {
			got, err = readString(dec)
			return err
		})
		if err != nil {
			return
		}
		var want string
		if err := json.Unmarshal([]byte(lit), &want); err != nil || got != want {
			t.Fatalf("%q: readString %q; encoding/json %q, %v", lit, got, want, err)
		}
	})
}

// TestWalkObject covers the walk directly: duplicates beyond the linear
// scan, nested values skipped, trailing data.
func TestWalkObject(t *testing.T) {
	names := func(doc string) ([]string, error) {
		var out []string
		err := walkObject([]byte(doc), ErrMalformed, "test", func(name string, dec *jsontext.Decoder) error {
			out = append(out, name)
			if err := skipValue(dec); err != nil {
				return refuse(ErrMalformed, "value: %v", err)
			}
			return nil
		})
		return out, err
	}
	for _, doc := range []string{`{}`, ` { "a" : 1 } `, `{"a":{"a":1,"b":2},"b":[{"c":1}]}`, `{"\u0061":1,"b":2}`} {
		if _, err := names(doc); err != nil {
			t.Errorf("%s: %v", doc, err)
		}
	}
	big := `{"x0":0`
	for i := 1; i < 40; i++ {
		big += `,"x` + strconv.Itoa(i) + `":0`
	}
	for _, doc := range []string{
		`{"a":1,"a":1}`, `{"a":1,"A":1}`, `{"a":1,"\u0061":1}`, `{"a":{"b":1,"b":2}}`, "{\"a\":\"\xff\"}", big + `,"X39":1}`, big + `,"x0":1}`,
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
