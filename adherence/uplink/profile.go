package uplink

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/notify/vitals"
	"github.com/pillbox/pillbox/schedule"
)

// ProfileVersion is the version of the Profile this package writes. A
// server keeps a profile of another version but reads none of it.
const ProfileVersion = 1

// Profile is what the clinic needs to know of a dispenser's configuration
// to report on its log: the patient's zone, the medications and their
// regimens (doses scheduled, windows, PRN limits, daily pills for PDC), the
// paired health devices and the vitals alert thresholds. It rides on every heartbeat, so the clinic
// always holds the configuration the device runs; it carries no contact
// and no patient name.
type Profile struct {
	Version     int                 `json:"version"`
	Timezone    string              `json:"timezone"`
	Medications []ProfileMedication `json:"medications"`
	Regimens    []ProfileRegimen    `json:"regimens"`
	Meters      []ProfileMeter      `json:"meters,omitempty"`
	// Thresholds are the patient's vitals alert thresholds; nil from a
	// device without a vitals: section or with older software, and the
	// clinic then uses its default reference ranges.
	Thresholds *ProfileThresholds `json:"thresholds,omitempty"`
}

// ProfileMedication is a dispenser.Medication on the wire.
type ProfileMedication struct {
	ID           string `json:"id"`
	Name         string `json:"name,omitempty"`
	Strength     string `json:"strength,omitempty"`
	PillsPerDose int    `json:"pills_per_dose"`
	Compartment  int    `json:"compartment"`
	Class        string `json:"class,omitempty"`
	Critical     bool   `json:"critical,omitempty"`
}

// ProfileRegimen is a schedule.Regimen on the wire; durations are whole
// seconds.
type ProfileRegimen struct {
	Medication      string `json:"medication"`
	Cron            string `json:"cron,omitempty"`
	WindowS         int64  `json:"window_s,omitempty"`
	EarlyS          int64  `json:"early_s,omitempty"`
	LateS           int64  `json:"late_s,omitempty"`
	PRNMinIntervalS int64  `json:"prn_min_interval_s,omitempty"`
	PRNMaxPerDay    int    `json:"prn_max_per_day,omitempty"`
}

// ProfileMeter is a paired health device (vitals.Device) on the wire.
type ProfileMeter struct {
	Address string `json:"address"`
	Kind    string `json:"kind"`
	Name    string `json:"name,omitempty"`
}

// NewProfile builds the profile of a dispenser's configuration.
func NewProfile(p dispenser.Patient, meds []dispenser.Medication, regs []schedule.Regimen, meters []vitals.Device) *Profile {
	pr := &Profile{Version: ProfileVersion, Timezone: p.Timezone}
	for _, m := range meds {
		pr.Medications = append(pr.Medications, ProfileMedication{ID: m.ID, Name: m.Name, Strength: m.Strength,
			PillsPerDose: m.PillsPerDose, Compartment: m.Compartment, Class: m.Class, Critical: m.Critical})
	}
	for _, r := range regs {
		w := ProfileRegimen{Medication: r.Medication, Cron: r.Cron, WindowS: secs(r.Window), EarlyS: secs(r.Early), LateS: secs(r.Late)}
		if r.PRN != nil {
			w.PRNMinIntervalS, w.PRNMaxPerDay = secs(r.PRN.MinInterval), r.PRN.MaxPerDay
		}
		pr.Regimens = append(pr.Regimens, w)
	}
	for _, d := range meters {
		pr.Meters = append(pr.Meters, ProfileMeter{Address: d.Address, Kind: d.Kind, Name: d.Name})
	}
	return pr
}

// ThresholdsVersion is the version of ProfileThresholds this package
// writes and reads. The part has a version of its own so that a device can
// change it without a new profile version: a clinic keeps a part of
// another version but uses none of it (its reports keep the defaults).
const ThresholdsVersion = 1

// ProfileThresholds are the vitals alert thresholds the dispenser applies
// (vitals.Config.EffectiveThresholds: defaults filled in), the ones the
// clinic's reports draw and count by. A value left out (zero) is the
// default, as in the config.
type ProfileThresholds struct {
	Version         int     `json:"version"`
	GlucoseLow      float64 `json:"glucose_low,omitempty"`      // mg/dL; alert below
	GlucoseHigh     float64 `json:"glucose_high,omitempty"`     // mg/dL; alert above
	CrisisSystolic  float64 `json:"crisis_systolic,omitempty"`  // mmHg; alert at or above
	CrisisDiastolic float64 `json:"crisis_diastolic,omitempty"` // mmHg; alert at or above
	SpO2Scale       int     `json:"spo2_scale,omitempty"`       // NEWS2 SpO2 scale, 1 or 2
}

// WithThresholds sets the profile's thresholds to those the config's
// vitals rules apply; a nil config (no vitals: section, no rules) sets
// none. It returns p.
func (p *Profile) WithThresholds(c *vitals.Config) *Profile {
	if c == nil {
		p.Thresholds = nil
		return p
	}
	t := c.EffectiveThresholds()
	p.Thresholds = &ProfileThresholds{Version: ThresholdsVersion, GlucoseLow: t.GlucoseLow, GlucoseHigh: t.GlucoseHigh,
		CrisisSystolic: t.CrisisSystolic, CrisisDiastolic: t.CrisisDiastolic, SpO2Scale: t.SpO2Scale}
	return p
}

// UnmarshalJSON reads the part leniently, unlike the rest of a batch:
// fields it does not know are ignored, and a part of another version keeps
// only its version, so that a newer device's thresholds never make the
// clinic refuse its batch (they are left unused instead; see Domain).
func (t *ProfileThresholds) UnmarshalJSON(data []byte) error {
	var v struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return fmt.Errorf("profile.thresholds: %w", jsonError(err))
	}
	if v.Version != ThresholdsVersion {
		*t = ProfileThresholds{Version: v.Version}
		return nil
	}
	type plain ProfileThresholds // without this method
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return fmt.Errorf("profile.thresholds: %w", jsonError(err))
	}
	*t = ProfileThresholds(p)
	return nil
}

// Domain returns the thresholds as the vitals rules' type, with the
// defaults in place of the values left out. Values the dispenser's own
// config check would refuse (a glucose_low of 5, a high below the low, a
// scale 3) make it return an error naming them and no thresholds: the
// clinic then keeps its defaults rather than a part of the patient's.
func (t *ProfileThresholds) Domain() (vitals.Thresholds, error) {
	if t.Version != ThresholdsVersion {
		return vitals.Thresholds{}, fmt.Errorf("uplink: profile thresholds: version %d, want %d", t.Version, ThresholdsVersion)
	}
	c := vitals.Config{Thresholds: vitals.Thresholds{GlucoseLow: t.GlucoseLow, GlucoseHigh: t.GlucoseHigh,
		CrisisSystolic: t.CrisisSystolic, CrisisDiastolic: t.CrisisDiastolic, SpO2Scale: t.SpO2Scale}}
	if ps := c.Validate(); len(ps) > 0 {
		msgs := make([]string, len(ps))
		for i, p := range ps {
			msgs[i] = p.Path + ": " + p.Msg
		}
		return vitals.Thresholds{}, fmt.Errorf("uplink: profile thresholds: %s", strings.Join(msgs, "; "))
	}
	return c.EffectiveThresholds(), nil
}

func secs(d time.Duration) int64 { return int64(d / time.Second) }

// Domain returns the profile as the domain's types. The zone must load;
// the regimens are returned as sent (schedule.NewPlan checks them).
func (p *Profile) Domain() (loc *time.Location, meds []dispenser.Medication, regs []schedule.Regimen, meters []vitals.Device, err error) {
	if p.Version != ProfileVersion {
		return nil, nil, nil, nil, fmt.Errorf("uplink: profile version %d, want %d", p.Version, ProfileVersion)
	}
	if loc, err = time.LoadLocation(p.Timezone); err != nil || p.Timezone == "" {
		return nil, nil, nil, nil, fmt.Errorf("uplink: profile: unknown time zone %q", p.Timezone)
	}
	for _, m := range p.Medications {
		meds = append(meds, dispenser.Medication{ID: m.ID, Name: m.Name, Strength: m.Strength, PillsPerDose: m.PillsPerDose,
			Compartment: m.Compartment, Class: m.Class, Critical: m.Critical})
	}
	for _, r := range p.Regimens {
		sr := schedule.Regimen{Medication: r.Medication, Cron: r.Cron, Window: time.Duration(r.WindowS) * time.Second,
			Early: time.Duration(r.EarlyS) * time.Second, Late: time.Duration(r.LateS) * time.Second}
		if r.PRNMaxPerDay > 0 || r.PRNMinIntervalS > 0 {
			sr.PRN = &schedule.PRN{MinInterval: time.Duration(r.PRNMinIntervalS) * time.Second, MaxPerDay: r.PRNMaxPerDay}
		}
		regs = append(regs, sr)
	}
	for _, d := range p.Meters {
		meters = append(meters, vitals.Device{Address: d.Address, Kind: d.Kind, Name: d.Name})
	}
	return loc, meds, regs, meters, nil
}

// Limits of a profile: far above a real dispenser's.
const (
	maxProfileItems = 64
	maxProfileDays  = 366 * 24 * 3600 // durations, in seconds
)

// validate checks the profile's sizes and texts; its meaning (does the
// cron parse, does the zone exist) is the reader's to check, so that a
// profile a newer device writes never makes a batch fail.
func (p *Profile) validate() error {
	if len(p.Medications) > maxProfileItems || len(p.Regimens) > maxProfileItems || len(p.Meters) > maxProfileItems {
		return fmt.Errorf("at most %d medications, regimens and meters each", maxProfileItems)
	}
	errs := []error{checkText("timezone", p.Timezone, maxShort)}
	for i, m := range p.Medications {
		if m.PillsPerDose < 0 || m.PillsPerDose > 100 || m.Compartment < 0 || m.Compartment > 1000 {
			errs = append(errs, fmt.Errorf("medications[%d]: pills_per_dose or compartment out of range", i))
		}
		errs = append(errs, checkText("medications.id", m.ID, maxShort), checkText("medications.name", m.Name, maxShort),
			checkText("medications.strength", m.Strength, maxShort), checkText("medications.class", m.Class, maxShort))
	}
	for i, r := range p.Regimens {
		for _, s := range []int64{r.WindowS, r.EarlyS, r.LateS, r.PRNMinIntervalS} {
			if s < 0 || s > maxProfileDays {
				errs = append(errs, fmt.Errorf("regimens[%d]: a duration is out of range", i))
				break
			}
		}
		if r.PRNMaxPerDay < 0 || r.PRNMaxPerDay > 1000 {
			errs = append(errs, fmt.Errorf("regimens[%d]: prn_max_per_day out of range", i))
		}
		errs = append(errs, checkText("regimens.medication", r.Medication, maxShort), checkText("regimens.cron", r.Cron, maxShort))
	}
	for _, d := range p.Meters {
		errs = append(errs, checkText("meters.address", d.Address, maxShort), checkText("meters.kind", d.Kind, maxShort),
			checkText("meters.name", d.Name, maxShort))
	}
	// The values are the reader's to judge (Domain), but a part must say
	// which version it is.
	if p.Thresholds != nil && p.Thresholds.Version < 1 {
		errs = append(errs, errors.New("thresholds.version: must be at least 1"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	return nil
}
