package accesstoken

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"unicode"
	"unicode/utf8"
)

// This file holds the strict JSON object walk used for token headers, token
// payloads and JWKs. It is built on encoding/json's Decoder (Token for the
// object's delimiters and member names, Decode for member values; no
// hand-written JSON scanner). It exists because encoding/json alone keeps the
// last of duplicate members and matches struct fields case-insensitively, so
// {"sub":"alice","SUB":"admin"} would otherwise decode as sub=admin.

// linearDupLimit is how many member names are checked for duplicates by a
// linear scan; beyond it a map of folded names keeps the check linear-time.
const linearDupLimit = 16

// walkObject reads data as exactly one JSON object (surrounding whitespace
// allowed, nothing else) and calls member for each top-level member, in
// order. member must consume exactly one JSON value from dec, with the read
// helpers below. A member name that equals an earlier one, or matches it
// case-insensitively the way encoding/json matches field names, is refused.
// walkObject's own errors are detailErrors of the given kind; member's errors
// are returned unchanged.
func walkObject(data []byte, kind error, where string, member func(name string, dec *json.Decoder) error) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return refuse(kind, "%s: not JSON", where)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return refuse(kind, "%s: not a JSON object", where)
	}
	var small [linearDupLimit]string
	seen := small[:0]
	var folded map[string]struct{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return refuse(kind, "%s: invalid JSON", where)
		}
		name, ok := tok.(string)
		if !ok {
			return refuse(kind, "%s: invalid JSON", where)
		}
		dup := false
		if folded == nil && len(seen) < linearDupLimit {
			for _, s := range seen {
				if foldEqual(s, name) {
					dup = true
					break
				}
			}
			seen = append(seen, name)
		} else {
			if folded == nil {
				folded = make(map[string]struct{}, 2*linearDupLimit)
				for _, s := range seen {
					folded[foldString(s)] = struct{}{}
				}
			}
			f := foldString(name)
			_, dup = folded[f]
			folded[f] = struct{}{}
		}
		if dup {
			return refuse(kind, "%s: duplicate member %.40q", where, name)
		}
		if err := member(name, dec); err != nil {
			return err
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return refuse(kind, "%s: invalid JSON", where)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return refuse(kind, "%s: data after the JSON object", where)
	}
	return nil
}

// errJSON is returned by the read helpers for syntactically invalid JSON;
// callers turn it into their own kind of error.
var errJSON = errors.New("invalid JSON")

// errType is returned by the read helpers when the value has another type
// (null included); the value has been consumed.
var errType = errors.New("wrong JSON type")

// The read helpers consume exactly one JSON value from dec (a member value,
// after its name was read with Token). They decode into the small
// json.Unmarshaler types below rather than through Token, which would box
// every value in an interface and read arrays element by element.

// decodeInto reads one value into u and classifies the error.
func decodeInto(dec *json.Decoder, u json.Unmarshaler) error {
	err := dec.Decode(u)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errType), errors.Is(err, errRange):
		return err
	default:
		return errJSON
	}
}

// skipValue consumes one value of any type.
func skipValue(dec *json.Decoder) error { return decodeInto(dec, &jsonSkip{}) }

// readString reads one value that must be a string.
func readString(dec *json.Decoder) (string, error) {
	var s jsonString
	err := decodeInto(dec, &s)
	return s.s, err
}

// readStrings reads one value that must be an array of strings (asArray
// true), or, when single is true, a string (returned as a one-element slice,
// asArray false).
func readStrings(dec *json.Decoder, single bool) (_ []string, asArray bool, _ error) {
	l := jsonStrings{single: single}
	err := decodeInto(dec, &l)
	return l.list, l.array, err
}

// jsonSkip accepts any JSON value and keeps nothing.
type jsonSkip struct{}

func (*jsonSkip) UnmarshalJSON([]byte) error { return nil }

// jsonString accepts a JSON string only (not null).
type jsonString struct{ s string }

func (j *jsonString) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' {
		return errType
	}
	// encoding/json returns the bytes between the quotes unchanged when
	// there is no escape and they are valid UTF-8; otherwise let it unquote.
	if inner := b[1 : len(b)-1]; bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		j.s = string(inner)
		return nil
	}
	return json.Unmarshal(b, &j.s)
}

// jsonStrings accepts an array of strings, or a single string when single.
type jsonStrings struct {
	single bool
	array  bool
	list   []string
}

func (j *jsonStrings) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' && j.single {
		var s jsonString
		if err := s.UnmarshalJSON(b); err != nil {
			return err
		}
		j.list = []string{s.s}
		return nil
	}
	if len(b) == 0 || b[0] != '[' {
		return errType
	}
	j.array = true
	var elems []jsonString
	if err := json.Unmarshal(b, &elems); err != nil {
		return err
	}
	if len(elems) > 0 {
		j.list = make([]string, len(elems))
		for i, e := range elems {
			j.list[i] = e.s
		}
	}
	return nil
}

// jsonNumber accepts a JSON number only, kept as its literal.
type jsonNumber struct{ n string }

func (j *jsonNumber) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || (b[0] != '-' && (b[0] < '0' || b[0] > '9')) {
		return errType
	}
	j.n = string(b)
	return nil
}

// foldRune folds r the way encoding/json (v1) folds member names before
// matching them to struct fields.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'a' <= r && r <= 'z' {
			r -= 'a' - 'A'
		}
		return r
	}
	return unicode.ToUpper(unicode.ToLower(r))
}

// foldEqual reports whether a and b fold to the same name.
func foldEqual(a, b string) bool {
	for a != "" && b != "" {
		var ra, rb rune
		if a[0] < utf8.RuneSelf && b[0] < utf8.RuneSelf {
			ra, rb = rune(a[0]), rune(b[0])
			a, b = a[1:], b[1:]
		} else {
			var na, nb int
			ra, na = utf8.DecodeRuneInString(a)
			rb, nb = utf8.DecodeRuneInString(b)
			a, b = a[na:], b[nb:]
		}
		if ra != rb && foldRune(ra) != foldRune(rb) {
			return false
		}
	}
	return a == "" && b == ""
}

// foldString returns the folded form of s.
func foldString(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		b = utf8.AppendRune(b, foldRune(r))
	}
	return string(b)
}
