package events_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/server/servertest"
)

type sseEvent struct {
	id, typ, data string
}

// sseStream connects to GET /v1/events and returns a channel of events.
func sseStream(e *servertest.Env, ctx context.Context, user, pass, lastID string) (<-chan sseEvent, *http.Response) {
	e.T.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.Srv.URL+"/v1/events", nil)
	req.SetBasicAuth(user, pass)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.T.Fatal(err)
	}
	ch := make(chan sseEvent, 100)
	if resp.StatusCode != 200 {
		close(ch)
		return ch, resp
	}
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				ch <- ev
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.typ = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			}
		}
	}()
	return ch, resp
}

func next(t *testing.T, ch <-chan sseEvent, skipHeartbeats bool) sseEvent {
	t.Helper()
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatal("stream ended")
			}
			if skipHeartbeats && ev.typ == "heartbeat" {
				continue
			}
			return ev
		case <-time.After(5 * time.Second):
			t.Fatal("no event within 5 s")
		}
	}
}

func TestEventsStream(t *testing.T) {
	e := servertest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.Svc.Follow(ctx, 0, 50*time.Millisecond)
	u := e.MustUser("ada@example.com", servertest.Password)
	sub, _ := e.Svc.CreateClient(ctx, "api", []string{auth.ScopeEvents, auth.ScopeIntrospect})
	plain, _ := e.Svc.CreateClient(ctx, "plain", nil)

	t.Run("ErrNoScope", func(t *testing.T) {
		_, resp := sseStream(e, ctx, plain.Client.ID, plain.Secret.Reveal(), "")
		if resp.StatusCode != 403 {
			t.Fatalf("client without the events scope: %d", resp.StatusCode)
		}
	})
	t.Run("ErrNoAuth", func(t *testing.T) {
		_, resp := sseStream(e, ctx, sub.Client.ID, "wrong", "")
		if resp.StatusCode != 401 {
			t.Fatalf("wrong secret: %d", resp.StatusCode)
		}
	})

	// A session revoked before connecting is replayed after a reset.
	early := e.Login("ada@example.com", servertest.Password)
	e.Do(servertest.Request{Method: "POST", Path: "/v1/logout", Cookie: early})
	ch, resp := sseStream(e, ctx, sub.Client.ID, sub.Secret.Reveal(), "")
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("content type %q", resp.Header.Get("Content-Type"))
	}
	hello := next(t, ch, true)
	var h struct {
		Lifetime int  `json:"token_lifetime_seconds"`
		Resumed  bool `json:"resumed"`
	}
	json.Unmarshal([]byte(hello.data), &h)
	if hello.typ != "hello" || h.Lifetime != 360 || h.Resumed {
		t.Fatalf("hello: %+v", hello)
	}
	if ev := next(t, ch, true); ev.typ != "reset" {
		t.Fatalf("want reset, got %+v", ev)
	}
	replayed := next(t, ch, true)
	if replayed.typ == auth.EventKeyRotated { // the first key, made at start-up
		replayed = next(t, ch, true)
	}
	if replayed.typ != auth.EventSessionRevoked || replayed.id == "" {
		t.Fatalf("replay: %+v", replayed)
	}

	// Live: a logout reaches the stream; login events do not.
	c := e.Login("ada@example.com", servertest.Password)
	e.Do(servertest.Request{Method: "POST", Path: "/v1/logout", Cookie: c})
	live := next(t, ch, true)
	var body struct {
		UserID string `json:"user_id"`
		SID    string `json:"sid"`
	}
	json.Unmarshal([]byte(live.data), &body)
	if live.typ != auth.EventSessionRevoked || body.UserID != u.ID || body.SID == "" {
		t.Fatalf("live event: %+v", live)
	}

	// Resume: events after the given ID arrive, nothing before it.
	e.Svc.SetDisabled(ctx, u.ID, true)
	cancel2ctx, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	ch2, _ := sseStream(e, cancel2ctx, sub.Client.ID, sub.Secret.Reveal(), live.id)
	if ev := next(t, ch2, true); ev.typ != "hello" || !strings.Contains(ev.data, `"resumed":true`) {
		t.Fatalf("resume hello: %+v", ev)
	}
	if ev := next(t, ch2, true); ev.typ != auth.EventTokensInvalidated {
		t.Fatalf("after resume: %+v", ev)
	}

	t.Run("ErrBadLastEventID", func(t *testing.T) {
		_, resp := sseStream(e, ctx, sub.Client.ID, sub.Secret.Reveal(), "x1")
		if resp.StatusCode != 400 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
}

func TestEventsStreamEndsAtShutdown(t *testing.T) {
	e := servertest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.Svc.Follow(ctx, 0, 50*time.Millisecond)
	sub, _ := e.Svc.CreateClient(ctx, "api", []string{auth.ScopeEvents})
	ch, _ := sseStream(e, ctx, sub.Client.ID, sub.Secret.Reveal(), "")
	if ev := next(t, ch, true); ev.typ != "hello" {
		t.Fatalf("first event %+v", ev)
	}
	e.API.CloseStreams()
	deadline := time.After(5 * time.Second)
	for open := true; open; {
		select {
		case _, open = <-ch:
		case <-deadline:
			t.Fatal("stream still open after CloseStreams")
		}
	}
	if _, resp := sseStream(e, ctx, sub.Client.ID, sub.Secret.Reveal(), ""); resp.StatusCode != 503 {
		t.Fatalf("new stream while shutting down: %d", resp.StatusCode)
	}
}
