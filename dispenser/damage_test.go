package dispenser_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/schedule"
)

// A damaged log that lost events makes every dose whose window is open
// uncertain unless what was read settles it.
func TestDamagedLogEvents(t *testing.T) {
	plan, err := schedule.NewPlan([]schedule.Regimen{
		{Medication: "metformin", Cron: "0 8,20 * * *"},
		{Medication: "lisinopril", Cron: "0 9 * * *", Early: 30 * time.Minute, Late: 3 * time.Hour},
	}, newYork)
	if err != nil {
		t.Fatal(err)
	}
	meds := []dispenser.Medication{metformin, lisinopril}
	now := local(2027, 1, 12, 8, 30) // metformin 08:00 and lisinopril 09:00 windows open
	const met, lis = "metformin@2027-01-12T08:00", "lisinopril@2027-01-12T09:00"
	ev := func(id string, k dispenser.Kind) dispenser.Event { return dispenser.Event{DoseID: id, Kind: k} }
	tests := []struct {
		name      string
		read      []dispenser.Event
		complete  bool
		uncertain []string
	}{
		{"complete", []dispenser.Event{ev(met, dispenser.KindDoseDue)}, true, nil},
		{"nothing read", nil, false, []string{met, lis}},
		{"one settled", []dispenser.Event{ev(met, dispenser.KindDoseDue), ev(met, dispenser.KindTaken), ev(lis, dispenser.KindDoseDue)},
			false, []string{lis}},
		{"reminded is not settled", []dispenser.Event{ev(met, dispenser.KindReminder), ev(lis, dispenser.KindSkipped)},
			false, []string{met}},
		{"events that are not dose states", []dispenser.Event{ev(met, dispenser.KindButton), {Kind: dispenser.KindTaken}},
			false, []string{met, lis}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := dispenser.NewDamagedLog("dispenser.db.damaged-1", tt.read, tt.complete)
			if d.Recovered != len(tt.read) {
				t.Errorf("Recovered = %d, want %d", d.Recovered, len(tt.read))
			}
			evs := d.Events(now, plan, meds)
			if evs[0].Kind != dispenser.KindFault || !strings.HasPrefix(evs[0].Detail, "storage damaged") ||
				!strings.Contains(evs[0].Detail, "file=dispenser.db.damaged-1") ||
				strings.Contains(evs[0].Detail, "unreadable") == tt.complete {
				t.Errorf("first event = %+v, want the storage fault naming the file, unreadable events %v", evs[0], !tt.complete)
			}
			var got []string
			for _, ev := range evs[1:] {
				if ev.Kind != dispenser.KindUncertain || ev.Compartment == 0 || !ev.Time.Equal(now) {
					t.Errorf("event %+v, want an uncertain dose now with its compartment", ev)
				}
				got = append(got, ev.DoseID)
			}
			if strings.Join(got, ",") != strings.Join(tt.uncertain, ",") {
				t.Errorf("uncertain doses = %v, want %v", got, tt.uncertain)
			}
		})
	}
}
