package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/pillbox/pillbox/internal/problem"
)

// decoded is what the loader learnt from the YAML itself.
type decoded struct {
	lines map[string]int // problem path -> line
	probs problem.List
	// decodeLines are lines whose value could not be read; validators'
	// complaints about the zero value left there would only repeat it.
	decodeLines map[int]bool
}

func (d *decoded) problems() problem.List {
	sortByLine(d.probs)
	return d.probs
}

// addDecode records a problem found while reading the YAML.
func (d *decoded) addDecode(p problem.Problem) {
	d.probs = append(d.probs, p)
	if p.Line > 0 {
		d.decodeLines[p.Line] = true
	}
}

// lineOf returns the line of path or, when the path names something that
// is not in the file (a missing key), of its nearest ancestor that is.
func (d *decoded) lineOf(path string) int {
	for path != "" {
		if l, ok := d.lines[path]; ok {
			return l
		}
		path = parent(path)
	}
	return 0
}

// parent strips the last element of a problem path: "a.b[2]" -> "a.b" -> "a".
func parent(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

// decode parses data into out. parsed is false when there is no mapping of
// sections at all; faithful is false when out is not a faithful copy of the
// file because yaml.v3 dropped a mapping or a list item it could not read
// (the items after it move up, so paths no longer match lines).
func decode(data []byte, out *File) (d *decoded, parsed, faithful bool) {
	d = &decoded{lines: map[string]int{}, decodeLines: map[int]bool{}}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.addDecode(problem.Problem{Msg: "the file is empty", Fix: "start from examples/dispenser.yaml"})
		} else {
			d.syntax(data, err)
		}
		return d, false, false
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		d.syntax(data, err)
	default:
		d.addDecode(problem.Problem{Line: next.Line, Msg: "a second YAML document starts here",
			Fix: "the configuration is one document: remove the --- line"})
	}

	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		d.addDecode(problem.Problem{Line: root.Line, Msg: "the file must be a mapping of sections (patient:, board:, compartments:, ...)",
			Fix: "start from examples/dispenser.yaml"})
		return d, false, false
	}
	var walkProbs problem.List
	walk(root, reflect.TypeFor[File](), "", d.lines, &walkProbs)
	walked := map[int]bool{}
	for _, p := range walkProbs {
		d.addDecode(p)
		walked[p.Line] = true
	}

	// The walk above finds unknown keys with their path and a suggestion;
	// KnownFields also catches those inside merged (<<: *anchor) mappings,
	// which the walk does not follow.
	sd := yaml.NewDecoder(bytes.NewReader(data))
	sd.KnownFields(true)
	err := sd.Decode(out)
	var te *yaml.TypeError
	faithful = true
	switch {
	case errors.As(err, &te):
		for _, e := range te.Errors {
			p, dropped := typeProblem(e)
			if !walked[p.Line] {
				d.addDecode(p)
			}
			faithful = faithful && !dropped
		}
	case err != nil:
		d.addDecode(problem.Problem{Msg: strings.TrimPrefix(err.Error(), "yaml: ")})
		faithful = false
	}
	return d, true, faithful
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// syntax reports a YAML syntax error, naming the trap behind it when it is
// one the loader knows.
func (d *decoded) syntax(data []byte, err error) {
	msg := err.Error()
	p := problem.Problem{Msg: "YAML syntax: " + strings.TrimPrefix(msg, "yaml: "),
		Fix: "check the indentation and quoting of this line and the one before"}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		p.Line, _ = strconv.Atoi(m[1])
		p.Msg = "YAML syntax: " + m[2]
	}
	traps := lintTraps(data, msg)
	for _, t := range traps {
		d.addDecode(t)
	}
	// The trap, when one was found on the error's line, says it better.
	if p.Line > 0 && !d.decodeLines[p.Line] || p.Line == 0 && len(traps) == 0 {
		d.addDecode(p)
	}
}

var unknownAnchor = regexp.MustCompile(`unknown anchor '([^']*)' referenced`)

// lintTraps finds, line by line, the YAML traps behind a syntax error:
// indentation by tabs, and unquoted values that start with a character YAML
// reserves (a cron expression "*/5 * * * *" or "@daily").
func lintTraps(data []byte, yamlErr string) problem.List {
	var l problem.List
	anchor := ""
	if m := unknownAnchor.FindStringSubmatch(yamlErr); m != nil {
		anchor = "*" + m[1]
	}
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		body := strings.TrimLeft(line, " \t")
		if body == "" || body[0] == '#' {
			continue
		}
		if strings.ContainsRune(line[:len(line)-len(body)], '\t') {
			l = append(l, problem.Problem{Line: n, Msg: "a tab indents this line; YAML indents with spaces only",
				Fix: "replace the tab with spaces"})
			continue
		}
		key, val := splitValue(body)
		if val == "" {
			continue
		}
		why := ""
		switch {
		case val[0] == '@' || val[0] == '`':
			why = fmt.Sprintf("YAML reserves %q at the start of a value", val[:1])
		case val[0] == '*' && (len(val) == 1 || !isAnchorChar(val[1])):
			why = `a value starting with "*" is read by YAML as an alias (a reference to an &anchor)`
		case anchor != "" && (val == anchor || strings.HasPrefix(val, anchor+" ")):
			why = fmt.Sprintf("%s refers to an anchor &%s that is not defined", anchor, anchor[1:])
		default:
			continue
		}
		l = append(l, problem.Problem{Line: n, Msg: why, Fix: fmt.Sprintf("put the value in quotes: %s%q", key, val)})
	}
	return l
}

// splitValue splits a block-style line ("- cron: */5 * * * * # note") into
// its key part ("cron: ") and its value ("*/5 * * * *").
func splitValue(body string) (key, val string) {
	for strings.HasPrefix(body, "- ") {
		body = strings.TrimLeft(body[2:], " ")
	}
	if i := strings.Index(body, ": "); i >= 0 {
		key, body = body[:i+2], body[i+2:]
	}
	if i := strings.Index(body, " #"); i >= 0 {
		body = body[:i]
	}
	return key, strings.TrimSpace(body)
}

// isAnchorChar reports whether yaml.v3 accepts c in an anchor or alias name.
func isAnchorChar(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-'
}

var durationType = reflect.TypeFor[time.Duration]()

// walk records the line of every known path under n (keys at their key's
// line, list items at the item's) and reports what the decoder either
// accepts silently or reports without a path: unknown keys, and a fraction
// or a leading zero in a whole-number field.
func walk(n *yaml.Node, t reflect.Type, path string, lines map[string]int, probs *problem.List) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Struct:
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.ShortTag() == "!!merge" {
				continue
			}
			ft, ok := fields[k.Value]
			if !ok {
				*probs = append(*probs, unknownKey(k, path, t))
				continue
			}
			p := problem.Join(path, k.Value)
			lines[p] = k.Line
			walk(v, ft, p, lines, probs)
		}
	case n.Kind == yaml.SequenceNode && t.Kind() == reflect.Slice:
		for i, item := range n.Content {
			p := problem.Index(path, i)
			lines[p] = item.Line
			walk(item, t.Elem(), p, lines, probs)
		}
	case n.Kind == yaml.ScalarNode && t != durationType && isWhole(t.Kind()):
		tag := n.ShortTag()
		if tag == "!!int" && leadingZero.MatchString(n.Value) {
			v, _ := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 8, 64)
			*probs = append(*probs, problem.Problem{Path: path, Line: n.Line,
				Msg: fmt.Sprintf("%s has a leading zero, so YAML reads it as the octal number %d", n.Value, v),
				Fix: "write it without the leading zero: " + withoutLeadingZero(n.Value)})
		}
		if tag == "!!float" {
			*probs = append(*probs, problem.Problem{Path: path, Line: n.Line,
				Msg: fmt.Sprintf("must be a whole number, got %s", n.Value),
				Fix: "write a whole number; pills are not split"})
		}
	}
}

var leadingZero = regexp.MustCompile(`^[-+]?0[0-9_]+$`)

func withoutLeadingZero(s string) string {
	sign := strings.TrimRight(s[:1], "0123456789")
	if digits := strings.TrimLeft(s[len(sign):], "0_"); digits != "" {
		return sign + digits
	}
	return "0"
}

func isWhole(k reflect.Kind) bool {
	return reflect.Int <= k && k <= reflect.Uint64
}

// yamlFields maps the keys of a struct, as yaml.v3 names them, to their types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if opts == "inline" && f.Type.Kind() == reflect.Struct {
			maps.Copy(m, yamlFields(f.Type))
			continue
		}
		switch name {
		case "-":
			continue
		case "":
			name = strings.ToLower(f.Name)
		}
		m[name] = f.Type
	}
	return m
}

func unknownKey(k *yaml.Node, path string, t reflect.Type) problem.Problem {
	known := make([]string, 0, 16)
	for name := range yamlFields(t) {
		known = append(known, name)
	}
	p := problem.Problem{Path: path, Line: k.Line, Msg: fmt.Sprintf("unknown key %q", k.Value)}
	if s := nearest(k.Value, known); s != "" {
		p.Fix = fmt.Sprintf("did you mean %s?", s)
	} else {
		p.Fix = "remove it; keys allowed here: " + strings.Join(sortedStrings(known), ", ")
	}
	return p
}

var typeErr = regexp.MustCompile("^cannot unmarshal (!!\\w+)(?: `(.*)`)? into (.+)$")
var dupKey = regexp.MustCompile(`^mapping key "(.*)" already defined at line (\d+)$`)
var notFound = regexp.MustCompile(`^field (.*) not found in type (.+)$`)

// typeProblem turns one of yaml.v3's unmarshal errors into a problem that
// says what was expected and how to write it. dropped reports an error after
// which yaml.v3 leaves out the whole mapping or list item.
func typeProblem(e string) (p problem.Problem, dropped bool) {
	if m := yamlLine.FindStringSubmatch(e); m != nil {
		p.Line, _ = strconv.Atoi(m[1])
		e = m[2]
	}
	p.Msg = e
	if m := dupKey.FindStringSubmatch(e); m != nil {
		p.Msg = fmt.Sprintf("key %q appears twice (first at line %s)", m[1], m[2])
		p.Fix = "keep only one of them"
		return p, true
	}
	if m := notFound.FindStringSubmatch(e); m != nil {
		p.Msg = fmt.Sprintf("unknown key %q (in a merged mapping)", m[1])
		p.Fix = "remove it or check its spelling"
		return p, false
	}
	m := typeErr.FindStringSubmatch(e)
	if m == nil {
		return p, true // not a message this loader knows: assume the worst
	}
	tag, val, into := m[1], m[2], m[3]
	found := "`" + val + "`"
	switch tag {
	case "!!map":
		found = "a mapping"
	case "!!seq":
		found = "a list"
	case "!!null":
		found = "nothing"
	}
	switch {
	case into == "time.Duration":
		p.Msg = "expected a duration, found " + found
		p.Fix = `write a Go duration with a unit, e.g. "20ms", "90m" or "2h"`
	case into == "bool":
		p.Msg = "expected true or false, found " + found
		p.Fix = "write true or false"
	case strings.HasPrefix(into, "uint"):
		p.Msg = "expected a number of 0 or more, found " + found
		p.Fix = "write a number without quotes; an I2C address is written in hex, e.g. 0x3c"
	case strings.HasPrefix(into, "int"):
		p.Msg = "expected a whole number, found " + found
		p.Fix = "write a whole number without quotes"
	case strings.HasPrefix(into, "float"):
		p.Msg = "expected a number, found " + found
		p.Fix = "write a number without quotes, e.g. 90"
	case into == "string":
		p.Msg = "expected a single value, found " + found
		p.Fix = "write one value on the same line as the key"
	case strings.HasPrefix(into, "[]"):
		p.Msg = "expected a list, found " + found
		p.Fix = "write one \"- item\" per line below the key, or [a, b] on the same line"
		return p, true
	default:
		p.Msg = "expected a mapping of key: value lines, found " + found
		p.Fix = "indent the keys of this section below it"
		return p, true
	}
	return p, false
}
