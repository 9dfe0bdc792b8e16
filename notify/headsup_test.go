package notify_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/notify"
)

// Ana opted in to heads-ups; David did not.
var headsUpContacts = []notify.Contact{
	{Name: "Ana", Phone: anaPhone, Role: notify.RoleCaregiver, HeadsUp: true},
	{Name: "David", Phone: davidPhone, Role: notify.RoleCaregiver},
	{Name: "Margaret", Phone: patPhone, Role: notify.RolePatient},
}

func headsUpEvent(t *testing.T, scheduled time.Time) dispenser.Event {
	t.Helper()
	d, err := notify.HeadsUpDetail("metformin@"+scheduled.In(newYork).Format("2006-01-02T15:04"), scheduled, 0.62)
	if err != nil {
		t.Fatal(err)
	}
	return dispenser.Event{Kind: notify.KindHeadsUp, Detail: d}
}

// Heads-up texts go to the caregivers who opted in, one a local day at
// most, are no alert (nothing to acknowledge, no code), and say only the
// first name and the time.
func TestHeadsUpTexts(t *testing.T) {
	h := newHarness(t, withContacts(headsUpContacts))
	h.emit(headsUpEvent(t, at(8, 0)))
	h.runUntil(at(7, 1))
	got := h.sentTo(anaPhone)
	if len(got) != 1 {
		t.Fatalf("heads-up texts to Ana = %d, want 1", len(got))
	}
	if want := "Pillbox: Heads-up: Margaret often misses the Mon 8:00 AM dose."; got[0].body != want {
		t.Errorf("heads-up text = %q, want %q", got[0].body, want)
	}
	if n := len(h.sentTo(davidPhone)); n != 0 {
		t.Errorf("heads-up texts to David, who did not opt in = %d, want 0", n)
	}
	for _, m := range h.outbox() {
		if len(m.Alerts) != 0 || len(m.Codes) != 0 || m.Priority != notify.Low || m.Why != "heads_up" {
			t.Errorf("heads-up message = alerts %v codes %v priority %v why %q, want no alert, no code, low, heads_up",
				m.Alerts, m.Codes, m.Priority, m.Why)
		}
	}
	// A second the same day is not sent; the next day's is.
	h.runUntil(at(18, 0))
	h.emit(headsUpEvent(t, at(20, 0)))
	h.runUntil(at(18, 1))
	if n := len(h.sentTo(anaPhone)); n != 1 {
		t.Errorf("heads-up texts to Ana after a second the same day = %d, want 1", n)
	}
	h.runUntil(at(31, 0)) // 07:00 the next day
	h.emit(headsUpEvent(t, at(32, 0)))
	h.runUntil(at(31, 1))
	if n := len(h.sentTo(anaPhone)); n != 2 {
		t.Errorf("heads-up texts to Ana by the next day = %d, want 2", n)
	}
}

// A heads-up is never sent in quiet hours (nor held to their end: by
// then it is no heads-up), nor about a dose already due.
func TestHeadsUpDropped(t *testing.T) {
	for _, tc := range []struct {
		name      string
		now       time.Time
		scheduled time.Time
	}{
		{"quiet hours", at(23, 0), at(32, 0)},
		{"dose already due", at(8, 0), at(8, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, withContacts(headsUpContacts))
			h.runUntil(tc.now)
			h.emit(headsUpEvent(t, tc.scheduled))
			h.runUntil(tc.scheduled.Add(time.Hour))
			for _, s := range h.sent() {
				if strings.Contains(s.body, "Heads-up") {
					t.Errorf("heads-up sent at %s: %q", local(s.at), s.body)
				}
			}
		})
	}
}

// Heads-ups are counted apart: one does not use up an alert's rate limit.
func TestHeadsUpNotCountedInRateLimits(t *testing.T) {
	h := newHarness(t, withContacts(headsUpContacts),
		withEscalation(notify.Escalation{RateLimits: notify.RateLimits{PerRecipientPerHour: 1}}))
	h.emit(headsUpEvent(t, at(8, 0)))
	h.runUntil(at(7, 1))
	// A medium alert, which the limits hold: caregiver 1 hears at 7:30.
	h.emit(doseEvent(dispenser.KindMissed, "metformin", 7, 0, ""))
	h.runUntil(at(7, 31))
	got := h.sentTo(anaPhone)
	if len(got) != 2 || !strings.Contains(got[1].body, "missed") {
		t.Fatalf("texts to Ana = %v, want the heads-up and then the missed-dose alert", got)
	}
}

func TestParseHeadsUpDetail(t *testing.T) {
	for _, tc := range []struct {
		detail string
		ok     bool
	}{
		{"dose=m@2026-03-02T08:00 scheduled=2026-03-02T13:00:00Z risk=0.620", true},
		{"dose= scheduled=2026-03-02T13:00:00Z risk=0.6", false},
		{"dose=m scheduled=yesterday risk=0.6", false},
		{"dose=m scheduled=2026-03-02T13:00:00Z risk=1.5", false},
		{"dose=m scheduled=2026-03-02T13:00:00Z risk=NaN", false},
		{"", false},
	} {
		_, _, _, err := notify.ParseHeadsUpDetail(tc.detail)
		if (err == nil) != tc.ok {
			t.Errorf("ParseHeadsUpDetail(%q) error = %v, want ok %v", tc.detail, err, tc.ok)
		}
	}
}
