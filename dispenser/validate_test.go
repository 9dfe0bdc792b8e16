package dispenser

import (
	"strings"
	"testing"

	"github.com/pillbox/pillbox/internal/problem"
)

// want is one expected problem: its path, and words its message and fix contain.
type want struct{ path, msg, fix string }

func checkProblems(t *testing.T, got problem.List, wants []want) {
	t.Helper()
	if len(got) != len(wants) {
		t.Fatalf("got %d problems, want %d:\n%v", len(got), len(wants), got)
	}
	for i, w := range wants {
		p := got[i]
		if p.Path != w.path || !strings.Contains(p.Msg, w.msg) || !strings.Contains(p.Fix, w.fix) {
			t.Errorf("problem %d = %q (path %q), want path %q, msg containing %q, fix containing %q",
				i, p.String(), p.Path, w.path, w.msg, w.fix)
		}
	}
}

func TestValidatePatient(t *testing.T) {
	tests := []struct {
		name string
		p    Patient
		want []want
	}{
		{"valid", Patient{FirstName: "Margaret", Timezone: "America/New_York"}, nil},
		{"utc", Patient{FirstName: "Margaret", Timezone: "UTC"}, nil},
		{"no name", Patient{FirstName: "  ", Timezone: "Europe/London"},
			[]want{{"first_name", "missing", "first_name:"}}},
		{"no zone", Patient{FirstName: "M"}, []want{{"timezone", "missing", "America/New_York"}}},
		{"abbreviation that loads", Patient{FirstName: "M", Timezone: "EST"},
			[]want{{"timezone", "daylight saving", "timezone: America/New_York"}}},
		{"colloquial", Patient{FirstName: "M", Timezone: "Pacific"},
			[]want{{"timezone", "abbreviation", "timezone: America/Los_Angeles"}}},
		{"local", Patient{FirstName: "M", Timezone: "Local"}, []want{{"timezone", "UTC", "IANA"}}},
		{"lower case", Patient{FirstName: "M", Timezone: "america/new_york"},
			[]want{{"timezone", `unknown time zone "america/new_york"`, "timezone: America/New_York"}}},
		{"space", Patient{FirstName: "M", Timezone: "America/New York"},
			[]want{{"timezone", "unknown", "timezone: America/New_York"}}},
		{"bare city", Patient{FirstName: "M", Timezone: "new york"},
			[]want{{"timezone", "unknown", "timezone: America/New_York"}}},
		{"bare european city", Patient{FirstName: "M", Timezone: "berlin"},
			[]want{{"timezone", "unknown", "timezone: Europe/Berlin"}}},
		{"nonsense", Patient{FirstName: "M", Timezone: "Mars/Olympus"},
			[]want{{"timezone", "unknown", `e.g. "America/New_York"`}}},
		{"path escape", Patient{FirstName: "M", Timezone: "../../etc/passwd"},
			[]want{{"timezone", "unknown", "IANA"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkProblems(t, ValidatePatient(tt.p), tt.want)
		})
	}
}

func TestValidateMedications(t *testing.T) {
	ok := func(id string, comp int) Medication {
		return Medication{ID: id, Name: "Metformin", Strength: "500 mg", PillsPerDose: 1, Compartment: comp}
	}
	tests := []struct {
		name string
		ms   []Medication
		want []want
	}{
		{"valid", []Medication{ok("metformin", 1), ok("vitamin-d3", 2)}, nil},
		{"none", nil, []want{{"", "no medications", "medications:"}}},
		{"missing id suggests from name", []Medication{{Name: "Metformin XR", PillsPerDose: 1, Compartment: 1}},
			[]want{{"[0]", "no id", "id: metformin-xr"}}},
		{"id not a slug", []Medication{ok("Lisinopril 10", 1)},
			[]want{{"[0].id", `"Lisinopril 10" is not a lowercase slug`, "id: lisinopril-10"}}},
		{"id starts with a digit", []Medication{ok("5fu", 1)},
			[]want{{"[0].id", "not a lowercase slug", "starting with a letter"}}},
		{"duplicate id", []Medication{ok("metformin", 1), ok("metformin", 2)},
			[]want{{"[1].id", "already used by medications[0]", "own id"}}},
		{"no name", []Medication{{ID: "x", PillsPerDose: 1, Compartment: 1}},
			[]want{{"[0]", "no name", "pharmacy label"}}},
		{"zero pills", []Medication{{ID: "x", Name: "X", Compartment: 1}},
			[]want{{"[0].pills_per_dose", "at least 1, got 0", "pills_per_dose: 1"}}},
		{"negative pills", []Medication{{ID: "x", Name: "X", PillsPerDose: -2, Compartment: 1}},
			[]want{{"[0].pills_per_dose", "got -2", ""}}},
		{"no compartment", []Medication{{ID: "x", Name: "X", PillsPerDose: 1}},
			[]want{{"[0].compartment", "compartment id", "compartment: 1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkProblems(t, ValidateMedications(tt.ms), tt.want)
		})
	}
}

func TestSlug(t *testing.T) {
	tests := []struct{ in, want string }{
		{"metformin", "metformin"},
		{"Metformin XR 500", "metformin-xr-500"},
		{"  vitamin_d3--", "vitamin-d3"},
		{"Paracétamol", "parac-tamol"},
		{"500mg", ""},
		{"", ""},
		{"---", ""},
	}
	for _, tt := range tests {
		if got := Slug(tt.in); got != tt.want {
			t.Errorf("Slug(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestPatientClock: the clock follows the language unless clock_24h says.
func TestPatientClock(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		lang string
		set  *bool
		want bool
	}{
		{"", nil, false},
		{"en", nil, false},
		{"es", nil, true},
		{"pt-PT", nil, true},
		{"es", &no, false},
		{"en", &yes, true},
	}
	for _, tt := range tests {
		p := Patient{Language: tt.lang, Clock24h: tt.set}
		if got := p.Use24h(); got != tt.want {
			t.Errorf("Patient{Language: %q, Clock24h: %v}.Use24h() = %v, want %v", tt.lang, tt.set != nil && *tt.set, got, tt.want)
		}
	}
}
