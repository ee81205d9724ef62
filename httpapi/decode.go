package httpapi

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

	"github.com/tessera-auth/tessera/auth"
)

// MaxBodyBytes bounds every request body Tessera reads.
const MaxBodyBytes = 64 << 10

// decodeBody reads a JSON or form body into the string/bool fields named in
// fields (pointers), strictly: unknown fields, duplicate fields, case-variant
// names, wrong types and trailing data are refused. Go's encoding/json would
// otherwise match keys case-insensitively and keep the last duplicate, which
// lets a crafted body mean two things to two readers.
func decodeBody(w http.ResponseWriter, r *http.Request, fields map[string]any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		mt = ""
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return auth.Errorf(codeTooLarge, "request body is larger than %d bytes", MaxBodyBytes)
		}
		return auth.Errorf(auth.CodeInvalidRequest, "reading request body failed")
	}
	switch mt {
	case "application/json":
		return decodeJSON(body, fields)
	case "application/x-www-form-urlencoded":
		return decodeForm(body, fields)
	}
	return auth.Errorf(codeUnsupportedMedia, "send application/json or application/x-www-form-urlencoded")
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
			return auth.Errorf(auth.CodeInvalidRequest, "unknown field %q", truncateField(key))
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
			return auth.Errorf(auth.CodeInvalidRequest, "unknown field %q", truncateField(key))
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
			panic(fmt.Sprintf("decodeForm: unsupported field type %T", dst))
		}
	}
	return nil
}

func truncateField(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
