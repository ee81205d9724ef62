package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/tessera-auth/tessera/auth"
)

// MaxBodyBytes bounds every request body Tessera reads.
const MaxBodyBytes = 64 << 10

// MediaType is the request's Content-Type without parameters, or "".
func MediaType(r *http.Request) string {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	return mt
}

// ReadBody reads at most MaxBodyBytes of the request body; a longer one is
// CodeTooLarge.
func ReadBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, auth.Errorf(CodeTooLarge, "request body is larger than %d bytes", MaxBodyBytes)
		}
		return nil, auth.Errorf(auth.CodeInvalidRequest, "reading request body failed")
	}
	return body, nil
}

// DecodeBody reads a JSON or form body into the fields named in fields
// (pointers: *string and *bool for forms; anything encoding/json decodes for
// JSON), strictly: unknown fields, duplicate fields, case-variant names,
// wrong types and trailing data are refused. Go's encoding/json would
// otherwise match keys case-insensitively and keep the last duplicate, which
// lets a crafted body mean two things to two readers.
func DecodeBody(w http.ResponseWriter, r *http.Request, fields map[string]any) error {
	mt := MediaType(r)
	body, err := ReadBody(w, r)
	if err != nil {
		return err
	}
	switch mt {
	case "application/json":
		return decodeJSON(body, fields)
	case "application/x-www-form-urlencoded":
		return decodeForm(body, fields)
	}
	return auth.Errorf(CodeUnsupportedMedia, "send application/json or application/x-www-form-urlencoded")
}

// DecodeJSONBody is DecodeBody for endpoints that take JSON only.
func DecodeJSONBody(w http.ResponseWriter, r *http.Request, fields map[string]any) error {
	if MediaType(r) != "application/json" {
		return auth.Errorf(CodeUnsupportedMedia, "send application/json")
	}
	return DecodeBody(w, r, fields)
}

func decodeJSON(body []byte, fields map[string]any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return auth.Errorf(auth.CodeInvalidRequest, "body must be a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return auth.Errorf(auth.CodeInvalidRequest, "malformed JSON")
		}
		key := t.(string)
		dst, ok := fields[key]
		if !ok {
			return auth.Errorf(auth.CodeInvalidRequest, "unknown field %q", TruncateField(key))
		}
		if seen[key] {
			return auth.Errorf(auth.CodeInvalidRequest, "field %q appears twice", key)
		}
		seen[key] = true
		if err := dec.Decode(dst); err != nil {
			return auth.Errorf(auth.CodeInvalidRequest, "field %q has the wrong type", key)
		}
	}
	if _, err := dec.Token(); err != nil {
		return auth.Errorf(auth.CodeInvalidRequest, "malformed JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return auth.Errorf(auth.CodeInvalidRequest, "unexpected data after the JSON object")
	}
	return nil
}

func decodeForm(body []byte, fields map[string]any) error {
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return auth.Errorf(auth.CodeInvalidRequest, "malformed form body")
	}
	for _, key := range slices.Sorted(func(yield func(string) bool) {
		for k := range vals {
			if !yield(k) {
				return
			}
		}
	}) {
		vs := vals[key]
		dst, ok := fields[key]
		if !ok {
			return auth.Errorf(auth.CodeInvalidRequest, "unknown field %q", TruncateField(key))
		}
		if len(vs) != 1 {
			return auth.Errorf(auth.CodeInvalidRequest, "field %q appears twice", key)
		}
		switch d := dst.(type) {
		case *string:
			*d = vs[0]
		case *bool:
			switch vs[0] {
			case "true", "1", "on":
				*d = true
			case "false", "0", "":
				*d = false
			default:
				return auth.Errorf(auth.CodeInvalidRequest, "field %q must be true or false", key)
			}
		default:
			panic(fmt.Sprintf("httpx: a form cannot fill a field of type %T; take this endpoint's body as JSON only", dst))
		}
	}
	return nil
}

// StrictJSON unmarshals a field's raw JSON value; null is refused.
func StrictJSON(name string, raw json.RawMessage, v any) error {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) || json.Unmarshal(raw, v) != nil {
		return auth.Errorf(auth.CodeInvalidRequest, "field %q has the wrong type", name)
	}
	return nil
}

// NoBody refuses a request body where none is expected.
func NoBody(r *http.Request) error {
	if r.ContentLength != 0 {
		return auth.Errorf(auth.CodeInvalidRequest, "this endpoint takes no request body")
	}
	return nil
}

// CheckQuery refuses a malformed query string, parameters not in allowed,
// and repeated ones but those in repeatable.
func CheckQuery(r *http.Request, allowed, repeatable []string) error {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return auth.Errorf(auth.CodeInvalidRequest, "malformed query string")
	}
	for k, v := range q {
		if !slices.Contains(allowed, k) {
			return auth.Errorf(auth.CodeInvalidRequest, "unknown query parameter %q", TruncateField(k))
		}
		if len(v) > 1 && !slices.Contains(repeatable, k) {
			return auth.Errorf(auth.CodeInvalidRequest, "query parameter %q appears twice", k)
		}
	}
	return nil
}

// IntParam parses q's name as an integer in [lo, hi]; absent is 0.
func IntParam(q url.Values, name string, lo, hi int64) (int64, error) {
	v := q.Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, auth.Errorf(auth.CodeInvalidRequest, "%s must be an integer from %d to %d", name, lo, hi)
	}
	return n, nil
}

// TimeParam parses q's name as an RFC 3339 time; absent is the zero time.
func TimeParam(q url.Values, name string) (time.Time, error) {
	v := q.Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, auth.Errorf(auth.CodeInvalidRequest, "%s must be an RFC 3339 time such as 2026-01-02T15:04:05Z", name)
	}
	return t, nil
}

// TruncateField shortens a client-supplied name before it goes into a
// message.
func TruncateField(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
