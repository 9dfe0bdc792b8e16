package report

import (
	"cmp"
	"encoding/csv"
	"encoding/json"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/hw/vital"
)

// Reports: one patient over a period, built from the log by the metrics
// above, and written as CSV, JSON (here) and FHIR R4 (fhir.go). The clinic
// service and pillctl build them from the same input, so their files are
// the same.

// Subject is the patient a report is about, as the clinic knows them.
type Subject struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// DispenserInfo is a dispenser whose log a report draws on.
type DispenserInfo struct {
	ID       string `json:"id"`
	Label    string `json:"label,omitempty"`
	Software string `json:"software,omitempty"`
}

// FalseMiss is a person's word that a recorded miss was in fact taken.
type FalseMiss struct {
	Reason string    `json:"reason"`
	By     string    `json:"by"`     // the audit actor who marked it; for an SMS dispute the caregiver's role
	Source string    `json:"source"` // "clinician", "caregiver" (reported to the clinician) or "caregiver (SMS)" (SourceCaregiverSMS)
	At     time.Time `json:"marked_at"`
}

// Input is everything a report is built from.
type Input struct {
	Subject    Subject
	Dispensers []DispenserInfo
	Setup      Setup
	// Events are the patient's events in time order. For PDC they should
	// reach back before From (fills carried into the period): the builder
	// leaves out of the dose figures whatever falls outside the period.
	Events    []dispenser.Event
	Readings  []vital.Reading // in time order
	Marks     map[string]FalseMiss
	From, To  time.Time
	Generated time.Time
}

// Rates are a DoseStats' ratios, for readers of the JSON.
type Rates struct {
	Taking      float64 `json:"taking"`
	Timing      float64 `json:"timing"`
	CorrectDays float64 `json:"correct_days"`
	FalseMisses float64 `json:"false_misses"`
}

// RatesOf returns s's rates.
func RatesOf(s DoseStats) Rates {
	return Rates{s.TakingRate(), s.TimingRate(), s.CorrectDayRate(), s.FalseMissRate()}
}

// MedicationReport is one medication's part of a report.
type MedicationReport struct {
	ID       string    `json:"id"`
	Name     string    `json:"name,omitempty"`
	Strength string    `json:"strength,omitempty"`
	Class    string    `json:"class,omitempty"`
	PRN      bool      `json:"prn"`
	Stats    DoseStats `json:"stats"`
	Rates    Rates     `json:"rates"`
}

// DoseRow is one dose in a report: the folded facts and what the report
// makes of them.
type DoseRow struct {
	DoseFacts
	Local      string     `json:"local"` // scheduled time in the patient's zone
	Day        Day        `json:"day"`
	Outcome    Outcome    `json:"outcome"`
	Confidence string     `json:"confidence,omitempty"`
	Signals    []string   `json:"signals"`
	OnTime     bool       `json:"on_time"`
	FalseMiss  *FalseMiss `json:"false_miss,omitempty"`
}

// ReportVersion is the version of the report's JSON form
// (docs/reports.md): 2 since every key is snake_case (version 1, unnamed,
// had a dose's own facts as "ID", "Scheduled", ...).
const ReportVersion = 2

// Report is one patient's report over a period.
type Report struct {
	Version     int                `json:"version"`
	Subject     Subject            `json:"subject"`
	Dispensers  []DispenserInfo    `json:"dispensers"`
	Timezone    string             `json:"timezone"`
	From        time.Time          `json:"from"`
	To          time.Time          `json:"to"`
	Period      Period             `json:"-"`
	Generated   time.Time          `json:"generated"`
	Overall     DoseStats          `json:"overall"`
	Rates       Rates              `json:"rates"`
	Medications []MedicationReport `json:"medications"`
	PRN         []PRNStats         `json:"prn"`
	PDC         []PDCResult        `json:"pdc"`
	Fills       []Fill             `json:"fills"`
	Vitals      []VitalStats       `json:"vitals"`
	Alerts      []AlertRecord      `json:"alerts"`
	Doses       []DoseRow          `json:"doses"`
	Readings    []vital.Reading    `json:"readings"`

	setup Setup
	facts map[string]RegimenFacts
}

// Setup returns the setup the report was built with.
func (r *Report) Setup() Setup { return r.setup }

// Facts returns the regimen facts the report used (nil without a setup).
func (r *Report) Facts() map[string]RegimenFacts { return r.facts }

// Late is a medication's window after the scheduled time (0: unknown).
func (r *Report) Late(med string) time.Duration { return r.facts[med].Late }

// Build computes a report.
func Build(in Input) *Report {
	loc := in.Setup.loc()
	p := PeriodOf(in.From, in.To, loc)
	r := &Report{Version: ReportVersion, Subject: in.Subject, Dispensers: in.Dispensers, Timezone: loc.String(), From: in.From.UTC(), To: in.To.UTC(),
		Period: p, Generated: in.Generated.UTC(), setup: in.Setup, facts: in.Setup.Facts(in.From)}
	marks := Marks{}
	for id := range in.Marks {
		marks[id] = true
	}
	ds := FoldDoses(in.Events)
	r.Overall = Summarize(ds, p, loc, "", r.Late, marks)
	r.Rates = RatesOf(r.Overall)
	seen := map[string]bool{}
	addMed := func(id string) {
		if seen[id] {
			return
		}
		seen[id] = true
		m, _ := in.Setup.Medication(id)
		f, known := r.facts[id]
		mr := MedicationReport{ID: id, Name: m.Name, Strength: m.Strength, Class: m.Class,
			PRN: known && f.PRN != nil && f.DosesPerDay == 0 || !known && strings.HasPrefix(id, "prn:")}
		mr.Stats = Summarize(ds, p, loc, id, r.Late, marks)
		mr.Rates = RatesOf(mr.Stats)
		r.Medications = append(r.Medications, mr)
	}
	for _, m := range in.Setup.Medications {
		addMed(m.ID)
	}
	for _, d := range ds {
		if d.Medication != "" && p.Contains(DayOf(d.Scheduled, loc)) {
			addMed(d.Medication) // a medication since removed from the config
		}
	}
	r.PRN = SummarizePRN(ds, in.Events, p, loc, r.facts)
	r.Fills = Fills(in.Events, in.Setup, r.facts)
	r.PDC = PDC(r.Fills, in.Setup, p)
	r.Fills = slices.DeleteFunc(r.Fills, func(f Fill) bool { return !p.Contains(DayOf(f.Time, loc)) })
	var periodReadings []vital.Reading
	for _, rd := range in.Readings {
		if p.Contains(DayOf(rd.Time, loc)) {
			periodReadings = append(periodReadings, rd)
		}
	}
	r.Readings = periodReadings
	r.Vitals = SummarizeVitals(periodReadings, in.Events, p, loc, in.Setup.Thresholds)
	for _, a := range AlertHistory(in.Events) {
		if p.Contains(DayOf(a.Opened, loc)) {
			r.Alerts = append(r.Alerts, a)
		}
	}
	for _, d := range ds {
		day := DayOf(d.Scheduled, loc)
		if !p.Contains(day) {
			continue
		}
		row := DoseRow{DoseFacts: d, Local: d.Scheduled.In(loc).Format("2006-01-02 15:04"), Day: day, Outcome: d.Outcome(),
			Signals: nonNilStrings(d.Signals())}
		if fm, ok := d.FalseMiss(in.Marks); ok {
			row.FalseMiss = &fm
		}
		row.Confidence = d.Confidence(row.FalseMiss != nil)
		if row.Outcome == OutcomeTaken && !d.PRN {
			w := r.Late(d.Medication)
			row.OnTime = !d.LeftInCup && (w == 0 || d.Taken.Sub(d.Scheduled) < w)
		}
		r.Doses = append(r.Doses, row)
	}
	slices.SortStableFunc(r.Medications, func(a, b MedicationReport) int {
		if a.PRN != b.PRN {
			if a.PRN {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return r
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// DoseCSVHeader are the columns of WriteDosesCSV.
var DoseCSVHeader = []string{"dose_id", "medication", "prn", "scheduled_local", "scheduled_utc", "outcome", "state",
	"confidence", "signals", "dispensed_utc", "taken_utc", "delay_min", "on_time", "left_in_cup", "reconciled", "jams",
	"skipped_by", "false_miss", "false_miss_reason", "false_miss_source"}

// WriteDosesCSV writes one row per dose.
func (r *Report) WriteDosesCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write(DoseCSVHeader)
	for _, d := range r.Doses {
		delay := ""
		if d.Outcome == OutcomeTaken {
			delay = strconv.FormatFloat(d.Taken.Sub(d.Scheduled).Minutes(), 'f', 1, 64)
		}
		fm, reason, source := "", "", ""
		if d.FalseMiss != nil {
			fm, reason, source = "true", d.FalseMiss.Reason, d.FalseMiss.Source
		}
		cw.Write([]string{textCell(d.ID), textCell(d.Medication), strconv.FormatBool(d.PRN), d.Local, rfc3339(d.Scheduled), string(d.Outcome),
			string(d.State), d.Confidence, textCell(strings.Join(d.Signals, "+")), rfc3339(d.Dispensed), rfc3339(d.Taken), delay,
			strconv.FormatBool(d.OnTime), strconv.FormatBool(d.LeftInCup), strconv.FormatBool(d.Reconciled),
			strconv.Itoa(d.Jams), textCell(d.SkippedBy), fm, textCell(reason), textCell(source)})
	}
	cw.Flush()
	return cw.Error()
}

// ReadingCSVHeader are the columns of WriteReadingsCSV. The data-quality
// columns follow the first ones, so that a reader of the older columns by
// position still reads them.
var ReadingCSVHeader = []string{"reading_id", "time_utc", "time_local", "quantity", "value", "unit", "absent",
	"unreliable", "abnormal", "device", "device_time", "original", "flags", "flag_reasons", "device_clock_utc", "repeats"}

// WriteReadingsCSV writes one row per reading. A reading a quality flag
// excludes (implausible, a device fault, a control-solution test) has no
// value and no abnormal cell: it is not the patient's value; its original
// column keeps what the device sent.
func (r *Report) WriteReadingsCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write(ReadingCSVHeader)
	loc := r.setup.loc()
	for _, rd := range r.Readings {
		value, abnormal := "", ""
		if rd.Clinical() {
			value = strconv.FormatFloat(rd.Value, 'f', -1, 64)
			if b, _, ok := r.Band(rd.Quantity); ok && len(rd.Unreliable) == 0 {
				abnormal = strconv.FormatBool(b.Abnormal(rd.Value))
			}
		}
		var codes, reasons []string
		for _, f := range rd.Flags {
			codes, reasons = append(codes, string(f.Code)), append(reasons, f.Reason)
		}
		cw.Write([]string{textCell(rd.ID), rfc3339(rd.Time), rd.Time.In(loc).Format("2006-01-02 15:04"), textCell(string(rd.Quantity)), value,
			textCell(rd.Unit), textCell(rd.Absent), textCell(strings.Join(rd.Unreliable, "; ")), abnormal, textCell(rd.Device),
			strconv.FormatBool(rd.DeviceTime), textCell(rd.Original), textCell(strings.Join(codes, "; ")),
			textCell(strings.Join(reasons, "; ")), rfc3339(rd.DeviceClock), strconv.Itoa(rd.Repeats)})
	}
	cw.Flush()
	return cw.Error()
}

// textCell is a CSV cell of text that came from a device or a person
// (ids, names, units, reasons). A spreadsheet reads a cell that starts with
// = + - @, a tab or a carriage return as a formula: such a cell gets a
// leading ' (OWASP's rule against CSV injection), which the spreadsheet
// shows as text. Cells the report writes as numbers are left as they are.
func textCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
