package accesstoken

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// This file holds the strict JSON object walk used for token headers, token
// payloads and JWKs. It is built on jsontext, the tokenizer of the Go team's
// JSON v2 (the same code as Go's GOEXPERIMENT=jsonv2 encoding/json/jsontext):
// no hand-written JSON scanner. jsontext refuses invalid UTF-8 and duplicate
// member names at every depth, escaped spellings included; the walk adds the
// refusal of case-variant duplicates at the top level, because
// encoding/json (v1), which other verifiers of the same token may use,
// matches field names case-insensitively: {"sub":"alice","SUB":"admin"}
// decodes there as sub=admin.

// linearDupLimit is how many member names are checked for case-variant
// duplicates by a linear scan; beyond it a map of folded names keeps the
// check linear-time.
const linearDupLimit = 16

// decoders holds reusable decoders: a fresh jsontext.Decoder allocates its
// buffers and name tables, which would be most of a walk's cost.
var decoders = sync.Pool{New: func() any { return new(jsontext.Decoder) }}

// noInput is what a decoder goes back to the pool reading, so that the pool
// holds no reference to a token.
var noInput = strings.NewReader("")

// walkObject reads data as exactly one JSON object (surrounding whitespace
// allowed, nothing else) and calls member for each top-level member, in
// order. member must consume exactly one JSON value from dec, with the read
// helpers below. A member name that equals an earlier one, or matches it
// case-insensitively the way encoding/json matches field names, is refused.
// walkObject's own errors are detailErrors of the given kind; member's errors
// are returned unchanged.
func walkObject(data []byte, kind error, where string, member func(name string, dec *jsontext.Decoder) error) error {
	dec := decoders.Get().(*jsontext.Decoder)
	defer func() {
		dec.Reset(noInput)
		decoders.Put(dec)
	}()
	// A *bytes.Buffer is read in place, without a copy.
	dec.Reset(bytes.NewBuffer(data))

	tok, err := dec.ReadToken()
	switch {
	case err != nil:
		return refuse(kind, "%s: not JSON", where)
	case tok.Kind() != '{':
		return refuse(kind, "%s: not a JSON object", where)
	}
	var small [linearDupLimit]string
	seen := small[:0]
	var folded map[string]struct{}
	for dec.PeekKind() == '"' {
		tok, err := dec.ReadToken()
		if errors.Is(err, jsontext.ErrDuplicateName) {
			return refuse(kind, "%s: duplicate member", where)
		} else if err != nil {
			return refuse(kind, "%s: invalid JSON", where)
		}
		name := tok.String()
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
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '}' {
		return refuse(kind, "%s: invalid JSON", where)
	}
	if _, err := dec.ReadToken(); !errors.Is(err, io.EOF) {
		return refuse(kind, "%s: data after the JSON object", where)
	}
	return nil
}

// errJSON is returned by the read helpers for syntactically invalid JSON
// (invalid UTF-8 and nested duplicate names included); callers turn it into
// their own kind of error.
var errJSON = errors.New("invalid JSON")

// errType is returned by the read helpers when the value has another type
// (null included); the value has been consumed.
var errType = errors.New("wrong JSON type")

// The read helpers consume exactly one JSON value from dec: a member value,
// after its name was read by walkObject.

// skipValue consumes one value of any type.
func skipValue(dec *jsontext.Decoder) error {
	if err := dec.SkipValue(); err != nil {
		return errJSON
	}
	return nil
}

// skipWrongType consumes a value of the wrong type and returns errType, or
// errJSON when the value is not valid JSON.
func skipWrongType(dec *jsontext.Decoder) error {
	if err := skipValue(dec); err != nil {
		return err
	}
	return errType
}

// readString reads one value that must be a string.
func readString(dec *jsontext.Decoder) (string, error) {
	if dec.PeekKind() != '"' {
		return "", skipWrongType(dec)
	}
	tok, err := dec.ReadToken()
	if err != nil {
		return "", errJSON
	}
	return tok.String(), nil
}

// readStrings reads one value that must be an array of strings (asArray
// true), or, when single is true, a string (returned as a one-element slice,
// asArray false). An array with an element of another type is consumed
// whole and refused with errType.
func readStrings(dec *jsontext.Decoder, single bool) (_ []string, asArray bool, _ error) {
	switch dec.PeekKind() {
	case '"':
		if !single {
			break
		}
		s, err := readString(dec)
		if err != nil {
			return nil, false, err
		}
		return []string{s}, false, nil
	case '[':
		if _, err := dec.ReadToken(); err != nil {
			return nil, true, errJSON
		}
		var list []string
		wrong := false
		for k := dec.PeekKind(); k != ']'; k = dec.PeekKind() {
			s, err := readString(dec)
			switch {
			case errors.Is(err, errType):
				wrong = true
			case err != nil:
				return nil, true, err
			default:
				list = append(list, s)
			}
		}
		if _, err := dec.ReadToken(); err != nil {
			return nil, true, errJSON
		}
		if wrong {
			return nil, true, errType
		}
		return list, true, nil
	}
	return nil, false, skipWrongType(dec)
}

// errRange is a NumericDate that is negative, not finite or after 9999.
var errRange = errors.New("NumericDate out of range")

// readNumericDate reads a JSON number of seconds since the epoch (RFC 7519
// NumericDate; fractions allowed), between 0 and maxNumericDate.
func readNumericDate(dec *jsontext.Decoder) (time.Time, bool, error) {
	if dec.PeekKind() != '0' {
		return time.Time{}, false, skipWrongType(dec)
	}
	lit, err := dec.ReadValue()
	if err != nil {
		return time.Time{}, false, errJSON
	}
	t, err := parseNumericDate(string(lit))
	return t, err == nil, err
}

// parseNumericDate converts a JSON number literal to a time.
func parseNumericDate(lit string) (time.Time, error) {
	if i, err := strconv.ParseInt(lit, 10, 64); err == nil {
		if i < 0 || i > maxNumericDate {
			return time.Time{}, errRange
		}
		return time.Unix(i, 0), nil
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > maxNumericDate {
		return time.Time{}, errRange
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), nil
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
