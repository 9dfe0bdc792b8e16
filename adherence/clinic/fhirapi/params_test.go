package fhirapi

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestParseDate checks the ranges date values denote.
func TestParseDate(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	for _, tc := range []struct {
		in     string
		prefix string
		lo, hi time.Time
	}{
		{"2026", "eq", time.Date(2026, 1, 1, 0, 0, 0, 0, ny), time.Date(2027, 1, 1, 0, 0, 0, 0, ny)},
		{"ge2026-03", "ge", time.Date(2026, 3, 1, 0, 0, 0, 0, ny), time.Date(2026, 4, 1, 0, 0, 0, 0, ny)},
		// Spring forward: a 23-hour day; fall back: 25.
		{"2026-03-08", "eq", time.Date(2026, 3, 8, 5, 0, 0, 0, time.UTC), time.Date(2026, 3, 9, 4, 0, 0, 0, time.UTC)},
		{"lt2026-11-01", "lt", time.Date(2026, 11, 1, 4, 0, 0, 0, time.UTC), time.Date(2026, 11, 2, 5, 0, 0, 0, time.UTC)},
		{"2026-03-08T10:30", "eq", time.Date(2026, 3, 8, 14, 30, 0, 0, time.UTC), time.Date(2026, 3, 8, 14, 31, 0, 0, time.UTC)},
		{"gt2026-03-08T10:30:05Z", "gt", time.Date(2026, 3, 8, 10, 30, 5, 0, time.UTC), time.Date(2026, 3, 8, 10, 30, 6, 0, time.UTC)},
		{"2026-03-08T10:30:05.25+02:00", "eq", time.Date(2026, 3, 8, 8, 30, 5, 250e6, time.UTC), time.Date(2026, 3, 8, 8, 30, 5, 260e6, time.UTC)},
	} {
		v, err := parseDate("date", tc.in, ny)
		if err != nil || v.Prefix != tc.prefix || !v.Lo.Equal(tc.lo) || !v.Hi.Equal(tc.hi) {
			t.Errorf("parseDate(%q) = %s [%v, %v), %v; want %s [%v, %v)", tc.in, v.Prefix, v.Lo.UTC(), v.Hi.UTC(), err, tc.prefix, tc.lo.UTC(), tc.hi.UTC())
		}
	}
	for _, in := range []string{"", "26", "2026-3-8", "2026-02-29", "2026-00", "2026-03-08T25:00", "2026-03-08T10:30:05+15:00", "ap2026", "xx2026", "2026-03-08 10:30", "2026-03-08T10"} {
		if _, err := parseDate("date", in, ny); err == nil {
			t.Errorf("parseDate(%q) accepted", in)
		}
	}
}

// TestMatchDate checks each prefix against instants and periods.
func TestMatchDate(t *testing.T) {
	day := value{Lo: time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC), Hi: time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC)}
	before, in, after := day.Lo.Add(-time.Second), day.Lo.Add(time.Hour), day.Hi
	spanning := [2]time.Time{before, in} // a period from the day before into the day
	for _, tc := range []struct {
		prefix                  string
		before, in, after, span bool
	}{
		{"eq", false, true, false, false},
		{"ne", true, false, true, true},
		{"gt", false, false, true, false},
		{"lt", true, false, false, true},
		{"ge", false, true, true, false},
		{"le", true, true, false, true},
		{"sa", false, false, true, false},
		{"eb", true, false, false, false},
	} {
		v := day
		v.Prefix = tc.prefix
		got := [4]bool{matchDate(v, before, time.Time{}), matchDate(v, in, in), matchDate(v, after, after), matchDate(v, spanning[0], spanning[1])}
		if want := [4]bool{tc.before, tc.in, tc.after, tc.span}; got != want {
			t.Errorf("%s: before, in, after, spanning = %v, want %v", tc.prefix, got, want)
		}
	}
	if matchDate(value{Prefix: "ne", Lo: day.Lo, Hi: day.Hi}, time.Time{}, time.Time{}) {
		t.Error("an undated resource matches a date search")
	}
}

// TestParseQuery checks the parser's decisions.
func TestParseQuery(t *testing.T) {
	for _, tc := range []struct {
		typ, q  string
		strict  bool
		err     string
		count   int
		ignored int
	}{
		{"Observation", "", false, "", DefaultCount, 0},
		{"Observation", "_count=0", false, "", 0, 0},
		{"Observation", "_count=501", false, "", MaxCount, 0},
		{"Observation", "foo=1&bar=2", false, "", DefaultCount, 2},
		{"Observation", "foo=1", true, "unknown search parameter foo", 0, 0},
		{"Patient", "code=x", true, "unknown search parameter code", 0, 0},
		{"Flag", "status=active", true, "unknown search parameter status", 0, 0},
		{"Observation", "code:not=x", false, "modifiers", 0, 0},
		{"Observation", "code=http://loinc.org|", false, "without a code", 0, 0},
		{"Observation", "_count=1&_count=2", false, "once", 0, 0},
		{"Observation", "_sort=-date", false, "", DefaultCount, 0},
		{"Patient", "_sort=date", false, "date parameters", 0, 0},
		{"Device", "_include=Device:patient", false, "", DefaultCount, 0},
		{"Observation", "_format=xml", false, "JSON only", 0, 0},
		{"Observation", "patient=" + strings.Repeat("a", 65), false, "not a FHIR id", 0, 0},
		{"Observation", "code=" + strings.Repeat("a,", 101), false, "at most", 0, 0},
		{"Nope", "", false, "unknown resource type", 0, 0},
	} {
		vals, _ := url.ParseQuery(tc.q)
		q, err := parseQuery(tc.typ, vals, tc.strict, time.UTC)
		var br *badRequest
		switch {
		case tc.err != "" && (!errors.As(err, &br) || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("parseQuery(%s?%s) = %v, want an error saying %q", tc.typ, tc.q, err, tc.err)
		case tc.err == "" && (err != nil || q.Count != tc.count || len(q.Ignored) != tc.ignored):
			t.Errorf("parseQuery(%s?%s) = count %d, ignored %v, %v; want %d, %d ignored", tc.typ, tc.q, q.Count, q.Ignored, err, tc.count, tc.ignored)
		}
	}
}

// FuzzParseQuery checks that no query makes the parser panic or accept
// what it cannot match: every accepted value is of its parameter's type.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"patient=Patient/abc&code=http://loinc.org|85354-9&date=ge2026-03-08&_count=10&_sort=-date",
		"date=2026-03-08T10:30:05.123+02:00&_lastUpdated=lt2026", "_include=Observation:subject&_summary=count", "category=vital-signs,therapy",
		"foo=bar&_offset=50"} {
		f.Add("Observation", s, false)
	}
	f.Fuzz(func(t *testing.T, typ, raw string, strict bool) {
		vals, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := parseQuery(typ, vals, strict, time.UTC)
		var br *badRequest
		if err != nil && !errors.As(err, &br) {
			t.Fatalf("parseQuery(%q, %q) = %v, not a bad request", typ, raw, err)
		}
		if err != nil {
			return
		}
		if q.Count < 0 || q.Count > MaxCount || q.Offset < 0 || q.Offset > maxOffset {
			t.Errorf("parseQuery(%q) = count %d offset %d", raw, q.Count, q.Offset)
		}
		for _, f := range q.Filters {
			for _, v := range f.Values {
				if f.P.Type == "date" && !v.Lo.Before(v.Hi) || f.P.Type == "reference" && !idPattern.MatchString(v.Ref) {
					t.Errorf("parseQuery(%q): %s value %+v", raw, f.P.Name, v)
				}
			}
		}
		if strict && len(q.Ignored) > 0 {
			t.Errorf("strict parse ignored %v", q.Ignored)
		}
	})
}
