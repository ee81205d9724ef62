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
// Data is the event in the wire form of the events stream (auth.WireEvent,
// GET /v1/events).
type Payload struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"` // when the event happened
	Data      EventData `json:"data"`
}

// EventData is an event's wire form, the same as the events stream's.
type EventData = auth.WireEvent

// NewPayload returns the body sent for ev.
func NewPayload(ev auth.Event) Payload {
	at := ev.At.UTC()
	return Payload{
		Type:      ev.Type,
		Timestamp: at,
		Data:      ev.Wire(),
	}
}

// marshalPayload encodes the body of ev's request.
func marshalPayload(ev auth.Event) ([]byte, error) { return json.Marshal(NewPayload(ev)) }
