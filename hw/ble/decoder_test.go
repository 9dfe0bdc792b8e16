package ble

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/pillbox/pillbox/hw/vital"
	"github.com/pillbox/pillbox/hw/vital/quality"
)

// fixedClock is a clock that does not move.
type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

// lastStore answers LastReading from one reading, or an error.
type lastStore struct {
	r   vital.Reading
	ok  bool
	err error
}

func (s lastStore) LastReading(_ context.Context, device string, q vital.Quantity) (vital.Reading, bool, error) {
	if q != vital.Glucose {
		return vital.Reading{}, false, errors.New("asked for " + string(q))
	}
	return s.r, s.ok, s.err
}

func TestDecoder(t *testing.T) {
	var logs bytes.Buffer
	var got [][]vital.Reading
	fail := false
	d := &Decoder{
		Assembler: &Assembler{}, WallClock: fixedClock(time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC)),
		Ingest: func(_ context.Context, rs []vital.Reading, _ quality.Reception) error {
			got = append(got, rs)
			if fail {
				return errors.New("disk full")
			}
			return nil
		},
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	}
	hexOf := func(s string) []byte {
		b, err := ParseHex(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	d.Payload(Payload{"strap", 0x2A37, hexOf("00 48")}) // 72 /min
	if len(got) != 1 || got[0][0].Quantity != vital.Pulse || got[0][0].Value != 72 {
		t.Fatalf("after a heart rate, Ingest got %+v, want one pulse of 72", got)
	}
	d.Payload(Payload{"cuff", 0x2A35, []byte{0x00, 0x01}})
	if len(got) != 1 || !bytes.Contains(logs.Bytes(), []byte("does not decode")) || !bytes.Contains(logs.Bytes(), []byte("2A35")) {
		t.Errorf("a value that does not decode: Ingest calls %d, log %q; want none, and the characteristic logged", len(got), logs.String())
	}
	d.Payload(Payload{"meter", 0x2A18, hexOf("12 03 00 EA 07 03 05 07 24 00 60 B0 11")}) // 96 mg/dL, context follows
	if len(got) != 1 {
		t.Fatalf("a glucose measurement awaiting its context was handed on: %+v", got)
	}
	fail = true
	d.Disconnected("meter")
	if len(got) != 2 || got[1][0].Value != 96 || !bytes.Contains(logs.Bytes(), []byte("disk full")) {
		t.Errorf("after the meter disconnected: Ingest got %+v, log %q; want the waiting measurement, and its error logged", got, logs.String())
	}
	d.Disconnected("meter")
	if len(got) != 2 {
		t.Errorf("a second disconnection handed on %+v, want nothing", got[2:])
	}
}

// TestDecoderClock: the clock a device shows on connection is judged
// against the wall clock only when that is trusted, and its offset goes
// with the connection's readings until the device disconnects.
func TestDecoderClock(t *testing.T) {
	tests := []struct {
		name    string
		trusted func() bool
		wantSet bool
	}{
		{"trusted wall clock", func() bool { return true }, true},
		{"untrusted wall clock", func() bool { return false }, false},
		{"no trust given", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []quality.Reception
			d := &Decoder{
				Assembler: &Assembler{Zone: time.UTC}, WallClock: fixedClock(at0), Trusted: tt.trusted,
				Ingest: func(_ context.Context, _ []vital.Reading, rc quality.Reception) error {
					got = append(got, rc)
					return nil
				},
				Logger: slog.New(slog.DiscardHandler),
			}
			set := d.Clock(Payload{"strap", 0x2A2B, currentTime3DaysLate})
			if (set != nil) != tt.wantSet {
				t.Errorf("Clock(3 days late) = % X, want a value to set: %v", set, tt.wantSet)
			}
			d.ClockSet("strap", nil)
			if c := d.Assembler.Clocks()["strap"]; tt.wantSet && !c.SetAt.Equal(at0) {
				t.Errorf("after ClockSet, the device clock = %+v, want set at %v", c, at0)
			}
			d.Payload(Payload{"strap", 0x2A37, []byte{0x00, 0x48}})
			if len(got) != 1 || got[0].Trusted != tt.wantSet || !got[0].At.Equal(at0) || got[0].Offsets["strap"] != -72*time.Hour {
				t.Fatalf("reception of a reading = %+v, want at %v, trusted %v, the strap's offset -72h", got, at0, tt.wantSet)
			}
			if rc := d.Reception("cuff", at0); rc.Offsets != nil {
				t.Errorf("Reception(cuff, whose clock was not read) = %+v, want no offsets", rc)
			}
			d.Disconnected("strap")
			if rc := d.Reception("strap", at0); rc.Offsets != nil {
				t.Errorf("Reception(strap) after it disconnected = %+v, want no offsets", rc)
			}
		})
	}
}

func TestDecoderLastRecord(t *testing.T) {
	tests := []struct {
		name    string
		s       lastStore
		seq     uint16
		resumes bool
	}{
		{"record 3", lastStore{r: vital.Reading{Context: map[string]string{"sequence": "3"}}, ok: true}, 3, true},
		{"last of 16 bits", lastStore{r: vital.Reading{Context: map[string]string{"sequence": "65535"}}, ok: true}, 65535, true},
		{"none stored", lastStore{}, 0, false},
		{"store fails", lastStore{err: errors.New("locked")}, 0, false},
		{"no sequence", lastStore{r: vital.Reading{}, ok: true}, 0, false},
		{"beyond 16 bits", lastStore{r: vital.Reading{Context: map[string]string{"sequence": "65536"}}, ok: true}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &Decoder{Stored: tt.s}
			if seq, ok := d.LastRecord("meter"); seq != tt.seq || ok != tt.resumes {
				t.Errorf("LastRecord = %d, %v; want %d, %v", seq, ok, tt.seq, tt.resumes)
			}
		})
	}
}
