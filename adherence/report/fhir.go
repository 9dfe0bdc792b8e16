package report

import (
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/pillbox/pillbox/hw/vital"
)

// A report as a FHIR R4 (4.0.1) Bundle of type collection: the Patient,
// a Device for the dispenser and each paired meter, a MedicationRequest
// per regimen, a MedicationAdministration per dose, an Observation per
// reading (vital-signs category, LOINC code, UCUM unit; a blood pressure
// pair as the 85354-9 panel) and the adherence figures as Observations.
// Resource ids are name-based UUIDs of the subject and the record, so the
// same report exported twice has the same ids. The test suite validates
// the output with an independent validator (tools/fhir-validate).

// Code systems.
const (
	sysLOINC      = "http://loinc.org"
	sysUCUM       = "http://unitsofmeasure.org"
	sysObsCat     = "http://terminology.hl7.org/CodeSystem/observation-category"
	sysAbsent     = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
	sysInterp     = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
	sysURI        = "urn:ietf:rfc:3986"
	sysPatientID  = "urn:pillbox:patient"
	sysDeviceID   = "urn:pillbox:device"
	sysBluetooth  = "urn:pillbox:bluetooth-address"
	sysDoseID     = "urn:pillbox:dose"
	sysReadingID  = "urn:pillbox:reading"
	sysOutcome    = "urn:pillbox:dose-outcome"
	sysMetric     = "urn:pillbox:adherence-metric"
	vitalSignsCat = "vital-signs"
)

type fhirCoding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

type fhirConcept struct {
	Coding []fhirCoding `json:"coding,omitempty"`
	Text   string       `json:"text,omitempty"`
}

type fhirQuantity struct {
	Value  *float64 `json:"value,omitempty"`
	Unit   string   `json:"unit,omitempty"`
	System string   `json:"system,omitempty"`
	Code   string   `json:"code,omitempty"`
}

type fhirRef struct {
	Reference string `json:"reference,omitempty"`
	Display   string `json:"display,omitempty"`
}

type fhirIdentifier struct {
	System string `json:"system"`
	Value  string `json:"value"`
}

type fhirPeriod struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
}

type fhirAnnotation struct {
	Text string `json:"text"`
}

type fhirComponent struct {
	Code              fhirConcept   `json:"code"`
	ValueQuantity     *fhirQuantity `json:"valueQuantity,omitempty"`
	DataAbsentReason  *fhirConcept  `json:"dataAbsentReason,omitempty"`
	Interpretation    []fhirConcept `json:"interpretation,omitempty"`
	ValueInteger      *int          `json:"valueInteger,omitempty"`
	ValueCodeableConc *fhirConcept  `json:"valueCodeableConcept,omitempty"`
}

type fhirObservation struct {
	ResourceType      string           `json:"resourceType"`
	ID                string           `json:"id"`
	Identifier        []fhirIdentifier `json:"identifier,omitempty"`
	Status            string           `json:"status"`
	Category          []fhirConcept    `json:"category,omitempty"`
	Code              fhirConcept      `json:"code"`
	Subject           fhirRef          `json:"subject"`
	Focus             []fhirRef        `json:"focus,omitempty"`
	EffectiveDateTime string           `json:"effectiveDateTime,omitempty"`
	EffectivePeriod   *fhirPeriod      `json:"effectivePeriod,omitempty"`
	Issued            string           `json:"issued,omitempty"`
	ValueQuantity     *fhirQuantity    `json:"valueQuantity,omitempty"`
	ValueInteger      *int             `json:"valueInteger,omitempty"`
	DataAbsentReason  *fhirConcept     `json:"dataAbsentReason,omitempty"`
	Interpretation    []fhirConcept    `json:"interpretation,omitempty"`
	Note              []fhirAnnotation `json:"note,omitempty"`
	Device            *fhirRef         `json:"device,omitempty"`
	Component         []fhirComponent  `json:"component,omitempty"`
}

type fhirEntry struct {
	FullURL  string `json:"fullUrl"`
	Resource any    `json:"resource"`
}

type fhirBundle struct {
	ResourceType string         `json:"resourceType"`
	ID           string         `json:"id"`
	Identifier   fhirIdentifier `json:"identifier"`
	Type         string         `json:"type"`
	Timestamp    string         `json:"timestamp"`
	Entry        []fhirEntry    `json:"entry"`
}

// loinc is q's LOINC coding (vital.QuantitySpec), if it has one.
func loinc(q vital.Quantity) (c fhirCoding, spec vital.QuantitySpec, ok bool) {
	spec, known := q.Spec()
	if !known || spec.LOINC.Code == "" {
		return fhirCoding{}, spec, false
	}
	return fhirCoding{System: sysLOINC, Code: spec.LOINC.Code, Display: spec.LOINC.Display}, spec, true
}

const bpPanelCode, bpPanelDisplay = "85354-9", "Blood pressure panel with all children optional"

// fhirID returns a name-based UUID (version 5 layout) of the parts.
func fhirID(parts ...string) string {
	h := sha1.Sum([]byte(strings.Join(parts, "\x00")))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

func fhirTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func fv(v float64) *float64 {
	v = math.Round(v*1e6) / 1e6
	return &v
}

// dataAbsent maps a reading's Absent text to the data-absent-reason code.
func dataAbsent(absent string) *fhirConcept {
	code, display := "error", "Error"
	switch {
	case strings.HasPrefix(absent, "NaN"):
		code, display = "not-a-number", "Not a Number (NaN)"
	case strings.HasPrefix(absent, "+INF"):
		code, display = "positive-infinity", "Positive Infinity (PINF)"
	case strings.HasPrefix(absent, "-INF"):
		code, display = "negative-infinity", "Negative Infinity (NINF)"
	case strings.HasPrefix(absent, "NRes"), strings.HasPrefix(absent, "reserved"):
		code, display = "unsupported", "Unsupported"
	}
	return &fhirConcept{Coding: []fhirCoding{{System: sysAbsent, Code: code, Display: display}}, Text: absent}
}

// excludedAbsent is the data-absent reason of a reading a quality flag
// keeps out of the patient's values: its value is not exported. A
// control-solution test is a check of the meter (the patient's glucose was
// not measured); anything else the device or its data got wrong.
func excludedAbsent(r vital.Reading) *fhirConcept {
	code, display := "error", "Error"
	if r.Flagged(vital.ControlSolution) {
		code, display = "not-performed", "Not Performed"
	}
	var why []string
	for _, f := range r.Flags {
		if f.Code.Excludes() {
			why = append(why, f.Reason)
		}
	}
	return &fhirConcept{Coding: []fhirCoding{{System: sysAbsent, Code: code, Display: display}}, Text: strings.Join(why, "; ")}
}

func (fb *fhirBuilder) interpretation(q vital.Quantity, r vital.Reading) []fhirConcept {
	b, _, ok := fb.r.Band(q)
	if !ok || !r.Clinical() || len(r.Unreliable) > 0 {
		return nil
	}
	switch {
	case r.Value < b.Low:
		return []fhirConcept{{Coding: []fhirCoding{{System: sysInterp, Code: "L", Display: "Low"}}}}
	case r.Value > b.High:
		return []fhirConcept{{Coding: []fhirCoding{{System: sysInterp, Code: "H", Display: "High"}}}}
	}
	return []fhirConcept{{Coding: []fhirCoding{{System: sysInterp, Code: "N", Display: "Normal"}}}}
}

func quantityOf(r vital.Reading) *fhirQuantity {
	if !r.HasValue() {
		return nil
	}
	if r.Quantity == vital.Height && r.Unit == "m" {
		// The R4 body height profile wants cm or [in_i].
		return &fhirQuantity{Value: fv(r.Value * 100), Unit: "cm", System: sysUCUM, Code: "cm"}
	}
	unit := vital.UnitLabel(r.Unit)
	if unit == "" {
		unit = r.Unit
	}
	return &fhirQuantity{Value: fv(r.Value), Unit: unit, System: sysUCUM, Code: r.Unit}
}

// fhirBuilder collects the entries of one bundle.
type fhirBuilder struct {
	r       *Report
	entries []fhirEntry
	patient fhirRef
	device  map[string]fhirRef // dispenser ids and meter addresses
	request map[string]fhirRef // medication id -> its MedicationRequest
}

func (b *fhirBuilder) add(id string, res any) fhirRef {
	ref := fhirRef{Reference: "urn:uuid:" + id}
	b.entries = append(b.entries, fhirEntry{FullURL: ref.Reference, Resource: res})
	return ref
}

// WriteFHIR writes the report as a FHIR R4 Bundle (JSON).
func (r *Report) WriteFHIR(w io.Writer) error {
	b := &fhirBuilder{r: r, device: map[string]fhirRef{}, request: map[string]fhirRef{}}
	sub := r.Subject.ID
	b.patient = b.add(fhirID(sub, "Patient"), map[string]any{
		"resourceType": "Patient", "id": fhirID(sub, "Patient"),
		"identifier": []fhirIdentifier{{System: sysPatientID, Value: sub}},
		"name":       []map[string]string{{"text": r.Subject.Name}},
	})
	b.patient.Display = r.Subject.Name
	b.devices()
	b.requests()
	b.administrations()
	b.observations()
	b.summary()
	bundle := fhirBundle{ResourceType: "Bundle", ID: fhirID(sub, "Bundle", fhirTime(r.From), fhirTime(r.To), fhirTime(r.Generated)),
		Identifier: fhirIdentifier{System: sysURI, Value: "urn:uuid:" + fhirID(sub, "Bundle", fhirTime(r.From), fhirTime(r.To), fhirTime(r.Generated))},
		Type:       "collection", Timestamp: fhirTime(r.Generated), Entry: b.entries}
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(bundle)
}

func (b *fhirBuilder) devices() {
	sub := b.r.Subject.ID
	for _, d := range b.r.Dispensers {
		id := fhirID(sub, "Device", d.ID)
		name := "Pillbox dispenser"
		if d.Label != "" {
			name += " (" + d.Label + ")"
		}
		res := map[string]any{"resourceType": "Device", "id": id, "status": "active",
			"identifier": []fhirIdentifier{{System: sysDeviceID, Value: d.ID}},
			"deviceName": []map[string]string{{"name": name, "type": "user-friendly-name"}},
			"type":       fhirConcept{Text: "Automated medication dispenser"},
			"patient":    b.patient,
		}
		if d.Software != "" {
			res["version"] = []map[string]string{{"value": d.Software}}
		}
		b.device[d.ID] = b.add(id, res)
	}
	meters := slices.Clone(b.r.setup.Meters)
	known := map[string]bool{}
	for _, m := range meters {
		addr, _ := vital.NormalizeAddress(m.Address)
		known[addr] = true
	}
	// A reading from a device the profile does not list still names its
	// source.
	for _, rd := range b.r.Readings {
		if addr, ok := vital.NormalizeAddress(rd.Device); ok && !known[addr] {
			known[addr] = true
			meters = append(meters, Meter{Address: addr})
		}
	}
	for _, m := range meters {
		addr, _ := vital.NormalizeAddress(m.Address)
		id := fhirID(sub, "Device", addr)
		kind := m.Title()
		name := m.Label()
		if m.Kind == "" && m.Name == "" {
			name = kind
		}
		b.device[addr] = b.add(id, map[string]any{"resourceType": "Device", "id": id, "status": "active",
			"identifier": []fhirIdentifier{{System: sysBluetooth, Value: addr}},
			"deviceName": []map[string]string{{"name": name, "type": "user-friendly-name"}},
			"type":       fhirConcept{Text: kind},
			"patient":    b.patient,
		})
	}
}

func (b *fhirBuilder) medConcept(id string) fhirConcept {
	m, ok := b.r.setup.Medication(id)
	if !ok || m.Name == "" {
		return fhirConcept{Text: id}
	}
	return fhirConcept{Text: strings.TrimSpace(m.Name + " " + m.Strength)}
}

// timesOfDay lists the local times a medication is scheduled at in the
// report's period (from its doses), as FHIR times.
func (b *fhirBuilder) timesOfDay(med string) []string {
	var out []string
	for _, d := range b.r.Doses {
		if d.Medication == med && !d.PRN {
			t := d.Scheduled.In(b.r.setup.loc()).Format("15:04:05")
			if !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	slices.Sort(out)
	return out
}

func (b *fhirBuilder) requests() {
	sub := b.r.Subject.ID
	for i, reg := range b.r.setup.Regimens {
		m, _ := b.r.setup.Medication(reg.Medication)
		pills := float64(max(m.PillsPerDose, 1))
		id := fhirID(sub, "MedicationRequest", reg.Medication, fmt.Sprint(i))
		dose := map[string]any{"doseQuantity": fhirQuantity{Value: fv(pills), Unit: "tablet", System: sysUCUM, Code: "{tbl}"}}
		dosage := map[string]any{"sequence": 1, "doseAndRate": []any{dose}}
		var text string
		if reg.Cron != "" {
			times := b.timesOfDay(reg.Medication)
			repeat := map[string]any{}
			if len(times) > 0 {
				repeat["timeOfDay"] = times
			}
			if f := b.r.facts[reg.Medication]; f.DosesPerDay > 0 && f.DosesPerDay == math.Trunc(f.DosesPerDay) {
				repeat["frequency"], repeat["period"], repeat["periodUnit"] = int(f.DosesPerDay), 1, "d"
			}
			timing := map[string]any{"code": fhirConcept{Text: "cron " + reg.Cron}}
			if len(repeat) > 0 {
				timing["repeat"] = repeat
			}
			dosage["timing"] = timing
			text = fmt.Sprintf("%g tablet(s) at %s (dispenser schedule %q)", pills, strings.Join(times, ", "), reg.Cron)
		}
		if reg.PRN != nil {
			dosage["asNeededBoolean"] = true
			dosage["maxDosePerPeriod"] = map[string]any{
				"numerator":   fhirQuantity{Value: fv(pills * float64(reg.PRN.MaxPerDay)), Unit: "tablet", System: sysUCUM, Code: "{tbl}"},
				"denominator": fhirQuantity{Value: fv(1), Unit: "day", System: sysUCUM, Code: "d"},
			}
			text = strings.TrimSpace(text + fmt.Sprintf(" As needed: %g tablet(s), at least %s apart, at most %d doses a day.",
				pills, reg.PRN.MinInterval, reg.PRN.MaxPerDay))
		}
		dosage["text"] = text
		ref := b.add(id, map[string]any{"resourceType": "MedicationRequest", "id": id, "status": "active", "intent": "order",
			"medicationCodeableConcept": b.medConcept(reg.Medication), "subject": b.patient,
			"dosageInstruction": []any{dosage}})
		if _, ok := b.request[reg.Medication]; !ok {
			b.request[reg.Medication] = ref
		}
	}
}

var outcomeText = map[Outcome]string{
	OutcomeMissed:    "Missed: the dose window closed without the dispenser's button being pressed",
	OutcomeNotTaken:  "Not taken: dispensed but left in the dispenser's cup",
	OutcomeSkipped:   "Skipped on purpose",
	OutcomeJammed:    "Not given: the dispenser jammed and the pills did not fall",
	OutcomeUncertain: "Unknown: the dispense was interrupted; the pills may or may not have fallen",
}

func (b *fhirBuilder) administrations() {
	sub := b.r.Subject.ID
	var dispenser fhirRef
	if len(b.r.Dispensers) == 1 {
		dispenser = b.device[b.r.Dispensers[0].ID]
	}
	for _, d := range b.r.Doses {
		if d.Outcome == OutcomePending || d.PRN && !d.Dropped {
			continue
		}
		id := fhirID(sub, "MedicationAdministration", d.ID)
		m, _ := b.r.setup.Medication(d.Medication)
		res := map[string]any{"resourceType": "MedicationAdministration", "id": id,
			"identifier":                []fhirIdentifier{{System: sysDoseID, Value: d.ID}},
			"medicationCodeableConcept": b.medConcept(d.Medication), "subject": b.patient,
		}
		note := fmt.Sprintf("Scheduled %s (%s). Known by: %s; confidence %s.", d.Local, b.r.Timezone,
			orNone(strings.Join(d.Signals, ", ")), orNone(d.Confidence))
		switch {
		case d.Outcome == OutcomeTaken:
			res["status"] = "completed"
			res["effectiveDateTime"] = fhirTime(d.Taken)
		case d.FalseMiss != nil:
			res["status"] = "completed"
			res["effectiveDateTime"] = fhirTime(d.Scheduled)
			note += fmt.Sprintf(" Recorded as %s; reported taken (%s, %s): %s", d.Outcome, d.FalseMiss.Source, d.FalseMiss.By, d.FalseMiss.Reason)
		case d.Outcome == OutcomeUncertain:
			res["status"] = "unknown"
			res["effectiveDateTime"] = fhirTime(d.Scheduled)
			res["statusReason"] = []fhirConcept{{Coding: []fhirCoding{{System: sysOutcome, Code: string(d.Outcome)}}, Text: outcomeText[d.Outcome]}}
		default:
			res["status"] = "not-done"
			res["effectiveDateTime"] = fhirTime(d.Scheduled)
			res["statusReason"] = []fhirConcept{{Coding: []fhirCoding{{System: sysOutcome, Code: string(d.Outcome)}}, Text: outcomeText[d.Outcome]}}
		}
		if !d.PRN && res["status"] == "completed" && d.FalseMiss == nil {
			if d.OnTime {
				note += " Taken inside its window."
			} else {
				note += " Taken outside its window."
			}
		}
		res["note"] = []fhirAnnotation{{Text: note}}
		if ref, ok := b.request[d.Medication]; ok {
			res["request"] = ref
		}
		if dispenser.Reference != "" {
			res["device"] = []fhirRef{dispenser}
		}
		if res["status"] == "completed" {
			res["dosage"] = map[string]any{"dose": fhirQuantity{Value: fv(float64(max(m.PillsPerDose, 1))), Unit: "tablet", System: sysUCUM, Code: "{tbl}"}}
		}
		b.add(id, res)
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func vitalCategory() []fhirConcept {
	return []fhirConcept{{Coding: []fhirCoding{{System: sysObsCat, Code: vitalSignsCat, Display: "Vital Signs"}}, Text: "Vital Signs"}}
}

// observations writes one Observation per reading; a systolic and a
// diastolic reading of one device at one instant become one blood
// pressure panel.
func (b *fhirBuilder) observations() {
	type key struct {
		device string
		at     time.Time
	}
	dia := map[key]vital.Reading{}
	sys := map[key]bool{}
	for _, rd := range b.r.Readings {
		switch rd.Quantity {
		case vital.Diastolic:
			dia[key{rd.Device, rd.Time}] = rd
		case vital.Systolic:
			sys[key{rd.Device, rd.Time}] = true
		}
	}
	for _, rd := range b.r.Readings {
		k := key{rd.Device, rd.Time}
		switch {
		case rd.Quantity == vital.Systolic:
			d, ok := dia[k]
			var dp *vital.Reading
			if ok {
				dp = &d
			}
			b.bloodPressure(rd, dp)
		case rd.Quantity == vital.Diastolic && sys[k]:
			// In the panel of its systolic reading.
		default:
			b.reading(rd)
		}
	}
}

func (b *fhirBuilder) obsBase(rd vital.Reading, code fhirConcept) fhirObservation {
	o := fhirObservation{ResourceType: "Observation", ID: fhirID(b.r.Subject.ID, "Observation", rd.ID, string(rd.Quantity)),
		Status: "final", Code: code, Subject: b.patient, EffectiveDateTime: fhirTime(rd.Time)}
	if rd.ID != "" {
		o.Identifier = []fhirIdentifier{{System: sysReadingID, Value: rd.ID}}
	}
	if addr, ok := vital.NormalizeAddress(rd.Device); ok {
		ref := b.device[addr]
		o.Device = &ref
	}
	var notes []string
	if len(rd.Unreliable) > 0 {
		notes = append(notes, "The device flagged this measurement: "+strings.Join(rd.Unreliable, ", ")+".")
	}
	if rd.Original != "" {
		notes = append(notes, "As measured: "+rd.Original+".")
	}
	switch {
	case !rd.DeviceClock.IsZero():
		notes = append(notes, "Time corrected: the device's clock was off and stamped it "+fhirTime(rd.DeviceClock)+".")
	case !rd.DeviceTime:
		notes = append(notes, "Time of receipt (the device sent no time stamp).")
	}
	if rd.Repeats > 0 {
		notes = append(notes, fmt.Sprintf("The device sent it %d more times; kept once.", rd.Repeats))
	}
	for _, n := range notes {
		o.Note = append(o.Note, fhirAnnotation{Text: n})
	}
	return o
}

func (b *fhirBuilder) reading(rd vital.Reading) {
	lc, spec, known := loinc(rd.Quantity)
	code := fhirConcept{Text: string(rd.Quantity)}
	if known {
		code = fhirConcept{Coding: []fhirCoding{lc}, Text: lc.Display}
	}
	for _, c := range slices.Backward(spec.LOINCFirst) {
		code.Coding = append([]fhirCoding{{System: sysLOINC, Code: c.Code, Display: c.Display}}, code.Coding...)
	}
	o := b.obsBase(rd, code)
	if known && spec.VitalSign {
		o.Category = vitalCategory()
	} else if known {
		o.Category = []fhirConcept{{Coding: []fhirCoding{{System: sysObsCat, Code: "laboratory", Display: "Laboratory"}}}}
	}
	switch {
	case rd.Excluded():
		o.DataAbsentReason = excludedAbsent(rd)
	case rd.HasValue():
		o.ValueQuantity = quantityOf(rd)
		o.Interpretation = b.interpretation(rd.Quantity, rd)
	default:
		o.DataAbsentReason = dataAbsent(rd.Absent)
	}
	b.add(o.ID, o)
}

func (b *fhirBuilder) bloodPressure(s vital.Reading, d *vital.Reading) {
	o := b.obsBase(s, fhirConcept{Coding: []fhirCoding{{System: sysLOINC, Code: bpPanelCode, Display: bpPanelDisplay}}, Text: "Blood pressure"})
	o.Category = vitalCategory()
	comp := func(rd *vital.Reading, q vital.Quantity) fhirComponent {
		lc, _, _ := loinc(q)
		c := fhirComponent{Code: fhirConcept{Coding: []fhirCoding{lc}, Text: lc.Display}}
		switch {
		case rd == nil:
			c.DataAbsentReason = &fhirConcept{Coding: []fhirCoding{{System: sysAbsent, Code: "unknown", Display: "Unknown"}}}
		case rd.Excluded():
			c.DataAbsentReason = excludedAbsent(*rd)
		case rd.HasValue():
			c.ValueQuantity = quantityOf(*rd)
			c.Interpretation = b.interpretation(q, *rd)
		default:
			c.DataAbsentReason = dataAbsent(rd.Absent)
		}
		return c
	}
	o.Component = []fhirComponent{comp(&s, vital.Systolic), comp(d, vital.Diastolic)}
	if d != nil && len(d.Unreliable) > 0 && len(s.Unreliable) == 0 {
		o.Note = append(o.Note, fhirAnnotation{Text: "The device flagged the diastolic value: " + strings.Join(d.Unreliable, ", ") + "."})
	}
	b.add(o.ID, o)
}

// summary writes the adherence figures of the period as Observations:
// overall and per medication (focus: its MedicationRequest), and PDC per
// class.
func (b *fhirBuilder) summary() {
	r := b.r
	period := &fhirPeriod{Start: fhirTime(r.From), End: fhirTime(r.To)}
	therapy := []fhirConcept{{Coding: []fhirCoding{{System: sysObsCat, Code: "therapy", Display: "Therapy"}}}}
	pct := func(v float64) *fhirQuantity {
		return &fhirQuantity{Value: fv(100 * v), Unit: "%", System: sysUCUM, Code: "%"}
	}
	add := func(scope, metric, display string, focus []fhirRef, v *fhirQuantity, n *int, note string) {
		id := fhirID(r.Subject.ID, "Observation", "summary", scope, metric, fhirTime(r.From), fhirTime(r.To))
		o := fhirObservation{ResourceType: "Observation", ID: id, Status: "final", Category: therapy,
			Code:    fhirConcept{Coding: []fhirCoding{{System: sysMetric, Code: metric, Display: display}}, Text: display},
			Subject: b.patient, Focus: focus, EffectivePeriod: period, Issued: fhirTime(r.Generated), ValueQuantity: v, ValueInteger: n}
		if note != "" {
			o.Note = []fhirAnnotation{{Text: note}}
		}
		b.add(id, o)
	}
	stats := func(scope string, focus []fhirRef, s DoseStats) {
		if s.Scheduled == 0 {
			return
		}
		of := fmt.Sprintf("%d of %d scheduled doses", s.Taken, s.Scheduled)
		add(scope, "taking-adherence", "Doses taken / doses scheduled", focus, pct(s.TakingRate()), nil, of)
		add(scope, "timing-adherence", "Doses taken inside their window / doses scheduled", focus, pct(s.TimingRate()), nil,
			fmt.Sprintf("%d of %d", s.OnTime, s.Scheduled))
		add(scope, "correct-dosing-days", "Days with every dose taken / days with doses", focus, pct(s.CorrectDayRate()), nil,
			fmt.Sprintf("%d of %d days", s.CorrectDays, s.DosingDays))
		streak := s.LongestMissStreak
		add(scope, "longest-missed-dose-streak", "Longest run of consecutive doses not taken", focus, nil, &streak, "")
		hol := len(s.Holidays)
		add(scope, "drug-holidays", "Drug holidays (3 or more days without a dose)", focus, nil, &hol,
			fmt.Sprintf("%d days in all", s.HolidayDays()))
		if s.RecordedMisses > 0 {
			add(scope, "false-miss-rate", "Recorded misses reported as taken / recorded misses", focus, pct(s.FalseMissRate()), nil,
				fmt.Sprintf("%d of %d", s.FalseMisses, s.RecordedMisses))
		}
	}
	stats("all", nil, r.Overall)
	for _, m := range r.Medications {
		var focus []fhirRef
		if ref, ok := b.request[m.ID]; ok {
			focus = []fhirRef{ref}
		}
		stats("med:"+m.ID, focus, m.Stats)
	}
	for _, p := range r.PDC {
		var focus []fhirRef
		for _, med := range p.Medications {
			if ref, ok := b.request[med]; ok {
				focus = append(focus, ref)
			}
		}
		verdict := "below"
		if p.Adherent {
			verdict = "at or above"
		}
		add("class:"+p.Class, "pdc", "Proportion of days covered (PQA method, dispenser refills)", focus, pct(p.PDC), nil,
			fmt.Sprintf("Class %s: %d of %d days covered from %s, %s the 80%% threshold.", p.Class, p.Covered, p.Days, p.From, verdict))
	}
}
