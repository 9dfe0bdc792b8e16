package notify

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/dispenser"
)

func TestRules(t *testing.T) {
	sched := time.Date(2026, 3, 2, 13, 0, 0, 0, time.UTC)
	now := sched.Add(10 * time.Minute)
	ev := func(k dispenser.Kind, dose string, comp int, detail string) dispenser.Event {
		return dispenser.Event{Time: now, Kind: k, DoseID: dose, Medication: "metformin", Compartment: comp, Scheduled: sched, Detail: detail}
	}
	dose := Facts{DoseID: "metformin@2026-03-02T08:00", Medication: "metformin", Scheduled: sched, Compartment: 1}
	withAt := func(f Facts) Facts { f.At = now; return f }
	const id = "metformin@2026-03-02T08:00"
	tests := []struct {
		name string
		ev   dispenser.Event
		want []effect
	}{
		{"dose due starts a ladder at the scheduled time", ev(dispenser.KindDoseDue, id, 1, ""),
			[]effect{{Key: "dose:" + id, What: CondDue, Priority: Medium, Base: sched, Facts: dose}}},
		{"reminder too", ev(dispenser.KindReminder, id, 1, "step=1"),
			[]effect{{Key: "dose:" + id, What: CondDue, Priority: Medium, Base: sched, Facts: dose}}},
		{"as-needed doses have no ladder", ev(dispenser.KindDoseDue, "prn:metformin@2026-03-02T08:00", 1, ""), nil},
		{"dispensed ends the dose's alert and the jam", ev(dispenser.KindDispensed, id, 1, "pills=1 expected=1 left=5"),
			[]effect{{Key: "dose:" + id, Clear: true, Ended: endDispensed}, {Key: "jam:1", Clear: true, Ended: endWorking}}},
		{"taken", ev(dispenser.KindTaken, id, 1, ""), []effect{{Key: "dose:" + id, Clear: true, Ended: endTaken}}},
		{"skipped", ev(dispenser.KindSkipped, id, 1, "by=patient"), []effect{{Key: "dose:" + id, Clear: true, Ended: endSkipped}}},
		{"not taken", ev(dispenser.KindNotTaken, id, 1, ""),
			[]effect{{Key: "dose:" + id, What: CondNotTaken, Priority: Medium, Facts: withAt(dose)}}},
		{"final jam", ev(dispenser.KindJam, id, 1, "pills=0 expected=1 left=5"),
			// The jam alert takes over: the dose's own ends with no news.
			[]effect{{Key: "jam:1", What: CondJam, Priority: Medium, Facts: withAt(dose)}, {Key: "dose:" + id, Clear: true}}},
		{"retried jam is not one", ev(dispenser.KindJam, id, 1, "retry attempt=1"), nil},
		{"uncertain is high", ev(dispenser.KindUncertain, id, 1, "interrupted mid-dispense left=5"),
			[]effect{{Key: "dose:" + id, What: CondUncertain, Priority: High, Facts: withAt(dose)}}},
		{"empty", ev(dispenser.KindEmpty, id, 1, "left=0"),
			[]effect{{Key: "supply:1", What: CondEmpty, Priority: Medium, Facts: Facts{Compartment: 1, Medication: "metformin", DoseID: id, Scheduled: sched, At: now}}}},
		{"extra pills are high", ev(dispenser.KindFault, id, 1, "extra pills=1"),
			[]effect{{Key: "fault:1:extra", What: CondFault, Priority: High, Facts: Facts{Compartment: 1, DoseID: id, Scheduled: sched, Medication: "metformin", At: now, Text: "extra pills=1"}}}},
		{"other faults medium", dispenser.Event{Time: now, Kind: dispenser.KindFault, Detail: "button sensor flapping; ignored until quiet"},
			[]effect{{Key: "fault:0:button", What: CondFault, Priority: Medium, Facts: Facts{At: now, Text: "button sensor flapping; ignored until quiet"}}}},
		{"a stray drop is one fault alert", dispenser.Event{Time: now, Kind: dispenser.KindStrayDrop, Detail: "beam broken with no motor running"},
			[]effect{{Key: "stray_drop:0", What: CondFault, Priority: Medium, Facts: Facts{At: now, Text: "something fell with no motor turning; check the cup"}}}},
		{"vital alert", dispenser.Event{Time: now, Kind: KindVitalAlert, Detail: "priority=high key=spo2 text=SpO2 88%."},
			[]effect{{Key: "vital_alert:spo2", What: CondGeneric, Priority: High, Facts: Facts{At: now, Text: "SpO2 88%."}}}},
		{"unreadable vital alert", dispenser.Event{Time: now, Kind: KindVitalAlert, Detail: "spo2 low"}, nil},
		{"vital alert cleared", dispenser.Event{Time: now, Kind: KindVitalAlertCleared, Detail: "key=spo2 reason=normal"},
			[]effect{{Key: "vital_alert:spo2", Clear: true, Ended: "normal"}}},
		{"unreadable clear", dispenser.Event{Time: now, Kind: KindVitalAlertCleared, Detail: "spo2"}, nil},
	}
	meds := map[string]dispenser.Medication{"metformin": {ID: "metformin"}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rules[tt.ev.Kind]
			if r == nil {
				t.Fatalf("no rule for %s", tt.ev.Kind)
			}
			if got := r(tt.ev, meds); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("rule(%s %q) =\n%+v\nwant\n%+v", tt.ev.Kind, tt.ev.Detail, got, tt.want)
			}
		})
	}
	for _, k := range []dispenser.Kind{dispenser.KindButton, dispenser.KindLidOpened, dispenser.KindBoot, KindSMSSent, dispenser.KindMissed} {
		if rules[k] != nil {
			t.Errorf("rules has an entry for %s, want none", k)
		}
	}
}

func TestMissedEffect(t *testing.T) {
	sched := time.Date(2026, 3, 2, 13, 0, 0, 0, time.UTC)
	meds := map[string]dispenser.Medication{"warfarin": {ID: "warfarin", Critical: true}, "metformin": {ID: "metformin"}}
	for med, want := range map[string]Priority{"warfarin": High, "metformin": Medium} {
		e := missedEffect(dispenser.Event{Time: sched.Add(time.Hour), Kind: dispenser.KindMissed, DoseID: med + "@x", Medication: med, Scheduled: sched}, meds)
		if e.Priority != want || e.What != CondMissed || !e.Base.Equal(sched) || e.Key != "dose:"+med+"@x" {
			t.Errorf("missedEffect(%s) = %+v, want %s, missed, based on the scheduled time", med, e, want)
		}
	}
}

func TestAlertDetail(t *testing.T) {
	tests := []struct {
		detail string
		p      Priority
		key    string
		text   string
		err    string
	}{
		{"priority=high key=spo2 text=SpO2 88% at 7:40 AM.", High, "spo2", "SpO2 88% at 7:40 AM.", ""},
		{"priority=low key=weight.gain text=Weight up 2 kg in 3 days", Low, "weight.gain", "Weight up 2 kg in 3 days", ""},
		{"priority=medium key=bp:sys text= x", Medium, "bp:sys", " x", ""},
		{"key=spo2 priority=high text=x", 0, "", "", "priority= first"},
		{"priority=urgent key=spo2 text=x", 0, "", "", "not low, medium or high"},
		{"priority=high text=x", 0, "", "", "key= after"},
		{"priority=high key=SpO2 text=x", 0, "", "", "key must be"},
		{"priority=high key= text=x", 0, "", "", "key must be"},
		{"priority=high key=" + strings.Repeat("a", 41) + " text=x", 0, "", "", "key must be"},
		{"priority=high key=spo2", 0, "", "", "text= after"},
		{"priority=high key=spo2 text=  ", 0, "", "", "text is empty"},
		{"priority=high key=spo2 text=" + strings.Repeat("é", 201), 0, "", "", "at most 200"},
		{"priority=high key=spo2 text=a\nb", 0, "", "", "control"},
		{"priority=high key=spo2 text=\xff", 0, "", "", "UTF-8"},
	}
	for _, tt := range tests {
		p, key, text, err := ParseAlertDetail(tt.detail)
		if p != tt.p || key != tt.key || text != tt.text || (err == nil) != (tt.err == "") || err != nil && !strings.Contains(err.Error(), tt.err) {
			t.Errorf("ParseAlertDetail(%q) = %v, %q, %q, %v; want %v, %q, %q, error containing %q", tt.detail, p, key, text, err, tt.p, tt.key, tt.text, tt.err)
		}
	}
	d, err := AlertDetail(High, "spo2", "SpO2 88%.")
	if err != nil || d != "priority=high key=spo2 text=SpO2 88%." {
		t.Errorf("AlertDetail = %q, %v", d, err)
	}
	if _, err := AlertDetail(High, "Sp O2", "x"); err == nil {
		t.Error("AlertDetail with a bad key = nil error")
	}
}

func TestClearDetail(t *testing.T) {
	tests := []struct {
		detail, key, reason, err string
	}{
		{"key=spo2 reason=normal", "spo2", "normal", ""},
		{"key=device_silent:a4c138123456:t4k2zc reason=resumed", "device_silent:a4c138123456:t4k2zc", "resumed", ""},
		{"reason=normal key=spo2", "", "", "key= first"},
		{"key=SPO2 reason=normal", "", "", "key must be"},
		{"key=spo2", "", "", "reason="},
		{"key=spo2 reason=", "", "", "reason="},
		{"key=spo2 reason=back to normal", "", "", "one word"},
	}
	for _, tt := range tests {
		key, reason, err := ParseClearDetail(tt.detail)
		if key != tt.key || reason != tt.reason || (err == nil) != (tt.err == "") || err != nil && !strings.Contains(err.Error(), tt.err) {
			t.Errorf("ParseClearDetail(%q) = %q, %q, %v; want %q, %q, error containing %q", tt.detail, key, reason, err, tt.key, tt.reason, tt.err)
		}
	}
	if d, err := ClearDetail("spo2", "normal"); err != nil || d != "key=spo2 reason=normal" {
		t.Errorf("ClearDetail = %q, %v", d, err)
	}
}

// FuzzAlertDetail: whatever a producer writes, parsing never panics, and
// what parses is built back by AlertDetail (ClearDetail) into the same
// detail.
func FuzzAlertDetail(f *testing.F) {
	f.Fuzz(func(t *testing.T, detail string) {
		if p, key, text, err := ParseAlertDetail(detail); err == nil {
			again, err := AlertDetail(p, key, text)
			if err != nil || again != detail {
				t.Fatalf("ParseAlertDetail(%q) = %v %q %q, which AlertDetail makes %q, %v", detail, p, key, text, again, err)
			}
		}
		if key, reason, err := ParseClearDetail(detail); err == nil {
			again, err := ClearDetail(key, reason)
			if err != nil || again != detail {
				t.Fatalf("ParseClearDetail(%q) = %q %q, which ClearDetail makes %q, %v", detail, key, reason, again, err)
			}
		}
	})
}
