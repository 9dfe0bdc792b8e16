// Package config owns the dispenser's configuration file: the File type that
// gathers every package's section, the loader that turns YAML into it and
// every mistake into a problem with a line number, the checks that need more
// than one section, and `dispenserd --check-config`.
//
// The format is YAML, read with go.yaml.in/yaml/v3 (the YAML organisation's
// maintained continuation of gopkg.in/yaml.v3), because
//   - it keeps the line of every node, which is what lets every problem
//     point at its line, even those found by the sections' own validators
//     (they report a path such as "compartments[1].motor.pins[0]");
//   - it allows comments, so an installer can note why a pin is wired the
//     way it is;
//   - installers know it from Home Assistant and cloud-init.
//
// YAML has traps, and the loader reports each as a problem with a fix rather
// than reading something the installer did not mean:
//   - a value starting with '*' is an alias and '@' is reserved, so an
//     unquoted cron expression ("*/5 * * * *", "@daily") is a syntax error:
//     the loader says to quote it;
//   - tabs may not indent YAML: the loader names the line;
//   - yes/no/on/off are booleans only in boolean fields (yaml.v3 follows
//     YAML 1.2 elsewhere), so `active_low: yes` works and `role: no` is the
//     string "no";
//   - 0x3c is a number (an I2C address), "0x3c" in quotes is a string and an
//     error; a leading zero (030) would be octal and is refused;
//   - a fraction in a whole-number field (pills_per_dose: 1.5) would be cut
//     to 1 by the decoder and is refused;
//   - durations are Go durations with a unit ("20ms", "90m", "2h"); a bare
//     number is refused;
//   - unknown keys are errors, with the nearest known key as a suggestion.
//
// Problems may quote values from the file (medication ids, a corrected phone
// number): they are for the installer's terminal, not for a remote log.
package config

import (
	"cmp"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"
	// The time zone database is embedded so that a device image without
	// /usr/share/zoneinfo still reads the patient's zone correctly.
	_ "time/tzdata"

	"github.com/pillbox/pillbox/adherence/uplink"
	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/hw"
	"github.com/pillbox/pillbox/internal/problem"
	"github.com/pillbox/pillbox/notify"
	"github.com/pillbox/pillbox/notify/twilio/twilioconf"
	"github.com/pillbox/pillbox/notify/vitals"
	"github.com/pillbox/pillbox/schedule"
)

// File is the whole configuration file. Adding a section is one field
// here when its type has a method Validate() problem.List (returning paths
// relative to the section); otherwise its validator also needs a line in
// sections.
type File struct {
	Patient      dispenser.Patient      `yaml:"patient"`
	Board        hw.BoardConfig         `yaml:"board"`
	Compartments []hw.CompartmentConfig `yaml:"compartments"`
	Medications  []dispenser.Medication `yaml:"medications"`
	Regimens     []schedule.Regimen     `yaml:"regimens"`
	Contacts     []notify.Contact       `yaml:"contacts"`
	// Sync, when present, makes the dispenser push its log to a clinic
	// service (package uplink).
	Sync *uplink.Config `yaml:"sync"`
	// Escalation says who hears about what, when, and through which SMS
	// provider; every field has a default.
	Escalation Escalation `yaml:"escalation"`
	// Vitals, when present, lists the patient's Bluetooth LE health devices
	// and the thresholds of the abnormal-vital rules (package vitals).
	Vitals *vitals.Config `yaml:"vitals"`
}

// Escalation is the `escalation:` section: the notifier's policy, and the
// settings of the SMS provider, which its own package owns so that the
// notifier links no provider.
type Escalation struct {
	notify.Escalation `yaml:",inline"`
	// Twilio sends the texts. Without it (and always with --sim unless
	// in_sim is set) texts go to the local outbox viewer only.
	Twilio *twilioconf.Section `yaml:"twilio"`
}

func (e *Escalation) validate(contacts []notify.Contact, meds []dispenser.Medication) problem.List {
	l := notify.ValidateEscalation(e.Escalation, contacts, meds)
	if e.Twilio != nil {
		l.Merge("twilio", e.Twilio.Validate())
	}
	return l
}

// sections runs each package's validator on its section. Paths a validator
// returns relative to its section ("[1].id") get key as prefix; validators
// that return paths from the root ("regimens[1].cron") have key "".
var sections = []struct {
	key   string
	check func(f *File, loc *time.Location, now time.Time) problem.List
}{
	{"patient", func(f *File, _ *time.Location, _ time.Time) problem.List { return dispenser.ValidatePatient(f.Patient) }},
	{"", func(f *File, _ *time.Location, _ time.Time) problem.List {
		return hw.ValidateBoard(f.Board, f.Compartments)
	}},
	{"medications", func(f *File, _ *time.Location, _ time.Time) problem.List {
		return dispenser.ValidateMedications(f.Medications)
	}},
	{"", func(f *File, loc *time.Location, now time.Time) problem.List {
		return schedule.ValidateRegimens(f.Regimens, loc, now)
	}},
	{"contacts", func(f *File, _ *time.Location, _ time.Time) problem.List { return notify.ValidateContacts(f.Contacts) }},
	{"escalation", func(f *File, _ *time.Location, _ time.Time) problem.List {
		return f.Escalation.validate(f.Contacts, f.Medications)
	}},
	{"", func(f *File, _ *time.Location, _ time.Time) problem.List { return crossCheck(f) }},
}

// Load reads and checks the configuration file at path. The error is only
// for a file that cannot be read. Everything wrong with its content is in
// the problem list, sorted by line; the File is nil when the YAML could not
// be parsed at all, and must not be used to run the device while the list
// is not empty.
func Load(path string) (*File, problem.List, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("config: %w", err)
	}
	f, probs := Parse(data)
	return f, probs, nil
}

// Parse is Load on the bytes of a file, checked now: a clock change a
// problem names is the coming one.
func Parse(data []byte) (*File, problem.List) { return ParseAt(data, time.Now()) }

// ParseAt is Parse as if checked at now.
func ParseAt(data []byte, now time.Time) (*File, problem.List) {
	var f File
	d, parsed, faithful := decode(data, &f)
	if !parsed {
		return nil, d.problems()
	}
	if !faithful {
		d.probs = append(d.probs, problem.Problem{Msg: "the other checks did not run: part of the file could not be read",
			Fix: "fix the problems below and check again"})
		return &f, d.problems()
	}
	// An unknown zone is ValidatePatient's problem to report; the regimen
	// checks still run, in UTC, so that one mistake does not hide others.
	loc, err := time.LoadLocation(f.Patient.Timezone)
	if err != nil || f.Patient.Timezone == "" {
		loc = time.UTC
	}
	checked := validateSelf(&f)
	for _, s := range sections {
		checked.Merge(s.key, s.check(&f, loc, now))
	}
	for _, p := range checked {
		if p.Line == 0 {
			p.Line = d.lineOf(p.Path)
		}
		if p.Other != "" && p.OtherLine == 0 {
			p.OtherLine = d.lineOf(p.Other)
		}
		// A value the decoder could not read is reported once, by the
		// decoder, not again by a validator that saw its zero value.
		if !d.decodeLines[p.Line] {
			d.probs = append(d.probs, p)
		}
	}
	return &f, d.problems()
}

// selfValidating is a section type that checks itself.
type selfValidating interface{ Validate() problem.List }

// validateSelf runs Validate on every field of the struct *v that has it,
// with the field's yaml key as the prefix of its problems' paths.
func validateSelf(v any) problem.List {
	var l problem.List
	rv := reflect.ValueOf(v).Elem()
	for i := range rv.NumField() {
		sf := rv.Type().Field(i)
		if !sf.IsExported() {
			continue
		}
		fv := rv.Field(i)
		if fv.Kind() != reflect.Pointer {
			fv = fv.Addr()
		} else if fv.IsNil() {
			continue // an optional section left out
		}
		if sv, ok := fv.Interface().(selfValidating); ok {
			key, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
			l.Merge(key, sv.Validate())
		}
	}
	return l
}

func sortByLine(l problem.List) {
	slices.SortStableFunc(l, func(a, b problem.Problem) int { return cmp.Compare(a.Line, b.Line) })
}
