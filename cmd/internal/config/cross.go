package config

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pillbox/pillbox/hw"
	"github.com/pillbox/pillbox/internal/problem"
)

// crossCheck finds what no single section's validator can see: how
// medications, compartments and regimens refer to each other. Each section's
// own mistakes (a missing id, pills_per_dose < 1) are left to its validator.
func crossCheck(f *File) problem.List {
	var l problem.List

	comps := map[int]hw.CompartmentConfig{}
	var compIDs []string
	for _, c := range f.Compartments {
		if _, dup := comps[c.ID]; !dup && c.ID > 0 {
			compIDs = append(compIDs, strconv.Itoa(c.ID))
		}
		comps[c.ID] = c
	}

	held := map[int]int{} // compartment id -> index of the medication in it
	var medIDs []string
	meds := map[string]bool{}
	for i, m := range f.Medications {
		at := problem.Index("medications", i)
		if m.ID != "" {
			medIDs = append(medIDs, m.ID)
			meds[m.ID] = true
		}
		if m.Compartment < 1 {
			continue
		}
		c, ok := comps[m.Compartment]
		if !ok {
			fix := "add the compartment under compartments:"
			if len(compIDs) > 0 {
				fix = "use one of the compartments: " + strings.Join(compIDs, ", ")
			}
			l.Add(at+".compartment", fix, "compartment %d does not exist", m.Compartment)
			continue
		}
		if j, taken := held[m.Compartment]; taken {
			l.Add(at+".compartment", "put each medication in its own compartment",
				"compartment %d already holds medications[%d]", m.Compartment, j)
			continue
		}
		held[m.Compartment] = i
		if c.Capacity > 0 && m.PillsPerDose > c.Capacity {
			l.Add(at+".pills_per_dose", fmt.Sprintf("lower pills_per_dose, or raise compartment %d's capacity if it really holds more", c.ID),
				"pills_per_dose %d is more than compartment %d holds (capacity %d)", m.PillsPerDose, c.ID, c.Capacity)
		}
	}

	for i, c := range f.Compartments {
		if _, ok := held[c.ID]; !ok && c.ID > 0 {
			l.Add(problem.Index("compartments", i),
				fmt.Sprintf("add a medication with compartment: %d, or remove this compartment", c.ID),
				"compartment %d holds no medication", c.ID)
		}
	}

	dosed := map[string]bool{}
	for i, r := range f.Regimens {
		at := problem.Index("regimens", i)
		switch {
		case r.Medication == "": // schedule.ValidateRegimens reports it
		case !meds[r.Medication]:
			fix := "add the medication under medications:"
			if s := nearest(r.Medication, medIDs); s != "" {
				fix = fmt.Sprintf("did you mean %s?", s)
			} else if len(medIDs) > 0 {
				fix = "use one of the medication ids: " + strings.Join(medIDs, ", ")
			}
			l.Add(at+".medication", fix, "regimen for unknown medication %q", r.Medication)
		default:
			dosed[r.Medication] = true
		}
	}
	for i, m := range f.Medications {
		if m.ID != "" && !dosed[m.ID] {
			l.Add(problem.Index("medications", i),
				fmt.Sprintf("add a regimen with medication: %s (a cron schedule, or prn: for as needed), or remove the medication", m.ID),
				"medication %q has no regimen, so it would never be dispensed", m.ID)
		}
	}
	return l
}
