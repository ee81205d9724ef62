package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/server"
	"github.com/tessera-auth/tessera/server/httpx"
	"github.com/tessera-auth/tessera/server/servertest"
)

// The OpenAPI document (openapi.json) is held to the server four ways:
//
//   - TestOpenAPIDocument: it parses, is OpenAPI 3.1.0, and every $ref,
//     operationId and path parameter is sound;
//   - TestOpenAPIRoutes: it names exactly the routes the server registers
//     (Server.Routes), with the HTML pages mounted;
//   - TestOpenAPIStatuses: each operation documents exactly the statuses
//     that routeStatuses says its handler can answer, and the statuses that
//     apply by rule (401 where a credential is needed, 413 where there is a
//     body, …);
//   - TestOpenAPITour: a tour of the whole API (every operation answers a
//     2xx at least once) and probes with bad credentials, methods and
//     bodies; every answer's status must be documented and its body must fit
//     the documented schema, with no undocumented members.

// servedByWeb reports whether a documented operation is one of the HTML
// pages, whose statuses are read
// from the page handlers, and the rules for the JSON API do not apply to them.
func servedByWeb(o operation) bool { return o.op["x-tessera-served-by"] == "web" }

// docKey is the document's name of a route pattern: "GET /{$}" (the root
// alone) is "GET /".
func docKey(pattern string) string { return strings.Replace(pattern, "{$}", "", 1) }

// routeStatuses is what each handler can answer, read from its code: the
// errors it returns mapped through statusOf (or oauthError), plus 405 (any
// path, another method) and 500 (panic recovery, store failures).
var routeStatuses = map[string][]int{
	"POST /v1/login":                              {200, 400, 401, 403, 405, 413, 415, 429, 500, 503}, // 403 cross_origin, 503 argon2 queue full
	"POST /v1/logout":                             {204, 403, 405, 500},                               // no credential is no error
	"GET /v1/session":                             {200, 401, 405, 500},
	"GET /v1/sessions":                            {200, 401, 405, 500},
	"DELETE /v1/sessions":                         {200, 401, 403, 405, 500},
	"DELETE /v1/sessions/{sid}":                   {204, 401, 403, 404, 405, 500},
	"POST /v1/session/token":                      {200, 400, 401, 403, 405, 413, 415, 500},
	"GET /v1/authz":                               {200, 401, 403, 405, 500},
	"GET /v1/events":                              {200, 400, 401, 403, 405, 500, 503}, // 400 bad Last-Event-ID, 503 subscriber limit
	"POST /oauth2/token":                          {200, 400, 401, 405, 413, 500},      // a wrong media type is invalid_request (400)
	"POST /oauth2/introspect":                     {200, 400, 401, 405, 413, 500},
	"POST /oauth2/revoke":                         {200, 400, 401, 405, 413, 500},
	"GET /.well-known/jwks.json":                  {200, 405, 500},
	"GET /.well-known/oauth-authorization-server": {200, 405, 500},
	"GET /.well-known/openid-configuration":       {200, 405, 500},
	"GET /healthz":                                {200, 405, 500},
	"GET /readyz":                                 {200, 405, 500, 503},
	"GET /metrics":                                {200, 405, 500},
	"GET /openapi.json":                           {200, 405, 500},
	"POST /admin/v1/users":                        {201, 400, 401, 403, 405, 409, 413, 415, 500, 503},
	"GET /admin/v1/users":                         {200, 400, 401, 403, 405, 500},
	"GET /admin/v1/users/{id}":                    {200, 400, 401, 403, 404, 405, 500},
	"PATCH /admin/v1/users/{id}":                  {200, 400, 401, 403, 404, 405, 413, 415, 500, 503},
	"DELETE /admin/v1/users/{id}":                 {204, 400, 401, 403, 404, 405, 500},
	"GET /admin/v1/users/{id}/sessions":           {200, 400, 401, 403, 404, 405, 500},
	"DELETE /admin/v1/users/{id}/sessions":        {204, 400, 401, 403, 404, 405, 500},
	"DELETE /admin/v1/users/{id}/sessions/{sid}":  {204, 400, 401, 403, 404, 405, 500},
	"GET /admin/v1/clients":                       {200, 400, 401, 403, 405, 500},
	"POST /admin/v1/clients":                      {201, 400, 401, 403, 405, 413, 415, 500},
	"DELETE /admin/v1/clients/{id}":               {204, 400, 401, 403, 404, 405, 500},
	"GET /admin/v1/keys":                          {200, 400, 401, 403, 405, 500},
	"POST /admin/v1/keys/rotate":                  {201, 400, 401, 403, 405, 409, 500}, // 409 a concurrent rotation won
	"GET /admin/v1/events":                        {200, 400, 401, 403, 405, 500},
	"GET /admin/v1/webhooks":                      {200, 400, 401, 403, 404, 405, 500}, // 404 without webhooks
	"POST /admin/v1/webhooks":                     {201, 400, 401, 403, 404, 405, 413, 415, 500},
	"DELETE /admin/v1/webhooks/{id}":              {204, 400, 401, 403, 404, 405, 500},
	"GET /admin/v1/webhooks/{id}/deliveries":      {200, 400, 401, 403, 404, 405, 500},
	// The HTML pages: 303 to /login without a session, 403
	// pages for non-admins and cross-origin forms, 400 for unreadable forms.
	"GET /":                                  {303, 405, 500},
	"GET /assets/{name}":                     {200, 404, 405, 500},
	"GET /login":                             {200, 303, 405, 500},
	"POST /login":                            {303, 400, 401, 403, 405, 429, 500, 503},
	"GET /account":                           {200, 303, 405, 500},
	"POST /account/logout":                   {303, 400, 403, 405, 500},
	"POST /account/sessions/revoke":          {303, 400, 403, 405, 500},
	"POST /account/sessions/revoke-others":   {303, 400, 403, 405, 500},
	"POST /account/password":                 {303, 400, 403, 405, 500, 503},
	"GET /admin":                             {200, 303, 403, 405, 500},
	"GET /admin/users/{id}":                  {200, 303, 403, 404, 405, 500},
	"POST /admin/users/{id}/disabled":        {303, 400, 403, 404, 405, 500},
	"POST /admin/users/{id}/roles":           {303, 400, 403, 404, 405, 500},
	"POST /admin/users/{id}/sessions/revoke": {303, 400, 403, 405, 500},
	"POST /admin/keys/rotate":                {303, 400, 403, 405, 500},
}

// oaDoc is the parsed document.
type oaDoc struct {
	root map[string]any
}

type operation struct {
	key, method, path string
	op                map[string]any
}

func loadDoc(t *testing.T) *oaDoc {
	t.Helper()
	var root map[string]any
	dec := json.NewDecoder(bytes.NewReader(server.OpenAPI()))
	dec.UseNumber()
	if err := dec.Decode(&root); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	return &oaDoc{root: root}
}

var methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func (d *oaDoc) operations() []operation {
	var ops []operation
	paths, _ := d.root["paths"].(map[string]any)
	for _, p := range slices.Sorted(maps.Keys(paths)) {
		item := paths[p].(map[string]any)
		for _, m := range methods {
			if o, ok := item[m].(map[string]any); ok {
				ops = append(ops, operation{key: strings.ToUpper(m) + " " + p, method: strings.ToUpper(m), path: p, op: o})
			}
		}
	}
	return ops
}

func (d *oaDoc) op(key string) (operation, bool) {
	for _, o := range d.operations() {
		if o.key == key {
			return o, true
		}
	}
	return operation{}, false
}

// deref follows a local $ref.
func (d *oaDoc) deref(v any) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not an object: %v", v)
	}
	for i := 0; i < 10; i++ {
		ref, ok := m["$ref"].(string)
		if !ok {
			return m, nil
		}
		if !strings.HasPrefix(ref, "#/") {
			return nil, fmt.Errorf("non-local $ref %q", ref)
		}
		var cur any = d.root
		for _, part := range strings.Split(ref[2:], "/") {
			obj, ok := cur.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("$ref %q does not resolve", ref)
			}
			if cur, ok = obj[part]; !ok {
				return nil, fmt.Errorf("$ref %q does not resolve", ref)
			}
		}
		if m, ok = cur.(map[string]any); !ok {
			return nil, fmt.Errorf("$ref %q is not an object", ref)
		}
	}
	return nil, fmt.Errorf("$ref loop")
}

func (d *oaDoc) statuses(o operation) []int {
	var out []int
	for k := range o.op["responses"].(map[string]any) {
		n, _ := strconv.Atoi(k)
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// secured reports whether the operation needs a credential (it lists
// security requirements and none of them is the empty one).
func secured(o operation) bool {
	reqs, ok := o.op["security"].([]any)
	if !ok || len(reqs) == 0 {
		return false
	}
	for _, r := range reqs {
		if len(r.(map[string]any)) == 0 {
			return false
		}
	}
	return true
}

// usesCookie reports whether the operation accepts the session cookie.
func usesCookie(o operation) bool {
	reqs, _ := o.op["security"].([]any)
	for _, r := range reqs {
		if _, ok := r.(map[string]any)["sessionCookie"]; ok {
			return true
		}
	}
	return false
}

func TestOpenAPIDocument(t *testing.T) {
	d := loadDoc(t)
	if d.root["openapi"] != "3.1.0" {
		t.Fatalf("openapi = %v, want 3.1.0", d.root["openapi"])
	}
	if info, _ := d.root["info"].(map[string]any); info["title"] == nil || info["version"] == nil {
		t.Errorf("info lacks title or version")
	}
	// Every $ref resolves.
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if _, ok := v["$ref"]; ok {
				if _, err := d.deref(v); err != nil {
					t.Errorf("%s: %v", path, err)
				}
			}
			for k, c := range v {
				walk(path+"/"+k, c)
			}
		case []any:
			for i, c := range v {
				walk(path+"/"+strconv.Itoa(i), c)
			}
		}
	}
	walk("#", d.root)

	ids := map[string]string{}
	param := regexp.MustCompile(`\{([^}]+)\}`)
	for _, o := range d.operations() {
		id, _ := o.op["operationId"].(string)
		if id == "" || ids[id] != "" {
			t.Errorf("%s: operationId %q missing or also used by %s", o.key, id, ids[id])
		}
		ids[id] = o.key
		if len(o.op["responses"].(map[string]any)) == 0 {
			t.Errorf("%s: no responses", o.key)
		}
		// The path's {parameters} are exactly the declared path parameters.
		var inPath, declared []string
		for _, m := range param.FindAllStringSubmatch(o.path, -1) {
			inPath = append(inPath, m[1])
		}
		ps, _ := o.op["parameters"].([]any)
		for _, p := range ps {
			pm, err := d.deref(p)
			if err != nil {
				continue
			}
			if pm["in"] == "path" {
				declared = append(declared, pm["name"].(string))
				if pm["required"] != true {
					t.Errorf("%s: path parameter %v is not required", o.key, pm["name"])
				}
			}
		}
		slices.Sort(inPath)
		slices.Sort(declared)
		if !slices.Equal(inPath, declared) {
			t.Errorf("%s: path parameters %v, declared %v", o.key, inPath, declared)
		}
	}
	for _, name := range []string{"Problem", "OAuthError", "TokenResponse", "IntrospectionResponse", "Session", "User", "AdminUser", "Client", "Key", "Event", "Webhook", "Delivery"} {
		if _, err := d.deref(map[string]any{"$ref": "#/components/schemas/" + name}); err != nil {
			t.Errorf("component %s: %v", name, err)
		}
	}
}

func TestOpenAPIRoutes(t *testing.T) {
	d := loadDoc(t)
	e, _ := servertest.NewFull(t)
	served := map[string]bool{}
	for _, p := range e.API.Routes() {
		served[docKey(p)] = true
	}
	documented := map[string]bool{}
	for _, o := range d.operations() {
		documented[o.key] = true
		if !served[o.key] {
			t.Errorf("the document names %s, which the server does not serve", o.key)
		}
	}
	for p := range served {
		if !documented[p] {
			t.Errorf("the server serves %s, which the document lacks", p)
		}
	}

	r := e.Do(servertest.Request{Method: "GET", Path: "/openapi.json"})
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "application/json" || !bytes.Equal(r.Body, server.OpenAPI()) {
		t.Errorf("GET /openapi.json: %d %s, %d bytes", r.StatusCode, r.Header.Get("Content-Type"), len(r.Body))
	}
}

func TestOpenAPIStatuses(t *testing.T) {
	d := loadDoc(t)
	for _, o := range d.operations() {
		got := d.statuses(o)
		want, ok := routeStatuses[o.key]
		if !ok {
			t.Errorf("%s: not in routeStatuses", o.key)
			continue
		}
		want = slices.Sorted(slices.Values(want))
		if !slices.Equal(got, want) {
			t.Errorf("%s: documents %v, but the handler answers %v", o.key, got, want)
		}
		if servedByWeb(o) {
			continue // HTML pages: their rules are the page packages'
		}
		need := []int{405, 500}
		_, body := o.op["requestBody"]
		oauth := strings.HasPrefix(o.path, "/oauth2/")
		if body {
			need = append(need, 400, 413)
			if !oauth {
				need = append(need, 415)
			}
		}
		if secured(o) {
			need = append(need, 401)
		}
		if strings.HasPrefix(o.path, "/admin/") {
			need = append(need, 400, 401, 403)
		}
		if strings.Contains(o.path, "{") {
			need = append(need, 404)
		}
		if o.key == "POST /v1/login" {
			need = append(need, 429)
		}
		for _, n := range need {
			if !slices.Contains(got, n) {
				t.Errorf("%s: does not document %d", o.key, n)
			}
		}
	}
	for k := range routeStatuses {
		if _, ok := d.op(k); !ok {
			t.Errorf("routeStatuses names %s, which the document lacks", k)
		}
	}
}

// check validates v against schema and returns what does not fit. Objects
// may carry only documented members unless the schema allows more
// (additionalProperties) or names none at all.
func (d *oaDoc) check(at string, schema any, v any) []string {
	s, err := d.deref(schema)
	if err != nil {
		return []string{at + ": " + err.Error()}
	}
	if all, ok := s["allOf"].([]any); ok {
		merged := map[string]any{"type": "object", "properties": map[string]any{}, "required": []any{}}
		for _, part := range all {
			ps, err := d.deref(part)
			if err != nil {
				return []string{at + ": " + err.Error()}
			}
			maps.Copy(merged["properties"].(map[string]any), ps["properties"].(map[string]any))
			if r, ok := ps["required"].([]any); ok {
				merged["required"] = append(merged["required"].([]any), r...)
			}
		}
		s = merged
	}
	if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, v) {
		return []string{fmt.Sprintf("%s: %v is not one of %v", at, v, enum)}
	}
	bad := func(want string) []string { return []string{fmt.Sprintf("%s: %T is not %s", at, v, want)} }
	switch s["type"] {
	case "object":
		obj, ok := v.(map[string]any)
		if !ok {
			return bad("an object")
		}
		var errs []string
		props, _ := s["properties"].(map[string]any)
		req, _ := s["required"].([]any)
		for _, r := range req {
			if _, ok := obj[r.(string)]; !ok {
				errs = append(errs, fmt.Sprintf("%s: lacks required %q", at, r))
			}
		}
		for k, val := range obj {
			if p, ok := props[k]; ok {
				errs = append(errs, d.check(at+"."+k, p, val)...)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case map[string]any:
				errs = append(errs, d.check(at+"."+k, ap, val)...)
			case bool:
				if !ap {
					errs = append(errs, fmt.Sprintf("%s: undocumented member %q", at, k))
				}
			default:
				if len(props) > 0 {
					errs = append(errs, fmt.Sprintf("%s: undocumented member %q", at, k))
				}
			}
		}
		return errs
	case "array":
		arr, ok := v.([]any)
		if !ok {
			return bad("an array")
		}
		var errs []string
		for i, it := range arr {
			errs = append(errs, d.check(fmt.Sprintf("%s[%d]", at, i), s["items"], it)...)
		}
		return errs
	case "string":
		str, ok := v.(string)
		if !ok {
			return bad("a string")
		}
		if s["format"] == "date-time" {
			if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				return []string{fmt.Sprintf("%s: %q is not a date-time", at, str)}
			}
		}
	case "integer":
		n, ok := v.(json.Number)
		if !ok {
			return bad("an integer")
		}
		if f, err := n.Float64(); err != nil || f != math.Trunc(f) {
			return bad("an integer")
		}
	case "number":
		if _, ok := v.(json.Number); !ok {
			return bad("a number")
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return bad("a boolean")
		}
	}
	return nil
}

func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

// tour sends requests and holds every answer to the document.
type tour struct {
	t    *testing.T
	e    *servertest.Env
	d    *oaDoc
	seen map[string]map[int]bool
}

// call sends req for the operation key and checks the answer, and the
// request body (JSON) when it was accepted, against the document.
func (tr *tour) call(key string, req servertest.Request) *servertest.Response {
	tr.t.Helper()
	o, ok := tr.d.op(key)
	if !ok {
		tr.t.Fatalf("%s: not documented", key)
	}
	r := tr.do(req)
	tr.answer(key, o, r.Response, r.Body)
	// A body the server accepted must be one the document describes.
	if rb, ok := o.op["requestBody"]; ok && req.JSON != nil && r.StatusCode < 300 {
		b, _ := json.Marshal(req.JSON)
		v, _ := decodeJSON(b)
		rbm, _ := tr.d.deref(rb)
		schema := rbm["content"].(map[string]any)["application/json"].(map[string]any)["schema"]
		for _, p := range tr.d.check("request", schema, v) {
			tr.t.Errorf("%s: the server accepted what the document does not describe: %s", key, p)
		}
	}
	return r
}

// do sends req (redirects are answers: servertest does not follow them).
func (tr *tour) do(req servertest.Request) *servertest.Response {
	tr.t.Helper()
	return tr.e.Do(req)
}

func (tr *tour) answer(key string, o operation, resp *http.Response, body []byte) {
	tr.t.Helper()
	if tr.seen[key] == nil {
		tr.seen[key] = map[int]bool{}
	}
	tr.seen[key][resp.StatusCode] = true
	doc, ok := o.op["responses"].(map[string]any)[strconv.Itoa(resp.StatusCode)]
	if !ok {
		tr.t.Errorf("%s answered %d, which is not documented: %s", key, resp.StatusCode, body)
		return
	}
	rd, err := tr.d.deref(doc)
	if err != nil {
		tr.t.Error(err)
		return
	}
	content, _ := rd["content"].(map[string]any)
	if len(content) == 0 {
		if len(body) > 0 {
			tr.t.Errorf("%s %d: documented without a body, answered %q", key, resp.StatusCode, body)
		}
		return
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	media, ok := content[mt].(map[string]any)
	if !ok {
		tr.t.Errorf("%s %d: Content-Type %q is not documented (%v)", key, resp.StatusCode, mt, slices.Collect(maps.Keys(content)))
		return
	}
	if !strings.HasSuffix(mt, "json") {
		return
	}
	v, err := decodeJSON(body)
	if err != nil {
		tr.t.Errorf("%s %d: body is not JSON: %v", key, resp.StatusCode, err)
		return
	}
	for _, p := range tr.d.check("response", media["schema"], v) {
		tr.t.Errorf("%s %d: %s", key, resp.StatusCode, p)
	}
}

func TestOpenAPITour(t *testing.T) {
	d := loadDoc(t)
	e, _ := servertest.NewFull(t)
	tr := &tour{t: t, e: e, d: d, seen: map[string]map[int]bool{}}
	admin := e.ClientToken("ops", "admin")
	evID, evSec := e.Client("verifier", "events", "introspect")
	e.MustUser("ada@example.com", servertest.Password, "admin")
	same := map[string]string{"Sec-Fetch-Site": "same-origin"}
	crossSite := map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}

	// Sessions, all three modes.
	r := tr.call("POST /v1/login", servertest.Request{Method: "POST", Path: "/v1/login", JSON: map[string]any{"email": "ada@example.com", "password": servertest.Password}})
	cookie := r.SessionCookie().Value
	tr.call("POST /v1/login", servertest.Request{Method: "POST", Path: "/v1/login", JSON: map[string]any{"email": "ada@example.com", "password": servertest.Password, "cookie": false}})
	r = tr.call("POST /v1/login", servertest.Request{Method: "POST", Path: "/v1/login", JSON: map[string]any{"email": "ada@example.com", "password": servertest.Password, "mode": "hybrid"}})
	var toks servertest.TokenResp
	r.Decode(t, &toks)
	tr.call("POST /v1/login", servertest.Request{Method: "POST", Path: "/v1/login", JSON: map[string]any{"email": "ada@example.com", "password": "wrong-password"}})
	tr.call("POST /v1/login", servertest.Request{Method: "POST", Path: "/v1/login", JSON: map[string]any{"email": "ada@example.com"}})
	tr.call("GET /v1/session", servertest.Request{Method: "GET", Path: "/v1/session", Cookie: cookie})
	tr.call("GET /v1/session", servertest.Request{Method: "GET", Path: "/v1/session", Bearer: toks.AccessToken})
	r = tr.call("GET /v1/sessions", servertest.Request{Method: "GET", Path: "/v1/sessions", Cookie: cookie})
	var mine struct {
		Sessions []struct {
			ID      string `json:"sid"`
			Current bool   `json:"current"`
		} `json:"sessions"`
	}
	r.Decode(t, &mine)
	tr.call("POST /v1/session/token", servertest.Request{Method: "POST", Path: "/v1/session/token", Cookie: cookie, Header: same})
	tr.call("POST /v1/session/token", servertest.Request{Method: "POST", Path: "/v1/session/token", Cookie: cookie, Header: same, JSON: map[string]any{"scope": "admin"}})
	tr.call("GET /v1/authz", servertest.Request{Method: "GET", Path: "/v1/authz", Cookie: cookie})
	for _, s := range mine.Sessions {
		if !s.Current {
			tr.call("DELETE /v1/sessions/{sid}", servertest.Request{Method: "DELETE", Path: "/v1/sessions/" + s.ID, Cookie: cookie, Header: same})
			break
		}
	}
	tr.call("DELETE /v1/sessions/{sid}", servertest.Request{Method: "DELETE", Path: "/v1/sessions/nope", Cookie: cookie, Header: same})
	tr.call("DELETE /v1/sessions", servertest.Request{Method: "DELETE", Path: "/v1/sessions", Cookie: cookie, Header: same})

	// OAuth.
	post := func(key, path string, form url.Values, header map[string]string) {
		t.Helper()
		tr.call(key, servertest.Request{Method: "POST", Path: path, Raw: form.Encode(), ContentType: servertest.FormType, Header: header})
	}
	r = tr.call("POST /v1/login", servertest.Request{Method: "POST", Path: "/v1/login", JSON: map[string]any{"email": "ada@example.com", "password": servertest.Password, "mode": "token"}})
	r.Decode(t, &toks)
	post("POST /oauth2/token", "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {toks.RefreshToken}, "client_id": {"tessera"}}, nil)
	post("POST /oauth2/token", "/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, servertest.Basic(evID, evSec))
	post("POST /oauth2/token", "/oauth2/token", url.Values{"grant_type": {"password"}}, nil)
	post("POST /oauth2/token", "/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, servertest.Basic(evID, "wrong"))
	post("POST /oauth2/introspect", "/oauth2/introspect", url.Values{"token": {toks.AccessToken}}, servertest.Basic(evID, evSec))
	post("POST /oauth2/introspect", "/oauth2/introspect", url.Values{"token": {"nonsense"}}, servertest.Basic(evID, evSec))
	post("POST /oauth2/revoke", "/oauth2/revoke", url.Values{"token": {"nonsense"}}, nil)
	for _, k := range []string{"GET /.well-known/jwks.json", "GET /.well-known/oauth-authorization-server", "GET /.well-known/openid-configuration",
		"GET /healthz", "GET /readyz", "GET /metrics", "GET /openapi.json"} {
		tr.call(k, servertest.Request{Method: "GET", Path: strings.TrimPrefix(k, "GET ")})
	}
	tr.call("POST /v1/logout", servertest.Request{Method: "POST", Path: "/v1/logout", Cookie: cookie, Header: same})

	// The event stream: the status and the media type, then hang up.
	func() {
		o, _ := d.op("GET /v1/events")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", e.Srv.URL+"/v1/events", nil)
		req.SetBasicAuth(evID, evSec)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		tr.answer("GET /v1/events", o, resp, nil)
		tr.call("GET /v1/events", servertest.Request{Method: "GET", Path: "/v1/events", Header: map[string]string{"Last-Event-ID": "x", "Authorization": servertest.Basic(evID, evSec)["Authorization"]}})
	}()

	// Admin.
	a := func(key, method, path string, body any) *servertest.Response {
		t.Helper()
		return tr.call(key, servertest.Request{Method: method, Path: path, JSON: body, Bearer: admin})
	}
	var u struct {
		ID string `json:"id"`
	}
	a("POST /admin/v1/users", "POST", "/admin/v1/users", map[string]any{"email": "bob@example.com", "password": servertest.Password, "roles": []string{"staff"}}).Decode(t, &u)
	a("POST /admin/v1/users", "POST", "/admin/v1/users", map[string]any{"email": "bob@example.com", "password": servertest.Password})
	a("GET /admin/v1/users", "GET", "/admin/v1/users?limit=1", nil)
	a("GET /admin/v1/users/{id}", "GET", "/admin/v1/users/"+u.ID, nil)
	a("GET /admin/v1/users/{id}", "GET", "/admin/v1/users/nobody@example.com", nil)
	a("PATCH /admin/v1/users/{id}", "PATCH", "/admin/v1/users/"+u.ID, map[string]any{"roles": []string{}, "disabled": false, "password": "another-long-passphrase"})
	bob := e.Login("bob@example.com", "another-long-passphrase")
	var bs struct {
		Sessions []struct {
			ID string `json:"sid"`
		} `json:"sessions"`
	}
	a("GET /admin/v1/users/{id}/sessions", "GET", "/admin/v1/users/"+u.ID+"/sessions", nil).Decode(t, &bs)
	if len(bs.Sessions) == 1 {
		a("DELETE /admin/v1/users/{id}/sessions/{sid}", "DELETE", "/admin/v1/users/"+u.ID+"/sessions/"+bs.Sessions[0].ID, nil)
	}
	_ = bob
	a("DELETE /admin/v1/users/{id}/sessions", "DELETE", "/admin/v1/users/"+u.ID+"/sessions", nil)
	var c struct {
		ID string `json:"client_id"`
	}
	a("POST /admin/v1/clients", "POST", "/admin/v1/clients", map[string]any{"name": "billing", "scopes": []string{"introspect"}}).Decode(t, &c)
	a("GET /admin/v1/clients", "GET", "/admin/v1/clients", nil)
	a("DELETE /admin/v1/clients/{id}", "DELETE", "/admin/v1/clients/"+c.ID, nil)
	a("POST /admin/v1/keys/rotate", "POST", "/admin/v1/keys/rotate", nil)
	a("GET /admin/v1/keys", "GET", "/admin/v1/keys", nil)
	a("GET /admin/v1/events", "GET", "/admin/v1/events?limit=1000", nil)
	a("GET /admin/v1/events", "GET", "/admin/v1/events?type=user.created&limit=1", nil)
	var w struct {
		ID string `json:"id"`
	}
	a("POST /admin/v1/webhooks", "POST", "/admin/v1/webhooks", map[string]any{"url": "https://hooks.example.com/", "events": []string{"*"}}).Decode(t, &w)
	a("GET /admin/v1/webhooks", "GET", "/admin/v1/webhooks", nil)
	a("GET /admin/v1/webhooks/{id}/deliveries", "GET", "/admin/v1/webhooks/"+w.ID+"/deliveries", nil)
	a("DELETE /admin/v1/webhooks/{id}", "DELETE", "/admin/v1/webhooks/"+w.ID, nil)
	a("DELETE /admin/v1/users/{id}", "DELETE", "/admin/v1/users/"+u.ID, nil)

	// Probes: no credential, another method, a body of the wrong type, a
	// body too large. Each answer must be documented.
	e.MustUser("probe@example.com", servertest.Password)
	probeCookie := e.Login("probe@example.com", servertest.Password)
	userJWT := e.MustTokens("probe@example.com", nil).AccessToken
	big := strings.Repeat("a", httpx.MaxBodyBytes+1)
	fill := regexp.MustCompile(`\{[^}]+\}`)
	for _, o := range d.operations() {
		path := fill.ReplaceAllString(o.path, "x")
		if o.key != "POST /v1/logout" {
			tr.call(o.key, servertest.Request{Method: o.method, Path: path})
		}
		for _, m := range []string{"PUT", "PATCH", "POST", "DELETE", "GET"} {
			item := d.root["paths"].(map[string]any)[o.path].(map[string]any)
			if _, ok := item[strings.ToLower(m)]; !ok {
				r := tr.call(o.key, servertest.Request{Method: m, Path: path})
				if r.StatusCode != 405 || r.Header.Get("Allow") == "" {
					t.Errorf("%s %s: %d, Allow %q; want 405 with Allow", m, o.path, r.StatusCode, r.Header.Get("Allow"))
				}
				break
			}
		}
		if o.method != "GET" && (usesCookie(o) || o.key == "POST /v1/login") {
			tr.call(o.key, servertest.Request{Method: o.method, Path: path, Cookie: probeCookie, Header: crossSite})
		}
		if strings.HasPrefix(o.path, "/admin/v1/") {
			// A user without the admin role; a stray query parameter; an
			// unknown ID (with a body that would pass).
			tr.call(o.key, servertest.Request{Method: o.method, Path: path, Bearer: userJWT})
			tr.call(o.key, servertest.Request{Method: o.method, Path: path + "?bogus=1", Bearer: admin})
			if strings.Contains(o.path, "{") {
				var body any
				if o.method == "PATCH" {
					body = map[string]any{"disabled": false}
				}
				tr.call(o.key, servertest.Request{Method: o.method, Path: path, Bearer: admin, JSON: body})
			}
		}
		if _, ok := o.op["requestBody"]; !ok {
			continue
		}
		cred := servertest.Request{}
		switch {
		case strings.HasPrefix(o.path, "/admin/v1/"):
			cred.Bearer = admin
		case o.key == "POST /v1/session/token":
			cred.Cookie, cred.Header = probeCookie, same
		}
		for _, body := range []struct{ raw, ct string }{{"{}", "text/plain"}, {big, "application/json"}, {big, servertest.FormType}} {
			req := cred
			req.Method, req.Path, req.Raw, req.ContentType = o.method, path, body.raw, body.ct
			tr.call(o.key, req)
		}
	}

	introID, introSec := e.Client("introspector", "introspect")
	tr.call("GET /v1/events", servertest.Request{Method: "GET", Path: "/v1/events", Header: servertest.Basic(introID, introSec)})
	post("POST /oauth2/introspect", "/oauth2/introspect", url.Values{"token": {"x"}}, servertest.Basic(evID, "wrong"))
	post("POST /oauth2/revoke", "/oauth2/revoke", url.Values{"token": {"x"}}, servertest.Basic(evID, "wrong"))
	authz := map[string]string{"X-Forwarded-Method": "POST"}
	maps.Copy(authz, crossSite)
	tr.call("GET /v1/authz", servertest.Request{Method: "GET", Path: "/v1/authz", Cookie: probeCookie, Header: authz})
	e.API.SetDraining()
	tr.call("GET /readyz", servertest.Request{Method: "GET", Path: "/readyz"})

	for _, o := range d.operations() {
		if servedByWeb(o) {
			continue // the page packages' tests drive the pages
		}
		ok := false
		for st := range tr.seen[o.key] {
			ok = ok || (st >= 200 && st < 300)
		}
		if !ok {
			t.Errorf("%s: the tour got no 2xx (saw %v)", o.key, slices.Sorted(maps.Keys(tr.seen[o.key])))
		}
	}
	var unseen []string
	for _, o := range d.operations() {
		for _, st := range d.statuses(o) {
			if !tr.seen[o.key][st] && !servedByWeb(o) {
				unseen = append(unseen, fmt.Sprintf("%s %d", o.key, st))
			}
		}
	}
	t.Logf("documented statuses the tour did not provoke (500s, races, saturation, …): %d\n%s", len(unseen), strings.Join(unseen, "\n"))
}

// TestSecurityHeaders: the headers the document's description promises, on
// plain HTTP and over TLS, where Strict-Transport-Security is added and the
// __Host- cookie works.
func TestSecurityHeaders(t *testing.T) {
	e, _ := servertest.NewFull(t)
	e.MustUser("ada@example.com", servertest.Password)
	want := map[string]string{
		"Cache-Control":           "no-store",
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "no-referrer",
		"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
	}
	r := e.Do(servertest.Request{Method: "GET", Path: "/admin/v1/users"})
	for k, v := range want {
		if got := r.Header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	if r.Header.Get("X-Request-Id") == "" || r.Header.Get("Strict-Transport-Security") != "" {
		t.Errorf("plain HTTP: X-Request-Id %q, Strict-Transport-Security %q", r.Header.Get("X-Request-Id"), r.Header.Get("Strict-Transport-Security"))
	}

	ts := httptest.NewTLSServer(e.API)
	defer ts.Close()
	client := ts.Client()
	resp, err := client.Post(ts.URL+"/v1/login", "application/json", strings.NewReader(`{"email":"ada@example.com","password":"`+servertest.Password+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Strict-Transport-Security") != "max-age=63072000" {
		t.Errorf("TLS: Strict-Transport-Security %q", resp.Header.Get("Strict-Transport-Security"))
	}
	var c *http.Cookie
	for _, k := range resp.Cookies() {
		if k.Name == httpx.CookieName {
			c = k
		}
	}
	if resp.StatusCode != 200 || c == nil || !c.Secure || !c.HttpOnly {
		t.Fatalf("TLS login: %d, cookie %+v", resp.StatusCode, c)
	}
	// A same-origin unsafe request over TLS passes the cross-origin check.
	req, _ := http.NewRequest("DELETE", ts.URL+"/v1/sessions", nil)
	req.AddCookie(c)
	req.Header.Set("Origin", ts.URL)
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("same-origin DELETE over TLS: %d", resp.StatusCode)
	}
}
