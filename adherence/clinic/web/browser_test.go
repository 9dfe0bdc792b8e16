package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/pillbox/pillbox/notify/vitals"
	"github.com/pillbox/pillbox/schedule"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/report"
	"github.com/pillbox/pillbox/adherence/uplink"
	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/internal/browsertest"
	fhirvalidate "github.com/pillbox/pillbox/tools/fhir-validate"
)

// chromium is a headless Chromium on a served clinic, with helpers that
// take screenshots and run steps.
type chromium struct {
	ctx  context.Context
	srv  *httptest.Server
	shot func(name string)
	do   func(what string, steps ...chromedp.Action[chromedp.Void])
}

// openBrowser serves e and starts Chromium on it. Screenshots go to
// $PILLBOX_ARTIFACTS/<TestName>/ (made if absent), else to the test's
// temporary directory.
func openBrowser(t *testing.T, e *env) *chromium {
	t.Helper()
	ctx := browsertest.New(t)
	srv := httptest.NewServer(e.handler)
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(cancel)
	artifacts := t.TempDir()
	if dir := os.Getenv("PILLBOX_ARTIFACTS"); dir != "" {
		artifacts = filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_"))
		if err := os.MkdirAll(artifacts, 0o755); err != nil {
			t.Fatalf("artifacts: %v", err)
		}
	}
	b := &chromium{ctx: ctx, srv: srv}
	b.shot = func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Errorf("screenshot %s: %v", name, err)
			return
		}
		p := filepath.Join(artifacts, name)
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Errorf("screenshot %s: %v", name, err)
			return
		}
		t.Logf("screenshot: %s", p)
	}
	b.do = func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
			t.Fatalf("%s: %v\npage:\n%.1500s", what, err, text)
		}
	}
	return b
}

// signIn signs in through the login form and waits for the panel.
func (b *chromium) signIn(user string) {
	b.do("sign in", chromedp.Navigate(b.srv.URL+"/panel"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), user),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), testPassword),
		chromedp.Click(chromedp.CSS(`form.login button`), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS(`table.panel`)))
}

// eval evaluates a script on the page.
func eval[T any](t *testing.T, b *chromium, script string) T {
	t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](script))
	if err != nil {
		t.Fatalf("evaluate %.80s: %v", script, err)
	}
	return v
}

// TestBrowserReports signs in as a clinician in headless Chromium, opens
// the panel, opens a patient and downloads each export, checking what
// arrives on disk. Screenshots of the panel and the patient page go to
// PILLBOX_ARTIFACTS/TestBrowserReports.
func TestBrowserReports(t *testing.T) {
	// Plain HTTP on loopback: no public https URL, so cookies are not
	// Secure.
	e := newEnv(t, func(c *Config) { c.PublicURL = "" })
	e.syncSynthetic(120)
	b := openBrowser(t, e)
	ctx, shot, do, srv := b.ctx, b.shot, b.do, b.srv

	b.signIn("alice")
	row, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`table.panel tbody tr`)))
	if err != nil || !strings.Contains(row, e.PatA.DisplayName) || !strings.Contains(row, "%") {
		t.Fatalf("panel row = %q (%v), want patient A with an adherence figure", row, err)
	}
	shot("clinic-panel.png")
	// The panel lists patients in several zones: it says how long ago,
	// not a time in a zone.
	if heard := eval[string](t, b, `document.querySelector("table.panel tbody tr").cells[4].textContent`); heard != "just now" && !strings.HasSuffix(heard, " ago") {
		t.Errorf("panel's dispenser last heard = %q, want how long ago", heard)
	}

	// The search is a form: it narrows the list, and "Show all" undoes it.
	do("search the panel", chromedp.SendKeys(chromedp.CSS(`form.search input[name=q]`), "zzz"),
		chromedp.Click(chromedp.CSS(`form.search button`), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS(`form.search a[href="/panel"]`)))
	if text := eval[string](t, b, `document.querySelector("main").innerText`); !strings.Contains(text, "No patient matches this search") {
		t.Errorf("panel searched for zzz shows %q, want no match", firstLine(text))
	}
	do("search by adherence", chromedp.Navigate(srv.URL+"/panel"), chromedp.WaitVisible(chromedp.CSS(`form.search`)),
		chromedp.SendKeys(chromedp.CSS(`form.search input[name=below]`), "100"),
		chromedp.Click(chromedp.CSS(`form.search button`), chromedp.NodeVisible),
		// Only the filtered page has "Show all" (the unfiltered one was
		// loaded last).
		chromedp.WaitVisible(chromedp.CSS(`form.search a[href="/panel"]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.panel`)))
	shot("clinic-panel-search.png")
	if n := eval[int](t, b, `document.querySelectorAll("table.panel tbody tr").length`); n != 1 {
		t.Errorf("panel below 100%% lists %d patients, want patient A", n)
	}

	do("open the patient", chromedp.Click(chromedp.CSS(`table.panel a`), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS(`svg.heatmap`)))
	for sel, what := range map[string]string{`svg.chart title`: "a vitals chart title", `svg.heatmap desc`: "the heatmap's description",
		`details#doses table`: "the doses table"} {
		if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("`+sel+`").length`)); err != nil || n == 0 {
			t.Errorf("patient page has no %s (%s): %v", what, sel, err)
		}
	}
	shot("clinic-patient.png")
	checkPatientPage(t, b, e)

	// The Print button prints (window.print stands in for the dialog a
	// headless browser cannot show).
	do("print button", chromedp.Evaluate[chromedp.Void](`window.print = () => { window.printed = true }`),
		chromedp.Click(chromedp.CSS(`button.print`), chromedp.NodeVisible))
	if !eval[bool](t, b, `window.printed === true`) {
		t.Error("the Print button did not print")
	}
	if n := eval[int](t, b, `document.querySelectorAll("svg.trend circle").length`); n < 2*12 {
		t.Errorf("adherence trend has %d points, want two a week over 90 days", n)
	}

	// Printed for a clinic visit: no navigation or forms, the tables open.
	do("print media", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"})
		return err
	}))
	printed, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[
		getComputedStyle(document.querySelector("header")).display,
		getComputedStyle(document.querySelector("form.inline")).display,
		document.querySelector("details#doses table").checkVisibility(),
		document.querySelector("figure.vital details table").checkVisibility()].join(" ")`))
	if want := "none none true true"; err != nil || printed != want {
		t.Errorf("printed page: header, forms, doses table shown, readings table shown = %q (%v), want %q", printed, err, want)
	}
	shot("clinic-patient-print.png")
	do("screen media", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{})
		return err
	}))

	dir := t.TempDir()
	progress := chromedp.Events(ctx, browser.DownloadProgress)
	begins := chromedp.Events(ctx, browser.DownloadWillBegin)
	do("allow downloads", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		on := true
		_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: &on})
		return err
	}))
	nextBegin, stopBegin := pull(begins)
	defer stopBegin()
	nextDone, stopDone := pull(progress)
	defer stopDone()
	for _, f := range report.Formats {
		do("download "+f, chromedp.Click(chromedp.CSS(`p.exports a[href*="/`+f+`"]`), chromedp.NodeVisible))
		begin, err := nextBegin()
		if err != nil {
			t.Fatalf("download %s: %v", f, err)
		}
		if !strings.HasSuffix(begin.SuggestedFilename, f) || !strings.Contains(begin.SuggestedFilename, e.PatA.ID) {
			t.Errorf("download %s is named %q, want pillbox-<patient>-...-%s", f, begin.SuggestedFilename, f)
		}
		for {
			ev, err := nextDone()
			if err != nil {
				t.Fatalf("download %s: %v", f, err)
			}
			if ev.State == browser.DownloadProgressStateCanceled {
				t.Fatalf("download %s canceled", f)
			}
			if ev.State == browser.DownloadProgressStateCompleted && ev.GUID == begin.GUID {
				break
			}
		}
		b, err := os.ReadFile(filepath.Join(dir, begin.GUID))
		if err != nil {
			t.Fatal(err)
		}
		checkDownload(t, f, b)
	}
}

// pull turns an event stream into a next function.
func pull[E any](seq func(func(E, error) bool)) (next func() (E, error), stop func()) {
	ch := make(chan struct {
		e   E
		err error
	}, 16)
	done := make(chan struct{})
	go func() {
		seq(func(e E, err error) bool {
			select {
			case ch <- struct {
				e   E
				err error
			}{e, err}:
				return err == nil
			case <-done:
				return false
			}
		})
		close(ch)
	}()
	next = func() (E, error) {
		select {
		case v, ok := <-ch:
			if !ok {
				var zero E
				return zero, context.Canceled
			}
			return v.e, v.err
		case <-time.After(30 * time.Second):
			var zero E
			return zero, context.DeadlineExceeded
		}
	}
	return next, func() { close(done) }
}

func checkDownload(t *testing.T, format string, b []byte) {
	t.Helper()
	switch format {
	case report.FormatDoses, report.FormatReadings:
		rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
		want := report.DoseCSVHeader
		if format == report.FormatReadings {
			want = report.ReadingCSVHeader
		}
		if err != nil || len(rows) < 20 || strings.Join(rows[0], ",") != strings.Join(want, ",") {
			t.Errorf("downloaded %s: %d rows, header %v, err %v", format, len(rows), rows[0], err)
		}
	case report.FormatJSON:
		var rep report.Report
		if err := json.Unmarshal(b, &rep); err != nil || rep.Overall.Scheduled == 0 {
			t.Errorf("downloaded %s: %v, %d doses scheduled", format, err, rep.Overall.Scheduled)
		}
	case report.FormatFHIR:
		if ok, out := fhirvalidate.Run(t, b); !ok {
			t.Errorf("downloaded FHIR bundle does not validate:\n%.2000s", out)
		}
	}
}

// checkPatientPage checks what a clinician reads on patient A's page:
// names, not ids or roles; units for people; one glucose range; one zone.
func checkPatientPage(t *testing.T, b *chromium, e *env) {
	t.Helper()
	meds := eval[[]string](t, b, `[...document.querySelectorAll("details#doses tbody tr td:nth-child(2)")].map(td => td.textContent)`)
	if len(meds) == 0 {
		t.Fatal("doses table has no rows")
	}
	for _, m := range meds {
		if !slices.ContainsFunc([]string{"Metformin 500 mg", "Lisinopril 10 mg", "Atorvastatin 20 mg", "Paracetamol 500 mg"},
			func(n string) bool { return strings.HasPrefix(m, n) }) {
			t.Errorf("doses table medication = %q, want a medication's name and strength", m)
			break
		}
	}
	alerts := eval[string](t, b, `[...document.querySelectorAll("table.alerts tbody tr")].map(tr => tr.innerText).join("\n")`)
	if !strings.Contains(alerts, "Carol") || strings.Contains(alerts, "metformin") || strings.Contains(alerts, "lisinopril") {
		t.Errorf("alerts table names contacts and medications as %q, want Carol and Metformin", firstLine(alerts))
	}
	text := eval[string](t, b, `document.body.innerText`)
	for _, bad := range []string{"mm[Hg]", "UTC", "caregiver1"} {
		if strings.Contains(text, bad) {
			i := strings.Index(text, bad)
			t.Errorf("patient page shows %q (%q)", bad, text[max(i-60, 0):min(i+40, len(text))])
		}
	}
	if !strings.Contains(text, "mmHg") {
		t.Error("patient page has no blood pressure in mmHg")
	}
	if want := "All times are in America/New_York"; !strings.Contains(text, want) {
		t.Errorf("patient page does not name its zone (%q)", want)
	}
	// Glucose: the chart's band and the time-in-range figure are one
	// range, named so on both.
	glucose := eval[string](t, b, `[...document.querySelectorAll("figure.vital")].filter(f => f.querySelector("figcaption").textContent.startsWith("Glucose")).map(f => f.querySelector("svg .legend").textContent).join("")`)
	row := eval[string](t, b, `[...document.querySelectorAll("table.vitals tbody tr")].filter(tr => tr.cells[0].textContent.startsWith("glucose")).map(tr => tr.innerText).join("")`)
	want := "target range 70 to 180 mg/dL"
	if !strings.Contains(strings.ReplaceAll(strings.ToLower(glucose), ":", ""), strings.ToLower(want)) || !strings.Contains(row, want) {
		t.Errorf("glucose chart legend %q and table row %q, want both to say %q", glucose, row, want)
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// TestBrowserNewPatient opens the page of a patient whose dispenser has
// sent three days, and a medication just added to it: the dose grid starts
// at the first dose with readable labels, and the new medication says it
// has no doses yet.
func TestBrowserNewPatient(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.PublicURL = "" })
	if _, _, err := e.Clinic.SeedSynthetic(e.Ctx, clinic.CLI("test"), e.PatB.ID, 3, 7, nyc); err != nil {
		t.Fatal(err)
	}
	e.addMedication(e.PatB.ID, dispenser.Medication{ID: "amlodipine", Name: "Amlodipine", Strength: "5 mg", PillsPerDose: 1, Compartment: 5})
	b := openBrowser(t, e)
	b.signIn("bob")
	b.do("open the patient", chromedp.Navigate(b.srv.URL+"/patients/"+e.PatB.ID), chromedp.WaitVisible(chromedp.CSS(`svg.heatmap`)))
	b.shot("clinic-new-patient.png")

	if rows := eval[int](t, b, `document.querySelectorAll("svg.heatmap text.hm-d").length`); rows < 3 || rows > 4 {
		t.Errorf("doses grid has %d day rows, want 3 or 4 (from the first dose)", rows)
	}
	for _, sel := range []string{"svg.heatmap text.hm-d", "svg.heatmap text.hm-h", "svg.chart text.tick"} {
		px := eval[float64](t, b, `parseFloat(getComputedStyle(document.querySelector("`+sel+`")).fontSize)`)
		if px < 12 {
			t.Errorf("%s font size = %v px, want at least 12", sel, px)
		}
	}
	row := eval[string](t, b, `[...document.querySelectorAll("table.meds tbody tr")].filter(tr => tr.cells[0].textContent.startsWith("Amlodipine")).map(tr => tr.innerText + " bars=" + tr.querySelectorAll("svg.bar").length).join("")`)
	if !strings.Contains(row, "no doses yet") || !strings.Contains(row, "bars=0") || strings.Contains(row, "0%") {
		t.Errorf("new medication's row = %q, want \"no doses yet\" and no bar or 0%%", row)
	}
}

// addMedication has a second dispenser of the patient, heard a minute
// later, send the synthetic profile with m added (daily at 09:00): a
// medication with no dose yet.
func (e *env) addMedication(patientID string, m dispenser.Medication) {
	e.t.Helper()
	dev, tok, err := e.Clinic.RegisterDevice(e.Ctx, clinic.CLI("test"), patientID, "new")
	if err != nil {
		e.t.Fatal(err)
	}
	p, err := e.Clinic.Authenticate(e.Ctx, tok)
	if err != nil {
		e.t.Fatal(err)
	}
	e.Clock.Advance(time.Minute)
	setup := report.SyntheticSetup(nyc)
	var meters []vitals.Device
	for _, mt := range setup.Meters {
		meters = append(meters, vitals.Device{Address: mt.Address, Kind: mt.Kind, Name: mt.Name})
	}
	prof := uplink.NewProfile(dispenser.Patient{Timezone: nyc.String()}, append(setup.Medications, m),
		append(setup.Regimens, schedule.Regimen{Medication: m.ID, Cron: "0 9 * * *"}), meters)
	b := &uplink.Batch{Version: uplink.Version, Device: dev.ID, Log: "new",
		Heartbeat: uplink.Heartbeat{Time: e.Clock.Now(), Software: "test", Profile: prof}}
	if _, err := e.Clinic.Ingest(e.Ctx, p, b, ""); err != nil {
		e.t.Fatal(err)
	}
}
