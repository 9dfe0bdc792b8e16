package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pillbox/pillbox/notify/twiliotest"
)

// soakSample is what the soak records at the end of each simulated day.
type soakSample struct {
	day        int
	rssKB      float64
	goroutines float64
	dbKB       float64 // the database file
	walKB      float64 // its write-ahead log, which SQLite reuses at its high-water size
	restarted  bool    // the process was restarted that day
}

// soak lives through 30 simulated days (3 in CI) as fast as the machine
// allows: the patient takes most doses and asks for an as-needed one now
// and then, with random faults mixed in - a jam, a dose slept through, an
// hour of SMS outage, stray drop pulses, the lid left open, a power cut
// (SIGKILL and restart), a wall-clock step, a refill when a compartment
// runs low. Every invariant is checked after every step; at the end of
// each day it records the daemon's resident memory, goroutines and
// database size, and reports their slopes (flat is the goal).
func soak(ctx context.Context, h *harness, r *result) {
	days := h.size(3, 30)
	d, p, err := h.newTextingDaemon("soak", fastMotors...)
	if err != nil {
		r.fail("%v", err)
		return
	}
	defer p.Close()
	defer d.kill()
	ny, _ := time.LoadLocation("America/New_York")
	day0 := time.Date(2027, 4, 1, 0, 0, 0, 0, ny)
	if err := d.start(ctx, "--sim-start="+day0.Add(7*time.Hour).Format(time.RFC3339)); err != nil {
		r.fail("start: %v", err)
		return
	}
	chk, err := newChecker(r, d)
	if err != nil {
		r.fail("%v", err)
		return
	}
	var mu sync.Mutex
	var kills []time.Time
	kill := func() {
		mu.Lock()
		kills = append(kills, time.Now())
		mu.Unlock()
		d.kill()
	}
	explained := func(t time.Time) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, k := range kills {
			if dt := k.Sub(t); dt > -2*time.Second && dt < 2*time.Second {
				return true
			}
		}
		return false
	}
	var samples []soakSample
	fail := func(day int, format string, args ...any) { r.fail("day %d: "+format, append([]any{day}, args...)...) }
	for day := 1; day <= days && ctx.Err() == nil; day++ {
		r.Runs++
		restarted := false
		date := day0.AddDate(0, 0, day-1)
		at := func(hh, mm int) time.Time {
			return date.Add(time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute)
		}
		fault := h.intn(9)
		faultName := []string{"none", "jam", "missed dose", "sms outage", "stray drops", "lid left open", "power cut", "clock step", "none"}[fault]
		r.add("fault_"+strings.ReplaceAll(faultName, " ", "_"), 1)
		for _, t := range []time.Time{at(8, 0), at(9, 0), at(13, 0), at(20, 0)} {
			if err := d.api.advanceTo(ctx, t); err != nil {
				fail(day, "advance: %v", err)
				return
			}
			switch {
			case t.Hour() == 8 && fault == 1:
				d.api.call(ctx, "POST", "/api/sim/jam", map[string]int{"compartment": 1 + h.intn(2), "count": 1 + h.intn(3)}, nil)
			case t.Hour() == 8 && fault == 3:
				// By count: the stand-in's clock is real time here.
				p.FailNext(4+h.intn(8), []twiliotest.Fault{twiliotest.Fail500, twiliotest.Fail503, twiliotest.FailReset}[h.intn(3)])
			case t.Hour() == 9 && fault == 4:
				for range 3 {
					d.api.fault(ctx, map[string]any{"input": "drop", "chatter": 2})
				}
			case t.Hour() == 13 && fault == 5:
				d.api.lid(ctx, true)
			case t.Hour() == 13 && fault == 6:
				kill()
				if err := d.start(ctx); err != nil {
					fail(day, "restart after a power cut: %v", err)
					return
				}
				restarted = true
			case t.Hour() == 13 && fault == 7:
				step := []time.Duration{2 * time.Hour, -2 * time.Hour, 30 * time.Minute}[h.intn(3)]
				st, err := d.api.status(ctx)
				if err == nil {
					err = d.api.setClock(ctx, st.Now.Add(step))
				}
				if err != nil {
					fail(day, "clock step: %v", err)
				}
			}
			skip := fault == 2 && t.Hour() == 20
			if t.Hour() != 13 && !skip {
				if err := d.api.press(ctx, true); err != nil {
					fail(day, "press: %v", err)
					return
				}
				if err := d.api.take(ctx); err != nil {
					fail(day, "take: %v", err)
					return
				}
			}
			if t.Hour() == 13 && h.intn(3) == 0 {
				d.api.call(ctx, "POST", "/api/prn?wait=1", map[string]string{"medication": "paracetamol"}, nil)
				d.api.take(ctx)
			}
			if err := chk.check(ctx); err != nil {
				fail(day, "check: %v", err)
				return
			}
		}
		if fault == 5 {
			d.api.lid(ctx, false)
		}
		if err := refillLow(ctx, d); err != nil {
			fail(day, "refill: %v", err)
		}
		if err := d.api.advanceTo(ctx, date.AddDate(0, 0, 1)); err != nil {
			fail(day, "advance: %v", err)
			return
		}
		if err := chk.check(ctx); err != nil {
			fail(day, "check: %v", err)
			return
		}
		s, err := sample(ctx, d, day, restarted)
		if err != nil {
			fail(day, "sample: %v", err)
			return
		}
		samples = append(samples, s)
		debugf("soak day %d: %s, rss %.0f KB, %v goroutines, db %.0f KB", day, faultName, s.rssKB, s.goroutines, s.dbKB)
	}
	chk.settle(ctx, 10*time.Minute, 6*time.Hour, time.Minute)
	if err := chk.verifyAll(ctx); err != nil {
		r.fail("verify: %v", err)
	}
	if err := integrityCheck(ctx, d.db()); err != nil {
		r.fail("%v", err)
	}
	checkOutbox(ctx, r, d, p, explained)
	reportSoak(r, samples)
	r.add("events_logged", len(chk.seen))
	d.stop()
}

// refillLow refills every compartment when one runs low.
func refillLow(ctx context.Context, d *daemon) error {
	w, err := d.api.world(ctx)
	if err != nil {
		return err
	}
	for _, c := range w.Compartments {
		if c.Count < 8 {
			return d.api.call(ctx, "POST", "/api/sim/refill", nil, nil)
		}
	}
	return nil
}

// sample reads the daemon's resident memory (from /proc), goroutines (from
// its runtime figures) and database size (file and WAL).
func sample(ctx context.Context, d *daemon, day int, restarted bool) (soakSample, error) {
	s := soakSample{day: day, restarted: restarted}
	var rt struct {
		Goroutines int `json:"goroutines"`
	}
	if err := d.api.call(ctx, "GET", "/api/sim/runtime", nil, &rt); err != nil {
		return s, err
	}
	s.goroutines = float64(rt.Goroutines)
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", d.pid()))
	if err != nil {
		return s, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			s.rssKB = kb
		}
	}
	if st, err := os.Stat(d.db()); err == nil {
		s.dbKB = float64(st.Size()) / 1024
	}
	if st, err := os.Stat(d.db() + "-wal"); err == nil {
		s.walKB = float64(st.Size()) / 1024
	}
	return s, nil
}

// reportSoak puts the per-day figures in the report and their slopes (by
// least squares, per simulated day) in the counts. Resident memory and
// goroutines are fitted from the last restart on, when at least three days
// are left: a restart resets them. A Go heap grows for its first days
// before it settles, so resident memory is also fitted over the second
// half of the run alone: that slope is the one a leak shows in.
func reportSoak(r *result, samples []soakSample) {
	if len(samples) == 0 {
		return
	}
	from := 0
	for i, s := range samples {
		if s.restarted && len(samples)-i >= 3 {
			from = i
		}
	}
	var lines []string
	lines = append(lines, "day  rss_kb  goroutines  db_kb  wal_kb  restarted")
	for _, s := range samples {
		lines = append(lines, fmt.Sprintf("%3d  %6.0f  %10.0f  %5.0f  %6.0f  %t", s.day, s.rssKB, s.goroutines, s.dbKB, s.walKB, s.restarted))
	}
	r.note("per simulated day", lines)
	pick := func(f func(soakSample) float64, from int) ([]float64, []float64) {
		var xs, ys []float64
		for _, s := range samples[from:] {
			xs, ys = append(xs, float64(s.day)), append(ys, f(s))
		}
		return xs, ys
	}
	rss := func(s soakSample) float64 { return s.rssKB }
	gor := func(s soakSample) float64 { return s.goroutines }
	db := func(s soakSample) float64 { return s.dbKB }
	last := samples[len(samples)-1]
	r.set("days", float64(len(samples)), "")
	r.set("rss_kb", last.rssKB, "%.0f")
	r.set("rss_kb_per_day", slope(pick(rss, from)), "%+.1f")
	if half := len(samples) / 2; len(samples)-half >= 3 {
		r.set("rss_kb_per_day_2nd_half", slope(pick(rss, max(from, half))), "%+.1f")
	}
	r.set("goroutines", last.goroutines, "%.0f")
	r.set("goroutines_per_day", slope(pick(gor, from)), "%+.2f")
	r.set("db_kb", last.dbKB, "%.0f")
	r.set("db_kb_per_day", slope(pick(db, 0)), "%+.1f")
	r.set("wal_kb", last.walKB, "%.0f")
}

// slope is the least-squares slope of ys over xs (0 with fewer than 2).
func slope(xs, ys []float64) float64 {
	n := float64(len(xs))
	if n < 2 {
		return 0
	}
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx += xs[i]
		sy += ys[i]
		sxx += xs[i] * xs[i]
		sxy += xs[i] * ys[i]
	}
	den := n*sxx - sx*sx
	if den == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / den
}
