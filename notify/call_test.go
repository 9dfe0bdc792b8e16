package notify_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/notify"
	"github.com/pillbox/pillbox/notify/twiliotest"
)

// callLadder texts the patient, calls the first caregiver, then texts the
// second.
var callLadder = notify.Escalation{Ladder: []notify.Step{
	{To: notify.RolePatient, After: 20 * time.Minute},
	{Call: "caregiver1", After: 30 * time.Minute},
	{To: "caregiver2", After: 60 * time.Minute},
}}

// A ladder step with call: phones the caregiver through twilio-go and the
// stand-in; the call says the alert and asks for 1. Pressing 1
// acknowledges the alert as OK does; every other end moves the ladder on
// at once (the next step does not wait for its time), and a voicemail gets
// the message but acknowledges nothing.
func TestCallLadder(t *testing.T) {
	for _, tt := range []struct {
		name   string
		answer twiliotest.Answer
		key    string
		reject int // the stand-in refuses the call with this code
		// The call's end as the outbox records it; "" when Twilio refused it.
		status string
		acked  bool // Ana acknowledged: David is never texted
		fault  bool // "Call to carer 1 failed" on the device
	}{
		{name: "pressed 1", answer: twiliotest.Pressed, key: "1", status: "completed", acked: true},
		{name: "pressed 2", answer: twiliotest.Pressed, key: "2", status: "completed"},
		{name: "no key", answer: twiliotest.NoKey, status: "completed"},
		{name: "no answer", answer: twiliotest.NoAnswer, status: "no-answer"},
		{name: "busy", answer: twiliotest.Busy, status: "busy"},
		{name: "voicemail", answer: twiliotest.Machine, status: "machine"},
		{name: "refused by Twilio", reject: 21217, fault: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, withEscalation(callLadder))
			if tt.reject != 0 {
				h.stand.RejectCallTo(anaPhone, tt.reject)
			}
			h.emit(doseEvent(dispenser.KindDoseDue, "metformin", 8, 0, ""))
			h.runUntil(at(8, 30))
			calls := h.stand.Calls()
			if tt.reject != 0 {
				if len(calls) != 0 {
					t.Fatalf("the stand-in accepted %d calls, want none", len(calls))
				}
			} else {
				if len(calls) != 1 || calls[0].To != anaPhone || calls[0].From != ourNumber ||
					calls[0].MachineDetection != "DetectMessageEnd" || calls[0].StatusCallback != h.hook.URL+"/twilio/call/status" {
					t.Fatalf("the stand-in got calls %+v, want one to Ana from our number, with machine detection and a status callback", calls)
				}
				says := strings.Join(calls[0].Says(), " | ")
				for _, want := range []string{"This is Pillbox, the pill dispenser of Margaret.",
					"Margaret has not taken the 8:00 AM dose yet.", "Press 1 if you will handle this.", "No key was pressed."} {
					if !strings.Contains(says, want) {
						t.Errorf("the call says %q, want it to contain %q", says, want)
					}
				}
				h.clock.Advance(time.Minute) // the call rings, is answered
				twiml, code, err := h.stand.AnswerCall(calls[0].SID, tt.answer, tt.key)
				if err != nil || code != http.StatusNoContent {
					t.Fatalf("AnswerCall = %d, %v; want the status callback answered 204", code, err)
				}
				if tt.key == "1" && !strings.Contains(twiml, "Thank you, Ana. The alert is acknowledged.") ||
					tt.key == "2" && !strings.Contains(twiml, "Nothing was acknowledged.") {
					t.Errorf("the answer to key %s = %q, want thanks for 1, nothing acknowledged otherwise", tt.key, twiml)
				}
				if tt.key != "" && !strings.Contains(twiml, "<Hangup/>") {
					t.Errorf("the answer to a key = %q, want it to hang up", twiml)
				}
			}
			h.flush()
			var david []sent
			for _, s := range h.sent() {
				if s.to == davidPhone {
					david = append(david, s)
				}
			}
			switch {
			case tt.acked && len(david) != 0:
				t.Errorf("David was texted %q after Ana pressed 1, want nothing", david[0].body)
			case !tt.acked && (len(david) != 1 || local(david[0].at) != local(h.clock.Now())):
				t.Errorf("David got %v by %s, want one text at once when the call ended without a 1", david, local(h.clock.Now()))
			}
			if got := len(h.events(notify.KindAlertAck)); got != map[bool]int{true: 1}[tt.acked] {
				t.Errorf("%d alert_ack events, want %d", got, map[bool]int{true: 1}[tt.acked])
			}
			var call notify.Message
			for _, m := range h.outbox() {
				if m.Channel == notify.ChannelCall {
					call = m
				}
			}
			if tt.status != "" && call.Status != tt.status {
				t.Errorf("the call's outbox status = %q, want %q", call.Status, tt.status)
			}
			lines, ok := h.faults.get("sms:caregiver1")
			if want := []string{"Call to carer 1", "failed: number?"}; tt.fault && !slices.Equal(lines, want) || !tt.fault && ok {
				t.Errorf("fault for caregiver 1 = %q (set %v), want %q only when Twilio refused the call", lines, ok, want)
			}
		})
	}
}

// A call's callback that is replayed, or for a call the outbox does not
// know, changes nothing; a second key press after the first 1 is not
// acted on again.
func TestCallCallbackReplay(t *testing.T) {
	h := newHarness(t, withEscalation(callLadder))
	h.emit(doseEvent(dispenser.KindDoseDue, "metformin", 8, 0, ""))
	h.runUntil(at(8, 30))
	calls := h.stand.Calls()
	if len(calls) != 1 {
		t.Fatalf("the stand-in got %d calls, want 1", len(calls))
	}
	p := h.stand.CallForm(calls[0], "in-progress")
	p.Set("Digits", "1")
	for i, want := range []string{"Thank you, Ana.", "Nothing was acknowledged."} {
		code, twiml, err := h.stand.PostHook(h.hook.URL+"/twilio/call/gather", p)
		if err != nil || code != http.StatusOK || !strings.Contains(twiml, want) {
			t.Errorf("key press %d = %d %q, %v; want 200 and %q", i+1, code, twiml, err, want)
		}
	}
	if got := len(h.events(notify.KindAlertAck)); got != 1 {
		t.Errorf("%d alert_ack events after a replayed key press, want 1", got)
	}
	// An unknown call: acknowledged nothing, said so.
	q := h.stand.CallForm(twiliotest.Call{SID: "CA0123456789abcdef0123456789abcdef", To: anaPhone, From: ourNumber}, "in-progress")
	q.Set("Digits", "1")
	if code, twiml, err := h.stand.PostHook(h.hook.URL+"/twilio/call/gather", q); err != nil || code != http.StatusOK ||
		!strings.Contains(twiml, "already handled") {
		t.Errorf("key press in an unknown call = %d %q, %v; want 200 and already handled", code, twiml, err)
	}
	// A forged status callback (bad signature) is refused.
	q.Del("Digits")
	q.Set("CallStatus", "no-answer")
	req, _ := http.NewRequest("POST", h.hook.URL+"/twilio/call/status", strings.NewReader(q.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twiliotest.Sign("0000"+authToken[4:], h.hook.URL+"/twilio/call/status", q))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("forged call status = %v, %v; want 403", resp, err)
	} else {
		resp.Body.Close()
	}
	if n := slices.IndexFunc(h.sent(), func(s sent) bool { return s.to == davidPhone }); n >= 0 {
		t.Errorf("David was texted after Ana pressed 1: %q", h.sent()[n].body)
	}
}
