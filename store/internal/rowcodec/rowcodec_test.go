package rowcodec

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tessera-auth/tessera/secret"
)

// row is a Scanner over fixed column values, as a driver would assign them;
// nil is NULL.
type row []any

func (r row) Scan(dest ...any) error {
	if len(dest) != len(r) {
		return errors.New("column count")
	}
	for i, d := range dest {
		dv := reflect.ValueOf(d).Elem()
		if r[i] == nil {
			dv.SetZero()
			continue
		}
		v := reflect.ValueOf(r[i])
		if dv.Kind() == reflect.Pointer {
			p := reflect.New(dv.Type().Elem())
			p.Elem().Set(v)
			v = p
		}
		dv.Set(v)
	}
	return nil
}

// failing is a Scanner whose Scan fails.
type failing struct{ err error }

func (f failing) Scan(...any) error { return f.err }

// rows is a Rows over rows.
type rows struct {
	rs  []row
	cur row
	err error
}

func (r *rows) Next() bool {
	if len(r.rs) == 0 {
		return false
	}
	r.cur, r.rs = r.rs[0], r.rs[1:]
	return true
}
func (r *rows) Scan(dest ...any) error { return r.cur.Scan(dest...) }
func (r *rows) Err() error             { return r.err }

func TestNanos(t *testing.T) {
	if Nanos(time.Time{}) != 0 || !FromNanos(0).IsZero() {
		t.Fatal("the zero time is not 0")
	}
	if NullNanos(time.Time{}) != nil || !FromNullNanos(nil).IsZero() {
		t.Fatal("the zero time is not NULL")
	}
	at := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("x", 3600))
	if got := FromNanos(Nanos(at)); !got.Equal(at) || got.Location() != time.UTC {
		t.Fatalf("FromNanos(Nanos(%v)) = %v", at, got)
	}
	if got := FromNullNanos(NullNanos(at)); !got.Equal(at) || got.Location() != time.UTC {
		t.Fatalf("FromNullNanos(NullNanos(%v)) = %v", at, got)
	}
}

func TestJSON(t *testing.T) {
	if got := JSONList(nil); got != "[]" {
		t.Fatalf("JSONList(nil) = %s", got)
	}
	if got := JSONList([]string{"a", "b"}); got != `["a","b"]` {
		t.Fatalf("JSONList = %s", got)
	}
	if got, err := EventData(nil); got != "{}" || err != nil {
		t.Fatalf("EventData(nil) = %s, %v", got, err)
	}
	got, err := EventData(map[string]string{"k": "a\x00\xff"})
	if err != nil || got != `{"k":"a\u0000\ufffd"}` {
		t.Fatalf("EventData = %s, %v", got, err)
	}
}

func TestScanEvent(t *testing.T) {
	ev, err := ScanEvent(row{int64(3), "t", int64(5), "u", "s", "{}"})
	if err != nil || ev.Seq != 3 || ev.Data != nil || !ev.At.Equal(time.Unix(0, 5)) {
		t.Fatalf("ScanEvent = %+v, %v", ev, err)
	}
	ev, err = ScanEvent(row{int64(3), "t", int64(5), "u", "s", `{"a":"b"}`})
	if err != nil || ev.Data["a"] != "b" {
		t.Fatalf("ScanEvent = %+v, %v", ev, err)
	}
	if _, err := ScanEvent(row{int64(3), "t", int64(5), "u", "s", `[`}); err == nil || !strings.HasPrefix(err.Error(), "event 3: data: ") {
		t.Fatalf("ScanEvent of bad data: %v", err)
	}
}

func TestScanPassesScanErrorsOn(t *testing.T) {
	want := errors.New("no rows")
	for name, scan := range map[string]func(Scanner) (any, error){
		"User":         func(s Scanner) (any, error) { return ScanUser(s) },
		"Session":      func(s Scanner) (any, error) { return ScanSession(s) },
		"Event":        func(s Scanner) (any, error) { return ScanEvent(s) },
		"Client":       func(s Scanner) (any, error) { return ScanClient(s) },
		"RefreshToken": func(s Scanner) (any, error) { return ScanRefreshToken(s) },
		"SigningKey":   func(s Scanner) (any, error) { return ScanSigningKey(s) },
		"Webhook":      func(s Scanner) (any, error) { return ScanWebhook(s) },
		"Delivery":     func(s Scanner) (any, error) { return ScanDelivery(s) },
	} {
		if _, err := scan(failing{want}); err != want {
			t.Errorf("Scan%s: %v, want the Scanner's error as it is", name, err)
		}
	}
}

func TestScanHashes(t *testing.T) {
	h := make([]byte, len(secret.Hash{}))
	h[0] = 1
	s, err := ScanSession(row{"s1", h, "u", int64(1), int64(2), int64(3), "", "", "", "", nil, ""})
	if err != nil || s.SecretHash[0] != 1 || !s.RevokedAt.IsZero() {
		t.Fatalf("ScanSession = %+v, %v", s, err)
	}
	if _, err := ScanSession(row{"s1", h[:5], "u", int64(1), int64(2), int64(3), "", "", "", "", int64(4), ""}); err == nil {
		t.Fatal("ScanSession took a 5-byte hash")
	}
	if _, err := ScanClient(row{"c1", "n", h[:5], "[]", int64(1)}); err == nil {
		t.Fatal("ScanClient took a 5-byte hash")
	}
	rt, err := ScanRefreshToken(row{h, "s", "c", "f", "", "", int64(1), int64(2), nil, nil})
	if err != nil || rt.Hash[0] != 1 || rt.SuccessorHash != (secret.Hash{}) || !rt.RotatedAt.IsZero() {
		t.Fatalf("ScanRefreshToken = %+v, %v", rt, err)
	}
	rt, err = ScanRefreshToken(row{h, "s", "c", "f", "", "", int64(1), int64(2), int64(3), h})
	if err != nil || rt.SuccessorHash[0] != 1 || !rt.RotatedAt.Equal(time.Unix(0, 3)) {
		t.Fatalf("ScanRefreshToken = %+v, %v", rt, err)
	}
	if _, err := ScanRefreshToken(row{h, "s", "c", "f", "", "", int64(1), int64(2), int64(3), h[:5]}); err == nil {
		t.Fatal("ScanRefreshToken took a 5-byte successor hash")
	}
}

func TestCollect(t *testing.T) {
	got, err := Collect(&rows{}, ScanSigningKey)
	if got != nil || err != nil {
		t.Fatalf("Collect of no rows = %v, %v", got, err)
	}
	keys, err := Collect(&rows{rs: []row{
		{"k1", "EdDSA", []byte("x"), int64(1), int64(2)},
		{"k2", "EdDSA", []byte("y"), int64(2), nil},
	}}, ScanSigningKey)
	if err != nil || len(keys) != 2 || keys[0].RetiredAt.IsZero() || !keys[1].RetiredAt.IsZero() {
		t.Fatalf("Collect = %+v, %v", keys, err)
	}
	c, err := ScanClient(row{"c1", "n", make([]byte, len(secret.Hash{})), `["openid"]`, int64(1)})
	if err != nil || c.Scopes[0] != "openid" {
		t.Fatalf("ScanClient = %+v, %v", c, err)
	}
	want := errors.New("broken")
	if got, err := Collect(&rows{rs: []row{{"k1"}}}, ScanSigningKey); got != nil || err == nil {
		t.Fatalf("Collect of a bad row = %v, %v", got, err)
	}
	if _, err := Collect(&rows{err: want}, ScanEvent); err != want {
		t.Fatalf("Collect = %v, want the rows' error", err)
	}
}
