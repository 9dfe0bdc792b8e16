package ble

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pillbox/pillbox/hw/vital"
)

var (
	_ link = (*fakeLink)(nil)
	_ conn = (*fakeConn)(nil)
	_ Sink = (*recSink)(nil)
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// glucose builds a Glucose Measurement (0x2A18) in kg/L, capillary blood
// from a finger, taken at.
func glucose(seq uint16, mgdl int, contextFollows bool, at time.Time) []byte {
	flags := byte(0x02)
	if contextFollows {
		flags |= 0x10
	}
	b := []byte{flags}
	b = binary.LittleEndian.AppendUint16(b, seq)
	b = binary.LittleEndian.AppendUint16(b, uint16(at.Year()))
	b = append(b, byte(at.Month()), byte(at.Day()), byte(at.Hour()), byte(at.Minute()), byte(at.Second()))
	b = binary.LittleEndian.AppendUint16(b, 0xB000|uint16(mgdl)) // mantissa × 10^-5 kg/L = mg/dL
	return append(b, 0x11)
}

// glucoseContext builds a Glucose Measurement Context (0x2A34) with a meal.
func glucoseContext(seq uint16, meal byte) []byte {
	b := binary.LittleEndian.AppendUint16([]byte{0x02}, seq)
	return append(b, meal)
}

var at0 = time.Date(2026, 3, 5, 7, 30, 0, 0, time.UTC)

func TestAssemblerGlucoseContext(t *testing.T) {
	const dev = "AA:BB:CC:DD:EE:01"
	tests := []struct {
		name  string
		steps []Payload
		// readings returned by each step, as quantity:meal
		want [][]string
		// pending after the last step
		pending bool
	}{
		{"context joins its measurement", []Payload{
			{dev, 0x2A18, glucose(7, 95, true, at0)},
			{dev, 0x2A34, glucoseContext(7, 1)},
		}, [][]string{nil, {"glucose:preprandial"}}, false},
		{"measurement without context follows at once", []Payload{
			{dev, 0x2A18, glucose(7, 95, false, at0)},
		}, [][]string{{"glucose:"}}, false},
		{"a context for another record releases the waiting one", []Payload{
			{dev, 0x2A18, glucose(7, 95, true, at0)},
			{dev, 0x2A34, glucoseContext(8, 1)},
		}, [][]string{nil, {"glucose:"}}, false},
		{"the next measurement releases the waiting one", []Payload{
			{dev, 0x2A18, glucose(7, 95, true, at0)},
			{dev, 0x2A18, glucose(8, 60, true, at0.Add(time.Hour))},
		}, [][]string{nil, {"glucose:"}}, true},
		{"another device's value does not", []Payload{
			{dev, 0x2A18, glucose(7, 95, true, at0)},
			{"other", 0x2A18, glucose(1, 60, false, at0)},
		}, [][]string{nil, {"glucose:"}}, true},
		{"a value that does not decode still releases", []Payload{
			{dev, 0x2A18, glucose(7, 95, true, at0)},
			{dev, 0x2A18, []byte{0x02, 0x07}},
		}, [][]string{nil, {"glucose:"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &Assembler{}
			for i, p := range tt.steps {
				rs, _ := a.Add(p, at0)
				var got []string
				for _, r := range rs {
					got = append(got, string(r.Quantity)+":"+r.Context["meal"])
				}
				if !slices.Equal(got, tt.want[i]) {
					t.Errorf("step %d: readings %q, want %q", i, got, tt.want[i])
				}
			}
			if got := a.Pending(dev); got != tt.pending {
				t.Errorf("Pending = %v, want %v", got, tt.pending)
			}
			if tt.pending {
				if rs := a.Flush(dev); len(rs) != 1 {
					t.Errorf("Flush returned %d readings, want 1", len(rs))
				}
			}
		})
	}
}

func TestAssemblerReadings(t *testing.T) {
	a := &Assembler{Zone: time.FixedZone("EST", -5*3600)}
	rs, err := a.Add(Payload{"meter", 0x2A18, glucose(3, 52, false, at0)}, at0.Add(time.Hour))
	if err != nil || len(rs) != 1 {
		t.Fatalf("Add = %v, %v; want one reading", rs, err)
	}
	r := rs[0]
	if r.Device != "meter" || r.Quantity != vital.Glucose || r.Value != 52 || r.Unit != "mg/dL" ||
		!r.DeviceTime || !r.Time.Equal(at0.Add(5*time.Hour)) || r.Context["sequence"] != "3" {
		t.Errorf("reading = %+v, want 52 mg/dL from meter at the device's local 07:30 EST, sequence 3", r)
	}
	if _, err := a.Add(Payload{"meter", 0x2A35, []byte{0x00, 0x01}}, at0); err == nil || !bytes.Contains([]byte(err.Error()), []byte("2A35")) {
		t.Errorf("Add(truncated 2A35) error = %v, want one naming 2A35", err)
	}
}

func TestAssemblerThinsContinuousStreams(t *testing.T) {
	a := &Assembler{MinInterval: time.Minute}
	hr := func(bpm byte) []byte { return []byte{0x00, bpm} }
	tests := []struct {
		after time.Duration
		char  uint16
		data  []byte
		kept  bool
	}{
		{0, 0x2A37, hr(70), true},
		{10 * time.Second, 0x2A37, hr(71), false},
		{59 * time.Second, 0x2A37, hr(72), false},
		{60 * time.Second, 0x2A37, hr(73), true},
		{61 * time.Second, 0x2A1C, []byte{0x00, 0x6E, 0x01, 0x00, 0xFF}, true}, // a spot measurement is never thinned
		{-time.Hour, 0x2A37, hr(74), true},                                     // the clock stepped back: keep, start again
	}
	for i, tt := range tests {
		rs, err := a.Add(Payload{"strap", tt.char, tt.data}, at0.Add(tt.after))
		if err != nil {
			t.Fatal(err)
		}
		if got := len(rs) > 0; got != tt.kept {
			t.Errorf("value %d at +%s kept = %v, want %v", i, tt.after, got, tt.kept)
		}
	}
}

func TestRACPRequests(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		want []byte
	}{
		{"all", racpReportAll(), []byte{0x01, 0x01}},
		{"last", racpReportLast(), []byte{0x01, 0x06}},
		{"from 0x0102", racpReportFrom(0x0102), []byte{0x01, 0x03, 0x01, 0x02, 0x01}},
	}
	for _, tt := range tests {
		if !bytes.Equal(tt.got, tt.want) {
			t.Errorf("%s = % X, want % X", tt.name, tt.got, tt.want)
		}
	}
}

func TestParseRACP(t *testing.T) {
	tests := []struct {
		in   []byte
		want racpResponse
		err  string
	}{
		{[]byte{0x06, 0x00, 0x01, 0x01}, racpResponse{Request: 1, Code: racpSuccess}, ""},
		{[]byte{0x06, 0x00, 0x01, 0x06}, racpResponse{Request: 1, Code: racpNoRecordsFound}, ""},
		{nil, racpResponse{}, "empty"},
		{[]byte{0x05, 0x00, 0x03, 0x00}, racpResponse{}, "number-of-records"},
		{[]byte{0x01, 0x01}, racpResponse{}, "not a response"},
		{[]byte{0x06, 0x00, 0x01}, racpResponse{}, "3 bytes"},
		{[]byte{0x06, 0x01, 0x01, 0x01}, racpResponse{}, "operator 1"},
	}
	for _, tt := range tests {
		got, err := parseRACP(tt.in)
		if tt.err != "" {
			if err == nil || !bytes.Contains([]byte(err.Error()), []byte(tt.err)) {
				t.Errorf("parseRACP(% X) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseRACP(% X) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	if s := (racpResponse{Request: 1, Code: 0x08}).String(); s != "RACP op 1: procedure not completed (8)" {
		t.Errorf("String() = %q", s)
	}
}

func TestRecordTransfer(t *testing.T) {
	ok := racpResponse{Request: racpReportRecords, Code: racpSuccess}
	none := racpResponse{Request: racpReportRecords, Code: racpNoRecordsFound}
	tests := []struct {
		name    string
		last    uint16
		hasLast bool
		// after the first request: each step is the records that arrive,
		// then the response, and the request that should follow (nil: done)
		steps []struct {
			records []uint16
			resp    racpResponse
			next    []byte
		}
		first []byte
	}{
		{name: "nothing stored yet: all", first: racpReportAll(), steps: []struct {
			records []uint16
			resp    racpResponse
			next    []byte
		}{{[]uint16{1, 2, 3}, ok, nil}}},
		{name: "resume after the last", last: 41, hasLast: true, first: racpReportFrom(42), steps: []struct {
			records []uint16
			resp    racpResponse
			next    []byte
		}{{[]uint16{42, 43}, ok, nil}}},
		{name: "nothing new, same meter", last: 41, hasLast: true, first: racpReportFrom(42), steps: []struct {
			records []uint16
			resp    racpResponse
			next    []byte
		}{{nil, none, racpReportLast()}, {[]uint16{41}, ok, nil}}},
		{name: "numbering started again: read all", last: 41, hasLast: true, first: racpReportFrom(42), steps: []struct {
			records []uint16
			resp    racpResponse
			next    []byte
		}{{nil, none, racpReportLast()}, {[]uint16{3}, ok, racpReportAll()}, {[]uint16{1, 2, 3}, ok, nil}}},
		{name: "last possible number", last: 0xFFFF, hasLast: true, first: racpReportLast(), steps: []struct {
			records []uint16
			resp    racpResponse
			next    []byte
		}{{[]uint16{0xFFFF}, ok, nil}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := newRecordTransfer(tt.last, tt.hasLast)
			if got := x.first(); !bytes.Equal(got, tt.first) {
				t.Fatalf("first() = % X, want % X", got, tt.first)
			}
			for i, s := range tt.steps {
				for _, r := range s.records {
					x.record(r)
				}
				next, err := x.done(s.resp)
				if err != nil || !bytes.Equal(next, s.next) {
					t.Errorf("step %d: done(%v) = % X, %v; want % X", i, s.resp, next, err, s.next)
				}
			}
		})
	}
	x := newRecordTransfer(0, false)
	x.first()
	if next, err := x.done(racpResponse{Request: 1, Code: 0x02}); err == nil || next != nil {
		t.Errorf("done(op code not supported) = % X, %v; want an error and no request", next, err)
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		n      int
		max    time.Duration
		jitter float64
		want   time.Duration
	}{
		{0, backoffMax, 0, time.Second},
		{1, backoffMax, 0, 2 * time.Second},
		{4, backoffMax, 0, 16 * time.Second},
		{5, backoffMax, 0, 30 * time.Second},
		{1000, backoffMax, 0, 30 * time.Second},
		{1000, backoffSlow, 0, 5 * time.Minute},
		{0, backoffMax, 1, 800 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := backoff(tt.n, tt.max, tt.jitter); got != tt.want {
			t.Errorf("backoff(%d, %s, %v) = %s, want %s", tt.n, tt.max, tt.jitter, got, tt.want)
		}
	}
}

// recSink records what a transport hands it.
type recSink struct {
	mu       sync.Mutex
	payloads []Payload
	drops    []string
	last     map[string]uint16
	// setClock is what Clock answers; clocks and setErrs record the
	// clock values read and the outcome of each write.
	setClock []byte
	clocks   []Payload
	setErrs  []error
}

func (s *recSink) Clock(p Payload) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clocks = append(s.clocks, p)
	return s.setClock
}

func (s *recSink) ClockSet(_ string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setErrs = append(s.setErrs, err)
}

func (s *recSink) Payload(p Payload) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.payloads = append(s.payloads, p)
}

func (s *recSink) Disconnected(dev string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drops = append(s.drops, dev)
}

func (s *recSink) LastRecord(dev string) (uint16, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.last[dev]
	return v, ok
}

func (s *recSink) chars() []uint16 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []uint16
	for _, p := range s.payloads {
		out = append(out, p.Char)
	}
	return out
}

// fakeLink is a Bluetooth stack in memory: connections fail while fails
// is positive, then succeed with a fakeConn offering has.
type fakeLink struct {
	mu       sync.Mutex
	fails    int
	attempts []time.Time
	has      []uint16
	conns    chan *fakeConn
	// onWrite answers a write on a connection (a meter answering RACP).
	onWrite func(c *fakeConn, char uint16, v []byte)
	// values are the readable characteristics, by service and char;
	// refuse are those that refuse a write.
	values map[[2]uint16][]byte
	refuse map[[2]uint16]bool
}

func (l *fakeLink) connect(ctx context.Context, addr string) (conn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.attempts = append(l.attempts, time.Now())
	if l.fails > 0 {
		l.fails--
		return nil, errors.New("le-connection-abort-by-local")
	}
	c := &fakeConn{link: l, addr: addr, out: make(chan Payload, 64)}
	l.conns <- c
	return c, nil
}

type fakeConn struct {
	link   *fakeLink
	addr   string
	out    chan Payload
	mu     sync.Mutex
	writes [][]byte
	// ops lists reads and writes in order, as "read 1805/2A2B".
	ops    []string
	closed bool
}

func (c *fakeConn) read(_ context.Context, service, char uint16) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.link.values[[2]uint16{service, char}]
	if !ok {
		return nil, errNoChar
	}
	c.ops = append(c.ops, fmt.Sprintf("read %04X/%04X", service, char))
	return v, nil
}

func (c *fakeConn) subscribe(_ context.Context, _ uint16, chars []uint16) ([]uint16, error) {
	var got []uint16
	for _, u := range chars {
		if slices.Contains(c.link.has, u) {
			got = append(got, u)
		}
	}
	return got, nil
}

func (c *fakeConn) write(_ context.Context, service, char uint16, v []byte) error {
	c.mu.Lock()
	if c.link.refuse[[2]uint16{service, char}] {
		c.mu.Unlock()
		return errors.New("org.bluez.Error.NotPermitted: Write not permitted")
	}
	if char != RACPChar {
		if _, ok := c.link.values[[2]uint16{service, char}]; !ok {
			c.mu.Unlock()
			return errNoChar
		}
	}
	c.writes = append(c.writes, v)
	c.ops = append(c.ops, fmt.Sprintf("write %04X/%04X % X", service, char, v))
	c.mu.Unlock()
	if c.link.onWrite != nil {
		c.link.onWrite(c, char, v)
	}
	return nil
}

func (c *fakeConn) send(char uint16, data []byte) {
	c.out <- Payload{Device: c.addr, Char: char, Data: data}
}
func (c *fakeConn) drop()                  { close(c.out) }
func (c *fakeConn) values() <-chan Payload { return c.out }
func (c *fakeConn) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return nil
}

func TestSessionReconnectsWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &fakeLink{fails: 3, has: []uint16{0x2A35}, conns: make(chan *fakeConn, 4)}
		sink := &recSink{}
		ctx, cancel := context.WithCancel(t.Context())
		dev := Device{Address: "AA:BB:CC:DD:EE:02", Profile: vital.KindBloodPressure.Profile}
		done := make(chan struct{})
		go func() { serve(ctx, l, []Device{dev}, sink, quiet); close(done) }()

		c := <-l.conns // after three failed attempts
		c.send(0x2A35, []byte{0x00, 0x78, 0x00, 0x50, 0x00, 0x5D, 0x00})
		c.drop()
		c2 := <-l.conns // reconnects after the drop
		synctest.Wait()
		if got := sink.chars(); !slices.Equal(got, []uint16{0x2A35}) {
			t.Errorf("sink got %04X, want one 2A35", got)
		}
		if !slices.Equal(sink.drops, []string{dev.Address}) {
			t.Errorf("Disconnected calls %v, want one for %s", sink.drops, dev.Address)
		}
		l.mu.Lock()
		var gaps []time.Duration
		for i := 1; i < len(l.attempts); i++ {
			gaps = append(gaps, l.attempts[i].Sub(l.attempts[i-1]).Round(time.Second))
		}
		l.mu.Unlock()
		// Waits grow (with up to 20% jitter) and start short again after a
		// connection.
		if len(gaps) != 4 || gaps[0] > time.Second || gaps[1] > 2*time.Second || gaps[1] < time.Second ||
			gaps[2] > 4*time.Second || gaps[2] < 3*time.Second || gaps[3] > time.Second {
			t.Errorf("waits between attempts = %v, want about 1s, 2s, 4s, then 1s after the drop", gaps)
		}
		cancel()
		<-done
		if !c.closed || !c2.closed {
			t.Errorf("connections closed = %v, %v; want both closed", c.closed, c2.closed)
		}
	})
}

func TestSessionReadsStoredRecords(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &fakeLink{has: []uint16{0x2A18, 0x2A34, RACPChar}, conns: make(chan *fakeConn, 2)}
		// The meter holds records 41 to 43; the daemon has stored up to 41.
		l.onWrite = func(c *fakeConn, char uint16, v []byte) {
			if char != RACPChar {
				return
			}
			switch {
			case bytes.Equal(v, racpReportFrom(42)):
				c.send(0x2A18, glucose(42, 90, false, at0))
				c.send(0x2A18, glucose(43, 50, false, at0.Add(time.Hour)))
				c.send(RACPChar, []byte{0x06, 0x00, 0x01, 0x01})
			default:
				c.send(RACPChar, []byte{0x06, 0x00, v[0], 0x02})
			}
		}
		sink := &recSink{last: map[string]uint16{"meter": 41}}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			serve(ctx, l, []Device{{Address: "meter", Profile: vital.KindGlucose.Profile}}, sink, quiet)
			close(done)
		}()
		c := <-l.conns
		synctest.Wait()
		if got := sink.chars(); !slices.Equal(got, []uint16{0x2A18, 0x2A18}) {
			t.Errorf("sink got %04X, want the two stored records (the RACP answers stay in the transport)", got)
		}
		c.mu.Lock()
		if len(c.writes) != 1 || !bytes.Equal(c.writes[0], racpReportFrom(42)) {
			t.Errorf("RACP writes = % X, want one request for records from 42", c.writes)
		}
		c.mu.Unlock()
		cancel()
		<-done
	})
}

func TestSessionWithoutMeasurementWaitsLong(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &fakeLink{has: []uint16{0x2A36}, conns: make(chan *fakeConn, 4)} // cuff pressure only
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			serve(ctx, l, []Device{{Address: "cuff", Profile: vital.KindBloodPressure.Profile}}, &recSink{}, quiet)
			close(done)
		}()
		<-l.conns
		<-l.conns
		l.mu.Lock()
		gap := l.attempts[1].Sub(l.attempts[0])
		l.mu.Unlock()
		if gap < 4*time.Minute {
			t.Errorf("retry after a device without its measurement characteristic came after %s, want minutes", gap)
		}
		cancel()
		<-done
	})
}

func TestReplay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := NewReplay()
		sink := &recSink{}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- r.Run(ctx, nil, sink) }()
		if err := r.Send(ctx, Payload{Device: "a", Char: 0x2A37}, Payload{Device: "a", Char: 0x2A1C}); err != nil {
			t.Fatal(err)
		}
		if got := sink.chars(); !slices.Equal(got, []uint16{0x2A37, 0x2A1C}) {
			t.Errorf("after Send the sink holds %04X, want 2A37 then 2A1C", got)
		}
		if err := r.Disconnect(ctx, "a"); err != nil || !slices.Equal(sink.drops, []string{"a"}) {
			t.Errorf("Disconnect: %v, drops %v", err, sink.drops)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v, want nil after cancel", err)
		}
		if err := r.Send(ctx, Payload{}); !errors.Is(err, ErrNotRunning) {
			t.Errorf("Send after Run ended = %v, want ErrNotRunning", err)
		}
	})
}

func TestParseHex(t *testing.T) {
	tests := []struct {
		in   string
		want []byte
		err  string
	}{
		{"1E 78 00", []byte{0x1E, 0x78, 0x00}, ""},
		{"1e:78-00", []byte{0x1E, 0x78, 0x00}, ""},
		{"0x1E7800", []byte{0x1E, 0x78, 0x00}, ""},
		{"", []byte{}, ""},
		{"1E 7", nil, "3 hex digits"},
		{"1G", nil, `'G' is not a hex digit`},
	}
	for _, tt := range tests {
		got, err := ParseHex(tt.in)
		if tt.err != "" {
			if err == nil || !bytes.Contains([]byte(err.Error()), []byte(tt.err)) {
				t.Errorf("ParseHex(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, tt.want) {
			t.Errorf("ParseHex(%q) = % X, %v; want % X", tt.in, got, err, tt.want)
		}
	}
}
