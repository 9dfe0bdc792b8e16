package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pillbox/pillbox/adherence"
	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/report"
)

// pillctl report and pillctl export write a patient's report files from a
// database on disk: the same files, byte for byte, as the clinic's web
// downloads (report.Write), from either
//   - a clinic database (adherenced's), for a patient: --patient pt_...;
//     each export is audited under the operating-system user; or
//   - a dispenser's own database, with its config file for the regimens
//     and the zone: --config dispenser.yaml.

func init() {
	register(command{name: "report", help: "write a patient's report files (doses and readings CSV, JSON, FHIR R4) from a clinic or dispenser database",
		run: func(args []string, stdout, stderr io.Writer) int { return runReport("report", args, stdout, stderr) }})
	register(command{name: "export", help: "write a patient's FHIR R4 bundle (--fhir), CSV (--csv) or JSON (--json) from a clinic or dispenser database",
		run: func(args []string, stdout, stderr io.Writer) int { return runReport("export", args, stdout, stderr) }})
}

func runReport(name string, args []string, stdout, stderr io.Writer) int {
	fs := newFlags(name, "", stderr)
	db := fs.String("db", defaultClinicDB, "the clinic or dispenser database `FILE`")
	patient := fs.String("patient", "", "the patient's `ID` (pt_...), in a clinic database")
	cfgPath := fs.String("config", "", "the dispenser's config `FILE` (regimens and zone), with a dispenser database")
	// The period flags are read back by name (fs.Visit), as the web
	// reads ?days=, ?from= and ?to=.
	fs.Int("days", report.DefaultDays, "the last `N` days, today included")
	fs.String("from", "", "first day, `DATE` (2026-03-01) in the patient's zone, or an RFC 3339 time")
	fs.String("to", "", "last day, `DATE` (included), or an RFC 3339 time")
	now := fs.String("now", "", "report as of this RFC 3339 `TIME` instead of now (reproducible files)")
	out := fs.String("out", ".", "the `DIR` to write the files to; - writes one format to standard output")
	var formats []string
	if name == "report" {
		format := fs.String("format", "all", "one of doses.csv, readings.csv, report.json, fhir.json, or all")
		if status, ok := parseFlags(fs, args, 0); !ok {
			return status
		}
		switch {
		case *format == "all":
			formats = report.Formats
		case slices.Contains(report.Formats, *format):
			formats = []string{*format}
		default:
			fmt.Fprintf(stderr, "pillctl report: -format %q: want one of %s, or all\n", *format, strings.Join(report.Formats, ", "))
			return 2
		}
	} else {
		fhir := fs.Bool("fhir", false, "the FHIR R4 bundle (fhir.json)")
		csv := fs.Bool("csv", false, "the doses and readings CSV files")
		json := fs.Bool("json", false, "the report as JSON")
		if status, ok := parseFlags(fs, args, 0); !ok {
			return status
		}
		if *csv {
			formats = append(formats, "doses.csv", "readings.csv")
		}
		if *json {
			formats = append(formats, "report.json")
		}
		if *fhir {
			formats = append(formats, "fhir.json")
		}
		if len(formats) == 0 {
			fmt.Fprintln(stderr, "pillctl export: say what to export: --fhir, --csv or --json")
			return 2
		}
	}
	if *out == "-" && len(formats) != 1 {
		fmt.Fprintf(stderr, "pillctl %s: -out - writes one format; choose one\n", name)
		return 2
	}
	at := time.Now()
	if *now != "" {
		var err error
		if at, err = time.Parse(time.RFC3339, *now); err != nil {
			fmt.Fprintf(stderr, "pillctl %s: -now: want an RFC 3339 time such as 2026-03-08T09:00:00Z\n", name)
			return 2
		}
	}
	q := url.Values{}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "days" || f.Name == "from" || f.Name == "to" {
			q.Set(f.Name, f.Value.String())
		}
	})
	rep, id, err := buildReport(*db, *patient, *cfgPath, q, at, *now != "", formats)
	if err != nil {
		fmt.Fprintf(stderr, "pillctl %s: %v\n", name, err)
		return 1
	}
	if *out != "-" {
		if err := os.MkdirAll(*out, 0o700); err != nil {
			fmt.Fprintf(stderr, "pillctl %s: %v\n", name, err)
			return 1
		}
	}
	for _, f := range formats {
		if err := writeReportFile(rep, f, *out, report.FileName(id, rep.Period, f), stdout); err != nil {
			fmt.Fprintf(stderr, "pillctl %s: %v\n", name, err)
			return 1
		}
	}
	return 0
}

func writeReportFile(rep *report.Report, format, dir, name string, stdout io.Writer) error {
	if dir == "-" {
		return report.Write(rep, format, stdout)
	}
	path := filepath.Join(dir, name)
	// Patient data: readable by its owner only, like the databases.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := report.Write(rep, format, f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintln(stdout, path)
	return nil
}

// buildReport reads the database at path and builds the report of the
// period q names, as of at. It returns the id the files are named by.
// fixed says at was given (-now), else it is the clock's and moves to a
// later latest event, as on the web.
func buildReport(path, patient, cfgPath string, q url.Values, at time.Time, fixed bool, formats []string) (*report.Report, string, error) {
	if patient != "" && cfgPath != "" {
		return nil, "", errors.New("-patient reads a clinic database, -config a dispenser's: give one")
	}
	if _, err := os.Stat(path); err != nil {
		return nil, "", err // a mistyped path must not create a database
	}
	ctx := context.Background()
	if patient != "" {
		var rep *report.Report
		err := withClinic(path, func(ctx context.Context, st *clinic.Service) error {
			p, err := st.Patient(ctx, patient)
			if err != nil {
				return err
			}
			setup, _, err := st.PatientSetup(ctx, p.ID)
			if err != nil {
				return err
			}
			if !fixed {
				if at, err = st.ReportNow(ctx, p.ID, at); err != nil {
					return err
				}
			}
			from, to, _, err := report.ParsePeriod(q, at, locOf(setup), report.DefaultDays)
			if err != nil {
				return err
			}
			in, err := st.ReportInput(ctx, p, from, to)
			if err != nil {
				return err
			}
			in.Generated = at
			rep = report.Build(in)
			return st.AuditReads(ctx, clinic.CLI(osUser()), "report.export", []string{p.ID},
				fmt.Sprintf("format=%s from=%s to=%s", strings.Join(formats, ","), rep.Period.From, rep.Period.To-1))
		})
		return rep, patient, err
	}
	st, err := adherence.Open(ctx, path)
	if err != nil {
		return nil, "", err
	}
	defer st.Close()
	in := report.Input{Subject: report.Subject{ID: st.DeviceID()}, Generated: at,
		Dispensers: []report.DispenserInfo{{ID: st.DeviceID(), Label: "this dispenser"}}}
	if cfgPath != "" {
		cfg, loc, err := loadConfig(cfgPath)
		if err != nil {
			return nil, "", err
		}
		in.Subject.Name = cfg.Patient.FirstName
		in.Setup = report.Setup{Location: loc, Medications: cfg.Medications, Regimens: cfg.Regimens}
		if cfg.Vitals != nil {
			in.Setup.Meters = report.MetersOf(cfg.Vitals.Devices)
			in.Setup.Thresholds = report.ThresholdsOf(cfg.Vitals)
		}
	}
	if in.Events, in.Readings, err = deviceLog(ctx, st); err != nil {
		return nil, "", err
	}
	if n := len(in.Events); !fixed && n > 0 && in.Events[n-1].Time.After(at) {
		at = in.Events[n-1].Time // a simulated dispenser's clock runs ahead
	}
	if in.From, in.To, _, err = report.ParsePeriod(q, at, locOf(in.Setup), report.DefaultDays); err != nil {
		return nil, "", err
	}
	return report.Build(in), st.DeviceID(), nil
}

// pageAll reads a sequence-numbered log to its end.
func pageAll[T any](next func(seq int64) ([]T, error), seqOf func(T) int64) ([]T, error) {
	var all []T
	var seq int64
	for {
		page, err := next(seq)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if len(page) == 0 {
			return all, nil
		}
		seq = seqOf(page[len(page)-1])
	}
}

func locOf(s report.Setup) *time.Location {
	if s.Location == nil {
		return time.UTC
	}
	return s.Location
}
