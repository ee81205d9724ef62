package guard

import (
	"bytes"
	"errors"
	"io"
	"time"
)

// A server-sent events parser, per the HTML standard's "Parsing an event
// stream" (https://html.spec.whatwg.org/multipage/server-sent-events.html):
// lines end in CRLF, LF or CR; a leading BOM is dropped; lines starting with
// ':' are comments; the fields are event, data (several lines joined with
// LF), id (ignored when it contains NUL) and retry (digits only); other
// fields are ignored; a blank line dispatches the event unless it has no
// data; an unfinished event at the end of the stream is discarded.
//
// Unlike a browser it bounds memory: a line longer than maxLine bytes or an
// event whose data exceeds maxEvent bytes is an error (the connection is then
// dropped and made again).

var (
	errSSELineTooLong  = errors.New("guard: event stream line too long")
	errSSEEventTooLong = errors.New("guard: event stream event too large")
)

// sseEvent is one dispatched event.
type sseEvent struct {
	Type string // the event field; "message" when absent
	Data string // data lines joined with "\n"
	// LastID is the stream's last event ID after this event: the value of
	// the latest id field so far, on this event or an earlier one.
	LastID string
	HasID  bool // this event carried an id field itself
}

type sseDecoder struct {
	r                 io.Reader
	buf               []byte
	start, end        int
	err               error // sticky read error
	skipLF            bool  // the previous line ended in CR: skip one LF
	bomDone           bool
	maxLine, maxEvent int

	data   []byte
	typ    string
	lastID string
	hasID  bool
	retry  time.Duration // the latest retry field; 0 when none
}

func newSSEDecoder(r io.Reader, maxLine, maxEvent int) *sseDecoder {
	return &sseDecoder{r: r, buf: make([]byte, min(4096, maxLine+1)), maxLine: maxLine, maxEvent: maxEvent}
}

var bom = []byte("\xEF\xBB\xBF")

// readLine returns the next line without its terminator. The slice is valid
// until the next call.
func (d *sseDecoder) readLine() ([]byte, error) {
	zeroReads := 0
	for {
		avail := d.buf[d.start:d.end]
		if !d.bomDone && (len(avail) >= len(bom) || d.err != nil || !bytes.HasPrefix(bom, avail)) {
			if bytes.HasPrefix(avail, bom) {
				d.start += len(bom)
			}
			d.bomDone = true
			continue
		}
		if d.bomDone {
			if d.skipLF && len(avail) > 0 {
				if avail[0] == '\n' {
					d.start++
					avail = avail[1:]
				}
				d.skipLF = false
			}
			if !d.skipLF {
				if i := bytes.IndexAny(avail, "\r\n"); i >= 0 {
					line := avail[:i]
					d.skipLF = avail[i] == '\r'
					d.start += i + 1
					return line, nil
				}
				if len(avail) > d.maxLine {
					return nil, errSSELineTooLong
				}
			}
		}
		if d.err != nil {
			return nil, d.err // an unterminated last line is discarded
		}
		// Make room and read more.
		if d.start > 0 {
			n := copy(d.buf, d.buf[d.start:d.end])
			d.start, d.end = 0, n
		}
		if d.end == len(d.buf) {
			if len(d.buf) > d.maxLine {
				return nil, errSSELineTooLong
			}
			nb := make([]byte, min(2*len(d.buf), d.maxLine+1))
			copy(nb, d.buf[:d.end])
			d.buf = nb
		}
		n, err := d.r.Read(d.buf[d.end:])
		d.end += n
		if err != nil {
			d.err = err
		} else if n == 0 {
			if zeroReads++; zeroReads > 100 {
				d.err = io.ErrNoProgress
			}
		}
	}
}

// next returns the next event. At the end of the stream it returns the
// reader's error (io.EOF for a clean end).
func (d *sseDecoder) next() (sseEvent, error) {
	for {
		line, err := d.readLine()
		if err != nil {
			return sseEvent{}, err
		}
		if len(line) == 0 {
			if len(d.data) == 0 {
				d.typ, d.hasID = "", false
				continue
			}
			ev := sseEvent{Type: d.typ, Data: string(d.data[:len(d.data)-1]), LastID: d.lastID, HasID: d.hasID}
			if ev.Type == "" {
				ev.Type = "message"
			}
			d.data, d.typ, d.hasID = d.data[:0], "", false
			return ev, nil
		}
		if line[0] == ':' {
			continue // comment
		}
		field, value := line, line[len(line):]
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "event":
			d.typ = string(value)
		case "data":
			if len(d.data)+len(value)+1 > d.maxEvent {
				return sseEvent{}, errSSEEventTooLong
			}
			d.data = append(d.data, value...)
			d.data = append(d.data, '\n')
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				d.lastID, d.hasID = string(value), true
			}
		case "retry":
			if ms, ok := parseDigits(value); ok {
				d.retry = time.Duration(ms) * time.Millisecond
			}
		}
	}
}

// parseDigits parses a non-empty string of ASCII digits, saturating at one
// day in milliseconds.
func parseDigits(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	const limit = 24 * 60 * 60 * 1000
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		if n < limit {
			n = n*10 + int64(c-'0')
		}
	}
	return min(n, limit), true
}
