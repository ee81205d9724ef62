// Package events serves GET /v1/events, the revocation stream: server-sent
// events that carry every revocation to verifiers (package guard follows
// it), resumable with Last-Event-ID, for clients with the "events" scope.
package events

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tessera-auth/tessera/accesstoken"
	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/server/httpx"
)

// StreamedEvents are the event types GET /v1/events carries: what a verifier
// needs to refuse revoked tokens. Sign-in events, with their addresses, stay
// in the audit log.
var StreamedEvents = []string{
	auth.EventSessionRevoked, auth.EventTokensInvalidated, auth.EventUserDeleted,
	auth.EventRefreshReuse, auth.EventKeyRotated, auth.EventClientRemoved,
}

// Stream tuning; variables so that tests can shorten them.
var (
	HeartbeatInterval = 5 * time.Second
	MaxSubscribers    = 1000
)

// Handler serves the stream. Close ends every open stream.
type Handler struct {
	kit     *httpx.Kit
	streams atomic.Int64 // open event streams
	once    sync.Once
	closed  chan struct{}
}

// New returns the handler over kit.
func New(kit *httpx.Kit) *Handler { return &Handler{kit: kit, closed: make(chan struct{})} }

// Mount registers the route on m.
func (s *Handler) Mount(m httpx.Mux) { m.Handle("GET /v1/events", http.HandlerFunc(s.handleEvents)) }

// Close ends every open event stream cleanly (subscribers reconnect, to
// another node, with their Last-Event-ID) and refuses new ones. Call it when
// shutting down, since http.Server.Shutdown would otherwise wait for streams
// that never end on their own.
func (s *Handler) Close() { s.once.Do(func() { close(s.closed) }) }

// requireClientScope authenticates a client holding scope: by a
// client_credentials access token (Bearer) or by its credentials (Basic).
func (s *Handler) requireClientScope(r *http.Request, scope string) (string, error) {
	h := r.Header.Get("Authorization")
	if strings.HasPrefix(h, "Bearer ") || strings.HasPrefix(h, "bearer ") {
		return s.kit.ClientToken(r.Context(), strings.TrimSpace(h[len("Bearer "):]), scope)
	}
	id, sec, ok := r.BasicAuth()
	if !ok {
		return "", auth.Errorf(auth.CodeUnauthenticated, "authenticate as a client with the %q scope", scope)
	}
	c, err := s.kit.Svc.AuthenticateClient(r.Context(), id, sec)
	if err != nil {
		return "", auth.Errorf(auth.CodeUnauthenticated, "client authentication failed")
	}
	if !slices.Contains(c.Scopes, scope) {
		return "", auth.Errorf(auth.CodeForbidden, "the client lacks the %q scope", scope)
	}
	return c.ID, nil
}

// handleEvents: GET /v1/events, the revocation stream (server-sent events).
//
// Every connection starts with a "hello". With a Last-Event-ID the server
// replays what followed it; without one (or when it cannot resume) it sends
// "reset" and replays the revocations of the last token lifetime, so that a
// subscriber always ends up with every revocation that still matters. Then it
// streams live events, with a "heartbeat" every few seconds.
func (s *Handler) handleEvents(w http.ResponseWriter, r *http.Request) {
	if _, err := s.requireClientScope(r, auth.ScopeEvents); err != nil {
		s.kit.WriteError(w, r, err)
		return
	}
	select {
	case <-s.closed:
		s.kit.WriteError(w, r, &auth.Error{Code: auth.CodeBusy, Message: "shutting down", RetryAfter: time.Second})
		return
	default:
	}
	// Count before admitting, so that a stampede cannot pass the bound
	// between a check and the subscription.
	if s.streams.Add(1) > int64(MaxSubscribers) {
		s.streams.Add(-1)
		s.kit.WriteError(w, r, &auth.Error{Code: auth.CodeBusy, Message: "too many event-stream subscribers", RetryAfter: 5 * time.Second})
		return
	}
	defer s.streams.Add(-1)
	var resumeFrom int64 = -1
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			s.kit.WriteError(w, r, auth.Errorf(auth.CodeInvalidRequest, "Last-Event-ID must be an event sequence number"))
			return
		}
		resumeFrom = n
	}
	// Subscribe before reading the log, so nothing falls between the replay
	// and the live feed; duplicates are skipped by Seq.
	sub := s.kit.Svc.Subscribe(1024) // a subscriber further behind is dropped and resumes from the log
	defer sub.Close()

	ctx := r.Context()
	latest, err := s.kit.Svc.Store().LastEventSeq(ctx)
	if err != nil {
		s.kit.WriteError(w, r, err)
		return
	}
	lifetime := s.kit.Svc.Config().Tokens.AccessTTL + accesstoken.MaxLeeway
	resumed := resumeFrom >= 0 && resumeFrom <= latest
	cursor := resumeFrom
	if !resumed {
		if cursor, err = s.kit.Svc.Store().SeqBefore(ctx, s.kit.Svc.Config().Now().Add(-lifetime)); err != nil {
			s.kit.WriteError(w, r, err)
			return
		}
	}

	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's write timeout
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	var buf bytes.Buffer
	send := func(id int64, typ string, data any) bool {
		buf.Reset()
		if id > 0 {
			buf.WriteString("id: " + strconv.FormatInt(id, 10) + "\n")
		}
		buf.WriteString("event: " + typ + "\ndata: ")
		b, _ := json.Marshal(data)
		buf.Write(b)
		buf.WriteString("\n\n")
		rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := w.Write(buf.Bytes()); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send(0, "hello", map[string]any{"token_lifetime_seconds": int(lifetime.Seconds()), "latest_seq": latest, "resumed": resumed}) {
		return
	}
	if !resumed && !send(0, "reset", map[string]any{"latest_seq": latest}) {
		return
	}
	sent := cursor
	emit := func(ev auth.Event) bool {
		if ev.Seq <= sent {
			return true
		}
		sent = ev.Seq
		if !slices.Contains(StreamedEvents, ev.Type) {
			return true
		}
		return send(ev.Seq, ev.Type, ev.Wire())
	}
	// Replay from the log up to where the live feed is guaranteed to start.
	for {
		evs, err := s.kit.Svc.Store().EventsAfter(ctx, sent, 1000)
		if err != nil {
			return
		}
		for _, ev := range evs {
			if !emit(ev) {
				return
			}
		}
		if len(evs) < 1000 {
			break
		}
	}
	// A heartbeat marks the end of the replay: the subscriber knows it holds
	// every revocation up to now without waiting for the first tick.
	if !send(0, "heartbeat", map[string]any{"latest_seq": sent}) {
		return
	}
	beat := time.NewTicker(HeartbeatInterval)
	defer beat.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.closed:
			return // shutting down: the subscriber resumes elsewhere from its Last-Event-ID
		case ev, ok := <-sub.C:
			if !ok {
				return // fell behind: the client resumes from the log
			}
			if !emit(ev) {
				return
			}
		case <-beat.C:
			if !send(0, "heartbeat", map[string]any{"latest_seq": sent}) {
				return
			}
		}
	}
}
