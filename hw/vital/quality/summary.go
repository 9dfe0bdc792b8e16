package quality

import (
	"slices"
	"time"

	"github.com/pillbox/pillbox/hw/vital"
)

// Problem reports whether r counts towards a device problem: the device
// sent an implausible value or reported a fault of its own.
func Problem(r vital.Reading) bool {
	return r.Flagged(vital.Implausible) || r.Flagged(vital.DeviceFault)
}

// Keeps reports whether a device with n problem measurements within
// ProblemWindow keeps sending them.
func Keeps(n int) bool { return n >= ProblemCount }

// ProblemTimes returns the distinct times of the problem measurements
// among rs (one device's readings), in the order they appear.
func ProblemTimes(rs []vital.Reading) []time.Time {
	var out []time.Time
	for _, r := range rs {
		if Problem(r) && !slices.ContainsFunc(out, r.Time.Equal) {
			out = append(out, r.Time)
		}
	}
	return out
}

// ProblemsWithin counts the problem measurement times within ProblemWindow
// up to at: (at-ProblemWindow, at].
func ProblemsWithin(times []time.Time, at time.Time) int {
	n := 0
	for _, t := range times {
		if t.After(at.Add(-ProblemWindow)) && !t.After(at) {
			n++
		}
	}
	return n
}

// Summary is the data quality of one device's readings over a period, as
// the device's API and the clinic's reports show it. Counts are of
// measurements (a blood pressure measurement is one, with its three
// pressures and pulse); a measurement counts under a flag when any of its
// readings has it.
type Summary struct {
	Device string    `json:"device"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	// Measurements received in the period, of every kind: the patient's
	// values, the flagged, the meter checks.
	Measurements    int `json:"measurements"`
	Implausible     int `json:"implausible"`
	DeviceFault     int `json:"device_fault"`
	ControlSolution int `json:"control_solution"`
	ClockCorrected  int `json:"clock_corrected"`
	// Repeats counts the measurements the device sent again, stored once.
	Repeats int `json:"repeats"`
	// DaysWithoutData counts the days of the period (in the patient's
	// zone, a part day included) with no measurement.
	DaysWithoutData int       `json:"days_without_data"`
	LastMeasurement time.Time `json:"last_measurement,omitzero"`
	// LastMeterCheck is the latest control-solution test of a glucose
	// meter, with its value: when the meter and its strips were last
	// checked.
	LastMeterCheck *vital.Reading `json:"last_meter_check,omitempty"`
	// ClockOffsetS is the device clock's offset (device minus controller,
	// seconds) at its latest clock-corrected reading of the period, and
	// ClockCorrectedAt that reading's time; absent when none was.
	ClockOffsetS     *int64    `json:"clock_offset_s,omitempty"`
	ClockCorrectedAt time.Time `json:"clock_corrected_at,omitzero"`
}

// Summarize sums up the readings rs measured in [from, to) by device, in
// the order the devices first appear; devices lists devices to include
// even without a reading (a configured device that sent nothing).
func Summarize(rs []vital.Reading, devices []string, from, to time.Time, loc *time.Location) []Summary {
	if loc == nil {
		loc = time.UTC
	}
	type key struct {
		device string
		at     int64
	}
	var order []string
	byDev := map[string]*Summary{}
	days := map[string]map[string]bool{}
	add := func(d string) *Summary {
		if s, ok := byDev[d]; ok {
			return s
		}
		s := &Summary{Device: d, From: from, To: to}
		byDev[d], days[d] = s, map[string]bool{}
		order = append(order, d)
		return s
	}
	for _, d := range devices {
		add(d)
	}
	flagged := map[key]map[vital.FlagCode]bool{}
	for _, r := range rs {
		if r.Time.Before(from) || !r.Time.Before(to) {
			continue
		}
		s := add(r.Device)
		k := key{r.Device, r.Time.UnixMilli()}
		fs, seen := flagged[k]
		if !seen {
			fs = map[vital.FlagCode]bool{}
			flagged[k] = fs
			s.Measurements++
			days[r.Device][r.Time.In(loc).Format(time.DateOnly)] = true
			if r.Time.After(s.LastMeasurement) {
				s.LastMeasurement = r.Time
			}
			// A measurement's readings are repeated together; count it once.
			s.Repeats += r.Repeats
		}
		for _, f := range r.Flags {
			if fs[f.Code] {
				continue
			}
			fs[f.Code] = true
			switch f.Code {
			case vital.Implausible:
				s.Implausible++
			case vital.DeviceFault:
				s.DeviceFault++
			case vital.ControlSolution:
				s.ControlSolution++
				if s.LastMeterCheck == nil || r.Time.After(s.LastMeterCheck.Time) {
					c := r
					s.LastMeterCheck = &c
				}
			case vital.ClockCorrected:
				s.ClockCorrected++
				if !r.DeviceClock.IsZero() && !r.Time.Before(s.ClockCorrectedAt) {
					off := int64(r.DeviceClock.Sub(r.Time) / time.Second)
					s.ClockOffsetS, s.ClockCorrectedAt = &off, r.Time
				}
			}
		}
	}
	out := make([]Summary, 0, len(order))
	for _, d := range order {
		s := byDev[d]
		s.DaysWithoutData = daysWithout(days[d], from, to, loc)
		out = append(out, *s)
	}
	return out
}

// daysWithout counts the calendar days in loc that [from, to) touches and
// that have no entry in with.
func daysWithout(with map[string]bool, from, to time.Time, loc *time.Location) int {
	if !to.After(from) {
		return 0
	}
	n := 0
	last := to.Add(-time.Nanosecond).In(loc)
	endDay := time.Date(last.Year(), last.Month(), last.Day(), 0, 0, 0, 0, loc)
	f := from.In(loc)
	for d := time.Date(f.Year(), f.Month(), f.Day(), 0, 0, 0, 0, loc); !d.After(endDay); d = d.AddDate(0, 0, 1) {
		if !with[d.Format(time.DateOnly)] {
			n++
		}
	}
	return n
}
