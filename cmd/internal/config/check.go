package config

import (
	"fmt"
	"io"

	"github.com/pillbox/pillbox/internal/problem"
	"github.com/pillbox/pillbox/notify"
)

// Check is `dispenserd --check-config FILE`: it loads the file, prints each
// problem to stderr as "FILE:LINE: message (fix: ...)" followed by a count,
// or a short summary to stdout when there is none, and returns the exit
// status: 0 when the file is clean, 1 otherwise.
func Check(path string, stdout, stderr io.Writer) int {
	f, probs, err := Load(path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if len(probs) > 0 {
		PrintProblems(stderr, path, probs)
		noun := "problems"
		if len(probs) == 1 {
			noun = "problem"
		}
		fmt.Fprintf(stderr, "%s: %d %s\n", path, len(probs), noun)
		return 1
	}
	summarize(stdout, path, f)
	return 0
}

// PrintProblems writes one "FILE:LINE: message (fix: ...)" line per problem,
// the form editors and terminals turn into a link to the line.
func PrintProblems(w io.Writer, path string, probs problem.List) {
	for _, p := range probs {
		loc := path
		if p.Line > 0 {
			loc = fmt.Sprintf("%s:%d", path, p.Line)
		}
		p.Line = 0 // already in loc
		fmt.Fprintf(w, "%s: %s\n", loc, p)
	}
}

func summarize(w io.Writer, path string, f *File) {
	caregivers := 0
	for _, c := range f.Contacts {
		if c.Role == notify.RoleCaregiver {
			caregivers++
		}
	}
	fmt.Fprintf(w, "%s: OK: %d compartments, %d medications, %d regimens, %d contacts (%d caregivers), time zone %s\n",
		path, len(f.Compartments), len(f.Medications), len(f.Regimens), len(f.Contacts), caregivers, f.Patient.Timezone)
	for _, c := range f.Compartments {
		for _, m := range f.Medications {
			if m.Compartment == c.ID {
				fmt.Fprintf(w, "  compartment %d (%s): %s, %d per dose, %d of %d pills\n",
					c.ID, c.Motor.Kind, m.ID, m.PillsPerDose, c.Count, c.Capacity)
			}
		}
	}
}
