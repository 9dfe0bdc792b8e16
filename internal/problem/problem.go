// Package problem is the shared vocabulary for configuration errors: each
// package validates its own section of the config file and reports problems
// by path ("compartments[1].motor.pins[0]"); the loader in cmd/ turns the
// path into the line number an installer needs.
package problem

import (
	"cmp"
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
	// Other locates another value the problem is about, by path: the
	// first use of a pin used twice. The loader fills OtherLine from it,
	// so the installer is sent to a line, not to a path to decode.
	Other     string
	OtherLine int
	// named is Other as the message names it, before Merge made it
	// absolute ("devices[0]" for "vitals.devices[0]").
	named string
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Path != "" {
		fmt.Fprintf(&b, "%s: ", p.Path)
	}
	b.WriteString(p.msg())
	if p.Fix != "" {
		b.WriteString(" (fix: ")
		b.WriteString(p.Fix)
		b.WriteString(")")
	}
	return b.String()
}

// msg is Msg with OtherLine after the first mention of Other ("already
// used by board.button.pin (line 16)"), or after it all when Msg does not
// name it.
func (p Problem) msg() string {
	if p.OtherLine <= 0 {
		return p.Msg
	}
	line := fmt.Sprintf(" (line %d)", p.OtherLine)
	named := cmp.Or(p.named, p.Other)
	if i := strings.Index(p.Msg, named); named != "" && i >= 0 {
		i += len(named)
		return p.Msg[:i] + line + p.Msg[i:]
	}
	return p.Msg + line
}

// List collects problems; its zero value is ready to use.
type List []Problem

// Add records a problem at path.
func (l *List) Add(path, fix, format string, args ...any) {
	*l = append(*l, Problem{Path: path, Msg: fmt.Sprintf(format, args...), Fix: fix})
}

// AddOther records a problem at path that is about the value at other too.
func (l *List) AddOther(path, other, fix, format string, args ...any) {
	*l = append(*l, Problem{Path: path, Other: other, Msg: fmt.Sprintf(format, args...), Fix: fix})
}

// Merge appends problems found under prefix (a sub-section validated on its
// own) with their paths, Other's included, made absolute.
func (l *List) Merge(prefix string, sub List) {
	for _, p := range sub {
		p.Path = Join(prefix, p.Path)
		if p.Other != "" {
			p.named = cmp.Or(p.named, p.Other)
			p.Other = Join(prefix, p.Other)
		}
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
