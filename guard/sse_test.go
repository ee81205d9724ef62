package guard

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// readAll decodes every event of s.
func readAll(r io.Reader, maxLine, maxEvent int) ([]sseEvent, error) {
	d := newSSEDecoder(r, maxLine, maxEvent)
	var out []sseEvent
	for {
		ev, err := d.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return out, err
		}
		out = append(out, ev)
	}
}

func TestSSE(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []sseEvent
	}{
		{"LF", "event: hello\ndata: {}\n\n", []sseEvent{{Type: "hello", Data: "{}"}}},
		{"CRLF", "id: 7\r\nevent: a\r\ndata: x\r\n\r\n", []sseEvent{{Type: "a", Data: "x", LastID: "7", HasID: true}}},
		{"CR", "event: a\rdata: x\r\r", []sseEvent{{Type: "a", Data: "x"}}},
		{"Mixed", "data: 1\r\n\ndata: 2\r\rdata: 3\n\r\n", []sseEvent{{Type: "message", Data: "1"}, {Type: "message", Data: "2"}, {Type: "message", Data: "3"}}},
		{"MultiLineData", "data: a\ndata:b\ndata:  c\ndata\n\n", []sseEvent{{Type: "message", Data: "a\nb\n c\n"}}},
		{"EmptyData", "data:\n\n", []sseEvent{{Type: "message", Data: ""}}},
		{"NoDataNoDispatch", "event: x\n\ndata: y\n\n", []sseEvent{{Type: "message", Data: "y"}}},
		{"Comments", ": keepalive\n:\ndata: x\n: inside\n\n", []sseEvent{{Type: "message", Data: "x"}}},
		{"IDPersists", "id: 5\ndata: a\n\ndata: b\n\n", []sseEvent{{Type: "message", Data: "a", LastID: "5", HasID: true}, {Type: "message", Data: "b", LastID: "5"}}},
		{"IDWithoutDataStillSets", "id: 9\n\ndata: b\n\n", []sseEvent{{Type: "message", Data: "b", LastID: "9"}}},
		{"IDWithNULIgnored", "id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n", []sseEvent{{Type: "message", Data: "a", LastID: "1", HasID: true}, {Type: "message", Data: "b", LastID: "1"}}},
		{"EmptyIDResets", "id: 1\ndata: a\n\nid\ndata: b\n\n", []sseEvent{{Type: "message", Data: "a", LastID: "1", HasID: true}, {Type: "message", Data: "b", LastID: "", HasID: true}}},
		{"UnknownFieldsIgnored", "foo: bar\nDATA: no\ndata: yes\n\n", []sseEvent{{Type: "message", Data: "yes"}}},
		{"OnlyOneSpaceStripped", "event:  two\ndata:\tx\n\n", []sseEvent{{Type: " two", Data: "\tx"}}},
		{"ColonInValue", "data: a: b\n\n", []sseEvent{{Type: "message", Data: "a: b"}}},
		{"BOM", "\xEF\xBB\xBFdata: x\n\n", []sseEvent{{Type: "message", Data: "x"}}},
		{"BOMOnlyAtStart", "data: x\n\n\xEF\xBB\xBFdata: y\n\n", []sseEvent{{Type: "message", Data: "x"}}},
		{"UnterminatedEventDiscarded", "data: a\n\ndata: b\n", []sseEvent{{Type: "message", Data: "a"}}},
		{"UnterminatedLineDiscarded", "data: a\n\ndata: b", []sseEvent{{Type: "message", Data: "a"}}},
		{"TypeResetsAfterDispatch", "event: a\ndata: 1\n\ndata: 2\n\n", []sseEvent{{Type: "a", Data: "1"}, {Type: "message", Data: "2"}}},
		{"Retry", "retry: 1500\ndata: x\n\nretry: 1a\n\n", []sseEvent{{Type: "message", Data: "x"}}},
		{"Empty", "", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for rname, r := range map[string]io.Reader{
				"whole":   strings.NewReader(c.in),
				"bytes":   iotest.OneByteReader(strings.NewReader(c.in)),
				"halfway": iotest.HalfReader(strings.NewReader(c.in)),
			} {
				got, err := readAll(r, 64, 256)
				if err != nil {
					t.Fatalf("%s: %v", rname, err)
				}
				if !reflect.DeepEqual(got, c.want) {
					t.Errorf("%s:\n got %+v\nwant %+v", rname, got, c.want)
				}
			}
		})
	}
	t.Run("Retry", func(t *testing.T) {
		d := newSSEDecoder(strings.NewReader("retry: 1500\ndata: x\n\nretry: 1a\n\n"), 64, 256)
		d.next()
		if d.retry.Milliseconds() != 1500 {
			t.Errorf("retry = %v", d.retry)
		}
	})
}

func TestSSELimits(t *testing.T) {
	t.Run("ErrLineTooLong", func(t *testing.T) {
		_, err := readAll(strings.NewReader("data: "+strings.Repeat("x", 100)+"\n\n"), 64, 1024)
		if !errors.Is(err, errSSELineTooLong) {
			t.Fatalf("err = %v", err)
		}
		// Also without any line end at all (a peer that never sends one).
		_, err = readAll(strings.NewReader(strings.Repeat("x", 1000)), 64, 1024)
		if !errors.Is(err, errSSELineTooLong) {
			t.Fatalf("unterminated: err = %v", err)
		}
	})
	t.Run("LineAtTheLimit", func(t *testing.T) {
		line := "data: " + strings.Repeat("x", 58) // 64 bytes
		got, err := readAll(iotest.OneByteReader(strings.NewReader(line+"\r\n\r\n")), 64, 1024)
		if err != nil || len(got) != 1 || len(got[0].Data) != 58 {
			t.Fatalf("got %v, %v", got, err)
		}
	})
	t.Run("ErrEventTooLarge", func(t *testing.T) {
		in := strings.Repeat("data: "+strings.Repeat("x", 50)+"\n", 10) + "\n"
		_, err := readAll(strings.NewReader(in), 64, 256)
		if !errors.Is(err, errSSEEventTooLong) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ReadErrorSurfaces", func(t *testing.T) {
		boom := errors.New("boom")
		_, err := readAll(io.MultiReader(strings.NewReader("data: a\n\n"), iotest.ErrReader(boom)), 64, 256)
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v", err)
		}
	})
}

// FuzzSSE checks that the parser never panics, keeps its memory within the
// limits whatever the input, and gives the same events whether the input
// arrives at once or a byte at a time.
func FuzzSSE(f *testing.F) {
	for _, s := range []string{
		"event: hello\ndata: {\"token_lifetime_seconds\":360,\"latest_seq\":3,\"resumed\":false}\n\n",
		"event: reset\ndata: {}\n\n",
		"id: 12\nevent: session.revoked\ndata: {\"seq\":12,\"type\":\"session.revoked\",\"at\":\"2026-11-22T00:15:00.123456789Z\",\"user_id\":\"u\",\"sid\":\"s\"}\n\n",
		"event: heartbeat\r\ndata: {\"latest_seq\":12}\r\n\r\n",
		": comment\rdata: a\rdata: b\r\r",
		"\xEF\xBB\xBFid: 1\x00\ndata\n\n",
		"retry: 99999999999999999999\n\n",
		"data: " + strings.Repeat("x", 70) + "\n\n",
		"\r\n\r\n\n\r",
		"",
	} {
		f.Add([]byte(s))
	}
	const maxLine, maxEvent = 64, 256
	f.Fuzz(func(t *testing.T, in []byte) {
		d := newSSEDecoder(strings.NewReader(string(in)), maxLine, maxEvent)
		var whole []sseEvent
		var wholeErr error
		for {
			ev, err := d.next()
			if cap(d.buf) > maxLine+1 || cap(d.data) > 2*maxEvent || len(d.typ) > maxLine || len(d.lastID) > maxLine {
				t.Fatalf("memory beyond the limits: buf %d, data %d, type %d, id %d", cap(d.buf), cap(d.data), len(d.typ), len(d.lastID))
			}
			if err != nil {
				wholeErr = err
				break
			}
			if len(ev.Data) >= maxEvent {
				t.Fatalf("event data of %d bytes, limit %d", len(ev.Data), maxEvent)
			}
			whole = append(whole, ev)
		}
		bytewise, err := readAll(iotest.OneByteReader(strings.NewReader(string(in))), maxLine, maxEvent)
		if errors.Is(wholeErr, io.EOF) {
			wholeErr = nil
		}
		if (err == nil) != (wholeErr == nil) || !reflect.DeepEqual(whole, bytewise) {
			t.Fatalf("whole: %+v %v\nbytewise: %+v %v", whole, wholeErr, bytewise, err)
		}
	})
}
