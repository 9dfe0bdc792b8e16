package i18n

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"golang.org/x/text/feature/plural"
)

// clockIDs may use any clock argument; every other message uses exactly
// the placeholders of its Base text, since code fills those in.
var clockIDs = map[string]bool{
	"time.clock12": true, "time.clock24": true, "time.say12": true,
	"time.say12_hour": true, "time.say24": true, "time.say24_hour": true,
}

var clockArgNames = []string{"ampm", "count", "h", "hh", "m", "mm"}

func TestCataloguesLoad(t *testing.T) {
	if _, err := loaded(); err != nil {
		t.Fatalf("load: %v", err)
	}
	var tags []string
	for _, l := range Supported() {
		tags = append(tags, l.Tag)
	}
	if want := []string{"en", "de", "es", "fr", "pt-BR"}; !slices.Equal(tags, want) {
		t.Errorf("Supported() = %v, want %v", tags, want)
	}
}

// TestSameMessages fails when a catalogue lacks a message another has.
func TestSameMessages(t *testing.T) {
	c := all()
	union := map[string][]string{} // id -> tags that have it
	for _, l := range c.locales {
		for id := range l.msgs {
			union[id] = append(union[id], l.Tag())
		}
	}
	for _, l := range c.locales {
		for _, id := range slices.Sorted(maps.Keys(union)) {
			if !l.Has(id) {
				t.Errorf("%s lacks message %s (in %v)", l.Tag(), id, union[id])
			}
		}
	}
}

func names(t *testing.T, tag, id, text string) map[string]bool {
	t.Helper()
	ps, err := placeholders(text)
	if err != nil {
		t.Errorf("%s %s: %v in %q", tag, id, err, text)
	}
	out := map[string]bool{}
	for _, p := range ps {
		out[p.name] = true
	}
	return out
}

func formName(f plural.Form) string {
	for name, g := range formNames {
		if g == f {
			return name
		}
	}
	return "?"
}

// TestSamePlaceholders fails when a placeholder differs between languages.
func TestSamePlaceholders(t *testing.T) {
	c := all()
	base := c.locales[0]
	for _, l := range c.locales {
		for id, m := range l.msgs {
			baseOther, ok := base.msgs[id]
			if !ok {
				continue // TestSameMessages reports it
			}
			want := names(t, Base, id, baseOther[plural.Other])
			other := names(t, l.Tag(), id, m[plural.Other])
			for form, text := range m {
				got := names(t, l.Tag(), id, text)
				if clockIDs[id] {
					for n := range got {
						if !slices.Contains(clockArgNames, n) {
							t.Errorf("%s %s: {%s} is not a clock argument (%v)", l.Tag(), id, n, clockArgNames)
						}
					}
					continue
				}
				if form == plural.Other && !maps.Equal(got, want) {
					t.Errorf("%s %s has placeholders %v, %s has %v", l.Tag(), id, slices.Sorted(maps.Keys(got)), Base, slices.Sorted(maps.Keys(want)))
				}
				// A "one" form may leave the count out ("un día"), nothing else.
				for n := range got {
					if !other[n] {
						t.Errorf("%s %s: form %s has {%s}, which its other form lacks", l.Tag(), id, formName(form), n)
					}
				}
			}
		}
	}
}

// TestPluralForms: a message with plural forms has exactly the forms its
// language uses for whole counts, and is chosen by a count code supplies.
func TestPluralForms(t *testing.T) {
	c := all()
	base := c.locales[0]
	for _, l := range c.locales {
		used := map[plural.Form]bool{}
		for n := range 10_001 {
			used[l.pluralForm(n)] = true
		}
		used[l.pluralForm(1_000_000)] = true
		for id, m := range l.msgs {
			if len(m) == 1 {
				continue
			}
			if !clockIDs[id] && !names(t, Base, id, base.msgs[id][plural.Other])["count"] {
				t.Errorf("%s %s has plural forms but the %s text has no {count} to choose them", l.Tag(), id, Base)
			}
			for f := range used {
				if _, ok := m[f]; !ok {
					t.Errorf("%s %s lacks plural form %s, which %s uses", l.Tag(), id, formName(f), l.Tag())
				}
			}
			for f := range m {
				if !used[f] {
					t.Errorf("%s %s has plural form %s, which %s never uses", l.Tag(), id, formName(f), l.Tag())
				}
			}
		}
	}
}

func TestText(t *testing.T) {
	en, es, fr, de := Lookup("en"), Lookup("es"), Lookup("fr"), Lookup("de")
	tests := []struct {
		name string
		l    *Locale
		id   string
		args Args
		want string
	}{
		{"plain", en, "screen.dose_due", nil, "Time for pills\nPress the button"},
		{"args", en, "sms.due", Args{"name": "Margaret", "dose": "the 8:00 AM dose"}, "Margaret has not taken the 8:00 AM dose yet."},
		{"capital", en, "sms.not_taken", Args{"dose": "the 8:00 AM dose", "time": "8:05 AM"},
			"The 8:00 AM dose was dispensed at 8:05 AM but not taken from the cup."},
		{"capital of an accented letter", es, "sms.taken_already", Args{"dose": "ésa"}, "Ésa ya estaba marcada como tomada. Gracias."},
		{"one", en, "sms.alerts", Args{"count": 1}, "1 alert."},
		{"other", en, "sms.alerts", Args{"count": 4}, "4 alerts."},
		{"French zero is singular", fr, "sms.alerts", Args{"count": 0}, "0 alerte."},
		{"Spanish zero is plural", es, "sms.alerts", Args{"count": 0}, "0 alertas."},
		{"negative count", en, "duration.days", Args{"count": -1}, "-1 day"},
		{"fraction count", en, "duration.hours", Args{"count": 1.5}, "1.5 hours"},
		{"fraction count, decimal comma", de, "duration.hours", Args{"count": 1.5}, "1,5 Stunden"},
		{"whole float count", en, "duration.hours", Args{"count": 1.0}, "1 hour"},
		{"count not a number", en, "duration.days", Args{"count": "many"}, "many days"},
		{"missing argument stays visible", en, "sms.missed", Args{"name": "Margaret"}, "Margaret missed {dose}."},
		{"unknown id", es, "no.such.message", nil, "no.such.message"},
		{"stringer", en, "screen.next_pills", Args{"time": time.Duration(90 * time.Second)}, "Next pills\n1m30s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.l.Text(tt.id, tt.args); got != tt.want {
				t.Errorf("%s.Text(%s, %v) = %q, want %q", tt.l.Tag(), tt.id, tt.args, got, tt.want)
			}
		})
	}
}

// catalogue writes a minimal catalogue file for load tests.
func catalogue(tag, clock string, msgs string) *fstest.MapFile {
	return &fstest.MapFile{Data: []byte("language:\n  tag: " + tag + "\n  name: x\n  voice: x\n  clock: " + clock +
		"\n  decimal: \".\"\n  weekdays: [a, b, c, d, e, f, g]\n  months: [a, b, c, d, e, f, g, h, i, j, k, l]\nmessages:\n" + msgs)}
}

func TestFallbackToBase(t *testing.T) {
	c, err := load(fstest.MapFS{
		"catalogues/en.yaml": catalogue("en", "12h", "  a: \"A {x}\"\n  b: \"B\"\n"),
		"catalogues/es.yaml": catalogue("es", "24h", "  a: \"Á {x}\"\n"),
	})
	if err != nil {
		t.Fatal(err)
	}
	es := c.locales[1]
	if got := es.Text("a", Args{"x": 1}); got != "Á 1" {
		t.Errorf("es a = %q, want Á 1", got)
	}
	if got := es.Text("b", nil); got != "B" {
		t.Errorf("es b = %q, want the English B", got)
	}
}

func TestLoadErrors(t *testing.T) {
	good := catalogue("en", "12h", "  a: x\n")
	tests := []struct {
		name string
		fs   fstest.MapFS
		want string
	}{
		{"no base", fstest.MapFS{"catalogues/es.yaml": catalogue("es", "24h", "  a: x\n")}, `no catalogue for the base language "en"`},
		{"tag and name differ", fstest.MapFS{"catalogues/en.yaml": good, "catalogues/es.yaml": catalogue("fr", "24h", "  a: x\n")},
			`catalogues/es.yaml: language.tag is "fr", want "es"`},
		{"bad clock", fstest.MapFS{"catalogues/en.yaml": catalogue("en", "13h", "  a: x\n")}, "language.clock"},
		{"unknown form", fstest.MapFS{"catalogues/en.yaml": catalogue("en", "12h", "  a:\n    one: x\n    lots: y\n    other: z\n")},
			`message a: unknown plural form "lots"`},
		{"no other", fstest.MapFS{"catalogues/en.yaml": catalogue("en", "12h", "  a:\n    one: x\n")}, "message a: plural forms without other"},
		{"not a text", fstest.MapFS{"catalogues/en.yaml": catalogue("en", "12h", "  a: [x, y]\n")}, "message a: want a text or plural forms"},
		{"bad yaml", fstest.MapFS{"catalogues/en.yaml": {Data: []byte("language: [")}}, "catalogues/en.yaml"},
		{"short weekdays", fstest.MapFS{"catalogues/en.yaml": {Data: []byte("language:\n  tag: en\n  clock: 12h\n  weekdays: [a]\n")}}, "want 7 weekdays"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(tt.fs)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("load = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestPlaceholderSyntax(t *testing.T) {
	for _, bad := range []string{"a {", "a }", "{}", "{a b}", "{a|upper}", "{a|}", "{é}"} {
		if _, err := placeholders(bad); err == nil {
			t.Errorf("placeholders(%q) = nil error, want one", bad)
		}
	}
	ps, err := placeholders("{a} and {b_2|capital}")
	if err != nil || len(ps) != 2 || ps[0].name != "a" || ps[1].name != "b_2" || !ps[1].capital || ps[0].capital {
		t.Errorf("placeholders = %+v, %v; want a, then b_2 capitalised", ps, err)
	}
}

func TestLookup(t *testing.T) {
	tests := []struct {
		prefs []string
		want  string
	}{
		{[]string{"es"}, "es"},
		{[]string{"es-MX"}, "es"},
		{[]string{"fr-CH, fr;q=0.9, en;q=0.8"}, "fr"},
		{[]string{"pt"}, "pt-BR"},
		{[]string{"pt-PT"}, "pt-BR"},
		{[]string{"de-AT"}, "de"},
		{[]string{"ja"}, "en"},
		{[]string{"ja", "de"}, "de"},
		{[]string{"x!!"}, "en"},
		{[]string{""}, "en"},
		{nil, "en"},
	}
	for _, tt := range tests {
		if got := Lookup(tt.prefs...).Tag(); got != tt.want {
			t.Errorf("Lookup(%q) = %s, want %s", tt.prefs, got, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, ok := range []string{"en", "en-US", "es", "es-419", "fr-CA", "de-CH", "pt", "pt-PT", "pt-BR"} {
		if err := Validate(ok); err != nil {
			t.Errorf("Validate(%q) = %v, want nil", ok, err)
		}
	}
	const list = "en (English), de (Deutsch), es (español), fr (français), pt-BR (português (Brasil))"
	for _, bad := range []string{"", "ja", "gl", "zz", "english", "es-", "x-klingon"} {
		err := Validate(bad)
		if err == nil || !strings.Contains(err.Error(), list) || !strings.Contains(err.Error(), `"`+bad+`"`) {
			t.Errorf("Validate(%q) = %v, want an error naming it and listing %s", bad, err, list)
		}
	}
}

func FuzzValidate(f *testing.F) {
	for _, s := range []string{"en", "es-MX", "pt-PT", "ja", "", "x-y", "en-u-ca-buddhist", "zh-Hant-TW"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := Validate(s)
		l := Lookup(s)
		if err == nil && s != "" {
			// An accepted setting is served by a catalogue of its language.
			want := strings.ToLower(strings.SplitN(strings.SplitN(s, "-", 2)[0], "_", 2)[0])
			if got := strings.SplitN(l.Tag(), "-", 2)[0]; got != want {
				t.Errorf("Validate(%q) accepted it, but Lookup gives %s", s, l.Tag())
			}
		}
	})
}

func TestClockEnglishMatchesGoLayouts(t *testing.T) {
	// The English texts were written with Go's "3:04 PM" and "15:04":
	// the catalogue must give the same, minute by minute.
	en := Lookup("en")
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	for m := 0; m < 24*60; m++ {
		at := day.Add(time.Duration(m) * time.Minute)
		if got, want := en.Clock(at, LocaleClock), at.Format("3:04 PM"); got != want {
			t.Fatalf("Clock(%v, LocaleClock) = %q, want %q", at, got, want)
		}
		if got, want := en.Clock(at, Clock24), at.Format("15:04"); got != want {
			t.Fatalf("Clock(%v, Clock24) = %q, want %q", at, got, want)
		}
	}
}

func TestDayTime(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, ny) // a Monday
	tests := []struct {
		tag   string
		at    time.Time
		style ClockStyle
		want  string
	}{
		{"en", time.Date(2026, 3, 2, 23, 59, 0, 0, ny), LocaleClock, "11:59 PM"},
		{"en", time.Date(2026, 3, 3, 0, 0, 0, 0, ny), LocaleClock, "Tue 12:00 AM"},
		{"en", time.Date(2026, 2, 25, 8, 0, 0, 0, ny), LocaleClock, "Wed 8:00 AM"},
		{"en", time.Date(2026, 2, 20, 8, 0, 0, 0, ny), LocaleClock, "Feb 20 8:00 AM"},
		{"en", time.Date(2026, 3, 1, 20, 0, 0, 0, ny), Clock24, "Sun 20:00"},
		{"es", time.Date(2026, 3, 2, 8, 0, 0, 0, ny), LocaleClock, "8:00"},
		{"es", time.Date(2026, 3, 2, 20, 5, 0, 0, ny), Clock12, "8:05 p.m."},
		{"es", time.Date(2026, 3, 4, 20, 0, 0, 0, ny), LocaleClock, "mié 20:00"},
		{"es", time.Date(2026, 1, 20, 8, 0, 0, 0, ny), LocaleClock, "20 ene 8:00"},
		{"fr", time.Date(2026, 3, 2, 8, 0, 0, 0, ny), LocaleClock, "8h00"},
		{"fr", time.Date(2026, 8, 15, 21, 30, 0, 0, ny), LocaleClock, "15 août 21h30"},
		{"de", time.Date(2026, 3, 3, 8, 0, 0, 0, ny), LocaleClock, "Di. 08:00"},
		{"de", time.Date(2026, 3, 20, 8, 0, 0, 0, ny), LocaleClock, "20. März 08:00"},
		{"pt", time.Date(2026, 3, 7, 12, 0, 0, 0, ny), LocaleClock, "sáb 12:00"},
		{"pt", time.Date(2026, 3, 7, 12, 0, 0, 0, ny), Clock12, "sáb 12:00 PM"},
	}
	for _, tt := range tests {
		if got := Lookup(tt.tag).DayTime(tt.at, now, tt.style); got != tt.want {
			t.Errorf("%s DayTime(%v, style %d) = %q, want %q", tt.tag, tt.at, tt.style, got, tt.want)
		}
	}
}

func TestSpokenClock(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2026, 3, 2, h, m, 0, 0, time.UTC) }
	tests := []struct {
		tag  string
		t    time.Time
		want string
	}{
		{"en", at(8, 0), "8 AM"},
		{"en", at(20, 30), "8:30 PM"},
		{"es", at(20, 30), "20 y 30"},
		{"es", at(13, 0), "13 horas"},
		{"fr", at(1, 5), "1 heure 5"},
		{"fr", at(20, 0), "20 heures"},
		{"de", at(8, 5), "8 Uhr 5"},
		{"pt", at(20, 30), "20 horas e 30"},
		{"pt", at(0, 0), "0 hora"},
	}
	for _, tt := range tests {
		if got := Lookup(tt.tag).SpokenClock(tt.t, LocaleClock); got != tt.want {
			t.Errorf("%s SpokenClock(%v) = %q, want %q", tt.tag, tt.t, got, tt.want)
		}
	}
}

func TestNumber(t *testing.T) {
	tests := []struct {
		tag  string
		v    float64
		want string
	}{
		{"en", 1.5, "1.5"}, {"en", 2, "2"}, {"en", 0.3, "0.3"},
		{"de", 1.5, "1,5"}, {"fr", -0.25, "-0,25"}, {"es", 1000, "1000"},
	}
	for _, tt := range tests {
		if got := Lookup(tt.tag).Number(tt.v); got != tt.want {
			t.Errorf("%s Number(%v) = %q, want %q", tt.tag, tt.v, got, tt.want)
		}
	}
}
