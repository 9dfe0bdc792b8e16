package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/pillbox/pillbox/dispenser"
)

// Stream serves the dispenser live as server-sent events
// (text/event-stream), so that a browser follows it without polling:
//
//   - "log": each committed event of the adherence log as JSON, with its
//     seq as the event id. A client that reconnects (EventSource sends
//     Last-Event-ID) or asks with ?since=SEQ first gets what it missed,
//     from the log; a client that falls behind the hub is caught up from
//     the log too, so a client never sees a gap.
//   - one event per Source, named after it, carrying the source's value:
//     once at connect and then whenever the value changes. Sources are
//     sampled every Interval on the server, which is cheap for in-memory
//     state (the simulated world) and spares the client a poll loop.
//   - "hello" first, with Instance, when set: a client that reconnects to
//     another run of the daemon (whose log may have started again at seq
//     1) sees a new instance and starts over instead of resuming.
//   - a comment every heartbeat, so dead connections are noticed.
type Stream struct {
	Hub *Hub
	Log dispenser.Log
	// Backlog gives the events a new client (one with no since) gets
	// first, such as the last day's; without it a new client gets only
	// what is committed after it connects.
	Backlog func(ctx context.Context) ([]dispenser.Event, error)
	Sources []Source
	// Instance names this run of the server, in the hello event.
	Instance string
	// Interval is how often sources are sampled (default 250ms).
	Interval time.Duration
	// Done ends every stream when closed: http.Server.Shutdown waits for
	// requests to finish, and a stream never finishes on its own.
	Done   <-chan struct{}
	Logger *slog.Logger
}

// Source is a value a Stream sends whenever it changes. Read returns it
// as JSON; equal bytes mean no change.
type Source struct {
	Name string
	Read func() ([]byte, error)
}

// Stream timing.
const (
	defaultStreamInterval = 250 * time.Millisecond
	streamHeartbeat       = 15 * time.Second
	// streamRetry is how long EventSource waits before reconnecting.
	streamRetry = 2 * time.Second
	// catchUpPage is how many events one log read returns while catching up.
	catchUpPage = 500
)

// noSeq marks a stream that has not sent a log event yet and so does not
// know which one comes next.
const noSeq = -1

// streamSince is where a client resumes: the Last-Event-ID header of a
// reconnect wins over ?since=; noSeq when it gave neither.
func streamSince(r *http.Request) (int64, error) {
	v := r.Header.Get("Last-Event-ID")
	if v == "" {
		v = r.URL.Query().Get("since")
	}
	if v == "" {
		return noSeq, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("since (or Last-Event-ID) must be a sequence number >= 0, not %q", v)
	}
	return n, nil
}

func (s *Stream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	since, err := streamSince(r)
	if err != nil {
		WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	// Subscribed before the log is read, so that nothing committed in
	// between is lost; what arrives twice is dropped by seq.
	sb := s.Hub.subscribe()
	defer s.Hub.unsubscribe(sb)

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // a reverse proxy must not hold events back
	w.WriteHeader(http.StatusOK)
	c := &streamConn{s: s, w: w, rc: http.NewResponseController(w), ctx: r.Context(), last: since,
		prev: make([][]byte, len(s.Sources))}
	if err := c.start(); err != nil {
		c.end(err)
		return
	}
	interval := s.Interval
	if interval <= 0 {
		interval = defaultStreamInterval
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	beat := time.NewTicker(streamHeartbeat)
	defer beat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.Done:
			return
		case ev := <-sb.ch:
			err = c.onEvent(ev, s.Hub.takeMissed(sb))
		case <-tick.C:
			err = c.sample()
		case <-beat.C:
			_, err = io.WriteString(w, ": heartbeat\n\n")
		}
		if err == nil {
			err = c.rc.Flush()
		}
		if err != nil {
			c.end(err)
			return
		}
	}
}

// streamConn is one client's stream.
type streamConn struct {
	s    *Stream
	w    io.Writer
	rc   *http.ResponseController
	ctx  context.Context
	last int64    // seq of the last log event sent, or noSeq
	prev [][]byte // last value sent of each source
}

// start sends the reconnect delay, hello, the log the client asked for (or
// the backlog), and every source's current value.
func (c *streamConn) start() error {
	if _, err := fmt.Fprintf(c.w, "retry: %d\n\n", streamRetry.Milliseconds()); err != nil {
		return err
	}
	if c.s.Instance != "" {
		hello, err := json.Marshal(map[string]string{"instance": c.s.Instance})
		if err != nil {
			return err
		}
		if err := writeSSE(c.w, "hello", "", hello); err != nil {
			return err
		}
	}
	switch {
	case c.last != noSeq:
		if err := c.catchUp(); err != nil {
			return err
		}
	case c.s.Backlog != nil:
		evs, err := c.s.Backlog(c.ctx)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			if err := c.send(ev); err != nil {
				return err
			}
		}
	}
	if err := c.sample(); err != nil {
		return err
	}
	return c.rc.Flush()
}

// onEvent sends an event from the hub, or catches up from the log when
// events were skipped or dropped before it.
func (c *streamConn) onEvent(ev dispenser.Event, missed bool) error {
	switch {
	case c.last == noSeq:
		if err := c.send(ev); err != nil || !missed {
			return err
		}
	case ev.Seq <= c.last && !missed:
		return nil // already sent from the log
	case ev.Seq == c.last+1 && !missed:
		return c.send(ev)
	}
	return c.catchUp()
}

// catchUp sends every event after the last one sent, from the log.
func (c *streamConn) catchUp() error {
	if c.last == noSeq {
		return nil
	}
	for {
		evs, err := c.s.Log.Since(c.ctx, c.last, catchUpPage)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			if err := c.send(ev); err != nil {
				return err
			}
		}
		if len(evs) < catchUpPage {
			return nil
		}
	}
}

func (c *streamConn) send(ev dispenser.Event) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	if err := writeSSE(c.w, "log", strconv.FormatInt(ev.Seq, 10), b); err != nil {
		return err
	}
	c.last = ev.Seq
	return nil
}

// sample sends the sources whose value changed since last sent.
func (c *streamConn) sample() error {
	for i, src := range c.s.Sources {
		b, err := src.Read()
		if err != nil {
			return fmt.Errorf("source %s: %w", src.Name, err)
		}
		if c.prev[i] != nil && bytes.Equal(b, c.prev[i]) {
			continue
		}
		if err := writeSSE(c.w, src.Name, "", b); err != nil {
			return err
		}
		c.prev[i] = b
	}
	return nil
}

// end logs why a stream ended, unless the client simply went away.
func (c *streamConn) end(err error) {
	if c.ctx.Err() != nil {
		return
	}
	l := c.s.Logger
	if l == nil {
		l = slog.Default()
	}
	l.Warn("httpapi: stream ended", "err", err)
}

// writeSSE writes one server-sent event. Each line of data becomes a data
// field, as the format requires; an empty id leaves the client's last
// event id as it was.
func writeSSE(w io.Writer, event, id string, data []byte) error {
	var b bytes.Buffer
	b.WriteString("event: " + event + "\n")
	if id != "" {
		b.WriteString("id: " + id + "\n")
	}
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		b.WriteString("data: ")
		b.Write(bytes.TrimSuffix(line, []byte("\r")))
		b.WriteString("\n")
	}
	b.WriteString("\n")
	_, err := w.Write(b.Bytes())
	return err
}

var _ http.Handler = (*Stream)(nil)

// takeMissed reports whether the hub dropped events for s since the last
// call, and clears the mark.
func (h *Hub) takeMissed(s *sub) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := s.missed
	s.missed = false
	return m
}
