package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tessera-auth/tessera/accesstoken"
	"github.com/tessera-auth/tessera/auth"
)

type tokenCmd struct {
	Inspect tokenInspectCmd `cmd:"" help:"Decode an access token (JWT) and verify it against the store's signing keys."`
	Admin   tokenAdminCmd   `cmd:"" help:"Sign in to a server as an admin user and print an access token for --token."`
}

type tokenInspectCmd struct {
	Token  string `arg:"" name:"jwt" placeholder:"JWT" help:"The access token, or - to read it from stdin."`
	JSON   bool   `name:"json" help:"Print a JSON object (header, claims, times, valid, kid, reason) instead of text."`
	Server `embed:""`
}

func (c *tokenInspectCmd) Help() string {
	return `Prints the token's header and claims, with its times also in RFC 3339, and
verifies it offline, as the server would: the signature against the signing
keys in the store (so it needs the key-encryption secret, like the server),
the type, --issuer, --audience and the times. It prints
"signature: valid (kid …)", or says exactly why the token is invalid
(expired, unknown key, wrong issuer, bad signature …) and exits with status 1.

Give the same --issuer and --audience (or the same --config) as the server,
whose tokens carry them. The session behind a token is not checked: a token
can verify here after its session was revoked (GET /v1/session or
/oauth2/introspect answer that).

Examples:

    tessera token inspect eyJhbGciOiJFZERTQSIs…
    pbpaste | tessera token inspect -
    tessera token inspect --issuer https://auth.example.com --json "$TOKEN" | jq .claims.sub`
}

// maxTokenInput bounds what token inspect reads from stdin.
const maxTokenInput = 1 << 20

// inspection is token inspect's output.
type inspection struct {
	Header json.RawMessage   `json:"header"` // null when not JSON
	Claims json.RawMessage   `json:"claims"` // null when not JSON
	Times  map[string]string `json:"times"`  // iat, nbf, exp in RFC 3339
	Valid  bool              `json:"valid"`
	Kid    string            `json:"kid,omitempty"`
	Reason string            `json:"reason,omitempty"` // why it is invalid

	header, claims map[string]any // decoded, for the messages
}

func (c *tokenInspectCmd) Run(a *app) error {
	tok := c.Token
	if tok == "-" {
		b, err := io.ReadAll(io.LimitReader(a.stdin, maxTokenInput))
		if err != nil {
			return fmt.Errorf("reading the token from stdin: %w", err)
		}
		tok = string(b)
	}
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return errors.New("no token given; pass it as the argument, or - to read it from stdin")
	}
	in := decodeForDisplay(tok)

	svc, _, done, err := a.tokenService(&c.Server, true)
	if err != nil {
		return err
	}
	defer done()
	_, verr := svc.Verifier().Verify(tok)
	// The times shown are relative to the clock the verifier judged by.
	now := svc.Config().Now()
	switch {
	case verr == nil:
		in.Valid = true
		in.Kid, _ = in.header["kid"].(string)
	case errors.Is(verr, accesstoken.ErrInvalid):
		in.Reason = in.reason(verr, svc, now)
	default:
		return fmt.Errorf("verifying: %w", verr) // the verifier itself is misconfigured
	}

	if c.JSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(in); err != nil {
			return err
		}
	} else {
		in.writeText(a.stdout, now)
	}
	if !in.Valid {
		return fmt.Errorf("invalid token: %s", in.Reason)
	}
	return nil
}

// decodeForDisplay splits the token on '.' and base64url-decodes the header
// and claims segments for display. It judges nothing: that is the
// verifier's job.
func decodeForDisplay(tok string) *inspection {
	in := &inspection{Times: map[string]string{}}
	parts := strings.Split(tok, ".")
	seg := func(i int) (json.RawMessage, map[string]any) {
		if i >= len(parts) {
			return nil, nil
		}
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[i], "="))
		if err != nil {
			return nil, nil
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var m map[string]any
		if dec.Decode(&m) != nil || m == nil {
			return nil, nil
		}
		var pretty bytes.Buffer
		if json.Indent(&pretty, raw, "", "  ") != nil {
			return nil, nil
		}
		return pretty.Bytes(), m
	}
	in.Header, in.header = seg(0)
	in.Claims, in.claims = seg(1)
	for _, name := range []string{"iat", "nbf", "exp"} {
		if t, ok := in.time(name); ok {
			in.Times[name] = t.Format(time.RFC3339)
		}
	}
	return in
}

// time reads a NumericDate claim for display.
func (in *inspection) time(name string) (time.Time, bool) {
	n, ok := in.claims[name].(json.Number)
	if !ok {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil || math.IsInf(f, 0) || f < 0 || f > 253402300799 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
}

// reason says why the verifier refused the token, with the token's values
// that explain it; durations are relative to now.
func (in *inspection) reason(err error, svc *auth.Service, now time.Time) string {
	msg := strings.TrimPrefix(err.Error(), "accesstoken: ")
	kid, _ := in.header["kid"].(string)
	cfg := svc.Config().Tokens
	switch {
	case errors.Is(err, accesstoken.ErrExpired):
		if exp, ok := in.time("exp"); ok {
			return fmt.Sprintf("%s (exp %s, %s ago)", msg, exp.Format(time.RFC3339), now.Sub(exp).Round(time.Second))
		}
	case errors.Is(err, accesstoken.ErrNotYetValid):
		for _, name := range []string{"nbf", "iat"} {
			if t, ok := in.time(name); ok && t.Sub(now) > 0 {
				return fmt.Sprintf("%s (%s %s, in %s)", msg, name, t.Format(time.RFC3339), t.Sub(now).Round(time.Second))
			}
		}
	case errors.Is(err, accesstoken.ErrIssuer):
		return fmt.Sprintf("%s (iss %s; expected %q: --issuer)", msg, quoteClaim(in.claims["iss"]), cfg.Issuer)
	case errors.Is(err, accesstoken.ErrAudience):
		return fmt.Sprintf("%s (aud %s; expected %q: --audience)", msg, quoteClaim(in.claims["aud"]), cfg.Audience)
	case errors.Is(err, accesstoken.ErrUnknownKey):
		keys := svc.Keys()
		if len(keys) == 0 {
			return msg + " (the store has no signing keys)"
		}
		for _, k := range keys {
			if k.ID == kid {
				return fmt.Sprintf("%s (key %s was retired at %s and is no longer trusted: every token it signed has expired)", msg, kid, k.RetiredAt.UTC().Format(time.RFC3339))
			}
		}
		return msg + " (not a key of this store: another server's token, or one signed by a key already deleted)"
	case errors.Is(err, accesstoken.ErrSignature):
		return fmt.Sprintf("%s (the token was altered, or key %s did not sign it)", msg, kid)
	}
	return msg
}

// quoteClaim formats a claim's value (from the unverified token) for a
// message, bounded in length.
func quoteClaim(v any) string {
	if v == nil {
		return "missing"
	}
	b, _ := json.Marshal(v)
	s := string(b)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// writeText prints the inspection for people, with the expiry relative to
// now.
func (in *inspection) writeText(w io.Writer, now time.Time) {
	section := func(name string, raw json.RawMessage) {
		fmt.Fprintf(w, "%s:\n", name)
		if raw == nil {
			fmt.Fprintln(w, "  (not base64url-encoded JSON)")
			return
		}
		for l := range strings.Lines(string(raw)) {
			fmt.Fprintf(w, "  %s", l)
		}
		fmt.Fprintln(w)
	}
	section("header", in.Header)
	section("claims", in.Claims)
	if len(in.Times) > 0 {
		fmt.Fprintln(w, "times:")
		for _, name := range []string{"iat", "nbf", "exp"} {
			t, ok := in.time(name)
			if !ok {
				continue
			}
			note := ""
			if name == "exp" {
				if d := t.Sub(now).Round(time.Second); d > 0 {
					note = fmt.Sprintf(" (expires in %s)", d)
				} else {
					note = fmt.Sprintf(" (expired %s ago)", -d)
				}
			}
			fmt.Fprintf(w, "  %s  %s%s\n", name, t.Format(time.RFC3339), note)
		}
	}
	if in.Valid {
		fmt.Fprintf(w, "signature: valid (kid %s)\n", in.Kid)
	}
}

type tokenAdminCmd struct {
	URL           string `name:"url" required:"" env:"TESSERA_URL" placeholder:"URL" help:"The base URL of the Tessera server, e.g. https://auth.example.com."`
	Email         string `required:"" placeholder:"EMAIL" help:"The admin user's email address."`
	PasswordStdin bool   `name:"password-stdin" help:"Read the password from stdin (one trailing newline is removed). Required."`
}

func (c *tokenAdminCmd) Help() string {
	return `Signs in to the server at --url as a user with the admin role (POST
/v1/login, mode "token") and prints the access token, for --token
(TESSERA_TOKEN) of the admin commands with --url. The password comes from
stdin, never from an argument. The token expires after the server's
--access-ttl (5 minutes by default), and the sign-in is a session of the
user like any other (tessera sessions list shows it).

For automation, use a client with the admin scope instead, and get its
token with client_credentials whenever one is needed:

    tessera client add --name ops --scope admin --json   # once; keep the secret
    curl -s -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials \
        https://auth.example.com/oauth2/token | jq -r .access_token

Example:

    export TESSERA_URL=https://auth.example.com
    export TESSERA_TOKEN=$(printf '%s\n' "$PASSWORD" | tessera token admin --email ada@example.com --password-stdin)
    tessera user list`
}

func (c *tokenAdminCmd) Run(a *app) error {
	if !c.PasswordStdin {
		return noPasswordStdin("token admin", c.Email)
	}
	base := strings.TrimSuffix(c.URL, "/")
	// The same checks as --url of the admin commands; the token is a stand-in.
	if err := (&Remote{URL: base, Token: "-"}).Validate("--url"); err != nil {
		return err
	}
	pw, err := a.readPasswordFor("token admin", c.Email)
	if err != nil {
		return err
	}
	body, err := json.Marshal(map[string]string{"email": c.Email, "password": pw, "mode": "token"})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(a.ctx, http.MethodPost, base+"/v1/login", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("--url (TESSERA_URL): %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	hc := &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is in the message already
		}
		return fmt.Errorf("signing in at %s: %w", req.URL.Host, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("reading the answer of %s: %w", req.URL.Host, err)
	}
	if resp.StatusCode != http.StatusOK {
		var p struct {
			Detail string `json:"detail"`
		}
		if json.Unmarshal(b, &p) == nil && p.Detail != "" {
			return errors.New(p.Detail)
		}
		return fmt.Errorf("signing in at %s: the server answered %s", req.URL.Host, resp.Status)
	}
	var out struct {
		AccessToken string `json:"access_token"`
		User        struct {
			Roles []string `json:"roles"`
		} `json:"user"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.AccessToken == "" {
		return fmt.Errorf("signing in at %s: the answer holds no access token", req.URL.Host)
	}
	if !slices.Contains(out.User.Roles, auth.RoleAdmin) {
		return fmt.Errorf("%s does not have the %q role, which the admin API requires (tessera user set-roles grants it)", c.Email, auth.RoleAdmin)
	}
	_, err = fmt.Fprintln(a.stdout, out.AccessToken)
	return err
}
