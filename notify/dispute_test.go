package notify_test

import (
	"strings"
	"testing"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/notify"
)

const metforminAt8 = "dose=metformin@2026-03-02T08:00 by=caregiver1 reason=caregiver reply"

// missedAt8 makes the 8:00 metformin dose missed at 09:10 with nobody
// having pressed the button: caregiver 1 is texted about it at once.
func missedAt8(h *harness) {
	h.clock.Set(at(9, 10))
	h.emit(doseEvent(dispenser.KindMissed, "metformin", 8, 0, ""))
	h.flush()
	if got := h.sentTo(anaPhone); len(got) != 1 || !strings.Contains(got[0].body, "missed the 8:00 AM dose") {
		h.t.Fatalf("caregiver 1 got %+v, want the missed-dose text", got)
	}
}

// lastCode is the code of the latest text to caregiver 1.
func lastCode(h *harness) string {
	var code string
	for _, m := range h.outbox() {
		if m.Phone == anaPhone && len(m.Codes) > 0 {
			code = m.Codes[len(m.Codes)-1]
		}
	}
	return code
}

// A caregiver's TAKEN disputes a recorded miss: it acknowledges the alert
// as OK does and logs a miss_disputed event; anyone else gets the help text.
func TestTakenReply(t *testing.T) {
	tests := []struct {
		name  string
		setup func(h *harness)
		from  string
		// body is the reply; {code} stands for the latest code texted to
		// caregiver 1.
		body     string
		want     string   // a piece of the answer
		disputes []string // details of the miss_disputed events the reply added
		acks     int      // alert_ack events the reply added
	}{
		{"bare TAKEN marks the missed dose", missedAt8, anaPhone, "Taken",
			"Noted: the 8:00 AM dose is marked as taken. Thank you.", []string{metforminAt8}, 1},
		{"TAKEN with the code", missedAt8, anaPhone, " taken #{code}. ",
			"Noted: the 8:00 AM dose is marked as taken.", []string{metforminAt8}, 1},
		{"after OK: marked, not acknowledged twice", func(h *harness) {
			missedAt8(h)
			h.sendReply(anaPhone, "OK")
		}, anaPhone, "TAKEN", "Noted: the 8:00 AM dose is marked as taken.", []string{metforminAt8}, 0},
		{"twice: marked once", func(h *harness) {
			missedAt8(h)
			h.sendReply(anaPhone, "TAKEN")
		}, anaPhone, "TAKEN {code}", "The 8:00 AM dose was already marked as taken.", nil, 0},
		{"caregiver 2, texted later, with the code", func(h *harness) {
			missedAt8(h)
			h.runUntil(at(9, 40))
			if len(h.sentTo(davidPhone)) == 0 {
				h.t.Fatal("caregiver 2 was not texted")
			}
		}, davidPhone, "taken {code}", "Noted: the 8:00 AM dose",
			[]string{strings.Replace(metforminAt8, "caregiver1", "caregiver2", 1)}, 1},
		{"unknown code", missedAt8, anaPhone, "TAKEN ZZZ", "No open alert ZZZ.", nil, 0},
		{"nothing texted", func(*harness) {}, anaPhone, "TAKEN", "No missed dose to mark.", nil, 0},
		{"dose not missed yet", func(h *harness) {
			h.emit(doseEvent(dispenser.KindDoseDue, "metformin", 8, 0, ""))
			h.runUntil(at(8, 40))
		}, anaPhone, "TAKEN", "No missed dose to mark.", nil, 0},
		{"the code of a dose not missed yet", func(h *harness) {
			h.emit(doseEvent(dispenser.KindDoseDue, "metformin", 8, 0, ""))
			h.runUntil(at(8, 40))
		}, anaPhone, "TAKEN {code}", "is not about one missed dose, so nothing was marked.", nil, 0},
		{"a summary alert names no dose", func(h *harness) {
			h.clock.Set(at(10, 0))
			h.emit(doseEvent(dispenser.KindMissed, "metformin", 8, 0, ""), doseEvent(dispenser.KindMissed, "metformin", 9, 0, ""))
			h.flush()
		}, anaPhone, "TAKEN {code}", "is not about one missed dose", nil, 0},
		{"two missed doses in one text: a code is needed", func(h *harness) {
			h.clock.Set(at(11, 10))
			first := doseEvent(dispenser.KindMissed, "metformin", 8, 0, "")
			first.Time = at(9, 0)
			second := doseEvent(dispenser.KindMissed, "warfarin", 9, 0, "")
			second.Time = at(11, 0)
			h.emit(first, second)
			h.flush()
			if got := h.sentTo(anaPhone); len(got) != 1 || !strings.Contains(got[0].body, "the 8:00 AM and 9:00 AM doses") {
				h.t.Fatalf("caregiver 1 got %+v, want one text about both doses", got)
			}
		}, anaPhone, "TAKEN", "Several missed doses were in that text. Reply TAKEN and the code", nil, 0},
		{"the code of an episode of two doses", func(h *harness) {
			h.clock.Set(at(11, 10))
			first := doseEvent(dispenser.KindMissed, "metformin", 8, 0, "")
			first.Time = at(9, 0)
			second := doseEvent(dispenser.KindMissed, "warfarin", 9, 0, "")
			second.Time = at(11, 0)
			h.emit(first, second)
			h.flush()
		}, anaPhone, "TAKEN {code}", "is not about one missed dose, so nothing was marked.", nil, 0},
		{"from the patient", missedAt8, patPhone, "TAKEN", "Pillbox alerts for Margaret.", nil, 0},
		{"from an unknown number", missedAt8, "+15555559999", "taken", "This number is not on its contact list.", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			tt.setup(h)
			disputes, acks := len(h.events(notify.KindMissDisputed)), len(h.events(notify.KindAlertAck))
			body := strings.ReplaceAll(tt.body, "{code}", strings.ToLower(lastCode(h)))
			if got := h.sendReply(tt.from, body); !strings.Contains(got, tt.want) {
				t.Errorf("answer to %q = %s, want it to contain %q", body, got, tt.want)
			}
			evs := h.events(notify.KindMissDisputed)[disputes:]
			var got []string
			for _, ev := range evs {
				got = append(got, ev.Detail)
				if ev.DoseID != "" {
					t.Errorf("miss_disputed event has DoseID %q, want it only in the detail", ev.DoseID)
				}
			}
			if strings.Join(got, "|") != strings.Join(tt.disputes, "|") {
				t.Errorf("miss_disputed details = %q, want %q", got, tt.disputes)
			}
			if n := len(h.events(notify.KindAlertAck)) - acks; n != tt.acks {
				t.Errorf("alert_ack events after the reply = %d, want %d", n, tt.acks)
			}
		})
	}
}

// A dispute stops the ladder as OK does, and its event is published (the
// uplink syncs what the daemon publishes) with no phone number or name.
func TestTakenStopsLadderAndPublishes(t *testing.T) {
	h := newHarness(t)
	missedAt8(h)
	h.sendReply(anaPhone, "taken")
	h.runUntil(at(20, 0))
	if got := h.sentTo(davidPhone); len(got) != 0 {
		t.Errorf("caregiver 2 got %+v after caregiver 1 replied TAKEN", got)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var found []dispenser.Event
	for _, ev := range h.published {
		if ev.Kind == notify.KindMissDisputed {
			found = append(found, ev)
		}
	}
	if len(found) != 1 || found[0].Detail != metforminAt8 || !found[0].Time.Equal(at(9, 10)) {
		t.Fatalf("published miss_disputed = %+v, want one at 09:10 with %q", found, metforminAt8)
	}
	for _, pii := range []string{anaPhone, "Ana", "Margaret"} {
		if strings.Contains(found[0].Detail, pii) {
			t.Errorf("miss_disputed detail %q contains %q", found[0].Detail, pii)
		}
	}
}

func TestDisputeDetail(t *testing.T) {
	tests := []struct {
		dose, by, reason string
		want             string // "" for an error
	}{
		{"metformin@2026-03-02T08:00", "caregiver1", "caregiver reply", metforminAt8},
		{"prn:x@2026-03-02T08:00", "caregiver2", "", "dose=prn:x@2026-03-02T08:00 by=caregiver2 reason="},
		{"", "caregiver1", "r", ""},
		{"a b", "caregiver1", "r", ""},
		{"a", "", "r", ""},
		{"a", "care\tgiver", "r", ""},
	}
	for _, tt := range tests {
		t.Run(tt.dose+"/"+tt.by, func(t *testing.T) {
			got, err := notify.DisputeDetail(tt.dose, tt.by, tt.reason)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("DisputeDetail(%q, %q, %q) = %q, want an error", tt.dose, tt.by, tt.reason, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("DisputeDetail(%q, %q, %q) = %q, %v, want %q", tt.dose, tt.by, tt.reason, got, err, tt.want)
			}
			dose, by, reason, err := notify.ParseDisputeDetail(got)
			if err != nil || dose != tt.dose || by != tt.by || reason != tt.reason {
				t.Errorf("ParseDisputeDetail(%q) = %q, %q, %q, %v, want %q, %q, %q", got, dose, by, reason, err, tt.dose, tt.by, tt.reason)
			}
		})
	}
	for _, bad := range []string{"", "dose=", "dose=a by=b", "by=b dose=a reason=c", "dose=a  by=b reason=c", "dose= by=b reason=c"} {
		if d, b, r, err := notify.ParseDisputeDetail(bad); err == nil {
			t.Errorf("ParseDisputeDetail(%q) = %q, %q, %q, nil; want an error", bad, d, b, r)
		}
	}
}

func FuzzDisputeDetail(f *testing.F) {
	// Seeds live in testdata/fuzz/FuzzDisputeDetail.
	f.Fuzz(func(t *testing.T, detail string) {
		dose, by, reason, err := notify.ParseDisputeDetail(detail)
		if err != nil {
			return
		}
		again, err := notify.DisputeDetail(dose, by, reason)
		if err != nil || again != detail {
			t.Fatalf("ParseDisputeDetail(%q) = %q, %q, %q, which DisputeDetail writes as %q, %v", detail, dose, by, reason, again, err)
		}
	})
}
