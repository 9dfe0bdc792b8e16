package quality

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/pillbox/pillbox/hw/vital"
)

// The rules' constants; docs/vitals.md gives the reasons.
const (
	// ClockTolerance is how far a device's clock may be from the
	// controller's before its times are corrected and the clock is set:
	// the clinic's tolerance for a dispenser's own clock, and the crisis
	// rule's window for a confirming reading, so no uncorrected drift can
	// pair or part two blood pressure readings.
	ClockTolerance = 5 * time.Minute
	// RepeatWindow: a measurement timed on arrival that repeats, value for
	// value, one that arrived less than this before is the same one sent
	// again (a reconnection repeating the last measurement). No home
	// device measures twice within a minute (a cuff takes 30-60 s and asks
	// a minute's rest, a glucose test a new strip), and the heart rate and
	// continuous oximetry streams are kept one value a minute.
	RepeatWindow = time.Minute
	// A device keeps sending implausible or faulty readings when
	// ProblemCount of its measurements within ProblemWindow are: the
	// caregiver is told once, and again only after the device has gone a
	// ProblemWindow with fewer.
	ProblemCount  = 3
	ProblemWindow = 7 * 24 * time.Hour
)

// Reception is what the receiver knew when readings arrived.
type Reception struct {
	// At is the controller's clock at reception; Trusted says it was set
	// from NTP or a real-time clock it trusts. An untrusted clock judges
	// no device clock.
	At      time.Time
	Trusted bool
	// Offsets are the device clocks' offsets (device minus controller)
	// read on the current connection from the device's clock
	// characteristic (Current Time or Date Time), by device; a device
	// missing from it was not read.
	Offsets map[string]time.Duration
}

// Context is a Reception and the stored readings the step compares with.
type Context struct {
	Reception
	// Recent are stored readings of the devices of the batch measured at
	// or after At - RepeatWindow (the duplicates of readings timed on
	// arrival), with their ids.
	Recent []vital.Reading
}

// Result is what Check makes of a batch.
type Result struct {
	// Readings are to be stored, flagged, in the batch's order.
	Readings []vital.Reading
	// Repeats are the stored readings (of Context.Recent) the batch sent
	// again: count a repeat on each, store nothing.
	Repeats []vital.Reading
}

// Check judges a batch of readings (the readings of one or more
// measurements, as decoded) and returns them flagged, apart from those that
// repeat a recent stored measurement.
func Check(rs []vital.Reading, c Context) Result {
	var res Result
	for _, m := range Measurements(rs) {
		if earlier := repeatOf(m, c); earlier != nil {
			res.Repeats = append(res.Repeats, earlier...)
			continue
		}
		m = cloneFlags(m)
		for i := range m {
			correctClock(&m[i], c.Reception)
			plausible(&m[i], m)
		}
		spread(m)
		res.Readings = append(res.Readings, m...)
	}
	return res
}

// Measurements splits readings into runs of one device and one time: the
// readings one characteristic value flattens to.
func Measurements(rs []vital.Reading) [][]vital.Reading {
	var out [][]vital.Reading
	for i := 0; i < len(rs); {
		j := i + 1
		for j < len(rs) && rs[j].Device == rs[i].Device && rs[j].Time.Equal(rs[i].Time) {
			j++
		}
		out = append(out, rs[i:j:j])
		i = j
	}
	return out
}

// cloneFlags copies m so that flagging it does not write to the caller's
// readings.
func cloneFlags(m []vital.Reading) []vital.Reading {
	out := make([]vital.Reading, len(m))
	for i, r := range m {
		r.Flags = append([]vital.Flag(nil), r.Flags...)
		out[i] = r
	}
	return out
}

// plausible flags r implausible when its value is outside its quantity's
// limits, not below the value it must be below in m, or reported in a unit
// its profile does not allow.
func plausible(r *vital.Reading, m []vital.Reading) {
	spec, ok := r.Quantity.Spec()
	if !ok {
		r.Flag(vital.Implausible, fmt.Sprintf("%s is not a quantity this version knows", r.Quantity))
		return
	}
	if u := OriginalUnit(r.Original); u != "" && !spec.AllowsUnit(u) {
		r.Flag(vital.Implausible, fmt.Sprintf("%s sent in %s, a unit its profile does not allow", r.Quantity, u))
		return
	}
	if !r.HasValue() {
		return
	}
	if p := spec.Plausible; !p.Contains(r.Value) {
		r.Flag(vital.Implausible, fmt.Sprintf("%s %s %s is outside the plausible %s-%s %s",
			r.Quantity, num(r.Value), spec.UnitLabel, num(p.Low), num(p.High), spec.UnitLabel))
		return
	}
	if spec.Below == "" {
		return
	}
	for _, o := range m {
		if o.Quantity == spec.Below && o.HasValue() && r.Value >= o.Value {
			r.Flag(vital.Implausible, fmt.Sprintf("%s %s %s is not below the %s, %s %s",
				r.Quantity, num(r.Value), spec.UnitLabel, o.Quantity, num(o.Value), spec.UnitLabel))
		}
	}
}

// spread flags every reading of a measurement implausible when one is: a
// cuff that reports an impossible systolic has no sound diastolic either,
// and a scale's BMI is computed from its weight.
func spread(m []vital.Reading) {
	var first *vital.Reading
	for i := range m {
		if m[i].Flagged(vital.Implausible) {
			first = &m[i]
			break
		}
	}
	if first == nil {
		return
	}
	reason := "another value of the same measurement is implausible: " + first.Flags[flagIndex(first, vital.Implausible)].Reason
	for i := range m {
		m[i].Flag(vital.Implausible, reason)
	}
}

func flagIndex(r *vital.Reading, code vital.FlagCode) int {
	for i, f := range r.Flags {
		if f.Code == code {
			return i
		}
	}
	return -1
}

// OriginalUnit is the unit of a reading's Original as a device or a
// person wrote it ("kg/L" of "0.00095 kg/L", "/1024 s" of "820/1024 s");
// "" when Original has none.
func OriginalUnit(original string) string {
	s := original
	for _, special := range []string{"NaN", "NRes", "+INF", "-INF", "reserved"} {
		if rest, ok := strings.CutPrefix(s, special); ok {
			return strings.TrimSpace(rest)
		}
	}
	i := strings.IndexFunc(s, func(c rune) bool {
		return !(c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E')
	})
	if i < 0 {
		return ""
	}
	return strings.TrimSpace(s[i:])
}

// num writes a value as few digits as it needs.
func num(v float64) string {
	if math.Abs(v) >= 1e15 {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}
