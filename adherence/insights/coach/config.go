package coach

import (
	"time"

	"github.com/pillbox/pillbox/internal/problem"
)

// Config is the `insights:` section of the dispenser's config file. Every
// field is optional; a zero field takes the default documented on it.
type Config struct {
	// HeadsUpRisk is the missed-dose risk (0 to 1) from which a dose gets
	// a heads-up: an extra prompt on the device before its first chime,
	// and a text to caregivers who opted in (contacts[].heads_up).
	// Default 0.5.
	HeadsUpRisk float64 `yaml:"heads_up_risk"`
	// HeadsUpLead is how long before the dose's first chime the heads-up
	// comes. Default 30m.
	HeadsUpLead time.Duration `yaml:"heads_up_lead"`
	// HeadsUps false turns heads-ups off, prompts and texts. Default true.
	HeadsUps *bool `yaml:"heads_ups"`
	// BaselineWarnings false turns off the early warnings from the
	// patient's own vital-sign baselines (the fixed thresholds of
	// vitals: are not affected). Default true.
	BaselineWarnings *bool `yaml:"baseline_warnings"`
}

// Defaults of the insights section.
const (
	DefaultHeadsUpRisk = 0.5
	DefaultHeadsUpLead = 30 * time.Minute
	minHeadsUpRisk     = 0.05
	minHeadsUpLead     = 5 * time.Minute
	maxHeadsUpLead     = 3 * time.Hour
)

// Validate checks the section. Paths are relative to it.
func (c Config) Validate() problem.List {
	var l problem.List
	if r := c.HeadsUpRisk; r != 0 && !(r >= minHeadsUpRisk && r <= 1) {
		l.Add("heads_up_risk", "write a risk from 0.05 to 1, e.g. 0.5 (half of such doses are missed); heads_ups: false turns them off",
			"heads_up_risk %g is out of range", r)
	}
	if d := c.HeadsUpLead; d != 0 && (d < minHeadsUpLead || d > maxHeadsUpLead) {
		l.Add("heads_up_lead", "write a duration from 5m to 3h, e.g. 30m", "heads_up_lead %s is out of range", d)
	}
	return l
}

// resolved is c with its defaults.
func (c Config) resolved() Config {
	if c.HeadsUpRisk == 0 {
		c.HeadsUpRisk = DefaultHeadsUpRisk
	}
	if c.HeadsUpLead == 0 {
		c.HeadsUpLead = DefaultHeadsUpLead
	}
	return c
}

// HeadsUpsOn reports whether heads-ups are on.
func (c Config) HeadsUpsOn() bool { return c.HeadsUps == nil || *c.HeadsUps }

// BaselinesOn reports whether the baseline warnings are on.
func (c Config) BaselinesOn() bool { return c.BaselineWarnings == nil || *c.BaselineWarnings }
