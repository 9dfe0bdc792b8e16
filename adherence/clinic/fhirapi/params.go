package fhirapi

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The search-parameter table. The parser accepts exactly what it lists,
// the matcher reads the index field each parameter names, and the
// CapabilityStatement is generated from it.

// field is what a search parameter matches in a resource's index.
type field int

const (
	fieldID field = iota
	fieldLastUpdated
	fieldSubject // reference to the Patient
	fieldCode
	fieldCategory
	fieldStatus
	fieldIntent
	fieldDate
	fieldIdentifier
)

// param is one search parameter of a resource type.
type param struct {
	Name  string
	Type  string // FHIR search parameter type: token, date, reference
	field field
	// Definition is the canonical URL of the R4 SearchParameter.
	Definition string
	Doc        string
}

// resourceDef is a resource type the API serves.
type resourceDef struct {
	Type    string
	Profile string // a profile its instances may claim, "" for none
	Params  []param
	// Includes are the _include values it takes (Type:param), each a
	// reference to the subject Patient.
	Includes []string
}

const sp = "http://hl7.org/fhir/SearchParameter/"

// Parameters every type has.
var commonParams = []param{
	{Name: "_id", Type: "token", field: fieldID, Definition: sp + "Resource-id", Doc: "the resource id; a comma-separated list matches any"},
	{Name: "_lastUpdated", Type: "date", field: fieldLastUpdated, Definition: sp + "Resource-lastUpdated",
		Doc: "meta.lastUpdated: when the clinic last received data that could change the resource; prefixes eq ne gt lt ge le sa eb"},
}

func patientRefs(typ string) []param {
	return []param{
		{Name: "patient", Type: "reference", field: fieldSubject, Definition: sp + "clinical-patient", Doc: "the Patient: id or Patient/id"},
		{Name: "subject", Type: "reference", field: fieldSubject, Definition: sp + typ + "-subject", Doc: "the subject, a Patient: Patient/id or id"},
	}
}

var resourceDefs = []resourceDef{
	{Type: "Patient", Params: []param{
		{Name: "identifier", Type: "token", field: fieldIdentifier, Definition: sp + "Patient-identifier", Doc: "urn:pillbox:patient|<clinic patient id>"},
	}},
	{Type: "Device", Params: []param{
		{Name: "patient", Type: "reference", field: fieldSubject, Definition: sp + "Device-patient", Doc: "the Patient the device is with"},
		{Name: "status", Type: "token", field: fieldStatus, Definition: sp + "Device-status", Doc: "active"},
	}, Includes: []string{"Device:patient"}},
	{Type: "MedicationRequest", Params: append(patientRefs("MedicationRequest"),
		param{Name: "status", Type: "token", field: fieldStatus, Definition: sp + "medications-status", Doc: "active"},
		param{Name: "intent", Type: "token", field: fieldIntent, Definition: sp + "MedicationRequest-intent", Doc: "order"},
	), Includes: []string{"MedicationRequest:patient", "MedicationRequest:subject"}},
	{Type: "MedicationAdministration", Params: append(patientRefs("MedicationAdministration"),
		param{Name: "status", Type: "token", field: fieldStatus, Definition: sp + "medications-status", Doc: "completed, not-done (missed, left in the cup, skipped, jammed) or unknown (interrupted)"},
		param{Name: "effective-time", Type: "date", field: fieldDate, Definition: sp + "MedicationAdministration-effective-time", Doc: "when taken, else when scheduled"},
	), Includes: []string{"MedicationAdministration:patient", "MedicationAdministration:subject"}},
	{Type: "Observation", Profile: "http://hl7.org/fhir/StructureDefinition/vitalsigns", Params: append(patientRefs("Observation"),
		param{Name: "code", Type: "token", field: fieldCode, Definition: sp + "clinical-code", Doc: "system|code: LOINC vital signs (http://loinc.org), adherence figures (urn:pillbox:adherence-metric)"},
		param{Name: "category", Type: "token", field: fieldCategory, Definition: sp + "Observation-category", Doc: "vital-signs, laboratory or therapy (the adherence figures)"},
		param{Name: "status", Type: "token", field: fieldStatus, Definition: sp + "Observation-status", Doc: "final"},
		param{Name: "date", Type: "date", field: fieldDate, Definition: sp + "clinical-date", Doc: "effective time or period"},
	), Includes: []string{"Observation:patient", "Observation:subject"}},
	{Type: "Flag", Params: append(patientRefs("Flag"),
		param{Name: "date", Type: "date", field: fieldDate, Definition: sp + "clinical-date", Doc: "the alert's period, from its opening to its acknowledgement or resolution"},
	), Includes: []string{"Flag:patient", "Flag:subject"}},
}

// Result parameters, which every search takes.
const (
	DefaultCount = 50
	MaxCount     = 500
)

var resultParams = map[string]bool{"_count": true, "_sort": true, "_include": true, "_summary": true, pageParam: true, "_format": true}

// pageParam is the offset of a page; the API writes it in next links.
const pageParam = "_offset"

// maxOffset bounds paging (and the parser's work).
const maxOffset = 1 << 24

func defOf(typ string) (resourceDef, bool) {
	for _, d := range resourceDefs {
		if d.Type == typ {
			return d, true
		}
	}
	return resourceDef{}, false
}

// params returns every search parameter of d, common ones first.
func (d resourceDef) params() []param { return append(slices.Clone(commonParams), d.Params...) }

func (d resourceDef) param(name string) (param, bool) {
	for _, p := range d.params() {
		if p.Name == name {
			return p, true
		}
	}
	return param{}, false
}

// query is a parsed search.
type query struct {
	Type     string
	Filters  []filter // all must match
	Count    int
	Offset   int
	Sort     *param // nil: by type, then date, then id
	Desc     bool
	Includes []string
	// SummaryCount: _summary=count, the total only.
	SummaryCount bool
	// Ignored lists the parameters left out under lenient handling.
	Ignored []string
	// Kept is the search as understood, for the self and next links.
	Kept url.Values
}

// filter is one parameter's values: a resource matches when one matches.
type filter struct {
	P      param
	Values []value
}

// value is one search value, as its parameter's type reads it.
type value struct {
	// token: [system|]code; HasSystem when a | was given.
	System, Code string
	HasSystem    bool
	// date: the prefix and the range the value denotes, [Lo, Hi).
	Prefix string
	Lo, Hi time.Time
	// reference: the Patient's FHIR id.
	Ref string
}

// badRequest is a search the API refuses, with what to tell the client.
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

func bad(format string, args ...any) error { return &badRequest{fmt.Sprintf(format, args...)} }

const (
	maxValues     = 100 // values of one parameter, over its repeats
	maxValueBytes = 256
)

// parseQuery reads a search of typ. Unknown parameters are an error when
// strict, else left out (listed in Ignored, absent from Kept). Dates
// without a zone are in loc.
func parseQuery(typ string, q url.Values, strict bool, loc *time.Location) (query, error) {
	d, ok := defOf(typ)
	if !ok {
		return query{}, bad("unknown resource type %q", typ)
	}
	out := query{Type: typ, Count: DefaultCount, Kept: url.Values{}}
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range q {
			if !yield(k) {
				return
			}
		}
	})
	for _, name := range names {
		vals := q[name]
		if len(vals) > maxValues {
			return query{}, bad("parameter %s: at most %d values", clip(name), maxValues)
		}
		if resultParams[name] {
			if err := out.result(d, name, vals); err != nil {
				return query{}, err
			}
			continue
		}
		p, known := d.param(name)
		if !known {
			base, _, modifier := strings.Cut(name, ":")
			if _, ok := d.param(base); ok && modifier {
				// A modifier changes the meaning: never ignored.
				return query{}, bad("parameter %s: modifiers are not supported", clip(name))
			}
			if strict {
				return query{}, bad("unknown search parameter %s for %s", clip(name), typ)
			}
			out.Ignored = append(out.Ignored, clip(name))
			continue
		}
		for _, raw := range vals {
			f := filter{P: p}
			parts := strings.Split(raw, ",")
			if len(parts) > maxValues {
				return query{}, bad("parameter %s: at most %d values", p.Name, maxValues)
			}
			for _, s := range parts {
				v, err := parseValue(p, s, loc)
				if err != nil {
					return query{}, err
				}
				f.Values = append(f.Values, v)
			}
			out.Filters = append(out.Filters, f)
			out.Kept.Add(name, raw)
		}
	}
	return out, nil
}

// result reads a result parameter.
func (q *query) result(d resourceDef, name string, vals []string) error {
	one := func() (string, error) {
		if len(vals) != 1 {
			return "", bad("%s: give it once", name)
		}
		return vals[0], nil
	}
	switch name {
	case "_count":
		v, err := one()
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return bad("_count: want a whole number from 0")
		}
		q.Count = min(n, MaxCount)
		q.Kept.Set(name, strconv.Itoa(q.Count))
	case pageParam:
		v, err := one()
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > maxOffset {
			return bad("%s: want a whole number from 0 to %d", pageParam, maxOffset)
		}
		q.Offset = n
	case "_sort":
		v, err := one()
		if err != nil {
			return err
		}
		key, desc := strings.CutPrefix(v, "-")
		p, ok := d.param(key)
		if !ok || p.Type != "date" || strings.Contains(key, ",") {
			return bad("_sort: %s sorts by one of its date parameters (e.g. date or -date), not %q", d.Type, clip(v))
		}
		q.Sort, q.Desc = &p, desc
		q.Kept.Set(name, v)
	case "_include":
		for _, v := range vals {
			if !slices.Contains(d.Includes, v) {
				return bad("_include: %s takes %s, not %q", d.Type, orNone(d.Includes), clip(v))
			}
			if !slices.Contains(q.Includes, v) {
				q.Includes = append(q.Includes, v)
				q.Kept.Add(name, v)
			}
		}
	case "_summary":
		v, err := one()
		if err != nil {
			return err
		}
		switch v {
		case "count":
			q.SummaryCount = true
		case "false":
		default:
			return bad("_summary: count or false, not %q", clip(v))
		}
		q.Kept.Set(name, v)
	case "_format":
		v, err := one()
		if err != nil {
			return err
		}
		if !jsonFormat(v) {
			return bad("_format: this server speaks JSON only (application/fhir+json)")
		}
	}
	return nil
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "no _include"
	}
	return strings.Join(s, " or ")
}

func jsonFormat(v string) bool {
	switch strings.TrimSpace(strings.Split(v, ";")[0]) {
	case "json", "application/json", "application/fhir+json":
		return true
	}
	return false
}

func clip(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return strings.ToValidUTF8(s, "?")
}

func parseValue(p param, s string, loc *time.Location) (value, error) {
	if s == "" || len(s) > maxValueBytes {
		return value{}, bad("parameter %s: a value must be 1 to %d bytes", p.Name, maxValueBytes)
	}
	switch p.Type {
	case "token":
		// FHIR escapes a literal | , $ or \ in a value with \; the
		// codes this API holds have none, so an escape matches nothing
		// rather than being misread.
		system, code, has := strings.Cut(s, "|")
		if !has {
			system, code = "", s
		}
		if has && code == "" {
			return value{}, bad("parameter %s: %q names a system without a code", p.Name, clip(s))
		}
		return value{System: system, Code: code, HasSystem: has}, nil
	case "reference":
		id := s
		if rest, ok := strings.CutPrefix(s, "Patient/"); ok {
			id = rest
		} else if strings.Contains(s, "/") {
			return value{}, bad("parameter %s: only Patient references (Patient/id or id)", p.Name)
		}
		if !idPattern.MatchString(id) {
			return value{}, bad("parameter %s: %q is not a FHIR id", p.Name, clip(id))
		}
		return value{Ref: id}, nil
	case "date":
		return parseDate(p.Name, s, loc)
	}
	return value{}, bad("parameter %s: unsupported type", p.Name)
}

// idPattern is the R4 id datatype.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

var datePrefixes = []string{"eq", "ne", "gt", "lt", "ge", "le", "sa", "eb"}

// dateValue is an R4 date, dateTime or instant as a search value: a
// year, a month, a day, or a time to the minute, second or fraction,
// with or without a zone.
var dateValue = regexp.MustCompile(`^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$`)

// parseDate reads [prefix]date as the range it denotes: a day is its
// calendar day in the zone (23 or 25 hours across a DST change), a time
// without seconds its minute, and so on.
func parseDate(name, s string, loc *time.Location) (value, error) {
	v := value{Prefix: "eq"}
	if len(s) >= 2 && s[0] >= 'a' && s[0] <= 'z' {
		if !slices.Contains(datePrefixes, s[:2]) {
			if s[:2] == "ap" {
				return value{}, bad("parameter %s: the ap prefix is not supported", name)
			}
			return value{}, bad("parameter %s: unknown prefix %q", name, clip(s[:2]))
		}
		v.Prefix, s = s[:2], s[2:]
	}
	m := dateValue.FindStringSubmatch(s)
	if m == nil {
		return value{}, bad("parameter %s: %q is not a date (YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss][zone])", name, clip(s))
	}
	num := func(i, def int) int {
		if m[i] == "" {
			return def
		}
		n, _ := strconv.Atoi(m[i])
		return n
	}
	y, mo, d, h, mi, sec := num(1, 0), num(2, 1), num(3, 1), num(4, 0), num(5, 0), num(6, 0)
	if mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || h > 23 || mi > 59 || sec > 59 || y < 1 {
		return value{}, bad("parameter %s: %q is not a date", name, clip(s))
	}
	zone := loc
	if z := m[8]; z == "Z" {
		zone = time.UTC
	} else if z != "" {
		zh, _ := strconv.Atoi(z[1:3])
		zm, _ := strconv.Atoi(z[4:6])
		if zh > 14 || zm > 59 {
			return value{}, bad("parameter %s: %q has no such zone offset", name, clip(s))
		}
		off := zh*3600 + zm*60
		if z[0] == '-' {
			off = -off
		}
		zone = time.FixedZone(z, off)
	}
	var frac time.Duration
	digits := 0
	if f := m[7]; f != "" {
		digits = len(f) - 1
		n, _ := strconv.Atoi(f[1:])
		frac = time.Duration(n)
		for range 9 - digits {
			frac *= 10
		}
	}
	v.Lo = time.Date(y, time.Month(mo), d, h, mi, sec, int(frac), zone)
	switch {
	case m[2] == "":
		v.Hi = time.Date(y+1, 1, 1, 0, 0, 0, 0, zone)
	case m[3] == "":
		v.Hi = time.Date(y, time.Month(mo)+1, 1, 0, 0, 0, 0, zone)
	case m[4] == "":
		v.Hi = time.Date(y, time.Month(mo), d+1, 0, 0, 0, 0, zone)
	case m[6] == "":
		v.Hi = v.Lo.Add(time.Minute)
	case digits == 0:
		v.Hi = v.Lo.Add(time.Second)
	default:
		step := time.Duration(1)
		for range 9 - digits {
			step *= 10
		}
		v.Hi = v.Lo.Add(step)
	}
	return v, nil
}

func daysIn(y, m int) int { return time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day() }

// matchDate reports whether a resource's time range [start, end] (end
// == start for an instant) meets the value, as R4's search page defines
// each prefix against the value's range [Lo, Hi).
func matchDate(v value, start, end time.Time) bool {
	if start.IsZero() {
		return false
	}
	if end.IsZero() || end.Before(start) {
		end = start
	}
	eq := !start.Before(v.Lo) && end.Before(v.Hi)
	gt := !end.Before(v.Hi)  // the range above the value overlaps
	lt := start.Before(v.Lo) // the range below the value overlaps
	switch v.Prefix {
	case "eq":
		return eq
	case "ne":
		return !eq
	case "gt":
		return gt
	case "lt":
		return lt
	case "ge":
		return gt || eq
	case "le":
		return lt || eq
	case "sa":
		return !start.Before(v.Hi)
	case "eb":
		return end.Before(v.Lo)
	}
	return false
}
