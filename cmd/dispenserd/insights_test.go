package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence/insights/coach"
	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/notify"
)

// Twelve days on the simulated clock with the example config (metformin with
// adaptive_reminders, Ana opted in to heads-ups): Margaret takes her 8:00
// metformin at about 8:20 and never her evening one. The dispenser learns
// both: the morning dose's first chime moves later (no later than the
// second reminder), and the evening dose gets a heads-up prompt and a
// text to Ana, which the notifier sends as no alert. GET /api/insights
// says why.
func TestSimLearnsWeeks(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the simulator for 12 days of simulated time")
	}
	d := startInProcess(t, options{config: "../../examples/dispenser.yaml", sim: true, listen: "127.0.0.1:0",
		data: t.TempDir(), simStart: "2026-03-02T06:00:00-05:00"})
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, d.r.loc)
	for range 12 {
		late := day.Add(8*time.Hour + 20*time.Minute)
		d.do("POST", "/api/sim/clock", map[string]string{"set": late.Format(time.RFC3339)}, http.StatusOK)
		d.do("POST", "/api/sim/button?wait=1", nil, http.StatusOK)
		d.do("POST", "/api/sim/cup?wait=1", map[string]bool{"present": false}, http.StatusOK)
		d.do("POST", "/api/sim/cup?wait=1", map[string]bool{"present": true}, http.StatusOK)
		d.advance("23h40m")
		day = day.AddDate(0, 0, 1)
	}
	evs := d.events(0)
	var shifts, prompts, headsUps []dispenser.Event
	for _, ev := range evs {
		switch ev.Kind {
		case dispenser.KindChimeShifted:
			shifts = append(shifts, ev)
		case dispenser.KindHeadsUpPrompt:
			prompts = append(prompts, ev)
		case notify.KindHeadsUp:
			headsUps = append(headsUps, ev)
		}
	}
	if len(shifts) == 0 {
		t.Fatal("no first chime moved in 12 days of doses taken 20 min late")
	}
	for _, ev := range shifts {
		if !strings.HasPrefix(ev.DoseID, "metformin@") || !strings.Contains(ev.Detail, "shift=1") {
			t.Errorf("chime_shifted %s %q, want metformin's chime moved 10-19 min later", ev.DoseID, ev.Detail)
		}
		if at, ok := detailAt(ev.Detail); !ok || at.Sub(ev.Scheduled) > 15*time.Minute || at.Before(ev.Scheduled) {
			t.Errorf("chime_shifted %s to %v: outside the scheduled time to the second reminder", ev.DoseID, at)
		}
	}
	if len(prompts) == 0 || len(headsUps) == 0 {
		t.Fatalf("heads-up prompts %d, heads-up texts asked %d; want some for an evening dose never taken", len(prompts), len(headsUps))
	}
	var sms []smsView
	if err := json.Unmarshal(d.do("GET", "/api/sim/sms", nil, http.StatusOK), &sms); err != nil {
		t.Fatal(err)
	}
	texts := map[string]int{}
	for _, m := range sms {
		if m.Why == "heads_up" {
			texts[m.Time.In(d.r.loc).Format(time.DateOnly)]++
			if m.To != "+15555550101" || m.Priority != "low" || m.Code != "" || !strings.Contains(m.Body, "Margaret often misses") {
				t.Errorf("heads-up text %+v, want to Ana, low, no code, naming Margaret", m)
			}
		}
	}
	if len(texts) == 0 {
		t.Error("no heads-up text in the outbox")
	}
	for day, n := range texts {
		if n > 1 {
			t.Errorf("%d heads-up texts on %s, want at most one a day", n, day)
		}
	}
	var rep coach.Report
	if err := json.Unmarshal(d.do("GET", "/api/insights?days=2", nil, http.StatusOK), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Days != 2 || rep.Learned == 0 || len(rep.Doses) == 0 {
		t.Fatalf("GET /api/insights?days=2 = %d days, learned from %d, %d doses; want 2 days of doses learned from the log", rep.Days, rep.Learned, len(rep.Doses))
	}
	for _, dose := range rep.Doses {
		if strings.HasPrefix(dose.DoseID, "metformin@") && strings.HasSuffix(dose.DoseID, "T20:00") && (dose.Risk < 0.5 || len(dose.Reasons) == 0) {
			t.Errorf("evening dose %s: risk %.2f, reasons %v; want a high risk with its reasons", dose.DoseID, dose.Risk, dose.Reasons)
		}
	}
	d.do("GET", "/api/insights?days=0", nil, http.StatusBadRequest)
}

func detailAt(detail string) (time.Time, bool) {
	for _, f := range strings.Fields(detail) {
		if v, ok := strings.CutPrefix(f, "at="); ok {
			t, err := time.Parse(time.RFC3339, v)
			return t, err == nil
		}
	}
	return time.Time{}, false
}
