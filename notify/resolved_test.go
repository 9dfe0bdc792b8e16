package notify_test

import (
	"strings"
	"testing"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/notify"
)

// When what an alert was about ends, the caregivers who were texted about
// it get one short text saying so; the patient and whoever acknowledged
// it get none.
func TestResolvedTexts(t *testing.T) {
	off := false
	tests := []struct {
		name string
		esc  notify.Escalation
		run  func(h *harness)
		want []msg // the texts after the alert's own
	}{
		{"a dose taken late", notify.Escalation{}, func(h *harness) {
			h.emit(doseEvent(dispenser.KindDoseDue, "metformin", 8, 0, ""))
			h.runUntil(at(8, 45))
			h.emit(doseEvent(dispenser.KindDispenseStarted, "metformin", 8, 0, "pills=1"),
				doseEvent(dispenser.KindDispensed, "metformin", 8, 0, "pills=1 expected=1 left=55"))
			h.runUntil(at(8, 46))
			h.emit(doseEvent(dispenser.KindTaken, "metformin", 8, 0, ""))
			h.runUntil(at(12, 0))
		}, []msg{{anaPhone, "08:45", "Pillbox, resolved: The 8:00 AM dose was dispensed at 8:45 AM."}}},
		{"skipped", notify.Escalation{}, func(h *harness) {
			h.emit(doseEvent(dispenser.KindDoseDue, "metformin", 8, 0, ""))
			h.runUntil(at(8, 45))
			h.emit(doseEvent(dispenser.KindSkipped, "metformin", 8, 0, "by=caregiver"))
			h.runUntil(at(12, 0))
		}, []msg{{anaPhone, "08:45", "Pillbox, resolved: The 8:00 AM dose was skipped."}}},
		{"acknowledged: only the others hear", notify.Escalation{}, func(h *harness) {
			h.emit(doseEvent(dispenser.KindDoseDue, "metformin", 8, 0, ""))
			h.runUntil(at(9, 5))
			h.sendReply(anaPhone, "OK")
			h.emit(doseEvent(dispenser.KindDispensed, "metformin", 8, 0, "pills=1 expected=1 left=55"))
			h.runUntil(at(12, 0))
		}, []msg{{davidPhone, "09:05", "Pillbox, resolved: The 8:00 AM dose was dispensed at 9:05 AM."}}},
		{"a jam cleared", notify.Escalation{}, func(h *harness) {
			h.emit(doseEvent(dispenser.KindJam, "metformin", 8, 0, "pills=0 expected=1 left=56"))
			h.runUntil(at(7, 20))
			h.emit(doseEvent(dispenser.KindDispensed, "metformin", 8, 0, "pills=1 expected=1 left=55"))
			h.runUntil(at(9, 0))
		}, []msg{{anaPhone, "07:20", "Pillbox, resolved: Compartment 1 is working again."}}},
		{"a reading back in range", notify.Escalation{}, func(h *harness) {
			h.emit(dispenser.Event{Kind: notify.KindVitalAlert, Detail: "priority=high key=spo2 text=Oxygen saturation 88% at 7:00 AM."})
			h.runUntil(at(7, 10))
			h.emit(dispenser.Event{Kind: notify.KindVitalAlertCleared, Detail: "key=spo2 reason=normal"})
			h.runUntil(at(9, 0))
		}, []msg{{anaPhone, "07:10", "Pillbox, resolved: Margaret's reading is back in range (was: Oxygen saturation 88% at 7:00 AM)."}}},
		{"a silent device heard from again", notify.Escalation{}, func(h *harness) {
			h.emit(dispenser.Event{Kind: notify.KindVitalAlert, Detail: "priority=medium key=device_silent:a4c138123456:t1 text=the glucose meter has sent no reading for 2 days."})
			h.runUntil(at(7, 10))
			h.emit(dispenser.Event{Kind: notify.KindVitalAlertCleared, Detail: "key=device_silent:a4c138123456:t1 reason=resumed"})
			h.runUntil(at(9, 0))
		}, []msg{{anaPhone, "07:10", "Pillbox, resolved: The health device is sending readings again (was: the glucose meter has sent no reading for 2 days)."}}},
		{"a vital alert that expired is no news", notify.Escalation{}, func(h *harness) {
			h.emit(dispenser.Event{Kind: notify.KindVitalAlert, Detail: "priority=medium key=bp text=Blood pressure 182/110."})
			h.runUntil(at(7, 10))
			h.emit(dispenser.Event{Kind: notify.KindVitalAlertCleared, Detail: "key=bp reason=expired"})
			h.runUntil(at(9, 0))
		}, nil},
		{"in quiet hours, in the morning", notify.Escalation{}, func(h *harness) {
			h.clock.Set(at(21, 50))
			h.emit(doseEvent(dispenser.KindJam, "metformin", 20, 0, "pills=0 expected=1 left=56"))
			h.runUntil(at(23, 0))
			h.emit(doseEvent(dispenser.KindDispensed, "metformin", 20, 0, "pills=1 expected=1 left=55"))
			h.runUntil(at(31, 0))
		}, []msg{{anaPhone, "07:00", "Pillbox, resolved: Compartment 1 is working again."}}},
		{"configured off", notify.Escalation{ResolvedTexts: &off}, func(h *harness) {
			h.emit(doseEvent(dispenser.KindJam, "metformin", 8, 0, "pills=0 expected=1 left=56"))
			h.runUntil(at(7, 20))
			h.emit(doseEvent(dispenser.KindDispensed, "metformin", 8, 0, "pills=1 expected=1 left=55"))
			h.runUntil(at(9, 0))
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, withEscalation(tt.esc))
			tt.run(h)
			var after []sent
			for _, s := range h.sent() {
				if strings.Contains(s.body, "resolved") {
					after = append(after, s)
				}
			}
			wantSent(t, after, tt.want...)
			for _, s := range h.sentTo(patPhone) {
				if strings.Contains(s.body, "resolved") {
					t.Errorf("the patient got %q", s.body)
				}
			}
		})
	}
}
