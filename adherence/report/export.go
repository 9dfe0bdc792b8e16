package report

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"time"
)

// The files of a patient's export. The clinic's downloads, its API and
// pillctl report write them with Write, so they are the same bytes
// wherever they come from.
const (
	FormatDoses    = "doses.csv"
	FormatReadings = "readings.csv"
	FormatJSON     = "report.json"
	FormatFHIR     = "fhir.json"
)

// Formats are the files of a patient's export, in the order pillctl
// writes them.
var Formats = []string{FormatDoses, FormatReadings, FormatJSON, FormatFHIR}

var contentTypes = map[string]string{FormatDoses: "text/csv; charset=utf-8", FormatReadings: "text/csv; charset=utf-8",
	FormatJSON: "application/json", FormatFHIR: "application/fhir+json"}

// ContentType is the media type of an export format ("" for none).
func ContentType(format string) string { return contentTypes[format] }

// Write writes a report in one of the export formats.
func Write(rep *Report, format string, w io.Writer) error {
	switch format {
	case FormatDoses:
		return rep.WriteDosesCSV(w)
	case FormatReadings:
		return rep.WriteReadingsCSV(w)
	case FormatJSON:
		return rep.WriteJSON(w)
	case FormatFHIR:
		return rep.WriteFHIR(w)
	}
	return fmt.Errorf("report: unknown export format %q", format)
}

// FileName is the file name of a patient's export over p.
func FileName(patientID string, p Period, format string) string {
	return fmt.Sprintf("pillbox-%s-%s-to-%s-%s", patientID, p.From, p.To-1, format)
}

// DefaultDays is the period of an export that names none: the last 30
// days.
const DefaultDays = 30

// ParsePeriod reads the period of a page or an export: ?days=N (1 to 731,
// counting today), or ?from= and ?to= as dates in the patient's zone (to
// included) or RFC 3339 instants. def is the default number of days.
func ParsePeriod(q url.Values, now time.Time, loc *time.Location, def int) (from, to time.Time, days int, err error) {
	days = def
	if v := q.Get("days"); v != "" {
		if days, err = strconv.Atoi(v); err != nil || days < 1 || days > 731 {
			return from, to, 0, errors.New("days: want a number from 1 to 731")
		}
	}
	p := LastDays(days, now, loc)
	from, to = p.From.Start(loc), p.To.Start(loc)
	parse := func(name string, end bool) (time.Time, bool, error) {
		v := q.Get(name)
		if v == "" {
			return time.Time{}, false, nil
		}
		if t, err := time.ParseInLocation(time.DateOnly, v, loc); err == nil {
			if end {
				t = t.AddDate(0, 0, 1)
			}
			return t, true, nil
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return t, false, fmt.Errorf("%s: want a date such as 2026-03-08 or an RFC 3339 time", name)
		}
		return t, true, nil
	}
	if t, ok, err := parse("from", false); err != nil {
		return from, to, 0, err
	} else if ok {
		from = t
	}
	if t, ok, err := parse("to", true); err != nil {
		return from, to, 0, err
	} else if ok {
		to = t
	}
	if !from.Before(to) || to.Sub(from) > 732*24*time.Hour {
		return from, to, 0, errors.New("the period must run forward and span at most two years")
	}
	return from, to, PeriodOf(from, to, loc).Days(), nil
}
