// Package i18n owns the words people read and hear: the message
// catalogues (one embedded file per language, catalogues/<tag>.yaml),
// choosing a language from a BCP 47 tag or an Accept-Language header, and
// the per-language formatting of numbers, days, months and clock times.
//
// Code asks for a message by id with named arguments and never builds a
// sentence by concatenation; the catalogue decides word order, plural
// forms and capitals. A message text holds placeholders such as {name};
// {name|capital} inserts the argument with its first letter in capitals
// (for an argument that starts a sentence in one language and not in
// another). A message with plural forms (zero, one, two, few, many, other,
// as CLDR names them for the language) picks its form by the argument
// named count.
//
// Adding a language is adding one file: see docs/languages.md.
package i18n

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
)

//go:embed catalogues/*.yaml
var files embed.FS

// Base is the language every other catalogue is checked against and the
// one used when nothing else matches.
const Base = "en"

// Args are a message's named arguments. Values are strings, integers,
// floats (written with the language's decimal sign) or anything with a
// String method.
type Args map[string]any

// Language is one supported language.
type Language struct {
	Tag  string // BCP 47, as the catalogue file is named
	Name string // in the language itself ("español")
}

// Locale is one language's catalogue and formats. It is read-only and
// safe for concurrent use.
type Locale struct {
	tag      language.Tag
	info     info
	msgs     map[string]message
	fallback *Locale // the Base catalogue; nil for Base itself
}

// info is the `language:` section of a catalogue file.
type info struct {
	Tag   string `yaml:"tag"`
	Name  string `yaml:"name"`
	Voice string `yaml:"voice"` // espeak-ng voice name
	// Clock is the clock most people of the language read: "12h" or "24h".
	Clock   string `yaml:"clock"`
	Decimal string `yaml:"decimal"` // decimal sign
	// Weekdays and Months are abbreviations as written in a date ("Mon",
	// "Jan"), Sunday and January first.
	Weekdays []string `yaml:"weekdays"`
	Months   []string `yaml:"months"`
}

// message is one message's text per plural form; a message without plural
// forms has only Other.
type message map[plural.Form]string

var formNames = map[string]plural.Form{
	"zero": plural.Zero, "one": plural.One, "two": plural.Two,
	"few": plural.Few, "many": plural.Many, "other": plural.Other,
}

type catalogues struct {
	locales []*Locale // Base first, then by tag
	matcher language.Matcher
}

var loaded = sync.OnceValues(func() (*catalogues, error) { return load(files) })

// all returns the embedded catalogues. They are part of the program and
// checked by the package's tests, so a broken one is a build mistake.
func all() *catalogues {
	c, err := loaded()
	if err != nil {
		panic(err)
	}
	return c
}

// load reads every catalogue file of fsys.
func load(fsys fs.FS) (*catalogues, error) {
	names, err := fs.Glob(fsys, "catalogues/*.yaml")
	if err != nil {
		return nil, err
	}
	var c catalogues
	var base *Locale
	for _, name := range names {
		l, err := parseFile(fsys, name)
		if err != nil {
			return nil, err
		}
		if l.info.Tag == Base {
			base = l
		}
		c.locales = append(c.locales, l)
	}
	if base == nil {
		return nil, fmt.Errorf("i18n: no catalogue for the base language %q", Base)
	}
	slices.SortFunc(c.locales, func(a, b *Locale) int {
		switch {
		case a == base:
			return -1
		case b == base:
			return 1
		}
		return strings.Compare(a.info.Tag, b.info.Tag)
	})
	tags := make([]language.Tag, len(c.locales))
	for i, l := range c.locales {
		if l != base {
			l.fallback = base
		}
		tags[i] = l.tag
	}
	c.matcher = language.NewMatcher(tags)
	return &c, nil
}

func parseFile(fsys fs.FS, name string) (*Locale, error) {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	var f struct {
		Language info                 `yaml:"language"`
		Messages map[string]yaml.Node `yaml:"messages"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("i18n: %s: %w", name, err)
	}
	in := f.Language
	want := strings.TrimSuffix(path.Base(name), ".yaml")
	switch {
	case in.Tag != want:
		return nil, fmt.Errorf("i18n: %s: language.tag is %q, want %q (the file's name)", name, in.Tag, want)
	case in.Clock != "12h" && in.Clock != "24h":
		return nil, fmt.Errorf("i18n: %s: language.clock is %q, want 12h or 24h", name, in.Clock)
	case len(in.Weekdays) != 7 || len(in.Months) != 12:
		return nil, fmt.Errorf("i18n: %s: want 7 weekdays and 12 months, got %d and %d", name, len(in.Weekdays), len(in.Months))
	case in.Name == "" || in.Voice == "" || in.Decimal == "":
		return nil, fmt.Errorf("i18n: %s: language needs a name, a voice and a decimal sign", name)
	}
	tag, err := language.Parse(in.Tag)
	if err != nil {
		return nil, fmt.Errorf("i18n: %s: %w", name, err)
	}
	l := &Locale{tag: tag, info: in, msgs: make(map[string]message, len(f.Messages))}
	for id, n := range f.Messages {
		m, err := parseMessage(&n)
		if err != nil {
			return nil, fmt.Errorf("i18n: %s: line %d: message %s: %w", name, n.Line, id, err)
		}
		l.msgs[id] = m
	}
	return l, nil
}

// parseMessage reads a message: a string, or a map of plural forms with
// at least other.
func parseMessage(n *yaml.Node) (message, error) {
	if n.Kind == yaml.ScalarNode {
		return message{plural.Other: n.Value}, nil
	}
	var forms map[string]string
	if err := n.Decode(&forms); err != nil {
		return nil, fmt.Errorf("want a text or plural forms: %w", err)
	}
	m := message{}
	for name, text := range forms {
		f, ok := formNames[name]
		if !ok {
			return nil, fmt.Errorf("unknown plural form %q (use zero, one, two, few, many, other)", name)
		}
		m[f] = text
	}
	if _, ok := m[plural.Other]; !ok {
		return nil, fmt.Errorf("plural forms without other")
	}
	return m, nil
}

// Supported lists the languages with a catalogue, Base first.
func Supported() []Language {
	c := all()
	out := make([]Language, len(c.locales))
	for i, l := range c.locales {
		out[i] = Language{Tag: l.info.Tag, Name: l.info.Name}
	}
	return out
}

// Lookup returns the catalogue that best serves the preferences, each a
// BCP 47 tag ("es-MX") or an Accept-Language header value ("fr-CH,
// fr;q=0.9, en;q=0.8"), tried in order; Base when none matches. Malformed
// preferences are skipped.
func Lookup(prefs ...string) *Locale {
	c := all()
	_, i := language.MatchStrings(c.matcher, prefs...)
	return c.locales[i]
}

// Validate checks a `language:` setting of the config: a well-formed BCP
// 47 tag whose language has a catalogue. A regional variant ("es-MX",
// "pt-PT") is accepted and served by its language's catalogue.
func Validate(tag string) error {
	c := all()
	t, err := language.Parse(tag)
	if err != nil || tag == "" {
		return fmt.Errorf("language %q is not a BCP 47 tag; use one of %s", tag, supportedList(c))
	}
	want, _ := t.Base()
	for _, l := range c.locales {
		if b, _ := l.tag.Base(); b == want {
			return nil
		}
	}
	return fmt.Errorf("unsupported language %q; use one of %s", tag, supportedList(c))
}

func supportedList(c *catalogues) string {
	parts := make([]string, len(c.locales))
	for i, l := range c.locales {
		parts[i] = fmt.Sprintf("%s (%s)", l.info.Tag, l.info.Name)
	}
	return strings.Join(parts, ", ")
}

// IDs lists the message ids of the Base catalogue, sorted.
func IDs() []string {
	base := all().locales[0]
	ids := make([]string, 0, len(base.msgs))
	for id := range base.msgs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Tag is the catalogue's BCP 47 tag ("es").
func (l *Locale) Tag() string { return l.info.Tag }

// Name is the language's name in itself ("español").
func (l *Locale) Name() string { return l.info.Name }

// Voice is the espeak-ng voice that speaks the language ("es-419").
func (l *Locale) Voice() string { return l.info.Voice }

// Has reports whether the catalogue itself (not its fallback) has id.
func (l *Locale) Has(id string) bool {
	_, ok := l.msgs[id]
	return ok
}

// Text returns message id with args filled in. A message this catalogue
// lacks comes from the Base catalogue; an unknown id comes back as the id
// itself and an argument missing from args stays as its placeholder, so
// that a mistake shows rather than blanks a screen (the package's tests
// keep both from happening).
func (l *Locale) Text(id string, args Args) string {
	m, ok := l.msgs[id]
	loc := l
	if !ok && l.fallback != nil {
		m, ok = l.fallback.msgs[id]
		loc = l.fallback
	}
	if !ok {
		return id
	}
	text := m[plural.Other]
	if len(m) > 1 {
		if t, ok := m[loc.pluralForm(args["count"])]; ok {
			text = t
		}
	}
	return loc.fill(text, args)
}

// pluralForm is the CLDR cardinal form of a count for the language; Other
// for a count that is not a number.
func (l *Locale) pluralForm(count any) plural.Form {
	var s string
	switch v := count.(type) {
	case int:
		if v < 0 {
			v = -v
		}
		return plural.Cardinal.MatchPlural(l.tag, v%10_000_000, 0, 0, 0, 0)
	case int64:
		return l.pluralForm(int(v % 10_000_000))
	case float64:
		s = formatFloat(v)
	default:
		return plural.Other
	}
	// The operands of a decimal as written: i the integer part, v the
	// count of fraction digits shown, f those digits as a number.
	s = strings.TrimPrefix(s, "-")
	intPart, frac, _ := strings.Cut(s, ".")
	i, f := atoiMod(intPart), atoiMod(frac)
	w := len(strings.TrimRight(frac, "0"))
	t := atoiMod(strings.TrimRight(frac, "0"))
	return plural.Cardinal.MatchPlural(l.tag, i, len(frac), w, f, t)
}

// atoiMod reads decimal digits, modulo 10,000,000 as MatchPlural allows;
// anything else (an exponent) reads as 0.
func atoiMod(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0
		}
		n = (n*10 + int(c-'0')) % 10_000_000
	}
	return n
}
