package notify_test

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/notify"
	"github.com/pillbox/pillbox/notify/twiliotest"
)

// wantSent checks the messages the stand-in accepted: recipient, local
// time and a piece of the text, in order.
func wantSent(t *testing.T, got []sent, want ...struct{ to, at, text string }) {
	t.Helper()
	if len(got) != len(want) {
		var s []string
		for _, g := range got {
			s = append(s, local(g.at)+" "+g.to+" "+g.body)
		}
		t.Fatalf("stand-in got %d messages:\n%s\nwant %d", len(got), strings.Join(s, "\n"), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.to != w.to || local(g.at) != w.at || !strings.Contains(g.body, w.text) {
			t.Errorf("message %d = %s to %s %q, want %s to %s containing %q", i, local(g.at), g.to, g.body, w.at, w.to, w.text)
		}
	}
}

type msg = struct{ to, at, text string }

// A dose nobody takes: the patient at +20m, caregiver 1 at +30m, caregiver
// 2 at +60m; an OK stops the ladder.
func TestMissedDoseEscalates(t *testing.T) {
	t.Run("caregiver 2 acknowledges", func(t *testing.T) {
		h := newHarness(t)
		h.emit(doseEvent(dispenser.KindDoseDue, "metformin", 8, 0, ""))
		h.runUntil(at(9, 0))
		h.emit(doseEvent(dispenser.KindMissed, "metformin", 8, 0, ""))
		h.flush()
		wantSent(t, h.sent(),
			msg{patPhone, "08:20", "Margaret, your 8:00 AM pills are ready"},
			msg{anaPhone, "08:30", "Pillbox: Margaret has not taken the 8:00 AM dose yet. Reply OK "},
			msg{davidPhone, "09:00", "Pillbox: Margaret has not taken the 8:00 AM dose yet."})
		code := codeIn(h.sent()[1].body)
		if codeIn(h.sent()[2].body) != code || len(code) != 3 {
			t.Fatalf("codes %q and %q, want the same three-character code", code, codeIn(h.sent()[2].body))
		}
		if strings.ContainsAny(code, "01OIL") {
			t.Errorf("code %q has a character that is easy to mistype", code)
		}
		if strings.Contains(h.sent()[1].body, "Metformin") {
			t.Errorf("message names the medication: %q", h.sent()[1].body)
		}

		twiml := h.sendReply(davidPhone, " ok ")
		if !strings.Contains(twiml, "Thanks, David. Alert "+code+" acknowledged.") {
			t.Errorf("answer to OK = %s, want the acknowledgement of %s", twiml, code)
		}
		h.runUntil(at(20, 0)) // past any re-notification
		if n := len(h.sent()); n != 3 {
			t.Errorf("after OK the stand-in got %d messages, want still 3", n)
		}
		acks := h.events(notify.KindAlertAck)
		if len(acks) != 1 || !strings.Contains(acks[0].Detail, "by=caregiver2") || !strings.Contains(acks[0].Detail, "code="+code) {
			t.Errorf("alert_ack events = %+v, want one by caregiver2 for %s", acks, code)
		}
		if n := len(h.events(notify.KindSMSSent)); n != 3 {
			t.Errorf("sms_sent events = %d, want 3", n)
		}
		if n := len(h.events(notify.KindSMSQueued)); n != 3 {
			t.Errorf("sms_queued events = %d, want 3", n)
		}
	})

	t.Run("caregiver 1 acknowledges with the code", func(t *testing.T) {
		h := newHarness(t)
		h.emit(doseEvent(dispenser.KindDoseDue, "metformin", 8, 0, ""))
		h.runUntil(at(8, 40))
		code := codeIn(h.sentTo(anaPhone)[0].body)
		if twiml := h.sendReply(anaPhone, "OK #"+strings.ToLower(code)); !strings.Contains(twiml, "acknowledged") {
			t.Errorf("answer to OK %s = %s, want an acknowledgement", code, twiml)
		}
		h.runUntil(at(9, 0))
		h.emit(doseEvent(dispenser.KindMissed, "metformin", 8, 0, ""))
		h.runUntil(at(20, 0))
		if got := h.sentTo(davidPhone); len(got) != 0 {
			t.Errorf("caregiver 2 got %+v after caregiver 1 acknowledged", got)
		}
	})

	t.Run("the dose is taken", func(t *testing.T) {
		h := newHarness(t)
		h.emit(doseEvent(dispenser.KindDoseDue, "metformin", 8, 0, ""))
		h.runUntil(at(8, 25))
		h.emit(doseEvent(dispenser.KindDispenseStarted, "metformin", 8, 0, "pills=1"),
			doseEvent(dispenser.KindDispensed, "metformin", 8, 0, "pills=1 expected=1 left=55"),
			doseEvent(dispenser.KindTaken, "metformin", 8, 0, ""))
		h.runUntil(at(12, 0))
		wantSent(t, h.sent(), msg{patPhone, "08:20", "pills are ready"})
	})

	t.Run("nobody acknowledges", func(t *testing.T) {
		h := newHarness(t)
		h.emit(doseEvent(dispenser.KindDoseDue, "metformin", 8, 0, ""))
		h.runUntil(at(9, 0))
		h.emit(doseEvent(dispenser.KindMissed, "metformin", 8, 0, ""))
		h.runUntil(at(21, 59))
		// Repeated to the last person every 4 hours, as a reminder, then
		// quiet hours (22:00-07:00) hold the next one.
		wantSent(t, h.sent(),
			msg{patPhone, "08:20", "pills are ready"},
			msg{anaPhone, "08:30", "has not taken"},
			msg{davidPhone, "09:00", "has not taken"},
			msg{davidPhone, "13:00", "Pillbox: Reminder, Margaret missed the 8:00 AM dose."},
			msg{davidPhone, "17:00", "Reminder"},
			msg{davidPhone, "21:00", "Reminder"})
		h.runUntil(at(31, 0))
		if n := len(h.sent()); n != 6 {
			t.Errorf("after 3 reminders the stand-in got %d messages, want no more than 6", n)
		}
	})
}

// A critical medication's missed dose is high priority: it skips the
// patient, goes through quiet hours, says URGENT, and re-arms an alert a
// caregiver acknowledged while the dose could still be taken.
func TestCriticalMissedIsHigh(t *testing.T) {
	t.Run("acknowledged, then missed", func(t *testing.T) {
		for _, tt := range []struct {
			med  string
			h    int
			want []msg
		}{
			{"metformin", 8, []msg{{patPhone, "08:20", "pills are ready"}, {anaPhone, "08:30", "has not taken the 8:00 AM dose"}}},
			{"warfarin", 9, []msg{{patPhone, "09:20", "pills are ready"}, {anaPhone, "09:30", "has not taken the 9:00 AM dose"},
				{anaPhone, "11:00", "Pillbox URGENT: Margaret missed the 9:00 AM dose."}}},
		} {
			t.Run(tt.med, func(t *testing.T) {
				h := newHarness(t)
				h.emit(doseEvent(dispenser.KindDoseDue, tt.med, tt.h, 0, ""))
				h.runUntil(at(tt.h, 30))
				h.sendReply(anaPhone, "OK")
				h.runUntil(at(11, 0))
				h.emit(doseEvent(dispenser.KindMissed, tt.med, tt.h, 0, ""))
				h.runUntil(at(11, 5))
				wantSent(t, h.sent(), tt.want...)
			})
		}
	})
	t.Run("in quiet hours", func(t *testing.T) {
		h := newHarness(t)
		h.clock.Set(at(22, 30))
		h.emit(dispenser.Event{Kind: dispenser.KindMissed, DoseID: "warfarin@2026-03-02T21:00", Medication: "warfarin",
			Compartment: 2, Scheduled: at(21, 0)})
		h.flush()
		wantSent(t, h.sent(), msg{anaPhone, "22:30", "Pillbox URGENT: Margaret missed the 9:00 PM dose."})
	})
}

// Twilio is down for a simulated hour (429s with Retry-After, resets,
// then 503s): every alert still goes out, once.
func TestProviderOutage(t *testing.T) {
	h := newHarness(t)
	h.stand.SetRetryAfter(2 * time.Minute)
	h.stand.FailNext(2, twiliotest.Fail429)
	h.stand.FailNext(2, twiliotest.FailReset)
	h.stand.FailUntil(at(8, 0), twiliotest.Fail503)

	h.clock.Set(at(7, 5))
	h.emit(doseEvent(dispenser.KindJam, "metformin", 8, 0, "pills=0 expected=1 left=56"))
	h.runUntil(at(7, 10))
	h.emit(doseEvent(dispenser.KindUncertain, "warfarin", 9, 0, "interrupted mid-dispense left=29"))
	h.runUntil(at(7, 12))
	h.emit(dispenser.Event{Kind: notify.KindVitalAlert, Detail: "priority=medium key=spo2 text=Oxygen saturation 90% at 7:10 AM."})
	h.runUntil(at(7, 59))
	if got := h.sent(); len(got) != 0 {
		t.Fatalf("during the outage the stand-in accepted %+v", got)
	}
	pending := 0
	for _, m := range h.outbox() {
		if m.State == notify.MsgQueued {
			pending++
		}
	}
	if pending != 6 {
		t.Errorf("queued during the outage: %d, want 6 (jam, uncertain and vital alert to both caregivers)", pending)
	}
	h.runUntil(at(8, 30))

	got := h.sent()
	seen := map[string]bool{}
	for _, s := range got {
		if seen[s.to+s.body] {
			t.Errorf("sent twice: %s %q", s.to, s.body)
		}
		seen[s.to+s.body] = true
	}
	var ana, david int
	for _, s := range got {
		switch s.to {
		case anaPhone:
			ana++
		case davidPhone:
			david++
		}
		if s.at.After(at(8, 11)) {
			t.Errorf("%s sent at %s, want within 11 minutes of the outage's end (backoff is capped at 10m)", s.body, local(s.at))
		}
	}
	if ana != 3 || david != 3 {
		t.Errorf("after the outage caregiver 1 got %d and caregiver 2 %d messages, want 3 each", ana, david)
	}
	for _, m := range h.outbox() {
		if m.State != notify.MsgSent {
			t.Errorf("message %d is %s after the outage, want sent", m.ID, m.State)
		}
	}
	if n := len(h.events(notify.KindSMSSent)); n != len(got) {
		t.Errorf("sms_sent events = %d, want one per message (%d)", n, len(got))
	}
	if h.stand.Requests() <= len(got)+4 {
		t.Errorf("the stand-in saw %d requests for %d messages, want retries", h.stand.Requests(), len(got))
	}
	if l, ok := h.faults.get("sms"); !ok && !strings.Contains(strings.Join(h.faults.log, ","), "set sms") {
		t.Errorf("no 'texts delayed' fault during an hour of failures (faults %v, %v)", l, h.faults.log)
	}
	if _, ok := h.faults.get("sms"); ok {
		t.Error("the 'texts delayed' fault is still shown after texts went out")
	}
}

// A 429's Retry-After is honoured even when backoff would retry sooner.
func TestRetryAfterHonoured(t *testing.T) {
	h := newHarness(t)
	h.stand.SetRetryAfter(5 * time.Minute)
	h.stand.FailNext(1, twiliotest.Fail429)
	h.emit(doseEvent(dispenser.KindJam, "metformin", 8, 0, "pills=0 expected=1 left=56"))
	h.runUntil(at(7, 4))
	if n := len(h.sent()); n != 0 {
		t.Fatalf("sent %d messages within the Retry-After of 5 minutes", n)
	}
	h.runUntil(at(7, 5))
	wantSent(t, h.sent(), msg{anaPhone, "07:05", "Compartment 1 jammed"})
}

// A reply whose signature does not validate changes nothing.
func TestForgedWebhookRejected(t *testing.T) {
	h := newHarness(t)
	h.emit(doseEvent(dispenser.KindJam, "metformin", 8, 0, "pills=0 expected=1 left=56"))
	h.flush()
	code := codeIn(h.sentTo(anaPhone)[0].body)
	for _, tt := range []struct {
		name, sig string
	}{
		{"wrong token", twiliotest.Sign("0000feedcafebabe5ecre7a11token99", h.hook.URL+"/twilio/sms", form(anaPhone, "OK "+code))},
		{"other URL", twiliotest.Sign(authToken, h.hook.URL+"/elsewhere", form(anaPhone, "OK "+code))},
		{"signed another body", twiliotest.Sign(authToken, h.hook.URL+"/twilio/sms", form(anaPhone, "HELP"))},
		{"none", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, h.hook.URL+"/twilio/sms", strings.NewReader(form(anaPhone, "OK "+code).Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.sig != "" {
				req.Header.Set("X-Twilio-Signature", tt.sig)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("forged reply answered %d, want 403", resp.StatusCode)
			}
		})
	}
	h.runUntil(at(7, 30))
	if n := len(h.events(notify.KindAlertAck)); n != 0 {
		t.Errorf("a forged reply acknowledged %d alerts", n)
	}
	wantSent(t, h.sent(), msg{anaPhone, "07:00", "jammed"}, msg{davidPhone, "07:30", "jammed"})
}

func form(from, body string) url.Values {
	return url.Values{"MessageSid": {"SM0123456789abcdef0123456789abcdef"}, "From": {from}, "To": {ourNumber},
		"Body": {body}, "AccountSid": {accountSID}}
}

// After six hours without power the dispenser logs each dose it slept
// through as missed ("reconciled"); the caregiver gets one summary.
func TestPowerOffSummary(t *testing.T) {
	h := newHarness(t)
	h.emit(doseEvent(dispenser.KindDoseDue, "metformin", 8, 0, ""))
	h.runUntil(at(7, 10))
	// Power off at 07:10; back at 13:10. The process restarts.
	h.clock.Set(at(13, 10))
	h.restart()
	h.emit(dispenser.Event{Kind: dispenser.KindBoot})
	h.emit(doseEvent(dispenser.KindMissed, "metformin", 8, 0, "reconciled"),
		doseEvent(dispenser.KindMissed, "warfarin", 9, 0, "reconciled"))
	h.runUntil(at(13, 39))
	wantSent(t, h.sent(), msg{anaPhone, "13:10",
		"Pillbox URGENT: While the dispenser was off or its clock was wrong, Margaret missed 2 doses (8:00 AM to 9:00 AM). Reply OK "})
	h.runUntil(at(13, 40))
	if got := h.sentTo(davidPhone); len(got) != 1 || !strings.Contains(got[0].body, "missed 2 doses") {
		t.Errorf("caregiver 2 got %+v, want the summary 30 minutes later", got)
	}
}

// Windows closing together are summarised too.
func TestSeveralMissedAtOnce(t *testing.T) {
	h := newHarness(t)
	h.clock.Set(at(10, 0))
	h.emit(doseEvent(dispenser.KindMissed, "metformin", 8, 0, ""), doseEvent(dispenser.KindMissed, "metformin", 9, 0, ""))
	h.flush()
	wantSent(t, h.sent(), msg{anaPhone, "10:00", "Pillbox: Margaret missed 2 doses (8:00 AM to 9:00 AM)."})
}

// Quiet hours hold low and medium priority and let high through, its
// reminders too.
func TestQuietHours(t *testing.T) {
	h := newHarness(t)
	h.clock.Set(at(22, 30))
	// Two pills left of a twice-daily medication: gone in a day.
	h.emit(doseEvent(dispenser.KindDispensed, "metformin", 20, 0, "pills=1 expected=1 left=2"))
	h.runUntil(at(23, 0))
	h.emit(doseEvent(dispenser.KindUncertain, "warfarin", 21, 0, "interrupted mid-dispense left=29"))
	h.runUntil(at(23, 10))
	h.emit(dispenser.Event{Kind: dispenser.KindJam, Compartment: 1, Detail: "pills=0 expected=1 left=2"})
	h.runUntil(at(33, 30)) // 09:30 the next day
	wantSent(t, h.sent(),
		msg{anaPhone, "23:00", "Pillbox URGENT: A dispense was interrupted (the 9:00 PM dose)"},
		msg{davidPhone, "23:30", "URGENT"},
		// High priority's reminders do not wait for the morning; the
		// medium priority jam waits from 23:10 to 07:00, and its second
		// step goes with the next reminder.
		msg{davidPhone, "03:30", "Pillbox URGENT: Reminder, a dispense was interrupted"},
		msg{anaPhone, "07:00", "Pillbox: Compartment 1 jammed. Please check the dispenser."},
		msg{davidPhone, "07:30", "Pillbox URGENT: 2 alerts. 1) A dispense was interrupted"},
		msg{anaPhone, "09:00", "Pillbox daily note: Compartment 1 runs out in about 1 day (Wed 8:00 AM; 2 left). Please refill."})
}

// The alert of an event committed just before a crash is raised after the
// restart: the cursor is stored with the alerts it caused.
func TestRestartBeforeAlertStillAlerts(t *testing.T) {
	h := newHarness(t)
	h.flush()
	h.clock.Set(at(9, 0))
	h.emit(doseEvent(dispenser.KindMissed, "metformin", 8, 0, ""))
	// The process dies here, before the notifier saw the event.
	h.restart()
	h.flush()
	wantSent(t, h.sent(), msg{anaPhone, "09:00", "Margaret missed the 8:00 AM dose."})
	h.restart()
	h.flush()
	if n := len(h.sent()); n != 1 {
		t.Errorf("after a second restart %d messages, want still 1", n)
	}
}

// A process that dies while handing a message to Twilio, before Twilio
// got it, leaves it "sending"; the restart sends it, once.
func TestRestartWhileSending(t *testing.T) {
	h := newHarness(t)
	crash := true
	h.wrap = func(s notify.Sender) notify.Sender {
		return senderFunc(func(ctx context.Context, to, body string) (notify.Sent, error) {
			if crash {
				runtime.Goexit() // the process dies mid-call
			}
			return s.Send(ctx, to, body)
		})
	}
	h.restart()
	h.emit(doseEvent(dispenser.KindJam, "metformin", 8, 0, "pills=0 expected=1 left=56"))
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.current().Flush(t.Context())
	}()
	<-done
	if got := h.outbox(); len(got) != 1 || got[0].State != notify.MsgSending {
		t.Fatalf("outbox after the crash = %+v, want one message sending", got)
	}
	crash = false
	h.restart()
	h.runUntil(at(7, 15))
	if got := h.sentTo(anaPhone); len(got) != 1 {
		t.Errorf("caregiver 1 got %d messages, want exactly 1", len(got))
	}
	if got := h.outbox(); got[0].State != notify.MsgSent || got[0].Attempts != 2 {
		t.Errorf("outbox after the restart = %s after %d attempts, want sent after 2", got[0].State, got[0].Attempts)
	}
}

// An invalid number is a permanent error: no retry, a fault on the device,
// and the ladder goes on to the next caregiver.
func TestPermanentErrorRaisesFault(t *testing.T) {
	h := newHarness(t)
	h.stand.RejectTo(anaPhone, 21211)
	h.emit(doseEvent(dispenser.KindJam, "metformin", 8, 0, "pills=0 expected=1 left=56"))
	h.runUntil(at(8, 0))
	if n := h.stand.Requests(); n != 2 {
		t.Errorf("the stand-in saw %d requests, want 2 (one refused for caregiver 1, one for caregiver 2)", n)
	}
	wantSent(t, h.sent(), msg{davidPhone, "07:30", "jammed"})
	lines, ok := h.faults.get("sms:caregiver1")
	if !ok || strings.Join(lines, " ") != "Text to carer 1 failed: number?" {
		t.Errorf("device fault sms:caregiver1 = %q, %v; want it shown", lines, ok)
	}
	failed := h.events(notify.KindSMSFailed)
	if len(failed) != 1 || !strings.Contains(failed[0].Detail, "to=caregiver1 code=21211") {
		t.Errorf("sms_failed events = %+v, want one for caregiver1 with code 21211", failed)
	}
	for _, ev := range h.events(notify.KindSMSFailed) {
		if strings.Contains(ev.Detail, anaPhone) {
			t.Errorf("event detail %q has a phone number", ev.Detail)
		}
	}
}

func TestConfigErrorRaisesFault(t *testing.T) {
	h := newHarness(t)
	h.stand.RejectTo(anaPhone, 21606) // "From" cannot send SMS
	h.emit(doseEvent(dispenser.KindJam, "metformin", 8, 0, "pills=0 expected=1 left=56"))
	h.flush()
	if _, ok := h.faults.get("sms:config"); !ok {
		t.Errorf("no sms:config fault after a configuration error; faults %v", h.faults.log)
	}
}

func TestOptOutAndBack(t *testing.T) {
	h := newHarness(t)
	if twiml := h.sendReply(anaPhone, "STOP"); strings.Contains(twiml, "<Message>") {
		t.Errorf("answer to STOP = %s, want none (Twilio confirms it)", twiml)
	}
	h.emit(doseEvent(dispenser.KindJam, "metformin", 8, 0, "pills=0 expected=1 left=56"))
	h.runUntil(at(7, 30))
	wantSent(t, h.sent(), msg{davidPhone, "07:00", "jammed"})
	if evs := h.events(notify.KindSMSOptOut); len(evs) != 1 || evs[0].Detail != "to=caregiver1 source=reply" {
		t.Errorf("opt-out events = %+v", evs)
	}
	if twiml := h.sendReply(anaPhone, "what?"); strings.Contains(twiml, "<Message>") {
		t.Errorf("after STOP an unknown reply answered %s, want nothing", twiml)
	}
	h.sendReply(anaPhone, "start")
	h.emit(dispenser.Event{Kind: notify.KindVitalAlert, Detail: "priority=medium key=bp text=Blood pressure 182/110 at 7:30 AM."})
	h.flush()
	if got := h.sentTo(anaPhone); len(got) != 1 || !strings.Contains(got[0].body, "Pillbox: Margaret at 7:30 AM: Blood pressure 182/110") {
		t.Errorf("after START caregiver 1 got %+v, want the vital alert", got)
	}
}

func TestUnknownReplyGetsHelpOncePerDay(t *testing.T) {
	h := newHarness(t)
	for i, want := range []bool{true, false, false} {
		twiml := h.sendReply("+15555559999", "who is this?")
		if got := strings.Contains(twiml, "Pillbox pill dispenser alerts."); got != want {
			t.Errorf("unknown reply %d answered %s, want help %v", i, twiml, want)
		}
		if strings.Contains(twiml, "Margaret") {
			t.Errorf("a number not on the contact list was answered %s, which names the patient", twiml)
		}
	}
	if twiml := h.sendReply(anaPhone, "HELP"); !strings.Contains(twiml, "Pillbox alerts for Margaret. Reply OK") {
		t.Errorf("HELP answered %s, want the help text", twiml)
	}
	h.runUntil(at(31, 0))
	if twiml := h.sendReply("+15555559999", "hello?"); !strings.Contains(twiml, "Pillbox pill dispenser alerts") {
		t.Errorf("the next day an unknown reply answered %s, want the help text again", twiml)
	}
	if twiml := h.sendReply(anaPhone, "OK"); !strings.Contains(twiml, "Nothing to acknowledge") {
		t.Errorf("OK with nothing open answered %s", twiml)
	}
	if twiml := h.sendReply(anaPhone, "OK ZZZ"); !strings.Contains(twiml, "No open alert ZZZ") {
		t.Errorf("OK with an unknown code answered %s", twiml)
	}
}

func TestDeliveryStatusesRecorded(t *testing.T) {
	h := newHarness(t)
	h.emit(doseEvent(dispenser.KindJam, "metformin", 8, 0, "pills=0 expected=1 left=56"))
	h.flush()
	m := h.stand.Messages()[0]
	for _, st := range []struct {
		status string
		code   int
	}{{"sent", 0}, {"delivered", 0}} {
		if code, err := h.stand.DeliverStatus(m.SID, st.status, st.code); err != nil || code != http.StatusNoContent {
			t.Fatalf("DeliverStatus(%s) = %d, %v", st.status, code, err)
		}
	}
	if evs := h.events(notify.KindSMSDelivered); len(evs) != 1 || !strings.Contains(evs[0].Detail, "to=caregiver1 status=delivered") {
		t.Errorf("sms_delivered events = %+v", evs)
	}
	if evs := h.events(notify.KindSMSStatus); len(evs) != 1 || !strings.Contains(evs[0].Detail, "status=sent") {
		t.Errorf("sms_status events = %+v", evs)
	}
	if got := h.outbox()[0]; got.Status != "delivered" || got.State != notify.MsgSent {
		t.Errorf("outbox message = %s/%s, want sent/delivered", got.State, got.Status)
	}
}

// Rate limits hold medium priority texts; high priority goes through,
// taking what is held along in one message.
func TestRateLimits(t *testing.T) {
	oneStep := notify.Escalation{Ladder: []notify.Step{{To: "caregiver1"}}, RateLimits: notify.RateLimits{PerRecipientPerHour: 2}}
	three := func(h *harness) {
		for i, key := range []string{"a", "b", "c"} {
			h.clock.Set(at(7, i))
			h.emit(dispenser.Event{Kind: notify.KindVitalAlert, Detail: "priority=medium key=" + key + " text=Reading " + key + "."})
			h.flush()
		}
	}
	t.Run("held", func(t *testing.T) {
		h := newHarness(t, withEscalation(oneStep))
		three(h)
		h.runUntil(at(8, 30))
		wantSent(t, h.sent(),
			msg{anaPhone, "07:00", "Pillbox: Margaret at 7:00 AM: Reading a."},
			msg{anaPhone, "07:01", "Pillbox: Margaret at 7:01 AM: Reading b."},
			msg{anaPhone, "08:00", "Pillbox: Margaret at 7:02 AM: Reading c."})
	})
	t.Run("high goes through", func(t *testing.T) {
		h := newHarness(t, withEscalation(oneStep))
		three(h)
		h.runUntil(at(7, 10))
		h.emit(dispenser.Event{Kind: notify.KindVitalAlert, Detail: "priority=high key=d text=Reading d."})
		h.runUntil(at(8, 30))
		wantSent(t, h.sent(),
			msg{anaPhone, "07:00", "Reading a."},
			msg{anaPhone, "07:01", "Reading b."},
			msg{anaPhone, "07:10", "Pillbox URGENT: 2 alerts. 1) Margaret at 7:02 AM: Reading c ("})
		if !strings.Contains(h.sent()[2].body, "2) Margaret at 7:10 AM: Reading d (") {
			t.Errorf("merged message %q does not list the high priority alert", h.sent()[2].body)
		}
	})
}

// Low supply warns the configured days ahead, in the daily digest; a
// refill ends it.
func TestLowSupply(t *testing.T) {
	h := newHarness(t, withEscalation(notify.Escalation{LowSupplyDays: 2}))
	h.emit(doseEvent(dispenser.KindDispensed, "metformin", 8, 0, "pills=1 expected=1 left=5"))
	h.runUntil(at(33, 0))
	if n := len(h.sent()); n != 0 {
		t.Fatalf("5 pills, 2 a day, warning 2 days ahead: %d messages, want none", n)
	}
	h.emit(doseEvent(dispenser.KindDispensed, "metformin", 8, 0, "pills=1 expected=1 left=3"))
	h.runUntil(at(33, 1))
	wantSent(t, h.sent(), msg{anaPhone, "09:00", "Pillbox daily note: Compartment 1 runs out in about 2 days"})
	h.emit(dispenser.Event{Kind: dispenser.KindRefill, Compartment: 1, Detail: "left=60"})
	h.runUntil(at(57, 1))
	// No new digest; the caregiver told of it hears that it is over.
	wantSent(t, h.sent(), msg{anaPhone, "09:00", "runs out"}, msg{anaPhone, "09:01", "Pillbox, resolved: Compartment 1 was refilled."})
}

func TestMedicationNamesOnlyWhenAllowed(t *testing.T) {
	h := newHarness(t, withEscalation(notify.Escalation{IncludeMedicationNames: true}))
	h.clock.Set(at(9, 0))
	h.emit(doseEvent(dispenser.KindMissed, "metformin", 8, 0, ""))
	h.flush()
	wantSent(t, h.sent(), msg{anaPhone, "09:00", "Margaret missed the 8:00 AM dose of Metformin 500 mg."})
}

// A medication's own ladder replaces the default for its doses only.
func TestPerMedicationLadder(t *testing.T) {
	h := newHarness(t, withEscalation(notify.Escalation{PerMedication: []notify.MedicationLadder{
		{Medication: "warfarin", Ladder: []notify.Step{{To: "caregiver2", After: 10 * time.Minute}}}}}))
	h.emit(doseEvent(dispenser.KindDoseDue, "warfarin", 9, 0, ""), doseEvent(dispenser.KindDoseDue, "metformin", 8, 0, ""))
	h.runUntil(at(9, 10))
	wantSent(t, h.sent(),
		msg{patPhone, "08:20", "8:00 AM pills are ready"},
		msg{anaPhone, "08:30", "the 8:00 AM dose"},
		msg{davidPhone, "09:00", "the 8:00 AM dose"},
		// Its own ladder says when the 9:00 dose reaches the caregivers;
		// then it joins the episode, whose last person hears of both.
		msg{davidPhone, "09:10", "Margaret has not taken the 8:00 AM and 9:00 AM doses."})
}

// OpenAlerts counts the alerts not closed by priority: a jam is medium,
// an uncertain dose high, a vital alert says its own; a cleared alert no
// longer counts.
func TestOpenAlerts(t *testing.T) {
	h := newHarness(t)
	if got := h.n.OpenAlerts(); len(got) != 0 {
		t.Errorf("OpenAlerts before any alert = %v, want none", got)
	}
	h.clock.Set(at(7, 5))
	h.emit(doseEvent(dispenser.KindJam, "metformin", 8, 0, "pills=0 expected=1 left=56"))
	h.emit(doseEvent(dispenser.KindUncertain, "warfarin", 9, 0, "interrupted mid-dispense left=29"))
	h.emit(dispenser.Event{Kind: notify.KindVitalAlert, Detail: "priority=medium key=spo2 text=Oxygen saturation 90% at 7:10 AM."})
	h.flush()
	want := map[notify.Priority]int{notify.High: 1, notify.Medium: 2}
	if got := h.n.OpenAlerts(); !maps.Equal(got, want) {
		t.Errorf("OpenAlerts = %v, want %v", got, want)
	}
	h.emit(dispenser.Event{Kind: notify.KindVitalAlertCleared, Detail: "key=spo2 reason=normal"})
	h.flush()
	want = map[notify.Priority]int{notify.High: 1, notify.Medium: 1}
	if got := h.n.OpenAlerts(); !maps.Equal(got, want) {
		t.Errorf("OpenAlerts after the vital alert cleared = %v, want %v", got, want)
	}
}
