package report

import (
	"math"
	"reflect"
	"testing"

	"github.com/pillbox/pillbox/dispenser"
)

// March 2026 in New York (spring forward on the 8th). Metformin takes 2
// pills a day (biguanide); lisinopril and enalapril 1 a day, both ACE
// inhibitors (one class, two drugs).
func pdcEvents() []dispenser.Event {
	count := func(at string, k dispenser.Kind, comp int, detail string) dispenser.Event {
		return dispenser.Event{Time: local(at).UTC(), Kind: k, Compartment: comp, Detail: detail}
	}
	return []dispenser.Event{
		// The load found in place: 19 left after 1 fell = 20 pills, 10 days
		// from Mar 1 (1-10).
		count("2026-03-01 08:00", dispenser.KindDispensed, 1, "pills=1 expected=1 left=19"),
		// Lisinopril's first refill: 10 pills, 10 days (Mar 1-10).
		count("2026-03-01 09:00", dispenser.KindRefill, 2, "left=10"),
		// Metformin refilled early on the 5th: +21 pills = 10 days (10.5
		// rounded down), shifted to start when the first supply ends: Mar
		// 11-20.
		count("2026-03-05 12:00", dispenser.KindRefill, 1, "left=40"),
		// Enalapril, same class as lisinopril, on the spring-forward night
		// (01:30 EST): 14 days, Mar 8-21. Another drug: no shift.
		count("2026-03-08 01:30", dispenser.KindRefill, 4, "left=14"),
		// A recount that lowers lisinopril's count is no fill.
		count("2026-03-15 09:00", dispenser.KindRefill, 2, "left=5"),
		// After a hospital stay (Mar 21-24 uncovered), metformin again: +20
		// = 10 days, Mar 25 - Apr 3.
		count("2026-03-25 18:00", dispenser.KindRefill, 1, "left=60"),
		// A compartment with no scheduled medication is ignored.
		count("2026-03-02 09:00", dispenser.KindRefill, 3, "left=30"),
	}
}

func TestFills(t *testing.T) {
	facts := fixtureSetup.Facts(local("2026-03-01 00:00"))
	got := Fills(pdcEvents(), fixtureSetup, facts)
	want := []struct {
		med         string
		pills, days int
		start       string
		implicit    bool
	}{
		{"metformin", 20, 10, "2026-03-01", true},
		{"lisinopril", 10, 10, "2026-03-01", false},
		{"metformin", 21, 10, "2026-03-11", false},
		{"enalapril", 14, 14, "2026-03-08", false},
		{"metformin", 20, 10, "2026-03-25", false},
	}
	if len(got) != len(want) {
		t.Fatalf("Fills = %+v, want %d fills", got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Medication != w.med || g.Pills != w.pills || g.DaysSupply != w.days || g.Start.String() != w.start || g.Implicit != w.implicit {
			t.Errorf("fill %d = %s %d pills, %d days from %s (implicit %v), want %s %d pills, %d days from %s (implicit %v)",
				i, g.Medication, g.Pills, g.DaysSupply, g.Start, g.Implicit, w.med, w.pills, w.days, w.start, w.implicit)
		}
	}
}

func TestPDC(t *testing.T) {
	facts := fixtureSetup.Facts(local("2026-03-01 00:00"))
	fills := Fills(pdcEvents(), fixtureSetup, facts)
	tests := []struct {
		name     string
		from, to string // local days, to exclusive
		want     []PDCResult
	}{
		{
			// Metformin: Mar 1-20 and 25-31 covered, 27 of 31. ACE: lisinopril
			// Mar 1-10, enalapril 8-21, 21 of 31 days.
			name: "March", from: "2026-03-01", to: "2026-04-01",
			want: []PDCResult{
				{Class: "biguanide", Medications: []string{"metformin"}, From: day("2026-03-01"), Days: 31, Covered: 27,
					PDC: 27.0 / 31, Adherent: true, Fills: 3},
				{Class: "ace inhibitor", Medications: []string{"lisinopril", "enalapril"}, From: day("2026-03-01"), Days: 31,
					Covered: 21, PDC: 21.0 / 31, Fills: 2},
			},
		},
		{
			// From the 11th, the supply loaded before counts (carried in):
			// metformin 11-20 and 25-31, 17 of 21; ACE 11-21, 11 of 21.
			name: "from the 11th", from: "2026-03-11", to: "2026-04-01",
			want: []PDCResult{
				{Class: "biguanide", Medications: []string{"metformin"}, From: day("2026-03-11"), Days: 21, Covered: 17,
					PDC: 17.0 / 21, Adherent: true, Fills: 1},
				{Class: "ace inhibitor", Medications: []string{"lisinopril", "enalapril"}, From: day("2026-03-11"), Days: 21,
					Covered: 11, PDC: 11.0 / 21},
			},
		},
		{
			// A period starting before the first fill counts from the fill.
			name: "from February", from: "2026-02-20", to: "2026-03-11",
			want: []PDCResult{
				{Class: "biguanide", Medications: []string{"metformin"}, From: day("2026-03-01"), Days: 10, Covered: 10,
					PDC: 1, Adherent: true, Fills: 2},
				{Class: "ace inhibitor", Medications: []string{"lisinopril", "enalapril"}, From: day("2026-03-01"), Days: 10,
					Covered: 10, PDC: 1, Adherent: true, Fills: 2},
			},
		},
		{name: "before any fill", from: "2026-02-01", to: "2026-03-01"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := PDC(fills, fixtureSetup, Period{From: day(tc.from), To: day(tc.to)})
			if len(got) != len(tc.want) {
				t.Fatalf("PDC = %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if math.Abs(got[i].PDC-tc.want[i].PDC) > 1e-12 {
					t.Errorf("PDC[%d].PDC = %v, want %v", i, got[i].PDC, tc.want[i].PDC)
				}
				got[i].PDC = tc.want[i].PDC
				if !reflect.DeepEqual(got[i], tc.want[i]) {
					t.Errorf("PDC[%d] = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}
