package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/dispenser/dispensertest"
)

// addButtons appends n button events to l without telling any hub.
func addButtons(t *testing.T, l *dispensertest.MemLog, n int) []dispenser.Event {
	t.Helper()
	evs := make([]dispenser.Event, n)
	for i := range evs {
		evs[i] = dispenser.Event{Kind: dispenser.KindButton}
	}
	stored, err := l.Append(context.Background(), evs...)
	if err != nil {
		t.Fatal(err)
	}
	return stored
}

// sseRecorder is a flushable ResponseWriter whose body the test reads
// while the handler runs.
type sseRecorder struct {
	mu     sync.Mutex
	header http.Header
	code   int
	buf    bytes.Buffer
	read   int
}

var _ http.Flusher = (*sseRecorder)(nil)

func newSSERecorder() *sseRecorder { return &sseRecorder{header: http.Header{}} }

func (r *sseRecorder) Header() http.Header { return r.header }
func (r *sseRecorder) WriteHeader(code int) {
	r.mu.Lock()
	r.code = code
	r.mu.Unlock()
}
func (r *sseRecorder) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.Write(b)
}
func (r *sseRecorder) Flush() {}

// sseEvent is one parsed server-sent event.
type sseEvent struct{ name, id, data string }

// take returns the events written since the last take.
func (r *sseRecorder) take() []sseEvent {
	r.mu.Lock()
	text := r.buf.String()[r.read:]
	r.read = r.buf.Len()
	r.mu.Unlock()
	var out []sseEvent
	for block := range strings.SplitSeq(text, "\n\n") {
		var ev sseEvent
		var data []string
		for line := range strings.SplitSeq(block, "\n") {
			k, v, _ := strings.Cut(line, ": ")
			switch k {
			case "event":
				ev.name = v
			case "id":
				ev.id = v
			case "data":
				data = append(data, v)
			}
		}
		if ev.name != "" {
			ev.data = strings.Join(data, "\n")
			out = append(out, ev)
		}
	}
	return out
}

// logSeqs are the seqs of the log events among evs.
func logSeqs(t *testing.T, evs []sseEvent) []int64 {
	t.Helper()
	seqs := []int64{}
	for _, e := range evs {
		if e.name != "log" {
			continue
		}
		var ev dispenser.Event
		if err := json.Unmarshal([]byte(e.data), &ev); err != nil {
			t.Fatalf("log event data %q: %v", e.data, err)
		}
		if e.id != fmt.Sprint(ev.Seq) {
			t.Errorf("log event id %q, want its seq %d", e.id, ev.Seq)
		}
		seqs = append(seqs, ev.Seq)
	}
	return seqs
}

// streamRun runs a stream request in the synctest bubble until stop.
type streamRun struct {
	rec  *sseRecorder
	stop func()
	done chan struct{}
}

func startStream(s *Stream, req *http.Request) *streamRun {
	ctx, cancel := context.WithCancel(req.Context())
	run := &streamRun{rec: newSSERecorder(), done: make(chan struct{})}
	run.stop = func() { cancel(); <-run.done }
	go func() {
		defer close(run.done)
		s.ServeHTTP(run.rec, req.WithContext(ctx))
	}()
	synctest.Wait()
	return run
}

// Where a client starts: its Last-Event-ID, else ?since=, else the backlog.
func TestStreamStart(t *testing.T) {
	for _, tc := range []struct {
		name      string
		target    string
		lastID    string
		backlog   bool
		wantSeqs  []int64
		wantCode  int
		wantError string
	}{
		{name: "new client, no backlog", target: "/api/stream", wantSeqs: []int64{}, wantCode: 200},
		{name: "new client, backlog", target: "/api/stream", backlog: true, wantSeqs: []int64{4, 5}, wantCode: 200},
		{name: "since", target: "/api/stream?since=2", wantSeqs: []int64{3, 4, 5}, wantCode: 200},
		{name: "since 0", target: "/api/stream?since=0", wantSeqs: []int64{1, 2, 3, 4, 5}, wantCode: 200},
		{name: "Last-Event-ID wins", target: "/api/stream?since=1", lastID: "4", wantSeqs: []int64{5}, wantCode: 200},
		{name: "bad since", target: "/api/stream?since=x", wantCode: 400, wantError: "sequence number"},
		{name: "negative since", target: "/api/stream?since=-1", wantCode: 400, wantError: "sequence number"},
		{name: "bad Last-Event-ID", target: "/api/stream", lastID: "1e3", wantCode: 400, wantError: "Last-Event-ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				log := &dispensertest.MemLog{}
				addButtons(t, log, 5)
				s := &Stream{Hub: NewHub(), Log: log}
				if tc.backlog {
					s.Backlog = func(ctx context.Context) ([]dispenser.Event, error) { return log.Since(ctx, 3, 100) }
				}
				req := httptest.NewRequest("GET", tc.target, nil)
				if tc.lastID != "" {
					req.Header.Set("Last-Event-ID", tc.lastID)
				}
				run := startStream(s, req)
				defer run.stop()
				run.rec.mu.Lock()
				code, body := run.rec.code, run.rec.buf.String()
				run.rec.mu.Unlock()
				if code != tc.wantCode {
					t.Fatalf("GET %s: status %d, want %d (%s)", tc.target, code, tc.wantCode, body)
				}
				if tc.wantError != "" {
					if !strings.Contains(body, tc.wantError) {
						t.Errorf("GET %s: body %q, want it to mention %q", tc.target, body, tc.wantError)
					}
					return
				}
				if ct := run.rec.header.Get("Content-Type"); ct != "text/event-stream" {
					t.Errorf("Content-Type = %q, want text/event-stream", ct)
				}
				if got := logSeqs(t, run.rec.take()); !slices.Equal(got, tc.wantSeqs) {
					t.Errorf("GET %s (Last-Event-ID %q): log seqs %v, want %v", tc.target, tc.lastID, got, tc.wantSeqs)
				}
			})
		})
	}
}

// Live events arrive in order, each once, even when the hub skips or drops
// some: the gap is filled from the log.
func TestStreamLive(t *testing.T) {
	for _, tc := range []struct {
		name string
		// publish commits n events to the log and hands the hub the ones
		// picked by which (nil: all).
		n     int
		which func(i int) bool
		flood bool // publish more than a subscriber buffers
	}{
		{name: "every event", n: 3},
		{name: "a gap", n: 4, which: func(i int) bool { return i == 3 }},
		{name: "dropped by the hub", n: 300, flood: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				log := &dispensertest.MemLog{}
				addButtons(t, log, 2)
				hub := NewHub()
				run := startStream(&Stream{Hub: hub, Log: log}, httptest.NewRequest("GET", "/api/stream?since=2", nil))
				defer run.stop()

				stored := addButtons(t, log, tc.n)
				var pub []dispenser.Event
				for i, ev := range stored {
					if tc.which == nil || tc.which(i) {
						pub = append(pub, ev)
					}
				}
				hub.Publish(pub) // all at once: with flood, the subscriber's buffer overflows
				synctest.Wait()
				want := []int64{}
				for _, ev := range stored {
					want = append(want, ev.Seq)
				}
				if got := logSeqs(t, run.rec.take()); !slices.Equal(got, want) {
					t.Errorf("log seqs %v, want %v", got, want)
				}
			})
		})
	}
}

// A source is sent at connect and then only when its value changes.
func TestStreamSources(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		value := `{"n":1}`
		set := func(v string) { mu.Lock(); value = v; mu.Unlock() }
		read := func() ([]byte, error) { mu.Lock(); defer mu.Unlock(); return []byte(value), nil }
		s := &Stream{Hub: NewHub(), Log: &dispensertest.MemLog{}, Interval: time.Second,
			Sources: []Source{{Name: "world", Read: read}}}
		run := startStream(s, httptest.NewRequest("GET", "/api/stream", nil))
		defer run.stop()

		frames := func() []string {
			var out []string
			for _, e := range run.rec.take() {
				if e.name == "world" {
					out = append(out, e.data)
				}
			}
			return out
		}
		steps := []struct {
			what string
			set  string
			want []string
		}{
			{"at connect", "", []string{`{"n":1}`}},
			{"unchanged", "", nil},
			{"changed", `{"n":2}`, []string{`{"n":2}`}},
			{"multi-line value", "{\n\"n\":3}", []string{"{\n\"n\":3}"}},
			{"unchanged again", "", nil},
		}
		for i, st := range steps {
			if i > 0 {
				if st.set != "" {
					set(st.set)
				}
				time.Sleep(s.Interval)
				synctest.Wait()
			}
			if got := frames(); !slices.Equal(got, st.want) {
				t.Errorf("%s: world events %q, want %q", st.what, got, st.want)
			}
		}
	})
}

// Done ends every stream, so the server can shut down.
func TestStreamDone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		done := make(chan struct{})
		s := &Stream{Hub: NewHub(), Log: &dispensertest.MemLog{}, Done: done}
		run := startStream(s, httptest.NewRequest("GET", "/api/stream", nil))
		close(done)
		synctest.Wait()
		select {
		case <-run.done:
		default:
			t.Fatal("stream still running after Done closed")
		}
		if n := len(s.Hub.subs); n != 0 {
			t.Errorf("hub has %d subscribers after the stream ended, want 0", n)
		}
	})
}

// A quiet stream still says something now and then, so that a dead
// connection is noticed.
func TestStreamHeartbeat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		run := startStream(&Stream{Hub: NewHub(), Log: &dispensertest.MemLog{}}, httptest.NewRequest("GET", "/api/stream", nil))
		defer run.stop()
		time.Sleep(streamHeartbeat)
		synctest.Wait()
		run.rec.mu.Lock()
		body := run.rec.buf.String()
		run.rec.mu.Unlock()
		if !strings.Contains(body, ": heartbeat\n\n") {
			t.Errorf("no heartbeat comment after %v: %q", streamHeartbeat, body)
		}
	})
}

// FuzzStreamSince feeds the resume point a client sends (header or query):
// it is a sequence number >= 0 or a clear error, never a panic.
func FuzzStreamSince(f *testing.F) {
	f.Add("", "12")
	f.Add("7", "")
	f.Add("-1", "x")
	f.Fuzz(func(t *testing.T, header, query string) {
		req := httptest.NewRequest("GET", "/api/stream", nil)
		req.Header.Set("Last-Event-ID", header)
		req.URL.RawQuery = "since=" + query
		n, err := streamSince(req)
		switch {
		case err != nil:
			if !strings.Contains(err.Error(), "sequence number") {
				t.Errorf("streamSince(%q, %q) error %q does not say what is wanted", header, query, err)
			}
		case n == noSeq:
			if req.Header.Get("Last-Event-ID") != "" || req.URL.Query().Get("since") != "" {
				t.Errorf("streamSince(%q, %q) = no seq, but the client gave one", header, query)
			}
		case n < 0:
			t.Errorf("streamSince(%q, %q) = %d, want >= 0", header, query, n)
		}
	})
}

// hello names the server's run first, so a client can tell a restart.
func TestStreamHello(t *testing.T) {
	for _, tc := range []struct {
		instance string
		want     []string // names of the events at connect
	}{
		{"", []string{"log"}},
		{"run-1", []string{"hello", "log"}},
	} {
		t.Run(tc.instance, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				log := &dispensertest.MemLog{}
				addButtons(t, log, 1)
				s := &Stream{Hub: NewHub(), Log: log, Instance: tc.instance}
				run := startStream(s, httptest.NewRequest("GET", "/api/stream?since=0", nil))
				defer run.stop()
				evs := run.rec.take()
				var names []string
				for _, e := range evs {
					names = append(names, e.name)
				}
				if !slices.Equal(names, tc.want) {
					t.Fatalf("events at connect %v, want %v", names, tc.want)
				}
				if tc.instance != "" {
					if want := fmt.Sprintf(`{"instance":%q}`, tc.instance); evs[0].data != want {
						t.Errorf("hello data %s, want %s", evs[0].data, want)
					}
				}
			})
		})
	}
}
