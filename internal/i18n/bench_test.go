package i18n

import (
	"testing"
	"time"
)

// BenchmarkLoad parses the five embedded catalogues, as the daemon does
// once at start: its B/op is the memory the catalogues cost.
func BenchmarkLoad(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := load(files); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkText is one caregiver line with a plural and a clock time.
func BenchmarkText(b *testing.B) {
	l := Lookup("es")
	at := time.Date(2026, 3, 2, 20, 30, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		l.Text("sms.summary_range", Args{"name": "Margaret", "count": 3, "from": l.Clock(at, LocaleClock), "to": l.Clock(at, LocaleClock)})
	}
}
