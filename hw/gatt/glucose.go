package gatt

import "fmt"

// Glucose Measurement (0x2A18) flags.
const (
	glTimeOffset     = 1 << 0
	glConcentration  = 1 << 1 // concentration, type and sample location present
	glMolPerL        = 1 << 2 // concentration in mol/L, else kg/L
	glStatus         = 1 << 3 // sensor status annunciation present
	glContextFollows = 1 << 4
	glDefined        = glTimeOffset | glConcentration | glMolPerL | glStatus | glContextFollows
)

var glucoseTypes = map[uint8]string{
	1: "capillary whole blood", 2: "capillary plasma",
	3: "venous whole blood", 4: "venous plasma",
	5: "arterial whole blood", 6: "arterial plasma",
	7: "undetermined whole blood", 8: "undetermined plasma",
	9: "interstitial fluid", 10: "control solution",
}

var sampleLocations = map[uint8]string{
	1: "finger", 2: "alternate site test", 3: "earlobe", 4: "control solution",
	15: "not available",
}

const (
	glucoseTypeControl     = 10
	sampleLocationControl  = 4
	TimeFault              = "time fault"
	glucoseStatusFieldBits = 16
)

// glucoseStatusBits: a result beyond the device's range is a "HI" or
// "LO" the meter shows instead of a number: doubtful as a value, but the
// meter worked. The temperature bits say it refused to measure where the
// strip chemistry is not reliable: a fault, as a malfunction is.
var glucoseStatusBits = []statusBit{
	{0, "device battery low", info},
	{1, "sensor malfunction", fault},
	{2, "sample size insufficient", fault},
	{3, "strip insertion error", fault},
	{4, "strip type incorrect", fault},
	{5, "result higher than device can process", doubt},
	{6, "result lower than device can process", doubt},
	{7, "sensor temperature too high", fault},
	{8, "sensor temperature too low", fault},
	{9, "sensor read interrupted", fault},
	{10, "general device fault", fault},
	{11, TimeFault, info}, // concerns the time stamp, not the value
}

// Glucose is a Glucose Measurement (0x2A18).
type Glucose struct {
	Flags uint8 `json:"flags"`
	// Sequence links the measurement to its Glucose Measurement Context.
	Sequence uint16   `json:"sequence"`
	BaseTime DateTime `json:"base_time"`
	// TimeOffset, in minutes, is added to BaseTime to give the time of
	// the measurement.
	TimeOffset *int16 `json:"time_offset_min,omitempty"`
	// Concentration is in Unit: "kg/L" or "mol/L".
	Concentration  *Float  `json:"concentration,omitempty"`
	Unit           string  `json:"unit,omitempty"`
	Type           *Code   `json:"type,omitempty"`
	SampleLocation *Code   `json:"sample_location,omitempty"`
	Status         *Status `json:"sensor_status,omitempty"`
	// ContextFollows says a Glucose Measurement Context with the same
	// Sequence comes next; Context holds it once attached.
	ContextFollows bool            `json:"context_follows,omitempty"`
	Context        *GlucoseContext `json:"context,omitempty"`
}

func decodeGlucose(r *reader, m *Measurement) error {
	flags := r.readFlags(glDefined)
	g := &Glucose{Flags: flags, ContextFollows: r.has(glContextFollows)}
	g.Sequence = r.u16("sequence number")
	g.BaseTime = r.dateTime("base time")
	if off := optional(r, glTimeOffset, "time offset", r.u16); off != nil {
		g.TimeOffset = ptrTo(int16(*off))
	}
	if g.Concentration = optional(r, glConcentration, "glucose concentration", r.sfloat); g.Concentration != nil {
		g.Unit = "kg/L"
		if r.has(glMolPerL) {
			g.Unit = "mol/L"
		}
		ts := r.u8("type-sample location")
		g.Type, g.SampleLocation = r.code("type", ts&0x0F, glucoseTypes), r.code("sample location", ts>>4, sampleLocations)
	}
	g.Status = r.status(glStatus, "sensor status annunciation", glucoseStatusFieldBits, glucoseStatusBits)
	if err := r.done(); err != nil {
		return err
	}
	m.Glucose = g
	return nil
}

// Glucose Measurement Context (0x2A34) flags.
const (
	gcCarbohydrate = 1 << 0
	gcMeal         = 1 << 1
	gcTesterHealth = 1 << 2
	gcExercise     = 1 << 3
	gcMedication   = 1 << 4
	gcMedLitres    = 1 << 5 // medication in litres, else kilograms
	gcHbA1c        = 1 << 6
	gcExtended     = 1 << 7
)

var carbohydrateIDs = map[uint8]string{
	1: "breakfast", 2: "lunch", 3: "dinner", 4: "snack", 5: "drink", 6: "supper", 7: "brunch",
}

var meals = map[uint8]string{
	1: "preprandial", 2: "postprandial", 3: "fasting", 4: "casual", 5: "bedtime",
}

var testers = map[uint8]string{
	1: "self", 2: "health care professional", 3: "lab test", 15: "not available",
}

var healths = map[uint8]string{
	1: "minor health issues", 2: "major health issues", 3: "during menses",
	4: "under stress", 5: "no health issues", 15: "not available",
}

var medicationIDs = map[uint8]string{
	1: "rapid acting insulin", 2: "short acting insulin", 3: "intermediate acting insulin",
	4: "long acting insulin", 5: "pre-mixed insulin",
}

// GlucoseContext is a Glucose Measurement Context (0x2A34): what the
// patient was doing around the Glucose Measurement with the same Sequence.
type GlucoseContext struct {
	Flags    uint8  `json:"flags"`
	Sequence uint16 `json:"sequence"`
	// ExtendedFlags are all reserved in the current specification.
	ExtendedFlags  *uint8 `json:"extended_flags,omitempty"`
	CarbohydrateID *Code  `json:"carbohydrate_id,omitempty"`
	// Carbohydrate is in kilograms.
	Carbohydrate *Float `json:"carbohydrate_kg,omitempty"`
	Meal         *Code  `json:"meal,omitempty"`
	Tester       *Code  `json:"tester,omitempty"`
	Health       *Code  `json:"health,omitempty"`
	// ExerciseDuration is in seconds; 65535 means overrun.
	ExerciseDuration *uint16 `json:"exercise_duration_s,omitempty"`
	// ExerciseIntensity is in percent.
	ExerciseIntensity *uint8 `json:"exercise_intensity_pct,omitempty"`
	MedicationID      *Code  `json:"medication_id,omitempty"`
	// Medication is in MedicationUnit: "kg" or "L".
	Medication     *Float `json:"medication,omitempty"`
	MedicationUnit string `json:"medication_unit,omitempty"`
	// HbA1c is in percent.
	HbA1c *Float `json:"hba1c,omitempty"`
}

func decodeGlucoseContext(r *reader, m *Measurement) error {
	flags := r.readFlags(0xFF) // every bit is defined; bit 7 announces the extended flags
	c := &GlucoseContext{Flags: flags}
	c.Sequence = r.u16("sequence number")
	if c.ExtendedFlags = optional(r, gcExtended, "extended flags", r.u8); c.ExtendedFlags != nil {
		r.noteReserved("extended flags", *c.ExtendedFlags, 0)
	}
	if r.has(gcCarbohydrate) {
		id := r.u8("carbohydrate id")
		v := r.sfloat("carbohydrate")
		c.CarbohydrateID, c.Carbohydrate = r.code("carbohydrate id", id, carbohydrateIDs), &v
	}
	if r.has(gcMeal) {
		c.Meal = r.code("meal", r.u8("meal"), meals)
	}
	if r.has(gcTesterHealth) {
		v := r.u8("tester-health")
		c.Tester, c.Health = r.code("tester", v&0x0F, testers), r.code("health", v>>4, healths)
	}
	if r.has(gcExercise) {
		c.ExerciseDuration = ptrTo(r.u16("exercise duration"))
		c.ExerciseIntensity = ptrTo(r.u8("exercise intensity"))
	}
	if r.has(gcMedication) {
		id := r.u8("medication id")
		v := r.sfloat("medication")
		c.MedicationID, c.Medication = r.code("medication id", id, medicationIDs), &v
		c.MedicationUnit = "kg"
		if r.has(gcMedLitres) {
			c.MedicationUnit = "L"
		}
	}
	c.HbA1c = optional(r, gcHbA1c, "HbA1c", r.sfloat)
	if err := r.done(); err != nil {
		return err
	}
	m.GlucoseContext = c
	return nil
}

// AttachContext joins a Glucose Measurement Context to the glucose
// measurement it describes, so Readings carries its meal, tester and
// health. The two must share a sequence number.
func (m *Measurement) AttachContext(ctx Measurement) error {
	switch {
	case m.Glucose == nil:
		return fmt.Errorf("gatt: attach context: %s is not a glucose measurement", m.Char)
	case ctx.GlucoseContext == nil:
		return fmt.Errorf("gatt: attach context: %s is not a glucose measurement context", ctx.Char)
	case ctx.GlucoseContext.Sequence != m.Glucose.Sequence:
		return fmt.Errorf("gatt: attach context: sequence number %d does not match measurement %d",
			ctx.GlucoseContext.Sequence, m.Glucose.Sequence)
	}
	m.Glucose.Context = ctx.GlucoseContext
	m.Notes = append(m.Notes, ctx.Notes...)
	return nil
}
