package webhook_test

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/webhook"
)

// The receiver's verification from docs/webhooks.md, verbatim: a test below
// checks that the document still shows exactly this function.

// verify checks a webhook request's signature and timestamp and returns its body.
func verify(r *http.Request, secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return nil, err
	}
	id, ts := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp")
	unix, err := strconv.ParseInt(ts, 10, 64)
	if id == "" || err != nil {
		return nil, errors.New("missing webhook-id or webhook-timestamp")
	}
	if d := time.Since(time.Unix(unix, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return nil, errors.New("webhook-timestamp too far from now")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := []byte("v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	for _, sig := range strings.Fields(r.Header.Get("webhook-signature")) {
		if hmac.Equal([]byte(sig), want) {
			return body, nil
		}
	}
	return nil, errors.New("no valid signature")
}

// TestDocsVerify: the documented verification accepts what the deliverer
// sends, with the secret shown at Add, and refuses it under another secret.
func TestDocsVerify(t *testing.T) {
	db, _ := newDB(t)
	svc := newService(t, db, nil)
	other, _ := webhook.NewSecret(nil)
	results := make(chan error, 2)
	var mu sync.Mutex
	var whsec string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		clone := func() *http.Request {
			c := r.Clone(r.Context())
			c.Body = io.NopCloser(strings.NewReader(string(body)))
			return c
		}
		if _, err := verify(clone(), other.Reveal()); err == nil {
			results <- errors.New("verified under another secret")
		}
		mu.Lock()
		_, err := verify(clone(), whsec)
		mu.Unlock()
		results <- err
	}))
	defer srv.Close()
	mu.Lock()
	_, sec := mustAdd(t, svc, srv.URL, auth.EventSessionRevoked)
	whsec = sec.Reveal()
	mu.Unlock()
	startDeliverer(t, db, webhook.Config{})
	appendEvents(t, db, sid(), auth.EventSessionRevoked)
	select {
	case err := <-results:
		if err != nil {
			t.Fatalf("documented verify: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no delivery")
	}
}

// TestDocsShowVerify: docs/webhooks.md shows the verify function above.
func TestDocsShowVerify(t *testing.T) {
	src, err := os.ReadFile("docsnippet_test.go")
	if err != nil {
		t.Fatal(err)
	}
	start := strings.Index(string(src), "// verify checks")
	fn := string(src)[start:]
	fn = fn[:strings.Index(fn, "\n}\n")+3]
	doc, err := os.ReadFile("../docs/webhooks.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), fn) {
		t.Errorf("docs/webhooks.md does not show this verify function verbatim:\n%s", fn)
	}
}

// TestDocsExample: the example request in docs/webhooks.md is signed with
// the secret it names, and its body is what the deliverer would send.
func TestDocsExample(t *testing.T) {
	doc, err := os.ReadFile("../docs/webhooks.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	start := strings.Index(s, "```http\n")
	if start < 0 {
		t.Fatal("no ```http block in docs/webhooks.md")
	}
	s = s[start+len("```http\n"):]
	s = s[:strings.Index(s, "```")]
	head, body, _ := strings.Cut(s, "\n\n")
	body = strings.TrimSuffix(body, "\n")
	req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(head + "\r\n\r\n")))
	if err != nil {
		t.Fatalf("reading the example request: %v", err)
	}
	sec, err := webhook.ParseSecret(specSecret)
	if err != nil {
		t.Fatal(err)
	}
	ts, _ := strconv.ParseInt(req.Header.Get("webhook-timestamp"), 10, 64)
	if got, want := req.Header.Get("webhook-signature"), sec.Sign(req.Header.Get("webhook-id"), time.Unix(ts, 0), []byte(body)); got != want {
		t.Errorf("example webhook-signature %s, want %s", got, want)
	}
	var p webhook.Payload
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatalf("example body: %v", err)
	}
	ev := auth.Event{Seq: p.Data.Seq, Type: p.Data.Type, At: p.Data.At, UserID: p.Data.UserID, SessionID: p.Data.SessionID, Data: p.Data.Data}
	if again, _ := json.Marshal(webhook.NewPayload(ev)); string(again) != body {
		t.Errorf("example body is not what would be sent:\n\tdoc  %s\n\tsent %s", body, again)
	}
	if req.Header.Get("webhook-id") != webhook.MessageID(p.Data.Seq) {
		t.Errorf("example webhook-id %s for seq %d", req.Header.Get("webhook-id"), p.Data.Seq)
	}
}
