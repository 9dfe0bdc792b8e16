package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	adherencereport "github.com/pillbox/pillbox/adherence/report"
	"github.com/pillbox/pillbox/adherence/uplink"
	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/hw/vital"
	"github.com/pillbox/pillbox/schedule"
)

// A simulated dispenser: a log of synthetic events and readings
// (report.Synthetic: four scheduled doses a day with what the real
// dispenser logs for each, as-needed doses, refills, caregiver texts, and
// six vital-sign readings a day) played to the clinic by the real
// uplink.Pusher, at the moments a real dispenser would push: after each
// commit (events at the same instant go together), and a heartbeat when
// nothing was pushed for an interval.

// push is one moment the device pushes: every event and reading up to
// these counts is in its log by then.
type push struct {
	at       time.Time
	events   int
	readings int
}

// plan returns the pushes of a device whose log is evs and rs (in time
// order), heartbeating every interval from start+phase until end and
// pushing each new instant of its log.
func plan(evs []dispenser.Event, rs []vital.Reading, start, end time.Time, phase, interval time.Duration) []push {
	var out []push
	i, j := 0, 0
	hb := start.Add(phase)
	for i < len(evs) || j < len(rs) || hb.Before(end) {
		var next time.Time
		switch {
		case i < len(evs) && (j >= len(rs) || !rs[j].Time.Before(evs[i].Time)):
			next = evs[i].Time
		case j < len(rs):
			next = rs[j].Time
		}
		if next.IsZero() || next.After(hb) && hb.Before(end) {
			out = append(out, push{hb, i, j})
			hb = hb.Add(interval)
			continue
		}
		for i < len(evs) && !evs[i].Time.After(next) {
			i++
		}
		for j < len(rs) && !rs[j].Time.After(next) {
			j++
		}
		out = append(out, push{next, i, j})
		hb = next.Add(interval)
	}
	return out
}

// device is one simulated dispenser.
type device struct {
	id, token string
	patient   string // known when pillload registered the device itself
	log       string // the id of its event log, new for each run
	events    []dispenser.Event
	readings  []vital.Reading
	pushes    []push

	mu                sync.Mutex
	visibleEvents     int
	visibleReadings   int
	latencies         []time.Duration
	stored, dups      int
	requests, errors  int
	errKinds          map[string]int
	firstErr          string
	ackedSeq, ackedRd int64
}

// newDevice makes device number n of a run: its synthetic log of days
// from start and its pushes.
func newDevice(id, token, patient, run string, n int, seed uint64, start time.Time, days int, interval, phase time.Duration) *device {
	d := &device{id: id, token: token, patient: patient, log: fmt.Sprintf("load-%s-%d", run, n)}
	d.events, d.readings = adherencereport.Synthetic(seed+uint64(n), start, days, 0.85)
	// Ids unique to this run's log, so that a second run against the same
	// clinic stores everything again rather than meeting the first's ids.
	for k := range d.events {
		d.events[k].ID = fmt.Sprintf("%s-e%d", d.log, d.events[k].Seq)
	}
	for k := range d.readings {
		d.readings[k].ID = fmt.Sprintf("%s-r%d", d.log, d.readings[k].Seq)
	}
	d.pushes = plan(d.events, d.readings, start, start.AddDate(0, 0, days), phase, interval)
	return d
}

var _ uplink.Source = (*device)(nil)
var _ uplink.ReadingSource = (*device)(nil)

// DeviceID is the id of the device's log (uplink.Source).
func (d *device) DeviceID() string { return d.log }

// Since returns the visible events after seq (uplink.Source).
func (d *device) Since(_ context.Context, seq int64, limit int) ([]dispenser.Event, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return after(d.events[:d.visibleEvents], seq, limit, func(e dispenser.Event) int64 { return e.Seq }), nil
}

// ReadingsSince returns the visible readings after seq (uplink.ReadingSource).
func (d *device) ReadingsSince(_ context.Context, seq int64, limit int) ([]vital.Reading, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return after(d.readings[:d.visibleReadings], seq, limit, func(r vital.Reading) int64 { return r.Seq }), nil
}

// after returns at most limit items of xs (in seq order) with a seq above seq.
func after[T any](xs []T, seq int64, limit int, seqOf func(T) int64) []T {
	k := 0
	for k < len(xs) && seqOf(xs[k]) <= seq {
		k++
	}
	return append([]T(nil), xs[k:min(k+limit, len(xs))]...)
}

// run plays the device's pushes with the real Pusher. paced, when set,
// waits until a push's moment comes in the compressed week.
func (d *device) run(ctx context.Context, base http.RoundTripper, baseURL string, profile *uplink.Profile,
	rate pace, paced func(time.Time) error) error {
	client := &http.Client{Transport: &meter{base: base, d: d, bucket: rate.bucket()}, Timeout: 30 * time.Second}
	p, err := uplink.NewPusher(uplink.Options{BaseURL: baseURL, Device: d.id, Token: d.token, Source: d, Readings: d,
		Clock: schedule.NewRealClock(), Client: client, Software: "pillload", Profile: profile})
	if err != nil {
		return err
	}
	for _, ps := range d.pushes {
		if err := paced(ps.at); err != nil {
			return nil // the run was stopped
		}
		d.mu.Lock()
		d.visibleEvents, d.visibleReadings = ps.events, ps.readings
		d.mu.Unlock()
		if err := p.PushOnce(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			d.failed(err.Error())
		}
	}
	st := p.Status()
	d.mu.Lock()
	d.ackedSeq, d.ackedRd = st.AckedSeq, st.AckedReadingSeq
	d.mu.Unlock()
	return nil
}

func (d *device) failed(msg string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.errors++
	if d.errKinds == nil {
		d.errKinds = map[string]int{}
	}
	d.errKinds[errKind(msg)]++
	if d.firstErr == "" {
		d.firstErr = msg
	}
}

// httpStatus finds the status in the Pusher's errors ("server answered
// 503: ...", "server rejected the batch: 401: ...").
var httpStatus = regexp.MustCompile(`(?:answered|batch:) ([1-5][0-9][0-9])\b`)

// errKind sorts a push's error for the report.
func errKind(msg string) string {
	switch {
	case strings.Contains(msg, "Client.Timeout") || strings.Contains(msg, "deadline exceeded"):
		return "no answer within 30 s (a dispenser's timeout)"
	case httpStatus.MatchString(msg):
		return "HTTP " + httpStatus.FindStringSubmatch(msg)[1]
	case strings.Contains(msg, "uplink: post:"):
		return "connection"
	}
	return "other"
}

// meter is a device's transport: it keeps the device under the clinic's
// per-token rate, and records each request's latency and what the
// server's acknowledgement says it stored.
type meter struct {
	base   http.RoundTripper
	d      *device
	bucket *bucket
}

func (m *meter) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := m.bucket.wait(req.Context()); err != nil {
		return nil, err
	}
	t0 := time.Now()
	resp, err := m.base.RoundTrip(req)
	if err != nil {
		m.record(time.Since(t0), 0, 0, false)
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	elapsed := time.Since(t0)
	if err != nil {
		m.record(elapsed, 0, 0, false)
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var ack uplink.Ack
	ok := resp.StatusCode == http.StatusOK && json.Unmarshal(body, &ack) == nil
	m.record(elapsed, ack.Stored, ack.Duplicates, ok)
	return resp, nil
}

// record counts one request; a failed one is counted by the Pusher's
// error too (device.failed), so it adds no error here.
func (m *meter) record(d time.Duration, stored, dups int, ok bool) {
	m.d.mu.Lock()
	defer m.d.mu.Unlock()
	m.d.requests++
	if ok {
		m.d.latencies = append(m.d.latencies, d)
		m.d.stored += stored
		m.d.dups += dups
	}
}

// pace is the most requests a device makes: burst at once, then perSec.
type pace struct {
	burst  int
	perSec float64
}

func (p pace) bucket() *bucket {
	return &bucket{pace: p, tokens: float64(p.burst), at: time.Now()}
}

// bucket is a token bucket, per device (one goroutine).
type bucket struct {
	pace
	tokens float64
	at     time.Time
}

func (b *bucket) wait(ctx context.Context) error {
	if b.perSec <= 0 {
		return nil
	}
	now := time.Now()
	b.tokens = min(float64(b.burst), b.tokens+now.Sub(b.at).Seconds()*b.perSec)
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return nil
	}
	wait := time.Duration((1 - b.tokens) / b.perSec * float64(time.Second))
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		b.tokens, b.at = 0, time.Now()
		return nil
	}
}
