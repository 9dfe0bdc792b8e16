package vitals

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pillbox/pillbox/hw/vital"
	"github.com/pillbox/pillbox/internal/problem"
)

// Config is the `vitals:` section of the config file: the patient's paired
// health devices and the thresholds of the rules. Every threshold left out
// (zero) takes its documented clinical default (see Defaults and
// docs/vitals.md); the file only says where this patient differs.
type Config struct {
	Devices    []Device   `yaml:"devices"`
	Thresholds Thresholds `yaml:"thresholds"`
	// WeightGain lists the heart-failure weight gain windows. Left out, the
	// defaults apply (1 kg in a day, 2 kg in 3 days, 2.3 kg in a week); an
	// empty list (weight_gain: []) turns the rule off.
	WeightGain []WeightGain `yaml:"weight_gain"`
	// BPMedicationClasses are the medication classes (the class: of a
	// medication, compared case-insensitively) whose missed doses the
	// missed-medication-and-rising-blood-pressure rule watches. Left out:
	// DefaultBPClasses.
	BPMedicationClasses []string `yaml:"bp_medication_classes"`
}

// Device is one entry of `vitals.devices`: a Bluetooth LE health device
// the installer paired with bluetoothctl.
type Device struct {
	// Address is the device's Bluetooth address, "A4:C1:38:12:34:56".
	Address string `yaml:"address"`
	// Kind is what it measures: one of vital.KindNames().
	Kind string `yaml:"kind"`
	// Name is an optional label for caregivers ("bathroom scale"); it is
	// used in no-data alerts in place of the kind.
	Name string `yaml:"name"`
	// SilentAfter turns on the "no data" alarm: when the device has sent
	// nothing for this long, the caregiver is told (low priority). Zero: no
	// alarm. A device the patient uses daily typically gets 36h, which
	// leaves room for a late measurement.
	SilentAfter time.Duration `yaml:"silent_after"`
}

// Label is how alerts name the device: its Name, else its kind's noun.
func (d Device) Label() string {
	if d.Name != "" {
		return d.Name
	}
	if k, ok := vital.KindNamed(d.Kind); ok {
		return k.Noun
	}
	return "health device"
}

// Thresholds are the per-patient limits of the rules. Zero means "use the
// default" (see Defaults for the values and their sources).
type Thresholds struct {
	// GlucoseLow (mg/dL): below it is level 1 hypoglycaemia (ADA: < 70).
	GlucoseLow float64 `yaml:"glucose_low"`
	// GlucoseVeryLow (mg/dL): below it is level 2 hypoglycaemia (ADA: < 54).
	GlucoseVeryLow float64 `yaml:"glucose_very_low"`
	// GlucoseHigh (mg/dL): above it is level 2 hyperglycaemia (> 250).
	GlucoseHigh float64 `yaml:"glucose_high"`
	// CrisisSystolic and CrisisDiastolic (mmHg): a blood pressure at or
	// above either is a hypertensive crisis reading (AHA: 180 / 120).
	CrisisSystolic  float64 `yaml:"crisis_systolic"`
	CrisisDiastolic float64 `yaml:"crisis_diastolic"`
	// CrisisConfirmWithin is how soon a second crisis reading must follow
	// the first to confirm it (AHA: re-test after 5 minutes).
	CrisisConfirmWithin time.Duration `yaml:"crisis_confirm_within"`
	// SpO2Scale is the NEWS2 oxygen saturation scale: 1 (default) or 2
	// (hypercapnic respiratory failure, e.g. COPD, prescribed by a clinician).
	SpO2Scale int `yaml:"spo2_scale"`
	// NEWS2Window is how far back readings of the other NEWS2 parameters
	// count as one observation set with a new reading (default 1h).
	NEWS2Window time.Duration `yaml:"news2_window"`
	// TrendWindow, TrendMinReadings and TrendRise (mmHg per day) define a
	// rising systolic trend for the missed-medication cross-rule: the
	// least-squares slope of at least TrendMinReadings systolic readings in
	// the last TrendWindow is at least TrendRise (defaults 7 days, 3, 2).
	TrendWindow      time.Duration `yaml:"trend_window"`
	TrendMinReadings int           `yaml:"trend_min_readings"`
	TrendRise        float64       `yaml:"trend_rise"`
	// MissedDays: the cross-rule needs blood-pressure doses missed in a row
	// across this many days (default 2).
	MissedDays int `yaml:"missed_days"`
	// Realert is how long an alert stays latched with no new abnormal
	// reading: after it, an abnormal reading starts a new alert (default 12h).
	Realert time.Duration `yaml:"realert"`
	// MaxAge: readings older than this when they arrive (a meter's memory
	// read after a power cut) are stored but raise no alert (default 12h).
	MaxAge time.Duration `yaml:"max_age"`
}

// WeightGain is one heart-failure weight gain window: a gain of at least
// Kg compared with the weight measured about Within earlier.
type WeightGain struct {
	Kg     float64       `yaml:"kg"`
	Within time.Duration `yaml:"within"`
}

// Defaults are the thresholds used where the config leaves one out.
// Sources (see docs/vitals.md for the full citations):
//   - glucose and hypertensive crisis: declared with their device kinds
//     (package hw/vital), whose reports use them too;
//   - NEWS2: Royal College of Physicians, 2017 (chart 1, scale 1);
//   - weight: ESC Heart Failure Association self-care recommendations
//     (> 2 kg in 3 days); AHA patient guidance (2-3 lb in a day, 5 lb in a
//     week);
//   - the trend and the timing defaults are this project's choices.
var Defaults = Thresholds{
	GlucoseLow:          vital.DefaultGlucoseLow,
	GlucoseVeryLow:      vital.DefaultGlucoseVeryLow,
	GlucoseHigh:         vital.DefaultGlucoseHigh,
	CrisisSystolic:      vital.DefaultCrisisSystolic,
	CrisisDiastolic:     vital.DefaultCrisisDiastolic,
	CrisisConfirmWithin: 5 * time.Minute,
	SpO2Scale:           1,
	NEWS2Window:         time.Hour,
	TrendWindow:         7 * 24 * time.Hour,
	TrendMinReadings:    3,
	TrendRise:           2,
	MissedDays:          2,
	Realert:             12 * time.Hour,
	MaxAge:              12 * time.Hour,
}

// DefaultWeightGain are the weight gain windows used when the config has
// no weight_gain list.
var DefaultWeightGain = []WeightGain{
	{Kg: 1, Within: 24 * time.Hour},
	{Kg: 2, Within: 72 * time.Hour},
	{Kg: 2.3, Within: 7 * 24 * time.Hour},
}

// DefaultBPClasses are the medication classes treated as blood-pressure
// medications when the config does not list any.
var DefaultBPClasses = []string{
	"antihypertensive", "ACE inhibitor", "ARB", "angiotensin receptor blocker",
	"beta blocker", "calcium channel blocker", "thiazide", "thiazide diuretic",
}

// withDefaults returns t with every zero field set from Defaults.
func (t Thresholds) withDefaults() Thresholds {
	d := Defaults
	set := func(v *float64, def float64) {
		if *v == 0 {
			*v = def
		}
	}
	setD := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	setI := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	set(&t.GlucoseLow, d.GlucoseLow)
	set(&t.GlucoseVeryLow, d.GlucoseVeryLow)
	set(&t.GlucoseHigh, d.GlucoseHigh)
	set(&t.CrisisSystolic, d.CrisisSystolic)
	set(&t.CrisisDiastolic, d.CrisisDiastolic)
	setD(&t.CrisisConfirmWithin, d.CrisisConfirmWithin)
	setI(&t.SpO2Scale, d.SpO2Scale)
	setD(&t.NEWS2Window, d.NEWS2Window)
	setD(&t.TrendWindow, d.TrendWindow)
	setI(&t.TrendMinReadings, d.TrendMinReadings)
	set(&t.TrendRise, d.TrendRise)
	setI(&t.MissedDays, d.MissedDays)
	setD(&t.Realert, d.Realert)
	setD(&t.MaxAge, d.MaxAge)
	return t
}

// resolved is the config with every default applied.
func (c Config) resolved() Config {
	c.Thresholds = c.Thresholds.withDefaults()
	if c.WeightGain == nil {
		c.WeightGain = DefaultWeightGain
	}
	if c.BPMedicationClasses == nil {
		c.BPMedicationClasses = DefaultBPClasses
	}
	return c
}

// EffectiveThresholds are the thresholds the rules apply: the config's,
// with every one left out at its default. The dispenser sends them to the
// clinic (uplink.Profile), whose reports shade and count by them.
func (c Config) EffectiveThresholds() Thresholds { return c.resolved().Thresholds }

// Validate checks the section. Paths are relative to it ("devices[0].kind").
func (c *Config) Validate() problem.List {
	var l problem.List
	seen := map[string]int{}
	kinds := strings.Join(vital.KindNames(), ", ")
	for i, d := range c.Devices {
		at := problem.Index("devices", i)
		switch norm, ok := vital.NormalizeAddress(d.Address); {
		case d.Address == "":
			l.Add(at, `add address: the device's Bluetooth address as bluetoothctl shows it, e.g. address: "A4:C1:38:12:34:56"`,
				"device has no address")
		case !ok:
			l.Add(at+".address", `write six two-digit hex bytes separated by colons, e.g. "A4:C1:38:12:34:56"`,
				"%q is not a Bluetooth address", d.Address)
		default:
			if j, dup := seen[norm]; dup {
				l.Add(at+".address", "list each device once", "same address as devices[%d]", j)
			} else {
				seen[norm] = i
			}
		}
		switch _, known := vital.KindNamed(d.Kind); {
		case d.Kind == "":
			l.Add(at, "add kind: one of "+kinds, "device has no kind")
		case !known:
			l.Add(at+".kind", "use one of "+kinds, "unknown device kind %q", d.Kind)
		}
		if d.Name != "" && (utf8.RuneCountInString(d.Name) > 40 || strings.IndexFunc(d.Name, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0) {
			l.Add(at+".name", "write a short label such as bathroom scale", "name must be at most 40 printable characters: it goes into text messages")
		}
		switch {
		case d.SilentAfter < 0:
			l.Add(at+".silent_after", "write a positive duration such as 36h, or leave it out for no alarm", "silent_after is negative")
		case d.SilentAfter > 0 && d.SilentAfter < time.Hour:
			l.Add(at+".silent_after", "use at least 1h; a device that reports daily typically gets 36h",
				"silent_after %s would alarm between ordinary measurements", d.SilentAfter)
		}
	}
	l = append(l, c.Thresholds.validate()...)
	for i, w := range c.WeightGain {
		at := problem.Index("weight_gain", i)
		if !(w.Kg > 0 && w.Kg <= 20) {
			l.Add(at+".kg", "write the gain in kilograms, e.g. kg: 1", "kg %v must be more than 0 and at most 20", w.Kg)
		}
		if w.Within < 12*time.Hour || w.Within > 30*24*time.Hour {
			l.Add(at+".within", "write a duration between 12h and 720h, e.g. within: 72h", "within %s is out of range", w.Within)
		}
	}
	for i, cl := range c.BPMedicationClasses {
		if strings.TrimSpace(cl) == "" {
			l.Add(problem.Index("bp_medication_classes", i), "remove the empty entry", "empty medication class")
		}
	}
	return l
}

func (t Thresholds) validate() problem.List {
	var l problem.List
	rng := func(key string, v, lo, hi float64, unit string) {
		if v != 0 && !(v >= lo && v <= hi) {
			l.Add("thresholds."+key, fmt.Sprintf("write a value between %v and %v %s, or leave it out for the default", lo, hi, unit),
				"%s %v %s is not a plausible threshold", key, v, unit)
		}
	}
	rng("glucose_low", t.GlucoseLow, 40, 120, "mg/dL")
	rng("glucose_very_low", t.GlucoseVeryLow, 30, 100, "mg/dL")
	rng("glucose_high", t.GlucoseHigh, 140, 600, "mg/dL")
	rng("crisis_systolic", t.CrisisSystolic, 140, 260, "mmHg")
	rng("crisis_diastolic", t.CrisisDiastolic, 90, 160, "mmHg")
	rng("trend_rise", t.TrendRise, 0.1, 50, "mmHg per day")
	r := t.withDefaults()
	if r.GlucoseVeryLow >= r.GlucoseLow {
		l.Add("thresholds.glucose_very_low", "make glucose_very_low lower than glucose_low",
			"glucose_very_low %v is not below glucose_low %v", r.GlucoseVeryLow, r.GlucoseLow)
	}
	if r.GlucoseHigh <= r.GlucoseLow {
		l.Add("thresholds.glucose_high", "make glucose_high higher than glucose_low",
			"glucose_high %v is not above glucose_low %v", r.GlucoseHigh, r.GlucoseLow)
	}
	dur := func(key string, v, lo, hi time.Duration) {
		if v != 0 && (v < lo || v > hi) {
			l.Add("thresholds."+key, fmt.Sprintf("write a duration between %s and %s", lo, hi),
				"%s %s is out of range", key, v)
		}
	}
	dur("crisis_confirm_within", t.CrisisConfirmWithin, time.Minute, time.Hour)
	dur("news2_window", t.NEWS2Window, 5*time.Minute, 24*time.Hour)
	dur("trend_window", t.TrendWindow, 24*time.Hour, 60*24*time.Hour)
	dur("realert", t.Realert, 30*time.Minute, 7*24*time.Hour)
	dur("max_age", t.MaxAge, 10*time.Minute, 7*24*time.Hour)
	if t.SpO2Scale != 0 && t.SpO2Scale != 1 && t.SpO2Scale != 2 {
		l.Add("thresholds.spo2_scale", "use 1, or 2 only when a clinician prescribed a target of 88-92%",
			"spo2_scale %d must be 1 or 2", t.SpO2Scale)
	}
	if t.TrendMinReadings < 0 || t.TrendMinReadings == 1 || t.TrendMinReadings > 100 {
		l.Add("thresholds.trend_min_readings", "use a number from 2 to 100", "trend_min_readings %d is out of range", t.TrendMinReadings)
	}
	if t.MissedDays < 0 || t.MissedDays > 14 {
		l.Add("thresholds.missed_days", "use a number of days from 1 to 14", "missed_days %d is out of range", t.MissedDays)
	}
	return l
}
