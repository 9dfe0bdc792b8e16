package dispenser

import "github.com/pillbox/pillbox/internal/i18n"

// Patient is the `patient:` section of the config file.
type Patient struct {
	// FirstName is the only personal detail that may appear in SMS by default.
	FirstName string `yaml:"first_name"`
	// Timezone is an IANA zone name such as "America/New_York"; every
	// schedule is read in it and every time the patient sees is shown in it.
	Timezone string `yaml:"timezone"`
	// Language is a BCP 47 tag ("es", "pt-BR") for everything the patient
	// reads and hears: the display, the spoken prompts, the patient's
	// texts. Default en.
	Language string `yaml:"language"`
	// Clock24h shows times as 20:00 (true) or 8:00 PM (false); left out,
	// the language's usual clock (12-hour in English, 24-hour in the
	// others).
	Clock24h *bool `yaml:"clock_24h"`
}

// Locale is the catalogue of the patient's language.
func (p Patient) Locale() *i18n.Locale {
	if p.Language == "" {
		return i18n.Lookup(i18n.Base)
	}
	return i18n.Lookup(p.Language)
}

// Clock is the patient's clock: the one set, or the language's.
func (p Patient) Clock() i18n.ClockStyle {
	switch {
	case p.Clock24h == nil:
		return i18n.LocaleClock
	case *p.Clock24h:
		return i18n.Clock24
	}
	return i18n.Clock12
}

// Use24h reports whether the patient reads 24-hour times.
func (p Patient) Use24h() bool {
	c := p.Clock()
	return c == i18n.Clock24 || c == i18n.LocaleClock && p.Locale().Uses24h()
}

// Medication is one entry of the `medications:` list.
type Medication struct {
	ID           string `yaml:"id"`             // short slug used in schedules and logs, e.g. "metformin"
	Name         string `yaml:"name"`           // as on the pharmacy label
	Strength     string `yaml:"strength"`       // e.g. "500 mg"
	PillsPerDose int    `yaml:"pills_per_dose"` // units dispensed per dose
	Compartment  int    `yaml:"compartment"`    // compartment id holding it
	Class        string `yaml:"class"`          // drug class for PDC (optional)
	// Critical marks a medication whose missed dose is a high-priority alert
	// (e.g. anticoagulants, anti-epileptics, insulin secretagogues).
	Critical bool `yaml:"critical"`
}
