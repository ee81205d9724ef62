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
// payloads and JWKs. It is built on encoding/json's Decoder tokens (no
// hand-written JSON scanner): it exists only because encoding/json keeps the
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

// errType is returned by the read helpers when the value has another type;
// the value has been consumed.
var errType = errors.New("wrong JSON type")

// readValue reads one JSON value: a string, json.Number, bool or nil, or,
// for an object or array, the opening json.Delim after skipping the rest of
// the value.
func readValue(dec *json.Decoder) (json.Token, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, errJSON
	}
	if d, ok := tok.(json.Delim); ok && (d == '{' || d == '[') {
		if err := skipRest(dec); err != nil {
			return nil, err
		}
	}
	return tok, nil
}

// readString reads one value that must be a string.
func readString(dec *json.Decoder) (string, error) {
	tok, err := readValue(dec)
	if err != nil {
		return "", err
	}
	s, ok := tok.(string)
	if !ok {
		return "", errType
	}
	return s, nil
}

// readNumber reads one value that must be a number.
func readNumber(dec *json.Decoder) (json.Number, error) {
	tok, err := readValue(dec)
	if err != nil {
		return "", err
	}
	n, ok := tok.(json.Number)
	if !ok {
		return "", errType
	}
	return n, nil
}

// readStrings reads one value that must be an array of strings (asArray
// true), or, when single is true, a string (returned as a one-element slice,
// asArray false).
func readStrings(dec *json.Decoder, single bool) (_ []string, asArray bool, _ error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, false, errJSON
	}
	switch t := tok.(type) {
	case string:
		if single {
			return []string{t}, false, nil
		}
		return nil, false, errType
	case json.Delim:
		if t != '[' {
			if err := skipRest(dec); err != nil {
				return nil, false, err
			}
			return nil, false, errType
		}
		var out []string
		for dec.More() {
			tok, err := readValue(dec)
			if err != nil {
				return nil, true, err
			}
			s, ok := tok.(string)
			if !ok {
				if err := skipRest(dec); err != nil {
					return nil, true, err
				}
				return nil, true, errType
			}
			out = append(out, s)
		}
		if tok, err := dec.Token(); err != nil || tok != json.Delim(']') {
			return nil, true, errJSON
		}
		return out, true, nil
	default:
		return nil, false, errType
	}
}

// skipRest consumes the rest of the array or object whose opening delimiter
// has been read.
func skipRest(dec *json.Decoder) error {
	for depth := 1; depth > 0; {
		t, err := dec.Token()
		if err != nil {
			return errJSON
		}
		if d, ok := t.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
	}
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
