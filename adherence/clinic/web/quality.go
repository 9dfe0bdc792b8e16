package web

import (
	"time"

	"github.com/pillbox/pillbox/adherence/report"
	"github.com/pillbox/pillbox/hw/vital/quality"
)

// QualityRow is one health device's data quality over the page's period
// (issue 16): how much of what it sent the reports left out, when a
// glucose meter was last checked with control solution, and how often
// its clock was corrected.
type QualityRow struct {
	quality.Summary
	Label string // the meter's name, or what it is; its address when unknown
	// Excluded counts the measurements left out as implausible or as a
	// device fault, and ExcludedShare is their share of Measurements.
	Excluded      int
	ExcludedShare float64
	// ClockOffset says how far off the device's clock was at its latest
	// correction ("3 days behind"); empty without one.
	ClockOffset string
}

// qualityRows sums up the data quality of the report's readings per
// device: the configured meters first (a meter that sent nothing shows
// as such), then any other device that sent readings. Readings carry
// their flags, device clock and repeats from the dispenser
// (vital.Reading); the figures are quality.Summarize's.
func qualityRows(r *report.Report, loc *time.Location) []QualityRow {
	meters := r.Setup().Meters
	addrs := make([]string, len(meters))
	labels := map[string]string{}
	for i, m := range meters {
		addrs[i] = m.Address
		labels[m.Address] = m.Label()
	}
	sums := quality.Summarize(r.Readings, addrs, r.Period.From.Start(loc), r.Period.To.Start(loc), loc)
	out := make([]QualityRow, 0, len(sums))
	for _, s := range sums {
		row := QualityRow{Summary: s, Label: labels[s.Device]}
		if row.Label == "" {
			row.Label = s.Device
		}
		// A measurement can carry both flags; it is left out once.
		row.Excluded = min(s.Implausible+s.DeviceFault, s.Measurements)
		if s.Measurements > 0 {
			row.ExcludedShare = float64(row.Excluded) / float64(s.Measurements)
		}
		if s.ClockOffsetS != nil {
			off := time.Duration(*s.ClockOffsetS) * time.Second
			way := "ahead"
			if off < 0 {
				way = "behind"
			}
			row.ClockOffset = quality.Duration(off) + " " + way
		}
		out = append(out, row)
	}
	return out
}
