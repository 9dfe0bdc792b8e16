package web

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/report"
	"github.com/pillbox/pillbox/hw/vital"
)

// The clinician's reports: the panel sorted by need, the patient page
// (heatmap, adherence per medication, vitals charts, alerts) and the
// exports (CSV, JSON, FHIR R4). Every read is audited before it answers;
// the panel check is the router's (routes with {patient}).

func (s *Server) reportRoutes() []route {
	return []route{
		{"GET", "/patients/{patient}/doses.csv", accessPatient, s.export(report.FormatDoses)},
		{"GET", "/patients/{patient}/readings.csv", accessPatient, s.export(report.FormatReadings)},
		{"GET", "/patients/{patient}/report.json", accessPatient, s.export(report.FormatJSON)},
		{"GET", "/patients/{patient}/fhir.json", accessPatient, s.export(report.FormatFHIR)},
		{"POST", "/patients/{patient}/false-misses", accessPatient, s.falseMiss},
		{"GET", "/api/v1/patients/{patient}/report", accessPatient, s.export(report.FormatJSON)},
		{"GET", "/api/v1/patients/{patient}/fhir", accessPatient, s.export(report.FormatFHIR)},
	}
}

// Panel figures look back this far.
const (
	panelDays  = 30
	panelWeeks = 12
)

// PanelRow is one patient on the panel page.
type PanelRow struct {
	clinic.PanelEntry
	Stats   report.PanelStats
	Spark   template.HTML
	Profile bool // the dispenser sent its profile (zone, regimens)
}

// needOrder sorts the panel by need: a silent dispenser first (nobody
// knows how the patient is), then open high-priority alerts, open
// alerts, the lowest adherence, and the name.
func needOrder(a, b PanelRow) int {
	if a.Silent != b.Silent {
		if a.Silent {
			return -1
		}
		return 1
	}
	if c := cmp.Compare(b.Stats.OpenHigh, a.Stats.OpenHigh); c != 0 {
		return c
	}
	if c := cmp.Compare(b.Stats.OpenAlerts, a.Stats.OpenAlerts); c != 0 {
		return c
	}
	if c := cmp.Compare(adherenceKey(a), adherenceKey(b)); c != 0 {
		return c
	}
	return cmp.Compare(a.Patient.DisplayName, b.Patient.DisplayName)
}

// adherenceKey puts patients without scheduled doses after the others.
func adherenceKey(r PanelRow) float64 {
	if r.Stats.Scheduled == 0 {
		return 2
	}
	return r.Stats.Taking
}

func (s *Server) panelPage(w http.ResponseWriter, r *http.Request, c *call) {
	ctx := r.Context()
	filter, err := parsePanelFilter(r.URL.Query())
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err)
		return
	}
	es, err := s.c.Clinic.PanelEntries(ctx, c.p.UserID)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	now := s.c.Clock.Now()
	rows := make([]PanelRow, len(es))
	for i, e := range es {
		setup, _, err := s.c.Clinic.PatientSetup(ctx, e.Patient.ID)
		if err != nil {
			s.fail(w, r, http.StatusInternalServerError, err)
			return
		}
		at, err := s.c.Clinic.ReportNow(ctx, e.Patient.ID, now)
		if err != nil {
			s.fail(w, r, http.StatusInternalServerError, err)
			return
		}
		evs, err := s.c.Clinic.PatientEvents(ctx, e.Patient.ID, at.AddDate(0, 0, -7*panelWeeks-1), at.Add(time.Millisecond), clinic.NoLimit)
		if err != nil {
			s.fail(w, r, http.StatusInternalServerError, err)
			return
		}
		st := report.SummarizePanel(evs, setup.Location, at, panelDays, panelWeeks)
		rows[i] = PanelRow{PanelEntry: e, Stats: st, Profile: setup.Location != nil,
			Spark: sparkline(st.Weekly, fmt.Sprintf("Weekly adherence of %s over %d weeks", e.Patient.DisplayName, panelWeeks))}
	}
	if r.URL.Query().Get("sort") != "name" {
		slices.SortStableFunc(rows, needOrder)
	}
	total := len(rows)
	rows = slices.DeleteFunc(rows, func(r PanelRow) bool { return !filter.Keep(r) })
	shown := make([]clinic.PanelEntry, len(rows))
	for i, r := range rows {
		shown[i] = r.PanelEntry
	}
	if !s.audited(w, r, c, "panel.list", patientIDs(shown), "") {
		return
	}
	s.render(w, r, http.StatusOK, "panel", c, pageData{Title: "Your patients", Data: struct {
		Rows   []PanelRow
		Days   int
		Now    time.Time
		Filter PanelFilter
		Total  int
	}{rows, panelDays, now, filter, total}})
}

// reportQuery is what a report request asks for: the patient's setup, the
// report's "now" and the period (def days unless the query names one).
type reportQuery struct {
	setup    report.Setup
	loc      *time.Location
	now      time.Time
	from, to time.Time
	days     int
}

// reportQuery reads a report request's setup and period; on failure it
// has answered and ok is false.
func (s *Server) reportQuery(w http.ResponseWriter, r *http.Request, c *call, def int) (q reportQuery, ok bool) {
	ctx := r.Context()
	setup, _, err := s.c.Clinic.PatientSetup(ctx, c.patient.ID)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err)
		return q, false
	}
	q.setup, q.loc = setup, setupLoc(setup)
	if q.now, err = s.c.Clinic.ReportNow(ctx, c.patient.ID, s.c.Clock.Now()); err != nil {
		s.fail(w, r, http.StatusInternalServerError, err)
		return q, false
	}
	if q.from, q.to, q.days, err = report.ParsePeriod(r.URL.Query(), q.now, q.loc, def); err != nil {
		s.fail(w, r, http.StatusBadRequest, err)
		return q, false
	}
	return q, true
}

func (s *Server) export(format string) func(http.ResponseWriter, *http.Request, *call) {
	return func(w http.ResponseWriter, r *http.Request, c *call) {
		ctx := r.Context()
		q, ok := s.reportQuery(w, r, c, report.DefaultDays)
		if !ok {
			return
		}
		from, to := q.from, q.to
		in, err := s.c.Clinic.ReportInput(ctx, c.patient, from, to)
		if err != nil {
			s.fail(w, r, http.StatusInternalServerError, err)
			return
		}
		rep := report.Build(in)
		var buf bytes.Buffer
		if err := report.Write(rep, format, &buf); err != nil {
			s.fail(w, r, http.StatusInternalServerError, err)
			return
		}
		if !s.audited(w, r, c, "report.export", []string{c.patient.ID},
			fmt.Sprintf("format=%s from=%s to=%s", format, rep.Period.From, rep.Period.To-1)) {
			return
		}
		w.Header().Set("Content-Type", report.ContentType(format))
		if !isAPI(r.URL.Path) {
			w.Header().Set("Content-Disposition", `attachment; filename="`+report.FileName(c.patient.ID, rep.Period, format)+`"`)
		}
		w.Write(buf.Bytes())
	}
}

func setupLoc(s report.Setup) *time.Location {
	if s.Location == nil {
		return time.UTC
	}
	return s.Location
}

// MedWindows is one medication's adherence over the last 7, 30 and 90
// days.
type MedWindows struct {
	report.MedicationReport
	Windows []WindowRates
	// Scheduled says whether any window has a dose: a medication just
	// added has none yet, and its rates would read as 0%.
	Scheduled bool
}

// WindowRates are a medication's figures over one window.
type WindowRates struct {
	Days  int
	Stats report.DoseStats
	Rates report.Rates
	Bar   template.HTML
}

// PatientPage is what the patient page shows.
type PatientPage struct {
	Patient    clinic.Patient
	Devices    []clinic.Device
	Report     *report.Report
	Names      Names
	Loc        *time.Location // the patient's zone
	Days       int
	Query      template.URL // the period, for links (url.Values.Encode: safe in a URL)
	NoProfile  bool
	Heatmap    template.HTML
	Trend      template.HTML // weekly adherence over the period; empty without doses
	DoseRows   template.HTML
	Legend     []LegendItem
	Meds       []MedWindows
	Charts     []report.VitalStats
	VitalChart []Chart
	Quality    []QualityRow // per health device
	Risks      []RiskRow    // the coming week's riskiest doses
	Message    string
	Now        time.Time
	OpenAlerts int
	// ClockFlagged are the latest events whose time is unreliable, and
	// SetAside the latest malformed items kept apart: what a clinician
	// needs to read the report right.
	ClockFlagged []clinic.SyncedEvent
	SetAside     []clinic.SetAsideItem
}

// WeekRates are one week's scheduled-dose figures, for the trend chart.
type WeekRates struct {
	Period report.Period // seven days, or fewer at the end of the period
	Stats  report.DoseStats
	Rates  report.Rates
}

// weeklyRates cuts the report's period into weeks from its first day and
// summarises each (all medications).
func weeklyRates(ds []report.DoseFacts, rep *report.Report, loc *time.Location, marks report.Marks) []WeekRates {
	var out []WeekRates
	for from := rep.Period.From; from < rep.Period.To; from += 7 {
		p := report.Period{From: from, To: min(from+7, rep.Period.To)}
		st := report.Summarize(ds, p, loc, "", rep.Late, marks)
		out = append(out, WeekRates{Period: p, Stats: st, Rates: report.RatesOf(st)})
	}
	return out
}

// GlucoseTarget names the glucose target range the page shades and
// counts time in range by.
func (p PatientPage) GlucoseTarget() string {
	return "target range " + rangeText(report.GlucoseRange) + " " + vital.UnitLabel(vital.Glucose.Unit())
}

// Outside is how many of a quantity's values fall outside the band its
// chart shades (pageBand): for glucose the target range, which the
// report's count (by the alert band) is not.
func (p PatientPage) Outside(v report.VitalStats) int {
	if v.Quantity == vital.Glucose && v.InRange != nil {
		return v.Values - int(math.Round(*v.InRange*float64(v.Values)))
	}
	return v.Abnormal
}

// IsGlucoseMeter says whether a device is one of the patient's glucose
// meters, which are checked with control solution.
func (p PatientPage) IsGlucoseMeter(device string) bool {
	for _, m := range p.Report.Setup().Meters {
		if m.Address == device && m.Kind == vital.KindGlucose.Name {
			return true
		}
	}
	return false
}

// syncShown is how many clock-flagged events and set-aside items the
// patient page lists.
const syncShown = 20

var windows = []int{7, 30, 90}

func (s *Server) patientPage(w http.ResponseWriter, r *http.Request, c *call) {
	ctx := r.Context()
	q, ok := s.reportQuery(w, r, c, 90)
	if !ok {
		return
	}
	setup, loc, now, from, to, days := q.setup, q.loc, q.now, q.from, q.to, q.days
	// Read enough for the 90-day figures whatever the period shown.
	readFrom, readTo := from, to
	if d := report.LastDays(90, now, loc).From.Start(loc); d.Before(readFrom) {
		readFrom = d
	}
	if now.After(readTo) {
		readTo = now
	}
	in, err := s.c.Clinic.ReportInput(ctx, c.patient, readFrom, readTo)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	devs, err := s.c.Clinic.Devices(ctx, c.patient.ID)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	flagged, err := s.c.Clinic.ClockFlagged(ctx, c.patient.ID, syncShown)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	aside, err := s.c.Clinic.SetAsideItems(ctx, c.patient.ID, syncShown)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	cgs, err := s.c.Clinic.Caregivers(ctx, c.patient.ID)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	in.From, in.To = from, to
	rep := report.Build(in)
	names := namesOf(rep, cgs)
	pg := PatientPage{Patient: c.patient, Devices: devs, Report: rep, Loc: loc, Days: days, NoProfile: setup.Location == nil, Names: names,
		Heatmap: heatmap(rep, loc, names), DoseRows: doseRows(rep, loc, names, c.patient.ID, c.p.CSRF, days), Legend: HeatmapLegend(), VitalChart: vitalsCharts(rep, loc), Now: now,
		Query: template.URL(periodQuery(r.URL.Query(), days)), Message: notices[r.URL.Query().Get("msg")], ClockFlagged: flagged, SetAside: aside}
	marks := report.Marks{}
	for id := range in.Marks {
		marks[id] = true
	}
	ds := report.FoldDoses(in.Events)
	pg.Quality = qualityRows(rep, loc)
	if pg.Risks, err = riskiest(in.Events, setup, now); err != nil {
		s.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	pg.Trend = trendChart(weeklyRates(ds, rep, loc, marks), rep.Period)
	for _, m := range rep.Medications {
		if m.PRN {
			continue
		}
		mw := MedWindows{MedicationReport: m}
		for _, n := range windows {
			st := report.Summarize(ds, report.LastDays(n, now, loc), loc, m.ID, rep.Late, marks)
			rt := report.RatesOf(st)
			mw.Scheduled = mw.Scheduled || st.Scheduled > 0
			mw.Windows = append(mw.Windows, WindowRates{Days: n, Stats: st, Rates: rt,
				Bar: bar(rt.Taking, fmt.Sprintf("%s: %.0f%% of doses taken over %d days", names.Med(m.ID), 100*rt.Taking, n))})
		}
		pg.Meds = append(pg.Meds, mw)
	}
	for _, a := range rep.Alerts {
		if a.Open(now) {
			pg.OpenAlerts++
		}
	}
	if !s.audited(w, r, c, "patient.read", []string{c.patient.ID}, fmt.Sprintf("report from=%s to=%s", rep.Period.From, rep.Period.To-1)) {
		return
	}
	s.render(w, r, http.StatusOK, "patient", c, pageData{Title: c.patient.DisplayName, Data: pg})
}

// notices are the texts the patient page shows after a false-miss form,
// by the id the form's redirect names in ?msg=: the page never shows text
// from its URL, which anyone can write into a link.
var notices = map[string]string{
	"marked":          "The miss is marked as false: the report counts the dose as taken.",
	"unmarked":        "The mark was removed.",
	"no-reason":       "Not saved: say why the miss is false (e.g. taken from a blister pack).",
	"long-reason":     fmt.Sprintf("Not saved: the reason must be at most %d characters.", clinic.MaxReason),
	"reason-not-line": "Not saved: the reason must be one line of printable text.",
	"bad-source":      "Not saved: say who knows the dose was taken, the clinician or a caregiver.",
	"no-miss":         "Not saved: there is no recorded miss with this dose.",
	"no-mark":         "Not saved: this dose has no mark to remove.",
	"not-saved":       "Not saved: the form could not be read. Please try again.",
}

// noticeOf is the notice id of a false-miss form's outcome.
func noticeOf(err error, ok string) string {
	for _, n := range []struct {
		err error
		id  string
	}{{clinic.ErrNoReason, "no-reason"}, {clinic.ErrLongReason, "long-reason"}, {clinic.ErrReasonNotLine, "reason-not-line"},
		{clinic.ErrBadSource, "bad-source"}, {clinic.ErrNoMiss, "no-miss"}, {clinic.ErrNotFound, "no-mark"}} {
		if errors.Is(err, n.err) {
			return n.id
		}
	}
	if err != nil {
		return "not-saved"
	}
	return ok
}

// falseMiss marks (or unmarks) a recorded miss as false, from the
// patient page's form, and goes back to the page with what happened.
func (s *Server) falseMiss(w http.ResponseWriter, r *http.Request, c *call) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	notice := "not-saved"
	if r.ParseForm() == nil {
		var err error
		dose := r.PostForm.Get("dose")
		switch r.PostForm.Get("action") {
		case "unmark":
			err = s.c.Clinic.UnmarkFalseMiss(r.Context(), c.actor(), c.patient.ID, dose)
			notice = noticeOf(err, "unmarked")
		default:
			err = s.c.Clinic.MarkFalseMiss(r.Context(), c.actor(), c.patient.ID, dose, r.PostForm.Get("reason"), r.PostForm.Get("source"))
			notice = noticeOf(err, "marked")
		}
		if err != nil && statusOf(err) >= 500 {
			s.fail(w, r, http.StatusInternalServerError, err)
			return
		}
	}
	q := url.Values{"msg": {notice}}
	if d := r.PostForm.Get("days"); d != "" {
		q.Set("days", d)
	}
	http.Redirect(w, r, "/patients/"+url.PathEscape(c.patient.ID)+"?"+q.Encode()+"#doses", http.StatusSeeOther)
}

// periodQuery is the query naming a page's period, for its export links.
func periodQuery(q url.Values, days int) string {
	p := url.Values{}
	for _, k := range []string{"days", "from", "to"} {
		if v := q.Get(k); v != "" {
			p.Set(k, v)
		}
	}
	if len(p) == 0 {
		p.Set("days", strconv.Itoa(days))
	}
	return p.Encode()
}
