package webhook

import (
	"encoding/json"
	"time"

	"github.com/tessera-auth/tessera/auth"
)

// Payload is the JSON body of a webhook request:
//
//	{"type": "session.revoked", "timestamp": "2026-11-01T12:00:00.123456789Z",
//	 "data": {"seq": 42, "type": "session.revoked", "at": "2026-11-01T12:00:00.123456789Z",
//	          "user_id": "…", "sid": "…", "data": {"cause": "logout"}}}
//
// Data is the event in the wire form of the events stream (httpapi.EventJSON,
// GET /v1/events); a test keeps the two identical.
type Payload struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"` // when the event happened
	Data      EventData `json:"data"`
}

// EventData is an event's wire form.
type EventData struct {
	Seq       int64             `json:"seq"`
	Type      string            `json:"type"`
	At        time.Time         `json:"at"`
	UserID    string            `json:"user_id,omitempty"`
	SessionID string            `json:"sid,omitempty"`
	Data      map[string]string `json:"data,omitempty"`
}

// NewPayload returns the body sent for ev.
func NewPayload(ev auth.Event) Payload {
	at := ev.At.UTC()
	return Payload{
		Type:      ev.Type,
		Timestamp: at,
		Data:      EventData{Seq: ev.Seq, Type: ev.Type, At: at, UserID: ev.UserID, SessionID: ev.SessionID, Data: ev.Data},
	}
}

// marshalPayload encodes the body of ev's request.
func marshalPayload(ev auth.Event) ([]byte, error) { return json.Marshal(NewPayload(ev)) }
