package uplink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/schedule"
)

// memLog is a Source of n button events.
type memLog struct{ evs []dispenser.Event }

var _ Source = (*memLog)(nil)

func newMemLog(n int) *memLog {
	l := &memLog{}
	for i := range n {
		l.evs = append(l.evs, dispenser.Event{Seq: int64(i + 1), ID: "e" + string(rune('a'+i%26)) + strings.Repeat("x", i/26),
			Time: t0, Kind: dispenser.KindButton})
	}
	return l
}

func (l *memLog) DeviceID() string { return "log1" }
func (l *memLog) Since(_ context.Context, seq int64, limit int) ([]dispenser.Event, error) {
	var out []dispenser.Event
	for _, ev := range l.evs {
		if ev.Seq > seq && len(out) < limit {
			out = append(out, ev)
		}
	}
	return out, nil
}

// fakeServer answers batches: it acknowledges what it gets, or answers
// with status when status is set, and refuses batches over maxEvents.
type fakeServer struct {
	acked     int64
	status    int
	maxEvents int
	batches   []int     // events per request
	expires   time.Time // the token's end it reports
}

var _ http.RoundTripper = (*fakeServer)(nil)

func (f *fakeServer) RoundTrip(r *http.Request) (*http.Response, error) {
	body, _ := io.ReadAll(r.Body)
	w := httptest.NewRecorder()
	b, err := DecodeBatch(body)
	switch {
	case err != nil:
		w.WriteHeader(400)
		json.NewEncoder(w).Encode(ErrorBody{err.Error()})
	case r.Header.Get("Authorization") != "Bearer pbd_tok":
		w.WriteHeader(401)
	case f.status != 0:
		w.WriteHeader(f.status)
		json.NewEncoder(w).Encode(ErrorBody{"no"})
	case f.maxEvents > 0 && len(b.Events) > f.maxEvents:
		w.WriteHeader(http.StatusRequestEntityTooLarge)
	default:
		f.batches = append(f.batches, len(b.Events))
		for _, e := range b.Events {
			if e.Seq == f.acked+1 {
				f.acked = e.Seq
			}
		}
		json.NewEncoder(w).Encode(Ack{Version: Version, AckedSeq: f.acked, TokenExpires: f.expires})
	}
	return w.Result(), nil
}

func newTestPusher(t *testing.T, src Source, srv *fakeServer, batch int) *Pusher {
	t.Helper()
	p, err := NewPusher(Options{BaseURL: "https://clinic.test", Device: "dv_1", Token: "pbd_tok", Source: src,
		Clock: schedule.NewSimClock(t0), Client: &http.Client{Transport: srv}, Batch: batch})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPushOnce(t *testing.T) {
	tests := []struct {
		name        string
		events      int
		srv         fakeServer
		batch       int
		wantErr     error
		wantAcked   int64
		wantBatches []int
	}{
		{"nothing to send: a heartbeat", 0, fakeServer{}, 10, nil, 0, []int{0, 0}},
		{"in batches", 25, fakeServer{}, 10, nil, 25, []int{0, 10, 10, 5}},
		{"resumes from the server's ack", 25, fakeServer{acked: 20}, 10, nil, 25, []int{0, 5}},
		{"revoked token", 5, fakeServer{status: 401}, 10, ErrRejected, -1, nil},
		{"server error", 5, fakeServer{status: 503}, 10, nil, -1, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := tc.srv
			p := newTestPusher(t, newMemLog(tc.events), &srv, tc.batch)
			err := p.PushOnce(context.Background())
			switch {
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Errorf("PushOnce() = %v, want %v", err, tc.wantErr)
			case tc.wantErr == nil && srv.status == 0 && err != nil:
				t.Errorf("PushOnce() = %v, want nil", err)
			case srv.status != 0 && err == nil:
				t.Errorf("PushOnce() against status %d = nil, want an error", srv.status)
			}
			if got := p.Status().AckedSeq; got != tc.wantAcked {
				t.Errorf("acked = %d, want %d", got, tc.wantAcked)
			}
			if tc.wantBatches != nil && !slices.Equal(srv.batches, tc.wantBatches) {
				t.Errorf("events per request = %v, want %v", srv.batches, tc.wantBatches)
			}
		})
	}
}

// TestPushWarnsOfTokenEnd: the clinic says when the device token ends;
// the pusher shows it and warns once in its log when it is a month away.
func TestPushWarnsOfTokenEnd(t *testing.T) {
	var logs bytes.Buffer
	srv := &fakeServer{expires: t0.Add(40 * 24 * time.Hour)}
	clock := schedule.NewSimClock(t0)
	p, err := NewPusher(Options{BaseURL: "https://clinic.test", Device: "dv_1", Token: "pbd_tok", Source: newMemLog(0),
		Clock: clock, Client: &http.Client{Transport: srv}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	for _, day := range []int{0, 11, 12, 13} {
		clock.Set(t0.Add(time.Duration(day) * 24 * time.Hour))
		if err := p.PushOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := p.Status().TokenExpires; !got.Equal(srv.expires) {
			t.Errorf("day %d: status token_expires = %v, want %v", day, got, srv.expires)
		}
		if n := strings.Count(logs.String(), "device token ends soon"); n != min(max(day-10, 0), 1) {
			t.Errorf("day %d: %d warnings, want one once the end is within 30 days:\n%s", day, n, logs.String())
		}
	}
}

// TestPushHalvesOn413: a server that refuses the batch size makes the
// pusher send half as many events per request from then on.
func TestPushHalvesOn413(t *testing.T) {
	srv := &fakeServer{maxEvents: 6}
	p := newTestPusher(t, newMemLog(25), srv, 10)
	if err := p.PushOnce(context.Background()); err == nil {
		t.Fatal("PushOnce() against 413 = nil, want an error")
	}
	srv.batches = nil
	if err := p.PushOnce(context.Background()); err != nil || p.Status().AckedSeq != 25 {
		t.Errorf("second PushOnce() = %v, acked %d; want nil, 25", err, p.Status().AckedSeq)
	}
	if want := []int{5, 5, 5, 5, 5}; !slices.Equal(srv.batches, want) {
		t.Errorf("events per request after a 413 = %v, want %v", srv.batches, want)
	}
}
