package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tessera-auth/tessera/accesstoken"
	"github.com/tessera-auth/tessera/auth"
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

// EventJSON is the wire form of an event (stream and webhooks).
type EventJSON struct {
	Seq       int64             `json:"seq"`
	Type      string            `json:"type"`
	At        time.Time         `json:"at"`
	UserID    string            `json:"user_id,omitempty"`
	SessionID string            `json:"sid,omitempty"`
	Data      map[string]string `json:"data,omitempty"`
}

// ToEventJSON converts an event to its wire form.
func ToEventJSON(ev auth.Event) EventJSON {
	return EventJSON{Seq: ev.Seq, Type: ev.Type, At: ev.At.UTC(), UserID: ev.UserID, SessionID: ev.SessionID, Data: ev.Data}
}

// requireClientScope authenticates a client holding scope: by a
// client_credentials access token (Bearer) or by its credentials (Basic).
func (s *Server) requireClientScope(r *http.Request, scope string) (string, error) {
	h := r.Header.Get("Authorization")
	if strings.HasPrefix(h, "Bearer ") || strings.HasPrefix(h, "bearer ") {
		c, err := s.auth.Verifier().Verify(strings.TrimSpace(h[len("Bearer "):]))
		if err != nil {
			return "", &auth.Error{Code: auth.CodeUnauthenticated, Message: "invalid access token", Err: err}
		}
		if c.SessionID != "" || !slices.Contains(strings.Fields(c.Scope), scope) {
			return "", auth.Errorf(auth.CodeForbidden, "a client token with the %q scope is required", scope)
		}
		if _, err := s.auth.Store().ClientByID(r.Context(), c.ClientID); err != nil {
			return "", auth.Errorf(auth.CodeUnauthenticated, "the client no longer exists")
		}
		return c.ClientID, nil
	}
	id, sec, ok := r.BasicAuth()
	if !ok {
		return "", auth.Errorf(auth.CodeUnauthenticated, "authenticate as a client with the %q scope", scope)
	}
	c, err := s.auth.AuthenticateClient(r.Context(), id, sec)
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
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	if _, err := s.requireClientScope(r, auth.ScopeEvents); err != nil {
		s.writeError(w, r, err)
		return
	}
	select {
	case <-s.streamsClosed:
		s.writeError(w, r, &auth.Error{Code: auth.CodeBusy, Message: "shutting down", RetryAfter: time.Second})
		return
	default:
	}
	// Count before admitting, so that a stampede cannot pass the bound
	// between a check and the subscription.
	if s.streams.Add(1) > int64(MaxSubscribers) {
		s.streams.Add(-1)
		s.writeError(w, r, &auth.Error{Code: auth.CodeBusy, Message: "too many event-stream subscribers", RetryAfter: 5 * time.Second})
		return
	}
	defer s.streams.Add(-1)
	var resumeFrom int64 = -1
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			s.writeError(w, r, auth.Errorf(auth.CodeInvalidRequest, "Last-Event-ID must be an event sequence number"))
			return
		}
		resumeFrom = n
	}
	// Subscribe before reading the log, so nothing falls between the replay
	// and the live feed; duplicates are skipped by Seq.
	sub := s.auth.Subscribe(1024) // a subscriber further behind is dropped and resumes from the log
	defer sub.Close()

	ctx := r.Context()
	latest, err := s.auth.Store().LastEventSeq(ctx)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	lifetime := s.auth.Config().Tokens.AccessTTL + accesstoken.MaxLeeway
	resumed := resumeFrom >= 0 && resumeFrom <= latest
	cursor := resumeFrom
	if !resumed {
		if cursor, err = s.auth.Store().SeqBefore(ctx, s.auth.Config().Now().Add(-lifetime)); err != nil {
			s.writeError(w, r, err)
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
		return send(ev.Seq, ev.Type, ToEventJSON(ev))
	}
	// Replay from the log up to where the live feed is guaranteed to start.
	for {
		evs, err := s.auth.Store().EventsAfter(ctx, sent, 1000)
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
		case <-s.streamsClosed:
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

// handleAuthz: GET /v1/authz, forward-auth for reverse proxies (nginx
// auth_request, Caddy forward_auth, Traefik ForwardAuth). 200 with identity
// headers for a valid cookie or bearer token, else 401. When the proxy says
// the original request was an unsafe method (X-Forwarded-Method or
// X-Original-Method) and it carried only a cookie, the cross-origin check runs
// on the original request's headers, so the upstream is CSRF-protected too.
func (s *Server) handleAuthz(w http.ResponseWriter, r *http.Request) {
	cred, ok, err := s.credentialOf(r)
	if err == nil && !ok {
		err = auth.Errorf(auth.CodeUnauthenticated, "sign in first")
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if m := originalMethod(r); cred.fromCookie && m != "" {
		orig := r.Clone(context.WithoutCancel(r.Context()))
		orig.Method = m
		if host := r.Header.Get("X-Forwarded-Host"); host != "" {
			orig.Host = host
		}
		if err := s.cop.Check(orig); err != nil {
			s.writeError(w, r, auth.Errorf(auth.CodeCrossOrigin, "cross-origin request refused"))
			return
		}
	}
	p, err := s.check(r, cred)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("X-Tessera-Subject", p.User.ID)
	h.Set("X-Tessera-Session", p.Session.ID)
	h.Set("X-Tessera-Email", p.User.Email)
	h.Set("X-Tessera-Roles", strings.Join(p.User.Roles, ","))
	w.WriteHeader(http.StatusOK)
}

func originalMethod(r *http.Request) string {
	for _, h := range []string{"X-Forwarded-Method", "X-Original-Method"} {
		if m := strings.ToUpper(r.Header.Get(h)); m != "" {
			return m
		}
	}
	return ""
}
