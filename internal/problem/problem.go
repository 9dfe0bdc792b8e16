// Package problem is the shared vocabulary for configuration errors: each
// package validates its own section of the config file and reports problems
// by path ("compartments[1].motor.pins[0]"); the loader in cmd/ turns the
// path into the line number an installer needs.
package problem

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with a configuration.
type Problem struct {
	// Path locates the value: keys joined by ".", list indexes in brackets,
	// e.g. "regimens[2].cron". Empty means the file as a whole.
	Path string
	// Msg says what is wrong, in plain words.
	Msg string
	// Fix says what to do about it.
	Fix string
	// Line is filled in by the loader; 0 when unknown.
	Line int
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Path != "" {
		fmt.Fprintf(&b, "%s: ", p.Path)
	}
	b.WriteString(p.Msg)
	if p.Fix != "" {
		b.WriteString(" (fix: ")
		b.WriteString(p.Fix)
		b.WriteString(")")
	}
	return b.String()
}

// List collects problems; its zero value is ready to use.
type List []Problem

// Add records a problem at path.
func (l *List) Add(path, fix, format string, args ...any) {
	*l = append(*l, Problem{Path: path, Msg: fmt.Sprintf(format, args...), Fix: fix})
}

// Merge appends problems found under prefix (a sub-section validated on its
// own) with their paths made absolute.
func (l *List) Merge(prefix string, sub List) {
	for _, p := range sub {
		p.Path = Join(prefix, p.Path)
		*l = append(*l, p)
	}
}

// Err returns the list as an error, or nil if it is empty.
func (l List) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

func (l List) Error() string {
	s := make([]string, len(l))
	for i, p := range l {
		s[i] = p.String()
	}
	return strings.Join(s, "\n")
}

// Join joins path elements; an element starting with "[" attaches without a dot.
func Join(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		if p == "" {
			continue
		}
		if b.Len() > 0 && !strings.HasPrefix(p, "[") {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

// Index formats a list element path: Index("regimens", 2) = "regimens[2]".
func Index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }
