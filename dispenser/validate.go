package dispenser

import (
	"fmt"
	"strings"
	"time"

	"github.com/pillbox/pillbox/internal/i18n"
	"github.com/pillbox/pillbox/internal/problem"
)

// ValidatePatient checks the `patient:` section. Paths are relative to it
// ("timezone").
func ValidatePatient(p Patient) problem.List {
	var l problem.List
	if strings.TrimSpace(p.FirstName) == "" {
		l.Add("first_name", "add the name the patient is called by, e.g. first_name: Margaret",
			"first_name is missing")
	}
	l = append(l, validateTimezone(p.Timezone)...)
	if p.Language != "" {
		if err := i18n.Validate(p.Language); err != nil {
			l.Add("language", "write a supported tag, e.g. language: es", "%v", err)
		}
	}
	return l
}

// zoneAbbrevs are names installers write for a time zone that are not the
// IANA place names the schedule needs. Some of them load (EST, MST, HST) but
// are fixed offsets that ignore daylight saving time: a dose would move by
// an hour every spring and autumn.
var zoneAbbrevs = map[string]string{
	"est": "America/New_York", "edt": "America/New_York", "eastern": "America/New_York",
	"est5edt": "America/New_York", "us/eastern": "America/New_York",
	"cst": "America/Chicago", "cdt": "America/Chicago", "central": "America/Chicago",
	"cst6cdt": "America/Chicago", "us/central": "America/Chicago",
	"mst": "America/Denver", "mdt": "America/Denver", "mountain": "America/Denver",
	"mst7mdt": "America/Denver", "us/mountain": "America/Denver",
	"pst": "America/Los_Angeles", "pdt": "America/Los_Angeles", "pacific": "America/Los_Angeles",
	"pst8pdt": "America/Los_Angeles", "us/pacific": "America/Los_Angeles",
	"akst": "America/Anchorage", "alaska": "America/Anchorage",
	"hst": "Pacific/Honolulu", "hawaii": "Pacific/Honolulu",
	"bst": "Europe/London", "cet": "Europe/Paris", "cest": "Europe/Paris",
}

const zoneFix = `use an IANA time zone name (Area/City), e.g. "America/New_York"`

func validateTimezone(name string) problem.List {
	var l problem.List
	switch {
	case name == "":
		l.Add("timezone", zoneFix, "timezone is missing")
		return l
	case name == "Local":
		// time.LoadLocation accepts it, but it means whatever the device is
		// set to, which on a fresh Raspberry Pi image is UTC.
		l.Add("timezone", zoneFix, "timezone Local means the device's own setting, which is often UTC on a Raspberry Pi")
		return l
	}
	if want, ok := zoneAbbrevs[strings.ToLower(name)]; ok {
		l.Add("timezone", fmt.Sprintf("use timezone: %s", want),
			"timezone %q is an abbreviation or legacy name, not an IANA place name; fixed offsets ignore daylight saving time", name)
		return l
	}
	if _, err := time.LoadLocation(name); err != nil {
		fix := zoneFix
		if s := suggestZone(name); s != "" {
			fix = "use timezone: " + s
		}
		l.Add("timezone", fix, "unknown time zone %q", name)
	}
	return l
}

// suggestZone guesses the IANA name meant by a miscased or spaced one
// ("america/new york") or a bare city ("New York"); "" when nothing loads.
func suggestZone(name string) string {
	norm := titleZone(strings.Join(strings.Fields(name), "_"))
	cands := []string{norm}
	if !strings.Contains(norm, "/") {
		for _, area := range []string{"America", "Europe", "Asia", "Australia", "Africa", "Pacific", "Atlantic", "Indian"} {
			cands = append(cands, area+"/"+norm)
		}
	}
	for _, c := range cands {
		if c == "" || c == name || c == "Local" {
			continue
		}
		if _, err := time.LoadLocation(c); err == nil {
			return c
		}
	}
	return ""
}

// titleZone capitalises each word of a zone name: "america/new_york" ->
// "America/New_York".
func titleZone(s string) string {
	b := []byte(strings.ToLower(s))
	up := true
	for i, c := range b {
		if up && c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
		up = c == '/' || c == '_' || c == '-'
	}
	return string(b)
}

// ValidateMedications checks the `medications:` list on its own; that each
// medication sits in an existing compartment and has a regimen is checked
// by the config loader, which sees every section. Paths are relative to the
// list ("[1].id").
func ValidateMedications(ms []Medication) problem.List {
	var l problem.List
	if len(ms) == 0 {
		l.Add("", "add at least one entry under medications:", "no medications are configured")
	}
	seen := map[string]int{}
	for i, m := range ms {
		at := func(field string) string { return problem.Join(problem.Index("", i), field) }
		switch {
		case m.ID == "":
			fix := `add id: a short lowercase name such as "metformin"`
			if s := Slug(m.Name); s != "" {
				fix = "add id: " + s
			}
			l.Add(problem.Index("", i), fix, "medication has no id")
		case Slug(m.ID) != m.ID:
			fix := "use lowercase letters, digits and '-', starting with a letter"
			if s := Slug(m.ID); s != "" {
				fix = "use id: " + s
			}
			l.Add(at("id"), fix, "id %q is not a lowercase slug", m.ID)
		}
		if m.ID != "" {
			if j, dup := seen[m.ID]; dup {
				l.Add(at("id"), "give each medication its own id", "id %q is already used by medications[%d]", m.ID, j)
			} else {
				seen[m.ID] = i
			}
		}
		if strings.TrimSpace(m.Name) == "" {
			l.Add(problem.Index("", i), "add name: as printed on the pharmacy label", "medication has no name")
		}
		if m.PillsPerDose < 1 {
			l.Add(at("pills_per_dose"), "set pills_per_dose to the number of pills in one dose, e.g. pills_per_dose: 1",
				"pills_per_dose must be at least 1, got %d", m.PillsPerDose)
		}
		if m.Compartment < 1 {
			l.Add(at("compartment"), "set compartment: to the id of the compartment that holds it, e.g. compartment: 1",
				"compartment must be a compartment id (1 or more), got %d", m.Compartment)
		}
	}
	return l
}

// Slug turns s into a medication id: runs of lowercase ASCII letters and
// digits joined by single '-'; "" unless that starts with a letter. An id is
// valid exactly when Slug(id) == id.
func Slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		} else {
			dash = true
		}
	}
	if b.Len() == 0 || b.String()[0] <= '9' {
		return ""
	}
	return b.String()
}
