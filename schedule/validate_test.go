package schedule

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/internal/problem"
)

// validateNow is when the tests validate: the coming spring-forward in New
// York is 8 March 2026.
var validateNow = time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)

func TestValidateRegimens(t *testing.T) {
	prn := func(iv time.Duration, n int) *PRN { return &PRN{MinInterval: iv, MaxPerDay: n} }
	tests := []struct {
		name string
		zone string
		regs []Regimen
		// want lists path and a fragment of the message of each problem.
		want [][2]string
	}{
		{"valid", "America/New_York", []Regimen{
			{Medication: "a", Cron: "0 8,20 * * *"},
			{Medication: "b", Cron: "@daily"},
			{Medication: "c", Cron: " 0 8 * * mon-fri "},
			{Medication: "d", PRN: prn(4*time.Hour, 6)},
			{Medication: "e", Cron: "0 8 * * *", PRN: prn(4*time.Hour, 3)},
			{Medication: "f", Cron: "0 8 29 2 *"}, // leap days only: rare but real
		}, nil},
		{"unparsable minute", "UTC", []Regimen{{Medication: "a", Cron: "60 8 * * *"}},
			[][2]string{{"regimens[0].cron", `minute field "60"`}}},
		{"unparsable hour", "UTC", []Regimen{{Medication: "a", Cron: "0 8,25 * * *"}},
			[][2]string{{"regimens[0].cron", `hour field "8,25"`}}},
		{"unparsable day of week", "UTC", []Regimen{{Medication: "a", Cron: "0 8 * * funday"}},
			[][2]string{{"regimens[0].cron", `day of week field "funday"`}}},
		{"wrong field count", "UTC", []Regimen{{Medication: "a", Cron: "0 0 8 * * *"}},
			[][2]string{{"regimens[0].cron", "has 6 fields"}}},
		{"unknown descriptor", "UTC", []Regimen{{Medication: "a", Cron: "@fortnightly"}},
			[][2]string{{"regimens[0].cron", "unknown shortcut"}}},
		{"CRON_TZ alone", "UTC", []Regimen{{Medication: "a", Cron: "CRON_TZ=UTC"}},
			[][2]string{{"regimens[0].cron", "sets its own time zone"}}},
		{"TZ prefix", "UTC", []Regimen{{Medication: "a", Cron: "TZ=Europe/Paris 0 8 * * *"}},
			[][2]string{{"regimens[0].cron", "sets its own time zone"}}},
		{"@every", "UTC", []Regimen{{Medication: "a", Cron: "@every 8h"}},
			[][2]string{{"regimens[0].cron", "@every is an interval"}}},
		{"never fires", "UTC", []Regimen{{Medication: "a", Cron: "0 8 30 2 *"}},
			[][2]string{{"regimens[0].cron", "never fires"}}},
		{"neither cron nor prn", "UTC", []Regimen{{Medication: "a"}},
			[][2]string{{"regimens[0]", "neither a schedule nor as-needed limits"}}},
		{"no medication", "UTC", []Regimen{{Cron: "0 8 * * *"}},
			[][2]string{{"regimens[0].medication", "names no medication"}}},
		{"negative durations", "UTC", []Regimen{{Medication: "a", Cron: "0 8 * * *", Window: -time.Hour, Early: -time.Minute, Late: -1}},
			[][2]string{{"regimens[0].window", "negative (-1h)"}, {"regimens[0].early", "negative (-1m)"}, {"regimens[0].late", "negative"}}},
		{"prn zero limits", "UTC", []Regimen{{Medication: "a", PRN: prn(0, 0)}},
			[][2]string{{"regimens[0].prn.min_interval", "more than zero"}, {"regimens[0].prn.max_per_day", "at least 1"}}},
		{"prn limits disagree", "UTC", []Regimen{{Medication: "a", PRN: prn(5*time.Hour, 6)}},
			[][2]string{{"regimens[0].prn", "max_per_day 6 cannot be reached: with doses at least 5h apart, at most 5 fit"}}},
		{"prn limits just agree", "UTC", []Regimen{{Medication: "a", PRN: prn(4*time.Hour, 6)}}, nil},
		{"prn limits huge", "UTC", []Regimen{{Medication: "a", PRN: prn(time.Hour, math.MaxInt)}},
			[][2]string{{"regimens[0].prn", "at most 24 fit"}}},
		{"two prn blocks", "UTC", []Regimen{{Medication: "a", PRN: prn(4*time.Hour, 4)}, {Medication: "a", PRN: prn(4*time.Hour, 4)}},
			[][2]string{{"regimens[1].prn", "already has as-needed limits in regimens[0]"}}},
		{"windows overlap", "UTC", []Regimen{{Medication: "a", Cron: "0 8,12 * * *", Window: 3 * time.Hour}},
			[][2]string{{"regimens[0].window", "4h apart (08:00 and 12:00)"}}},
		{"windows overlap across regimens", "UTC", []Regimen{{Medication: "a", Cron: "0 8 * * *"}, {Medication: "a", Cron: "0 9 * * *"}},
			[][2]string{{"regimens[1].window", "1h apart (08:00 and 09:00, one from regimens[0])"}}},
		{"windows just touch", "UTC", []Regimen{{Medication: "a", Cron: "0 8,12 * * *", Window: 2 * time.Hour}}, nil},
		{"every minute by mistake", "UTC", []Regimen{{Medication: "a", Cron: "* 8 * * *"}},
			[][2]string{{"regimens[0].cron", "fires every minute"}}},
		{"every two minutes", "UTC", []Regimen{{Medication: "a", Cron: "*/2 * * * *"}},
			[][2]string{{"regimens[0].window", "2m apart (00:00 and 00:02)"}}},
		{"same time twice", "UTC", []Regimen{{Medication: "a", Cron: "0 8 * * *"}, {Medication: "a", Cron: "0 8 * * 1"}},
			[][2]string{{"regimens[1].cron", "fall at the same moment"}}},
		{"other medications may share a time", "UTC", []Regimen{{Medication: "a", Cron: "0 8 * * *"}, {Medication: "b", Cron: "0 8 * * *"}}, nil},
		{"DST gap brings doses together", "America/New_York", []Regimen{{Medication: "a", Cron: "30 1,2 * * *", Window: 20 * time.Minute}},
			[][2]string{{"regimens[0].window", "30m apart (01:30 and 02:30 on 8 March 2026 in America/New_York, when the clocks change)"}}},
		{"DST gap makes one moment", "America/New_York", []Regimen{{Medication: "a", Cron: "0 2,3 * * *", Window: 10 * time.Minute}},
			[][2]string{{"regimens[0].cron", "same moment (02:00 and 03:00 on 8 March 2026"}}},
		{"same schedule fine without DST", "UTC", []Regimen{{Medication: "a", Cron: "0 2,3 * * *", Window: 10 * time.Minute}}, nil},
		{"no zone", "", []Regimen{{Medication: "a", Cron: "0 8 * * *"}},
			[][2]string{{"patient.timezone", "no time zone"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var loc *time.Location
			if tt.zone != "" {
				loc = mustLoad(t, tt.zone)
			}
			got := ValidateRegimens(tt.regs, loc, validateNow)
			if len(got) != len(tt.want) {
				t.Fatalf("ValidateRegimens = %d problems:\n%v\nwant %d: %v", len(got), got, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if got[i].Path != w[0] || !strings.Contains(got[i].Msg, w[1]) {
					t.Errorf("problem %d = %s: %s, want %s: ...%s...", i, got[i].Path, got[i].Msg, w[0], w[1])
				}
				if got[i].Fix == "" {
					t.Errorf("problem %d (%s) has no fix", i, got[i].Msg)
				}
			}
		})
	}
}

// A clock change a problem names is the coming one, with its year: an
// hourly dose in New York meets itself when 02:00 is skipped, which was
// 9 March in 2025, is 8 March in 2026 and 14 March in 2027.
func TestClockChangeDated(t *testing.T) {
	hourly := []Regimen{{Medication: "a", Cron: "0 * * * *", Window: 20 * time.Minute}}
	tests := []struct {
		zone string
		now  time.Time
		want string
	}{
		{"America/New_York", time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC), "02:00 and 03:00 on 8 March 2026 in America/New_York"},
		{"America/New_York", time.Date(2026, 3, 9, 12, 0, 0, 0, time.UTC), "02:00 and 03:00 on 14 March 2027 in America/New_York"},
		{"America/New_York", time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC), "02:00 and 03:00 on 14 March 2027 in America/New_York"},
		{"America/New_York", time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC), "02:00 and 03:00 on 9 March 2025 in America/New_York"},
		{"Europe/London", time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC), "01:00 and 02:00 on 29 March 2026 in Europe/London"},
	}
	for _, tt := range tests {
		t.Run(tt.zone+" "+tt.now.Format("2006-01-02"), func(t *testing.T) {
			probs := ValidateRegimens(hourly, mustLoad(t, tt.zone), tt.now)
			if len(probs) != 1 || !strings.Contains(probs[0].Msg, tt.want) {
				t.Errorf("ValidateRegimens(hourly, %s, %s) = %v, want one problem saying %q", tt.zone, tt.now.Format(time.DateOnly), probs, tt.want)
			}
		})
	}
}

func TestCronErrorFixes(t *testing.T) {
	tests := []struct {
		spec, fix string
	}{
		{"0 8 32 * *", `"0 8 1,15 * *"`},
		{"0 8 * 13 *", "jan-dec"},
		{"0 8 * * 7", "0 is Sunday"},
		{"@every 1h", `"0 */8 * * *"`},
		{"CRON_TZ=UTC 0 8 * * *", "patient.timezone"},
	}
	for _, tt := range tests {
		probs := ValidateRegimens([]Regimen{{Medication: "a", Cron: tt.spec}}, time.UTC, validateNow)
		if len(probs) != 1 || !strings.Contains(probs[0].Fix, tt.fix) {
			t.Errorf("ValidateRegimens(%q) = %v, want one problem whose fix mentions %s", tt.spec, probs, tt.fix)
		}
	}
}

func TestFmtDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{time.Hour, "1h"},
		{90 * time.Minute, "1h30m"},
		{45 * time.Minute, "45m"},
		{30 * time.Second, "30s"},
		{-time.Hour, "-1h"},
		{26 * time.Hour, "26h"},
		{time.Hour + 30*time.Second, "1h30s"},
	}
	for _, tt := range tests {
		if got := fmtDuration(tt.d); got != tt.want {
			t.Errorf("fmtDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// FuzzParseCron feeds arbitrary schedules through validation and planning:
// neither may panic, a schedule NewPlan accepts must validate cleanly, and
// its occurrences must be ordered with their windows around them.
func FuzzParseCron(f *testing.F) {
	for _, s := range []string{"0 8,20 * * *", "@daily", "CRON_TZ=UTC", "TZ=", "@every 1h", "0 8 30 2 *", "*/0 * * * *", "0-59/18446744073709551615 * * * *"} {
		f.Add(s, int64(0))
	}
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, spec string, window int64) {
		regs := []Regimen{{Medication: "m", Cron: spec, Window: time.Duration(window)}}
		probs := ValidateRegimens(regs, loc, planSample) // the year NewPlan checks
		for _, p := range probs {
			if p.Msg == "" || p.Fix == "" {
				t.Errorf("ValidateRegimens(%q): problem without words: %+v", spec, p)
			}
		}
		p, err := NewPlan(regs, loc)
		if (err == nil) != (len(probs) == 0) {
			t.Fatalf("NewPlan(%q) error %v, but ValidateRegimens found %d problems", spec, err, len(probs))
		}
		if err != nil {
			if _, ok := errors.AsType[problem.List](err); !ok {
				t.Errorf("NewPlan(%q) error %v does not carry the problem list", spec, err)
			}
			return
		}
		from := utc("2025-03-08T00:00:00Z")
		occ := p.Between(from, from.Add(72*time.Hour))
		for i, o := range occ {
			if i > 0 && o.At.Before(occ[i-1].At) {
				t.Fatalf("Between(%q) out of order at %d", spec, i)
			}
			if o.Opens.After(o.At) || !o.Closes.After(o.At) {
				t.Fatalf("Between(%q): window [%s, %s) around %s", spec, o.Opens, o.Closes, o.At)
			}
		}
	})
}
