package notify_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/notify"
)

// post sends a webhook form to the harness's webhook, signed, and returns
// the TwiML answer.
func (h *harness) post(p url.Values) string {
	h.t.Helper()
	code, twiml, err := h.stand.PostHook(h.hook.URL+"/twilio/sms", p)
	if err != nil || code != http.StatusOK {
		h.t.Fatalf("PostHook(%s) = %d, %v; want 200", p.Get("Body"), code, err)
	}
	return twiml
}

// A signed STOP sent again (Twilio's retry, or a captured request replayed)
// must not opt the caregiver out again after their START: the MessageSid
// is remembered for 48 hours, across a restart too.
func TestReplayedStopIgnored(t *testing.T) {
	h := newHarness(t)
	stop := h.stand.Inbound(anaPhone, ourNumber, "STOP")
	h.post(stop)
	h.sendReply(anaPhone, "START")
	h.clock.Advance(time.Hour)
	h.post(stop)
	h.restart()
	h.clock.Advance(46 * time.Hour)
	if twiml := h.post(stop); strings.Contains(twiml, "<Message>") {
		t.Errorf("replayed STOP answered %s, want nothing", twiml)
	}
	if out, in := h.events(notify.KindSMSOptOut), h.events(notify.KindSMSOptIn); len(out) != 1 || len(in) != 1 {
		t.Fatalf("after STOP, START and two replays of the STOP: %d opt-outs and %d opt-ins, want 1 and 1", len(out), len(in))
	}
	h.emit(dispenser.Event{Kind: notify.KindVitalAlert, Detail: "priority=medium key=bp text=Blood pressure 182/110 at 6:00 AM."})
	h.runUntil(at(55, 1)) // after quiet hours, 48 hours and a minute after the STOP
	if got := h.sentTo(anaPhone); len(got) != 1 {
		t.Errorf("caregiver 1 got %d texts after the replays, want the vital alert (still opted in)", len(got))
	}

	// Past the window the id is forgotten: a replay is acted on again.
	h.post(stop)
	if out := h.events(notify.KindSMSOptOut); len(out) != 2 {
		t.Errorf("a replay 48 hours and a minute on: %d opt-outs, want 2 (ids are remembered for %v)", len(out), notify.ReplayWindow)
	}
}

// A reply acted on is answered once: its replay gets no second answer
// (another text paid for) and acknowledges nothing twice.
func TestReplayedReplyNotAnsweredTwice(t *testing.T) {
	h := newHarness(t)
	help := h.stand.Inbound(anaPhone, ourNumber, "HELP")
	if twiml := h.post(help); !strings.Contains(twiml, "<Message>") {
		t.Fatalf("HELP answered %s, want the help text", twiml)
	}
	if twiml := h.post(help); strings.Contains(twiml, "<Message>") {
		t.Errorf("the replayed HELP answered %s, want nothing", twiml)
	}
}

// A status callback replayed is recorded once.
func TestReplayedStatusIgnored(t *testing.T) {
	h := newHarness(t)
	h.emit(doseEvent(dispenser.KindJam, "metformin", 8, 0, "pills=0 expected=1 left=56"))
	h.flush()
	m := h.stand.Messages()[0]
	for range 2 {
		if code, err := h.stand.DeliverStatus(m.SID, "undelivered", 30003); err != nil || code != http.StatusNoContent {
			t.Fatalf("DeliverStatus = %d, %v; want 204", code, err)
		}
	}
	h.restart()
	h.stand.DeliverStatus(m.SID, "undelivered", 30003)
	if evs := h.events(notify.KindSMSFailed); len(evs) != 1 {
		t.Errorf("one undelivered status sent three times: %d sms_failed events, want 1", len(evs))
	}
	if code, err := h.stand.DeliverStatus(m.SID, "delivered", 0); err != nil || code != http.StatusNoContent {
		t.Fatalf("DeliverStatus = %d, %v; want 204", code, err)
	}
	if evs := h.events(notify.KindSMSDelivered); len(evs) != 1 {
		t.Errorf("a new status of the same message: %d sms_delivered events, want 1", len(evs))
	}
}

// Strangers texting the number get the short help text at most once a day
// each, and together at most 3 an hour and 10 a day (the defaults): the
// number is public, and every answer is a text paid for.
func TestHelpCapsForStrangers(t *testing.T) {
	h := newHarness(t)
	stranger := 0
	next := func() string {
		stranger++
		return fmt.Sprintf("+1555555%04d", 1000+stranger)
	}
	helped := func(twiml string) bool { return strings.Contains(twiml, "Pillbox pill dispenser alerts.") }

	first := next()
	if !helped(h.sendReply(first, "HELP")) {
		t.Fatal("the first stranger's HELP was not answered")
	}
	if helped(h.sendReply(first, "HELP")) {
		t.Error("a stranger's second HELP within the day was answered: want one a day")
	}
	for hour, want := range []int{2, 3, 3, 1, 0} { // 1 already this hour; 10 in the day
		got := 0
		for range 4 {
			if helped(h.sendReply(next(), []string{"HELP", "who is this?", "OK", "thanks"}[stranger%4])) {
				got++
			}
		}
		if got != want {
			t.Errorf("hour %d: %d of 4 new strangers answered, want %d", hour, got, want)
		}
		h.clock.Advance(time.Hour)
	}
	if twiml := h.sendReply(anaPhone, "HELP"); !strings.Contains(twiml, "Pillbox alerts for Margaret") {
		t.Errorf("a caregiver's HELP with the strangers' cap reached answered %s, want the help text", twiml)
	}
	h.restart() // the caps are counted from the database
	if helped(h.sendReply(next(), "HELP")) {
		t.Error("after a restart a stranger was answered with the day's cap reached")
	}
	h.clock.Advance(20 * time.Hour)
	if !helped(h.sendReply(next(), "HELP")) {
		t.Error("a stranger the next day was not answered")
	}
}

// Help texts count toward the rate limits: with per_hour 3, three strangers
// answered leave no room for a medium alert until the hour has passed.
func TestHelpCountsTowardRateLimits(t *testing.T) {
	h := newHarness(t, withEscalation(notify.Escalation{RateLimits: notify.RateLimits{PerHour: 3}}))
	for i := range 3 {
		if twiml := h.sendReply(fmt.Sprintf("+155555590%02d", i), "HELP"); !strings.Contains(twiml, "<Message>") {
			t.Fatalf("stranger %d not answered: %s", i, twiml)
		}
	}
	h.emit(dispenser.Event{Kind: notify.KindVitalAlert, Detail: "priority=medium key=bp text=Blood pressure 182/110 at 7:00 AM."})
	h.runUntil(at(7, 59))
	if got := h.sentTo(anaPhone); len(got) != 0 {
		t.Errorf("a medium alert went out at %s with the hour's 3 texts spent on help: %+v", local(got[0].at), got)
	}
	h.runUntil(at(8, 1))
	if got := h.sentTo(anaPhone); len(got) != 1 || local(got[0].at) != "08:00" {
		t.Errorf("caregiver 1 got %+v, want the alert at 08:00, when the help texts left the hour", got)
	}
}

// And the rate limits bound help texts: with per_hour 2, one stranger
// answered and one alert sent leave no room for a second stranger.
func TestRateLimitsHoldHelp(t *testing.T) {
	h := newHarness(t, withEscalation(notify.Escalation{RateLimits: notify.RateLimits{PerHour: 2}}))
	if twiml := h.sendReply("+15555590001", "HELP"); !strings.Contains(twiml, "<Message>") {
		t.Fatalf("the first stranger was not answered: %s", twiml)
	}
	h.emit(dispenser.Event{Kind: notify.KindVitalAlert, Detail: "priority=medium key=bp text=Blood pressure 182/110 at 7:00 AM."})
	h.flush()
	if got := h.sentTo(anaPhone); len(got) != 1 {
		t.Fatalf("caregiver 1 got %d texts, want the alert", len(got))
	}
	if twiml := h.sendReply("+15555590002", "HELP"); strings.Contains(twiml, "<Message>") {
		t.Errorf("a second stranger was answered with the hour's 2 texts spent: %s", twiml)
	}
}
