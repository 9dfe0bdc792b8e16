package config

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/internal/problem"
)

const example = "../../../examples/dispenser.yaml"

func readExample(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// edit replaces old, which must occur exactly once, with new.
type edit struct{ old, new string }

// at locates an expected problem by the first line of the edited file that
// contains marker ("" for line 0), and says what its text must contain.
type at struct{ marker, text string }

func lineContaining(t *testing.T, text, marker string) int {
	t.Helper()
	if marker == "" {
		return 0
	}
	for i, l := range strings.Split(text, "\n") {
		if strings.Contains(l, marker) {
			return i + 1
		}
	}
	t.Fatalf("no line contains %q", marker)
	return 0
}

// TestParseExampleEdits breaks the example in one way at a time and checks
// that exactly the expected problems come back, on the right lines.
// checkedAt is when TestParseExampleEdits checks: the coming clock change
// in New York is on 8 March 2026.
var checkedAt = time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)

func TestParseExampleEdits(t *testing.T) {
	base := readExample(t)
	// The example's button pin, which the "pin used twice" case names.
	buttonLine := lineContaining(t, base, "pin: GPIO17")
	tests := []struct {
		name  string
		edits []edit
		want  []at
	}{
		{"clean", nil, nil},
		{"unknown patient language lists the supported ones",
			[]edit{{"  language: en\n", "  language: it\n"}},
			[]at{{"language: it", `patient.language: unsupported language "it"; use one of en (English), de (Deutsch), es (español), fr (français), pt-BR (português (Brasil))`}}},
		{"malformed patient language",
			[]edit{{"  language: en\n", "  language: english\n"}},
			[]at{{"language: english", `patient.language: language "english" is not a BCP 47 tag; use one of en (English)`}}},
		{"regional patient language is served by its language",
			[]edit{{"  language: en\n", "  language: es-MX\n"}}, nil},
		{"unknown contact language",
			[]edit{{"language: en            # es", "language: klingon      # es"}},
			[]at{{"language: klingon", `contacts[0].language: language "klingon" is not a BCP 47 tag; use one of en (English)`}}},
		{"max_segments out of range",
			[]edit{{"max_segments: 2 ", "max_segments: 11 "}},
			[]at{{"max_segments: 11", "escalation.max_segments: max_segments 11 is out of range (fix: write a number of segments from 1 to 10"}}},
		{"unknown key suggests the nearest",
			[]edit{{"class: biguanide", "clas: biguanide"}},
			[]at{{"clas: biguanide", `medications[0]: unknown key "clas" (fix: did you mean class?)`}}},
		{"unknown key with dashes suggests underscores",
			[]edit{{"pills_per_dose: 2 ", "pills-per-dose: 2 "}},
			[]at{{"- id: paracetamol", "pills_per_dose must be at least 1"},
				{"pills-per-dose", "did you mean pills_per_dose?"}}},
		{"unknown section lists the known ones",
			[]edit{{"\ncontacts:\n", "\ntelemetry:\n  heart_rate: 1\ncontacts:\n"}},
			[]at{{"telemetry:", `unknown key "telemetry" (fix: remove it; keys allowed here: board, compartments, contacts, escalation, medications, patient, regimens, sync, vitals)`}}},
		{"unquoted cron is an alias",
			[]edit{{`cron: "0 8,20 * * *"`, `cron: */30 8-20 * * *`}},
			[]at{{"cron: */30", `read by YAML as an alias (a reference to an &anchor) (fix: put the value in quotes: cron: "*/30 8-20 * * *")`}}},
		{"unquoted cron descriptor is reserved",
			[]edit{{`cron: "0 9 * * *"`, `cron: @daily   # once a day`}},
			[]at{{"cron: @daily", `YAML reserves "@" at the start of a value (fix: put the value in quotes: cron: "@daily")`}}},
		{"tab indentation",
			[]edit{{"  first_name: Margaret", "\tfirst_name: Margaret"}},
			[]at{{"\tfirst_name", "a tab indents this line"}}},
		{"quoted I2C address",
			[]edit{{"address: 0x3c", `address: "0x3c"`}},
			[]at{{`"0x3c"`, "expected a number of 0 or more, found `0x3c` (fix: write a number without quotes; an I2C address is written in hex, e.g. 0x3c)"}}},
		{"leading zero is octal",
			[]edit{{"count: 56", "count: 056"}},
			[]at{{"count: 056", "compartments[0].count: 056 has a leading zero, so YAML reads it as the octal number 46 (fix: write it without the leading zero: 56)"}}},
		{"fraction in a whole-number field",
			[]edit{{"pills_per_dose: 2 ", "pills_per_dose: 1.5 "}},
			[]at{{"pills_per_dose: 1.5", "medications[2].pills_per_dose: must be a whole number, got 1.5"}}},
		{"word in a whole-number field is reported once",
			[]edit{{"pills_per_dose: 2 ", "pills_per_dose: two "}},
			[]at{{"pills_per_dose: two", "expected a whole number, found `two`"}}},
		{"duration without a unit",
			[]edit{{"step_delay: 2ms", "step_delay: 2"}},
			[]at{{"step_delay: 2", `expected a duration, found ` + "`2`" + ` (fix: write a Go duration with a unit, e.g. "20ms", "90m" or "2h")`}}},
		{"duplicate key stops the other checks",
			[]edit{{"class: biguanide", "class: biguanide\n    class: antidiabetic"}},
			[]at{{"", "the other checks did not run"},
				{"class: antidiabetic", `key "class" appears twice (first at line`}}},
		{"list where a mapping belongs stops the other checks",
			[]edit{{"  - id: 3\n", "  - 3\n  - id: 3\n"}},
			[]at{{"", "the other checks did not run"},
				{"  - 3", "expected a mapping of key: value lines, found `3`"}}},
		{"medication in a compartment that does not exist",
			[]edit{{"compartment: 1\n", "compartment: 4\n"}},
			[]at{{"  - id: 1", "compartments[0]: compartment 1 holds no medication (fix: add a medication with compartment: 1, or remove this compartment)"},
				{"compartment: 4", "medications[0].compartment: compartment 4 does not exist (fix: use one of the compartments: 1, 2, 3)"}}},
		{"two medications in one compartment",
			[]edit{{"compartment: 2\n", "compartment: 1   # shared\n"}},
			[]at{{"  - id: 2", "compartment 2 holds no medication"},
				{"# shared", "medications[1].compartment: compartment 1 already holds medications[0]"}}},
		{"more pills per dose than the compartment holds",
			[]edit{{"pills_per_dose: 2 ", "pills_per_dose: 50 "}},
			[]at{{"pills_per_dose: 50", "pills_per_dose 50 is more than compartment 3 holds (capacity 40)"}}},
		{"regimen for an unknown medication",
			[]edit{{"- medication: lisinopril", "- medication: lisinoprill"}},
			[]at{{"- id: lisinopril", `medication "lisinopril" has no regimen, so it would never be dispensed`},
				{"lisinoprill", `regimens[1].medication: regimen for unknown medication "lisinoprill" (fix: did you mean lisinopril?)`}}},
		{"unknown time zone",
			[]edit{{"timezone: America/New_York", "timezone: america/new york"}},
			[]at{{"timezone: america", `patient.timezone: unknown time zone "america/new york" (fix: use timezone: America/New_York)`}}},
		{"missing key falls back to its parent's line",
			[]edit{{"    name: Lisinopril\n", ""}},
			[]at{{"- id: lisinopril", "medications[1]: medication has no name"}}},
		{"missing section has no line",
			[]edit{{"\ncontacts:\n", "\nnobody:\n"}},
			[]at{{"", "contacts: no caregiver"}, {"nobody:", `unknown key "nobody"`}}},
		{"windows longer than the interval between doses",
			[]edit{{`cron: "0 8,20 * * *"`, `cron: "0 8,12,16,20 * * *"` + "\n    window: 3h"}},
			[]at{{"window: 3h", "regimens[0].window: "}}},
		{"hourly doses meet when the clocks go forward, on a date with its year",
			[]edit{{`cron: "0 8,20 * * *"`, `cron: "0 * * * *"` + "\n    window: 20m"}},
			[]at{{`cron: "0 * * * *"`, "regimens[0].cron: two doses of metformin fall at the same moment (02:00 and 03:00 on 8 March 2026 in America/New_York, when the clocks change) (fix: keep dose times out of the hour the clocks skip)"}}},
		{"cron that never fires",
			[]edit{{`cron: "0 9 * * *"`, `cron: "0 9 31 4 *"`}},
			[]at{{"0 9 31 4", "regimens[1].cron: "}}},
		{"unknown pin",
			[]edit{{"pin: GPIO16", "pin: GPIO99"}},
			[]at{{"GPIO99", "board.led_fault.pin: "}}},
		{"pin used twice",
			[]edit{{"pin: GPIO16", "pin: GPIO17   # twice"}},
			[]at{{"# twice", fmt.Sprintf("board.led_fault.pin: GPIO17 is already used by board.button.pin (line %d) (fix: give each part its own GPIO; free pins: GPIO4, GPIO16)", buttonLine)}}},
		{"phone not E.164",
			[]edit{{`phone: "+15555550102"`, `phone: (555) 555-0102`}},
			[]at{{"phone: (555)", `contacts[1].phone: phone number is not in E.164 form (fix: write phone: "+15555550102")`}}},
		{"second document",
			[]edit{{"    role: patient\n", "    role: patient\n---\nextra: 1\n"}},
			[]at{{"---", "a second YAML document starts here"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := base
			for _, e := range tt.edits {
				if n := strings.Count(text, e.old); n != 1 {
					t.Fatalf("edit %q occurs %d times in the example, want once", e.old, n)
				}
				text = strings.Replace(text, e.old, e.new, 1)
			}
			_, got := ParseAt([]byte(text), checkedAt)
			var want []string
			for _, w := range tt.want {
				want = append(want, fmt.Sprintf("%d: %s", lineContaining(t, text, w.marker), w.text))
			}
			checkAll(t, got, want)
		})
	}
}

// checkAll wants one problem per want ("LINE: text"), in line order.
func checkAll(t *testing.T, got problem.List, want []string) {
	t.Helper()
	var lines []string
	for _, p := range got {
		lines = append(lines, fmt.Sprintf("%d: %s", p.Line, withoutLine(p)))
	}
	ok := len(lines) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ln, text, _ := strings.Cut(want[i], ": ")
		ok = strings.HasPrefix(lines[i], ln+": ") && strings.Contains(lines[i], text)
	}
	if !ok {
		t.Errorf("Parse problems =\n  %s\nwant\n  %s", strings.Join(lines, "\n  "), strings.Join(want, "\n  "))
	}
}

func withoutLine(p problem.Problem) string {
	p.Line = 0
	return p.String()
}

// TestParseTraps covers files that are not a configuration at all.
func TestParseTraps(t *testing.T) {
	tests := []struct {
		name, yaml string
		wantFile   bool
		want       []string
	}{
		{"empty", "", false, []string{"0: the file is empty"}},
		{"only comments", "# nothing here\n", false, []string{"0: the file is empty"}},
		{"a list", "- a\n- b\n", false, []string{"1: the file must be a mapping of sections"}},
		{"a word", "hello\n", false, []string{"1: the file must be a mapping of sections"}},
		{"unknown anchor", "patient:\n  first_name: M\nregimens:\n  - cron: *daily\n", false,
			[]string{`4: *daily refers to an anchor &daily that is not defined (fix: put the value in quotes: cron: "*daily")`}},
		{"syntax error without a known trap", "patient: [a\n", false,
			[]string{"1: YAML syntax: did not find expected ',' or ']'"}},
		{"tab in a list item", "regimens:\n  - medication: a\n\t  cron: x\n", false,
			[]string{"3: a tab indents this line"}},
		{"unknown key in a merged mapping", "templates: &m\n  kind: uln2003\n  bogus: 1\ncompartments:\n  - id: 1\n    motor:\n      <<: *m\n", true,
			[]string{`1: unknown key "templates"`, `3: unknown key "bogus" (in a merged mapping)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, got := Parse([]byte(tt.yaml))
			if (f != nil) != tt.wantFile {
				t.Errorf("Parse returned file %v, want a file: %v", f != nil, tt.wantFile)
			}
			// Only the problems named; a file this bare has many others.
			for _, w := range tt.want {
				ln, text, _ := strings.Cut(w, ": ")
				if !slices.ContainsFunc(got, func(p problem.Problem) bool {
					return fmt.Sprint(p.Line) == ln && strings.Contains(withoutLine(p), text)
				}) {
					t.Errorf("Parse problems =\n%v\nwant one at line %s containing %q", got, ln, text)
				}
			}
		})
	}
}

func TestLoadUnreadable(t *testing.T) {
	_, _, err := Load(filepath.Join(t.TempDir(), "missing.yaml"))
	if err == nil || !strings.Contains(err.Error(), "config:") {
		t.Errorf("Load(missing file) error = %v, want a config: error", err)
	}
}

// broken lists the mistakes in examples/broken.yaml, each as the start of
// its output line "FILE:LINE: ...", and a phrase that must follow.
var broken = []struct {
	line int
	text string
}{
	{8, `patient.timezone: unknown time zone "America/New York" (fix: use timezone: America/New_York)`},
	{22, "board.buzzer.pin: GPIO17 is already used by board.button.pin (line 16) (fix: give each part its own GPIO; free pins: GPIO4, GPIO22, GPIO25, GPIO16, GPIO26)"},
	{24, `board.led_fault.pin: "GPIO41" is not a GPIO of the 40-pin header (fix: GPIO41 is not on the 40-pin header; free pins: GPIO4, GPIO22, GPIO25, GPIO16, GPIO26)`},
	{42, "compartments[2]: compartment 3 holds no medication (fix: add a medication with compartment: 3, or remove this compartment)"},
	{59, `medications[1]: unknown key "strenght" (fix: did you mean strength?)`},
	{68, "regimens[1].cron: "},
	{68, "never fires"},
	{72, `contacts[0].phone: phone number is not in E.164 form (fix: write phone: "+15555550101")`},
}

func TestCheck(t *testing.T) {
	t.Run("example is clean", func(t *testing.T) {
		var out, errOut bytes.Buffer
		if got := Check(example, &out, &errOut); got != 0 {
			t.Fatalf("Check(example) = %d, want 0; stderr:\n%s", got, errOut.String())
		}
		for _, w := range []string{"dispenser.yaml: OK: 3 compartments, 3 medications, 3 regimens, 3 contacts (2 caregivers), time zone America/New_York",
			"compartment 1 (uln2003): metformin, 1 per dose, 56 of 60 pills"} {
			if !strings.Contains(out.String(), w) {
				t.Errorf("Check(example) stdout =\n%s\nwant it to contain %q", out.String(), w)
			}
		}
	})
	t.Run("broken example", func(t *testing.T) {
		const path = "../../../examples/broken.yaml"
		var out, errOut bytes.Buffer
		if got := Check(path, &out, &errOut); got != 1 {
			t.Errorf("Check(broken) = %d, want 1", got)
		}
		lines := strings.Split(errOut.String(), "\n")
		for _, w := range broken {
			prefix := fmt.Sprintf("%s:%d: ", path, w.line)
			if !slices.ContainsFunc(lines, func(l string) bool {
				return strings.HasPrefix(l, prefix) && strings.Contains(l, w.text)
			}) {
				t.Errorf("Check(broken) output lacks %q ... %q; got:\n%s", prefix, w.text, errOut.String())
			}
		}
		if !strings.Contains(errOut.String(), "problems\n") {
			t.Errorf("Check(broken) output lacks the summary line; got:\n%s", errOut.String())
		}
	})
	// schedule.ValidateRegimens checks dose windows only once every cron
	// expression fires, as an installer finds after fixing the first round.
	t.Run("broken example after fixing the cron", func(t *testing.T) {
		b, err := os.ReadFile("../../../examples/broken.yaml")
		if err != nil {
			t.Fatal(err)
		}
		fixed := strings.Replace(string(b), `"0 9 30 2 *"`, `"0 9 * * *"`, 1)
		_, probs := Parse([]byte(fixed))
		if !slices.ContainsFunc(probs, func(p problem.Problem) bool {
			return p.Line == 66 && strings.HasPrefix(withoutLine(p), "regimens[0].window: ") && strings.Contains(p.Msg, "overlap")
		}) {
			t.Errorf("Parse(broken with the cron fixed) lacks the window problem at line 66; got:\n%v", probs)
		}
	})
	t.Run("unreadable", func(t *testing.T) {
		var out, errOut bytes.Buffer
		if got := Check("no-such-file.yaml", &out, &errOut); got != 1 || !strings.Contains(errOut.String(), "no-such-file.yaml") {
			t.Errorf("Check(missing) = %d, stderr %q; want 1 and the file named", got, errOut.String())
		}
	})
}

func TestLineOf(t *testing.T) {
	d := &decoded{lines: map[string]int{"compartments": 3, "compartments[1]": 9, "compartments[1].motor": 11}}
	tests := []struct {
		path string
		want int
	}{
		{"compartments[1].motor", 11},
		{"compartments[1].motor.pins[0]", 11},
		{"compartments[1].capacity", 9},
		{"compartments[4]", 3},
		{"contacts", 0},
		{"", 0},
	}
	for _, tt := range tests {
		if got := d.lineOf(tt.path); got != tt.want {
			t.Errorf("lineOf(%q) = %d, want %d", tt.path, got, tt.want)
		}
	}
}

func TestNearest(t *testing.T) {
	keys := []string{"id", "motor", "capacity", "count", "pills_per_dose", "first_name"}
	tests := []struct{ in, want string }{
		{"motr", "motor"},
		{"capacty", "capacity"},
		{"PillsPerDose", "pills_per_dose"},
		{"pills-per-dose", "pills_per_dose"},
		{"firstname", "first_name"},
		{"ids", "id"},
		{"x", ""},
		{"colour", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := nearest(tt.in, keys); got != tt.want {
			t.Errorf("nearest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := nearest("a", nil); got != "" {
		t.Errorf("nearest with no candidates = %q, want \"\"", got)
	}
}

func TestSplitValue(t *testing.T) {
	tests := []struct{ in, key, val string }{
		{"cron: */5 * * * *", "cron: ", "*/5 * * * *"},
		{"- cron: @daily # note", "cron: ", "@daily"},
		{"- - *x", "", "*x"},
		{"key:", "", "key:"},
	}
	for _, tt := range tests {
		if k, v := splitValue(tt.in); k != tt.key || v != tt.val {
			t.Errorf("splitValue(%q) = %q, %q, want %q, %q", tt.in, k, v, tt.key, tt.val)
		}
	}
}

// FuzzLoad feeds arbitrary bytes to the loader: it must never panic, and
// what it returns must be consistent.
func FuzzLoad(f *testing.F) {
	for _, p := range []string{example, "../../../examples/broken.yaml"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, probs := Parse(data)
		if file == nil && len(probs) == 0 {
			t.Fatal("Parse returned neither a file nor a problem")
		}
		if !slices.IsSortedFunc(probs, func(a, b problem.Problem) int { return a.Line - b.Line }) {
			t.Fatalf("problems not sorted by line: %v", probs)
		}
		// YAML also breaks lines at a lone carriage return.
		lines := bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r")) + 1
		for _, p := range probs {
			if p.Msg == "" || p.Line < 0 || p.Line > lines+1 {
				t.Fatalf("bad problem %+v for a file of %d lines", p, lines)
			}
		}
	})
}

// noisy is a section type that validates itself.
type noisy struct{ Level int }

func (n *noisy) Validate() problem.List {
	var l problem.List
	if n.Level > 2 {
		l.Add("level", "turn it down", "level %d is too loud", n.Level)
	}
	return l
}

func TestValidateSelf(t *testing.T) {
	v := struct {
		Quiet  noisy  `yaml:"quiet"`
		Loud   noisy  `yaml:"loud,omitempty"`
		Plain  string `yaml:"plain"`
		Opt    *noisy `yaml:"opt"`
		Absent *noisy `yaml:"absent"`
		hidden noisy
	}{Quiet: noisy{1}, Loud: noisy{5}, Opt: &noisy{3}, hidden: noisy{9}}
	got := validateSelf(&v)
	if len(got) != 2 || got[0].Path != "loud.level" || got[0].Msg != "level 5 is too loud" || got[1].Path != "opt.level" {
		t.Errorf("validateSelf = %v, want problems at loud.level and opt.level", got)
	}
}
