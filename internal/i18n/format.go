package i18n

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// capitalMod is the placeholder modifier that capitalises the argument.
const capitalMod = "capital"

// placeholder is one {name} or {name|capital} in a text.
type placeholder struct {
	start, end int // byte offsets of the braces
	name       string
	capital    bool
}

// placeholders finds the placeholders of text. A brace that does not open
// a well-formed placeholder is an error: catalogues have no literal braces.
func placeholders(text string) ([]placeholder, error) {
	var out []placeholder
	for i := 0; i < len(text); i++ {
		switch text[i] {
		case '}':
			return nil, fmt.Errorf("stray } at byte %d", i)
		case '{':
		default:
			continue
		}
		n := strings.IndexByte(text[i:], '}')
		if n < 0 {
			return nil, fmt.Errorf("unclosed { at byte %d", i)
		}
		p := placeholder{start: i, end: i + n}
		body := text[i+1 : i+n]
		name, mod, hasMod := strings.Cut(body, "|")
		if hasMod && mod != capitalMod {
			return nil, fmt.Errorf("unknown modifier %q in {%s} (only |%s)", mod, body, capitalMod)
		}
		if !validName(name) {
			return nil, fmt.Errorf("bad placeholder {%s}: use letters, digits and _", body)
		}
		p.name, p.capital = name, hasMod
		out = append(out, p)
		i += n
	}
	return out, nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r != '_' && !('a' <= r && r <= 'z') && !('A' <= r && r <= 'Z') && !('0' <= r && r <= '9') {
			return false
		}
	}
	return true
}

// fill replaces the placeholders of text with the formatted args.
func (l *Locale) fill(text string, args Args) string {
	ps, err := placeholders(text)
	if err != nil || len(ps) == 0 {
		return text
	}
	var b strings.Builder
	last := 0
	for _, p := range ps {
		b.WriteString(text[last:p.start])
		last = p.end + 1
		v, ok := args[p.name]
		if !ok {
			b.WriteString(text[p.start:last])
			continue
		}
		s := l.format(v)
		if p.capital {
			s = Capitalise(s)
		}
		b.WriteString(s)
	}
	b.WriteString(text[last:])
	return b.String()
}

// format writes one argument value.
func (l *Locale) format(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return l.Number(v)
	case fmt.Stringer:
		return v.String()
	}
	return fmt.Sprint(v)
}

// Capitalise puts the first letter of s in capitals.
func Capitalise(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// formatFloat writes v as Go's %v does (the shortest form that reads
// back), which is what the English texts have always shown.
func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// Number writes v with the language's decimal sign and no grouping ("1.5"
// in English, "1,5" in German).
func (l *Locale) Number(v float64) string {
	return strings.Replace(formatFloat(v), ".", l.info.Decimal, 1)
}

// ClockStyle picks 12- or 24-hour times.
type ClockStyle int

const (
	LocaleClock ClockStyle = iota // the clock the language usually reads
	Clock12
	Clock24
)

// Uses24h reports whether the language reads 24-hour times by default.
func (l *Locale) Uses24h() bool { return l.info.Clock == "24h" }

func (l *Locale) h24(s ClockStyle) bool {
	return s == Clock24 || (s == LocaleClock && l.Uses24h())
}

// clockArgs are the parts of a time of day the clock messages use: h the
// hour as read (1..12 on a 12-hour clock), hh it with two digits, mm the
// minutes with two digits, m them without, ampm the period, count the
// hour (for "1 heure" against "2 heures").
func (l *Locale) clockArgs(t time.Time, h24 bool) Args {
	h := t.Hour()
	a := Args{"mm": fmt.Sprintf("%02d", t.Minute()), "m": t.Minute()}
	if h24 {
		a["h"], a["hh"], a["count"] = h, fmt.Sprintf("%02d", h), h
		return a
	}
	period := "time.am"
	if h >= 12 {
		period = "time.pm"
	}
	h12 := h % 12
	if h12 == 0 {
		h12 = 12
	}
	a["h"], a["hh"], a["count"], a["ampm"] = h12, fmt.Sprintf("%02d", h12), h12, l.Text(period, nil)
	return a
}

// Clock writes a time of day as read on a screen or in a text ("8:00 AM",
// "20:00").
func (l *Locale) Clock(t time.Time, s ClockStyle) string {
	if l.h24(s) {
		return l.Text("time.clock24", l.clockArgs(t, true))
	}
	return l.Text("time.clock12", l.clockArgs(t, false))
}

// SpokenClock writes a time of day for the speech synthesiser, which
// reads "20:00" digit by digit in most languages ("8 AM", "20 Uhr 30").
func (l *Locale) SpokenClock(t time.Time, s ClockStyle) string {
	id := "time.say12"
	if l.h24(s) {
		id = "time.say24"
	}
	if t.Minute() == 0 {
		id += "_hour"
	}
	return l.Text(id, l.clockArgs(t, l.h24(s)))
}

// Weekday is the day's abbreviation ("Mon", "lun").
func (l *Locale) Weekday(d time.Weekday) string { return l.info.Weekdays[d] }

// Month is the month's abbreviation ("Jan", "ene").
func (l *Locale) Month(m time.Month) string { return l.info.Months[m-1] }

// DayTime writes when at is as seen at now, in at's zone: the time alone
// on the same day ("8:00 AM"), with the weekday within six days ("Tue
// 8:00 PM") and with the date further away ("Mar 3 8:00 PM").
func (l *Locale) DayTime(at, now time.Time, s ClockStyle) string {
	now = now.In(at.Location())
	clock := l.Clock(at, s)
	y1, m1, d1 := at.Date()
	y2, m2, d2 := now.Date()
	switch diff := at.Sub(now); {
	case y1 == y2 && m1 == m2 && d1 == d2:
		return clock
	case diff > -6*24*time.Hour && diff < 6*24*time.Hour:
		return l.Text("time.weekday_clock", Args{"weekday": l.Weekday(at.Weekday()), "clock": clock})
	}
	return l.Text("time.date_clock", Args{"month": l.Month(m1), "day": d1, "clock": clock})
}
