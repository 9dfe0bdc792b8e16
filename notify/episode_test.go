package notify_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/notify"
)

// twoDosesDue makes the 08:00 metformin and 09:00 warfarin doses due, as
// the dispenser does when their windows open.
func twoDosesDue(h *harness) {
	h.emit(doseEvent(dispenser.KindDoseDue, "metformin", 8, 0, ""), doseEvent(dispenser.KindDoseDue, "warfarin", 9, 0, ""))
}

// Two doses an hour apart, neither taken: one episode. The second joins
// it when its own ladder reaches the caregivers, and the next text (to the
// last person texted) names both; the repeats cover both.
func TestEpisodeJoins(t *testing.T) {
	h := newHarness(t)
	twoDosesDue(h)
	h.runUntil(at(9, 31))
	wantSent(t, h.sent(),
		msg{patPhone, "08:20", "Margaret, your 8:00 AM pills are ready."},
		msg{anaPhone, "08:30", "Pillbox: Margaret has not taken the 8:00 AM dose yet. Reply OK "},
		msg{davidPhone, "09:00", "Pillbox: Margaret has not taken the 8:00 AM dose yet."},
		msg{patPhone, "09:20", "Margaret, your 9:00 AM pills are ready."},
		msg{davidPhone, "09:30", "Pillbox: Margaret has not taken the 8:00 AM and 9:00 AM doses. Reply OK "})
	code := codeIn(h.sent()[1].body)
	if got := codeIn(h.sent()[4].body); got != code {
		t.Errorf("the episode's second text quotes code %q, want the first's %q", got, code)
	}
	queued := h.events(notify.KindSMSQueued)
	if last := queued[len(queued)-1].Detail; !strings.Contains(last, "why=join") ||
		!strings.Contains(last, "alerts=dose:metformin@2026-03-02T08:00,dose:warfarin@2026-03-02T09:00 ") {
		t.Errorf("sms_queued of the joined text = %q, want why=join and both doses' keys", last)
	}

	h.emit(doseEvent(dispenser.KindMissed, "metformin", 8, 0, ""))
	h.runUntil(at(21, 59))
	wantSent(t, h.sent()[5:],
		msg{davidPhone, "13:30", "Pillbox: Reminder, Margaret has not taken the 8:00 AM and 9:00 AM doses."},
		msg{davidPhone, "17:30", "Reminder"})
	// The join counted as the first of 3 repeats: the episode is silent now.
	h.runUntil(at(31, 0))
	if n := len(h.sent()); n != 7 {
		t.Errorf("after its repeats the episode sent %d texts in all, want 7", n)
	}
}

// One OK acknowledges the episode and every dose in it; a dose that
// reaches the caregivers after that starts a new episode, from the first
// caregiver, with a code of its own.
func TestEpisodeAcknowledged(t *testing.T) {
	h := newHarness(t)
	twoDosesDue(h)
	h.runUntil(at(9, 31))
	code := codeIn(h.sent()[1].body)
	if twiml := h.sendReply(davidPhone, "OK"); !strings.Contains(twiml, "Thanks, David. Alert "+code+" acknowledged.") {
		t.Fatalf("answer to OK = %s, want the episode %s acknowledged as one alert", twiml, code)
	}
	acks := h.events(notify.KindAlertAck)
	if len(acks) != 2 || !strings.Contains(acks[0].Detail, "alert=dose:metformin@2026-03-02T08:00 code="+code+" by=caregiver2") ||
		!strings.Contains(acks[1].Detail, "alert=dose:warfarin@2026-03-02T09:00 code="+code+" by=caregiver2") {
		t.Errorf("alert_ack events = %+v, want both doses acknowledged by caregiver2 with %s", acks, code)
	}
	if twiml := h.sendReply(anaPhone, "OK "+code); !strings.Contains(twiml, "already acknowledged") {
		t.Errorf("a second OK %s answered %s, want already acknowledged", code, twiml)
	}
	h.emit(doseEvent(dispenser.KindMissed, "metformin", 8, 0, ""))
	h.runUntil(at(19, 0))
	if n := len(h.sent()); n != 5 {
		t.Fatalf("after OK the stand-in got %d texts, want still 5", n)
	}

	h.emit(doseEvent(dispenser.KindDoseDue, "metformin", 20, 0, ""))
	h.runUntil(at(20, 31))
	wantSent(t, h.sent()[5:],
		msg{patPhone, "20:20", "8:00 PM pills are ready"},
		msg{anaPhone, "20:30", "Pillbox: Margaret has not taken the 8:00 PM dose yet. Reply OK "})
	if next := codeIn(h.sent()[6].body); next == code || next == "" {
		t.Errorf("the new episode's code = %q, want a new one (the first was %s)", next, code)
	}
}

// TAKEN marks the dose of an episode of one dose by the episode's code,
// and acknowledges the episode.
func TestEpisodeOfOneDoseTaken(t *testing.T) {
	h := newHarness(t)
	missedAt8(h)
	code := lastCode(h)
	if twiml := h.sendReply(anaPhone, "taken "+code); !strings.Contains(twiml, "Noted: the 8:00 AM dose is marked as taken.") {
		t.Fatalf("TAKEN %s answered %s", code, twiml)
	}
	h.runUntil(at(20, 0))
	if got := h.sentTo(davidPhone); len(got) != 0 {
		t.Errorf("caregiver 2 got %+v after the dose was marked taken", got)
	}
}

// A dose that becomes an uncertain dispense leaves its episode and is an
// urgent alert of its own; the episode's other dose goes on without it.
func TestUncertainLeavesEpisode(t *testing.T) {
	h := newHarness(t)
	twoDosesDue(h)
	h.runUntil(at(9, 31))
	h.emit(doseEvent(dispenser.KindUncertain, "warfarin", 9, 0, "interrupted mid-dispense left=29"))
	h.runUntil(at(9, 32))
	wantSent(t, h.sent()[5:], msg{anaPhone, "09:31", "Pillbox URGENT: A dispense was interrupted (the 9:00 AM dose)."})
	h.runUntil(at(13, 31))
	last := h.sentTo(davidPhone)
	if body := last[len(last)-1].body; !strings.Contains(body, "Reminder, Margaret has not taken the 8:00 AM dose yet.") {
		t.Errorf("the episode's reminder = %q, want only the 8:00 AM dose", body)
	}
}

// When a caregiver acknowledges missed doses, the device shows the patient
// who is on it, if the patient gets texts themselves.
func TestPatientToldWhoIsOnIt(t *testing.T) {
	for _, tt := range []struct {
		name string
		esc  notify.Escalation
		stop bool // the patient replied STOP
		want []string
	}{
		{"the patient gets texts", notify.Escalation{}, false, []string{"David 09:35"}},
		{"the patient opted out", notify.Escalation{}, true, nil},
		{"no ladder texts the patient", notify.Escalation{Ladder: []notify.Step{{To: "caregiver1", After: 30 * time.Minute},
			{To: "caregiver2", After: time.Hour}}}, false, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, withEscalation(tt.esc))
			if tt.stop {
				h.sendReply(patPhone, "STOP")
			}
			twoDosesDue(h)
			h.runUntil(at(9, 35))
			h.sendReply(davidPhone, "OK")
			if got := h.shown.get(); !slices.Equal(got, tt.want) {
				t.Errorf("shown on the device = %q, want %q", got, tt.want)
			}
			// A restart shows it again, from the store.
			h.restart()
			h.flush()
			if got := h.shown.get(); len(tt.want) > 0 && len(got) != 2 {
				t.Errorf("after a restart shown = %q, want it shown again", got)
			}
		})
	}
}

// A dose that joins an episode whose last person told cannot be texted
// (the provider refused their number for good) is news for the caregiver
// told before them: every missed dose reaches someone (invariant 4).
func TestEpisodeNewsPassesRefusedNumber(t *testing.T) {
	h := newHarness(t)
	h.stand.RejectTo(davidPhone, 21211)
	twoDosesDue(h)
	h.runUntil(at(9, 31))
	var news []string
	for _, m := range h.sent() {
		if strings.Contains(m.body, "8:00 AM and 9:00 AM doses") {
			news = append(news, m.to)
		}
	}
	if len(news) != 1 || news[0] != anaPhone {
		t.Errorf("texts that sent the news of the 9:00 AM dose = %+v, want one, to Ana (David's number is refused)", news)
	}
}
