package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pillbox/pillbox/notify/twiliotest"
)

// Contacts of the example config.
const (
	patientPhone    = "+15555550100"
	caregiver1Phone = "+15555550101"
	caregiver2Phone = "+15555550102"
)

// providerOutage runs a day with the SMS provider failing for a simulated
// hour - 500s, 429s with Retry-After, 503s, HTML 502s from a proxy, reset
// connections, a request that times out, then 500s until the hour is over -
// and answering slowly at times, with caregiver 2's number refused for good
// (21211). Meanwhile a compartment jams and doses go unpressed, so alerts
// are due all through the outage. Then it checks: no alert is lost (every
// queued text ends sent, failed or canceled, and every missed dose reached
// a caregiver), none was sent twice beyond the README's guarantee, the rate
// limits held, Retry-After was honoured, a permanent error was not retried,
// and the display said texts were delayed.
func providerOutage(ctx context.Context, h *harness, r *result) {
	for i := range h.size(1, 4) {
		if ctx.Err() != nil {
			return
		}
		outageRun(ctx, h, r, i)
	}
}

func outageRun(ctx context.Context, h *harness, r *result, run int) {
	r.Runs++
	d, p, err := h.newTextingDaemon(fmt.Sprintf("outage-%d", run))
	if err != nil {
		r.fail("%v", err)
		return
	}
	defer p.Close()
	defer d.kill()

	ny, _ := time.LoadLocation("America/New_York")
	at := func(hh, mm int) time.Time { return time.Date(2027, 1, 12, hh, mm, 0, 0, ny) }
	var simNow atomic.Pointer[time.Time]
	start := at(7, 50)
	simNow.Store(&start)
	p.setClock(func() time.Time { return *simNow.Load() })
	if err := d.start(ctx, "--sim-start="+start.Format(time.RFC3339)); err != nil {
		r.fail("start: %v", err)
		return
	}
	chk, err := newChecker(r, d)
	if err != nil {
		r.fail("%v", err)
		return
	}

	// The outage: a shuffled mix of failures, then 500s to its end.
	outageFrom, outageTo := at(8, 10), at(9, 10)
	p.RejectTo(caregiver2Phone, 21211)
	p.SetRetryAfter(2 * time.Minute)
	mix := []twiliotest.Fault{twiliotest.Fail500, twiliotest.Fail500, twiliotest.Fail429, twiliotest.Fail429, twiliotest.Fail429,
		twiliotest.Fail503, twiliotest.Fail502HTML, twiliotest.Fail502HTML, twiliotest.FailReset, twiliotest.FailReset, twiliotest.FailSlow}
	for i := len(mix) - 1; i > 0; i-- {
		j := h.intn(i + 1)
		mix[i], mix[j] = mix[j], mix[i]
	}

	// After the outage, the first accepted text answers too late: the
	// daemon times out on a text Twilio took (the README's other duplicate).
	var hideMu sync.Mutex
	var hidden []time.Time
	hideNext := atomic.Bool{}
	p.OnAccept(func(m twiliotest.Message) {
		if hideNext.CompareAndSwap(true, false) {
			hideMu.Lock()
			hidden = append(hidden, time.Now())
			hideMu.Unlock()
			time.Sleep(11 * time.Second) // twilio-go gives up after 10 s
		}
	})
	hideArmed := !h.full // the CI run leaves the 10 s wait out

	step := func() bool {
		// The provider stamps what it answers with the step's end: a
		// send fired during the step happened by then, and sends in
		// flight are over before the next step starts.
		target := simNow.Load().Add(time.Minute)
		simNow.Store(&target)
		if err := d.api.advance(ctx, time.Minute); err != nil {
			r.fail("advance: %v", err)
			return false
		}
		time.Sleep(20 * time.Millisecond) // the sends the step started
		p.idle(20 * time.Second)
		st, err := d.api.status(ctx)
		if err != nil {
			r.fail("status: %v", err)
			return false
		}
		now := st.Now
		simNow.Store(&now)
		for _, lines := range st.Faults {
			switch strings.Join(lines, " ") {
			case "Texts delayed Retrying":
				r.set("display_texts_delayed", 1, "")
			case "Text to carer 2 failed: number?":
				r.set("display_carer2_failed", 1, "")
			}
		}
		if err := chk.check(ctx); err != nil {
			r.fail("check: %v", err)
			return false
		}
		return true
	}
	for now := start; now.Before(at(12, 30)); now = now.Add(time.Minute) {
		switch {
		case now.Equal(outageFrom):
			for _, f := range mix {
				p.FailNext(1, f)
			}
			p.FailUntil(outageTo, twiliotest.Fail500)
		case now.Equal(at(8, 15)):
			// An as-needed dose that jams: the jam alert goes to a caregiver
			// at once, into the outage.
			if err := d.api.call(ctx, "POST", "/api/sim/jam", map[string]int{"compartment": 3, "count": 10}, nil); err != nil {
				r.fail("jam: %v", err)
			}
			if err := d.api.call(ctx, "POST", "/api/prn?wait=1", map[string]string{"medication": "paracetamol"}, nil); err != nil {
				r.fail("prn: %v", err)
			}
		case now.Equal(outageTo.Add(time.Minute)) && !hideArmed:
			hideNext.Store(true)
			hideArmed = true
		case now.Equal(at(9, 40)):
			// A slow answer that still comes in time.
			p.FailNext(1, twiliotest.FailSlow)
			go func() { time.Sleep(2 * time.Second); p.Release() }()
		}
		if !step() {
			return
		}
	}
	chk.settle(ctx, 5*time.Minute, 4*time.Hour, 2*time.Minute)
	hideMu.Lock()
	hid := append([]time.Time(nil), hidden...)
	hideMu.Unlock()
	checkOutageOutbox(ctx, r, d, p, len(hid))
	if u := chk.missedUntold(); len(u) > 0 {
		r.fail("missed doses no caregiver was texted about: %v (invariant 4)", u)
	}
	if !chk.toldCaregiver("jam:3") {
		r.fail("the jam of compartment 3 never reached a caregiver")
	}
	if r.get("display_texts_delayed") == 0 {
		r.fail(`the display never said "Texts delayed" during an hour of failures`)
	}
	checkRetryAfter(r, p.log())
	checkPermanent(r, p.log(), caregiver2Phone)
	r.add("missed", len(chk.missed))
	r.add("requests", len(p.log()))
	d.stop()
}

// checkOutageOutbox runs checkOutbox, where a duplicate is explained only
// by one of the hidden acceptances (the provider's clock is simulated, so
// they are matched by number).
func checkOutageOutbox(ctx context.Context, r *result, d *daemon, p *provider, hidden int) {
	left := hidden
	checkOutbox(ctx, r, d, p, func(time.Time) bool {
		left--
		return left >= 0
	})
}

// checkRetryAfter: after a 429 with Retry-After, the same text is not
// tried again before that much time passed.
func checkRetryAfter(r *result, reqs []providerRequest) {
	for i, q := range reqs {
		if q.Code != 429 || q.RetryAfter == 0 {
			continue
		}
		r.add("retry_after_answers", 1)
		for _, next := range reqs[i+1:] {
			if next.To == q.To && next.Body == q.Body {
				if gap := next.At.Sub(q.At); gap < q.RetryAfter {
					r.fail("a text to %s was tried again %v after a 429 asking for %v", q.To, gap, q.RetryAfter)
				}
				break
			}
		}
	}
}

// checkPermanent: a text refused for good (21211) is never tried again.
func checkPermanent(r *result, reqs []providerRequest, number string) {
	tries := map[string]int{}
	for _, q := range reqs {
		if q.To == number && q.Code == 400 {
			tries[q.Body]++
			r.add("permanent_refusals", 1)
		}
	}
	for body, n := range tries {
		if n > 1 {
			r.fail("a text refused for good (21211) was tried %d times: %.40q", n, body)
		}
	}
}
