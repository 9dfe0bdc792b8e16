package dispenser

// Patient is the `patient:` section of the config file.
type Patient struct {
	// FirstName is the only personal detail that may appear in SMS by default.
	FirstName string `yaml:"first_name"`
	// Timezone is an IANA zone name such as "America/New_York"; every
	// schedule is read in it and every time the patient sees is shown in it.
	Timezone string `yaml:"timezone"`
	// Clock24h shows times on the display as 20:00 rather than 8:00 PM.
	Clock24h bool `yaml:"clock_24h"`
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
