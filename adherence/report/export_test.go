package report

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestParsePeriod(t *testing.T) {
	now := time.Date(2026, 3, 10, 15, 0, 0, 0, ny)
	tests := []struct {
		query    string
		from, to string
		days     int
		err      string
	}{
		{"", "2026-03-01T00:00:00-05:00", "2026-03-11T00:00:00-04:00", 10, ""},
		{"days=1", "2026-03-10T00:00:00-04:00", "2026-03-11T00:00:00-04:00", 1, ""},
		// Across spring forward: local midnights, 8 days.
		{"from=2026-03-05&to=2026-03-12", "2026-03-05T00:00:00-05:00", "2026-03-13T00:00:00-04:00", 8, ""},
		{"from=2026-03-05T12:00:00Z", "2026-03-05T07:00:00-05:00", "2026-03-11T00:00:00-04:00", 6, ""},
		{"days=732", "", "", 0, "days: want a number from 1 to 731"},
		{"from=2026-03-09&to=2026-03-01", "", "", 0, "must run forward"},
		{"to=soon", "", "", 0, "to: want a date"},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			q, _ := url.ParseQuery(tc.query)
			from, to, days, err := ParsePeriod(q, now, ny, 10)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("ParsePeriod(%s) error = %v, want %q", tc.query, err, tc.err)
				}
				return
			}
			if err != nil || from.In(ny).Format(time.RFC3339) != tc.from || to.In(ny).Format(time.RFC3339) != tc.to || days != tc.days {
				t.Errorf("ParsePeriod(%s) = %v, %v, %d, %v; want %s, %s, %d", tc.query, from.In(ny).Format(time.RFC3339),
					to.In(ny).Format(time.RFC3339), days, err, tc.from, tc.to, tc.days)
			}
		})
	}
}

// FuzzParsePeriod: a period from any query is a period or an error,
// never a panic, and an accepted one runs forward and spans at most two
// years.
func FuzzParsePeriod(f *testing.F) {
	for _, s := range []string{"days=30", "from=2026-03-01&to=2026-03-08", "from=2026-03-08T07:00:00Z", "days=-1",
		"to=9999-12-31", "from=0001-01-01&to=9999-12-31", "days=731&from=2026-01-01"} {
		f.Add(s)
	}
	now := time.Date(2026, 3, 10, 15, 0, 0, 0, ny)
	f.Fuzz(func(t *testing.T, query string) {
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		from, to, days, err := ParsePeriod(q, now, ny, 30)
		if err != nil {
			return
		}
		if !from.Before(to) || to.Sub(from) > 732*24*time.Hour || days < 1 || days > 733 {
			t.Errorf("ParsePeriod(%q) = %v, %v, %d days: not a forward period of at most two years", query, from, to, days)
		}
	})
}
