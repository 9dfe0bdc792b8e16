package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/pillbox/pillbox/adherence/report"
	"github.com/pillbox/pillbox/internal/browsertest"
	fhirvalidate "github.com/pillbox/pillbox/tools/fhir-validate"
)

// TestBrowserReports signs in as a clinician in headless Chromium, opens
// the panel, opens a patient and downloads each export, checking what
// arrives on disk. Screenshots of the panel and the patient page go to
// PILLBOX_ARTIFACTS (or the test's temporary directory).
func TestBrowserReports(t *testing.T) {
	ctx := browsertest.New(t)
	// Plain HTTP on loopback: no public https URL, so cookies are not
	// Secure.
	e := newEnv(t, func(c *Config) { c.PublicURL = "" })
	e.syncSynthetic(120)
	srv := httptest.NewServer(e.handler)
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	artifacts := os.Getenv("PILLBOX_ARTIFACTS")
	if artifacts == "" {
		artifacts = t.TempDir()
	}
	shot := func(name string) {
		b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Errorf("screenshot %s: %v", name, err)
			return
		}
		p := filepath.Join(artifacts, name)
		if err := os.WriteFile(p, b, 0o644); err == nil {
			t.Logf("screenshot: %s", p)
		}
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
			t.Fatalf("%s: %v\npage:\n%.1500s", what, err, text)
		}
	}

	do("sign in", chromedp.Navigate(srv.URL+"/panel"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "alice"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), testPassword),
		chromedp.Click(chromedp.CSS(`form.login button`), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS(`table.panel`)))
	row, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`table.panel tbody tr`)))
	if err != nil || !strings.Contains(row, e.PatA.DisplayName) || !strings.Contains(row, "%") {
		t.Fatalf("panel row = %q (%v), want patient A with an adherence figure", row, err)
	}
	shot("clinic-panel.png")

	do("open the patient", chromedp.Click(chromedp.CSS(`table.panel a`), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS(`svg.heatmap`)))
	for sel, what := range map[string]string{`svg.chart title`: "a vitals chart title", `svg.heatmap desc`: "the heatmap's description",
		`details#doses table`: "the doses table"} {
		if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("`+sel+`").length`)); err != nil || n == 0 {
			t.Errorf("patient page has no %s (%s): %v", what, sel, err)
		}
	}
	shot("clinic-patient.png")

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
