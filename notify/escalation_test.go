package notify

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/dispenser"
)

var testContacts = []Contact{
	{Name: "Ana", Phone: "+15555550101", Role: RoleCaregiver},
	{Name: "David", Phone: "+15555550102", Role: RoleCaregiver},
	{Name: "Margaret", Phone: "+15555550100", Role: RolePatient},
}

var testMeds = []dispenser.Medication{{ID: "metformin", PillsPerDose: 1, Compartment: 1}}

func dur(d time.Duration) *time.Duration { return &d }

func TestValidateEscalation(t *testing.T) {
	tests := []struct {
		name string
		e    Escalation
		want []string // "path: part of the message", in order
	}{
		{"zero means defaults", Escalation{}, nil},
		{"full", Escalation{
			DeviceReminders: []time.Duration{0, 10 * time.Minute},
			Ladder:          []Step{{To: "patient", After: 20 * time.Minute}, {To: "caregiver1", After: 30 * time.Minute}, {To: "caregiver2", After: time.Hour}},
			PerMedication:   []MedicationLadder{{"metformin", []Step{{To: "caregiver1", After: 0}}}},
			RenotifyEvery:   dur(0), QuietHours: "off", DigestAt: "8:30", LowSupplyDays: 5,
			RateLimits: RateLimits{PerRecipientPerHour: 3, PerHour: 10, PerDay: 30},
		}, nil},
		{"reminders out of order and range", Escalation{DeviceReminders: []time.Duration{15 * time.Minute, 5 * time.Minute, -time.Second}},
			[]string{"device_reminders[1]: does not come after", "device_reminders[2]: out of range"}},
		{"ladder recipients", Escalation{Ladder: []Step{{To: "caregiver3", After: 0}, {To: "Caregiver1", After: 0}, {To: "", After: 0}}},
			[]string{"ladder[0].to: there is no such caregiver", `ladder[1].to: unknown recipient "Caregiver1"`, "ladder[2]: step has no recipient"}},
		{"ladder without caregiver", Escalation{Ladder: []Step{{To: "patient", After: 20 * time.Minute}}},
			[]string{"ladder: no step texts a caregiver"}},
		{"ladder out of order", Escalation{Ladder: []Step{{To: "caregiver1", After: time.Hour}, {To: "caregiver2", After: 30 * time.Minute}, {To: "caregiver1", After: 25 * time.Hour}}},
			[]string{"ladder[1].after: comes before", "ladder[2].after: out of range"}},
		{"per medication", Escalation{PerMedication: []MedicationLadder{{"aspirin", []Step{{To: "caregiver1", After: 0}}}, {"", nil}, {"metformin", []Step{{To: "caregiver1", After: 0}}}, {"metformin", []Step{{To: "caregiver1", After: 0}}}}},
			[]string{`per_medication[0].medication: unknown medication "aspirin"`, "per_medication[1]: without a medication", "per_medication[1]: has no steps",
				"per_medication[3].medication: already has a ladder"}},
		{"renotify too often", Escalation{RenotifyEvery: dur(5 * time.Minute)}, []string{"renotify_every: too short"}},
		{"quiet hours", Escalation{QuietHours: "10pm-7am"}, []string{"quiet_hours: "}},
		{"digest", Escalation{DigestAt: "25:00"}, []string{`digest_at: "25:00" is not a time of day`}},
		{"low supply days", Escalation{LowSupplyDays: -1}, []string{"low_supply_days: out of range"}},
		{"rate limits", Escalation{RateLimits: RateLimits{PerRecipientPerHour: -1, PerHour: 100}},
			[]string{"rate_limits.per_recipient_per_hour: is negative", "rate_limits.per_hour: per_hour 100 is more than per_day 60"}},
		{"help caps", Escalation{RateLimits: RateLimits{HelpPerHour: -1, HelpPerDay: -2}},
			[]string{"rate_limits.help_per_hour: is negative", "rate_limits.help_per_day: is negative"}},
		{"help per hour over per day", Escalation{RateLimits: RateLimits{HelpPerHour: 12}},
			[]string{"rate_limits.help_per_hour: help_per_hour 12 is more than help_per_day 10"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			probs := ValidateEscalation(tt.e, testContacts, testMeds)
			var got []string
			for _, p := range probs {
				got = append(got, p.Path+": "+p.Msg)
				if p.Fix == "" {
					t.Errorf("problem %q has no fix", p.Msg)
				}
				if strings.Contains(p.Msg, "secret") || strings.Contains(p.Fix, "secret") {
					t.Errorf("problem %v echoes the auth token", p)
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("ValidateEscalation = %q, want %d problems like %q", got, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				path, msg, _ := strings.Cut(w, ": ")
				if !strings.HasPrefix(got[i], path+": ") || !strings.Contains(got[i], msg) {
					t.Errorf("problem %d = %q, want %q", i, got[i], w)
				}
			}
		})
	}
}

func TestResolveDefaults(t *testing.T) {
	tests := []struct {
		name     string
		contacts []Contact
		want     []Step
	}{
		{"everyone", testContacts, DefaultLadder},
		{"one caregiver, no patient", testContacts[:1], []Step{{To: "caregiver1", After: 30 * time.Minute}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := Escalation{}
			p, err := e.resolve(tt.contacts)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(p.ladder, tt.want) {
				t.Errorf("default ladder = %v, want %v", p.ladder, tt.want)
			}
			if p.renotify != DefaultRenotify || p.lowDays != 3 || p.digest != 9*60 || p.quiet != (quiet{22 * 60, 7 * 60}) ||
				p.limits != (RateLimits{6, 20, 60, 3, 10}) || p.medNames {
				t.Errorf("defaults = %+v", p)
			}
		})
	}
	e := Escalation{RenotifyEvery: dur(0)}
	if p, _ := e.resolve(testContacts); p.renotify != 0 {
		t.Errorf("renotify_every: 0s resolves to %v, want 0 (never)", p.renotify)
	}
	if got := e.Reminders(); !reflect.DeepEqual(got, DefaultDeviceReminders) {
		t.Errorf("Reminders() = %v, want the default %v", got, DefaultDeviceReminders)
	}
}

func TestParseQuietHours(t *testing.T) {
	tests := []struct {
		in   string
		want quiet
		err  string
	}{
		{"", quiet{22 * 60, 7 * 60}, ""},
		{"22:00-07:00", quiet{22 * 60, 7 * 60}, ""},
		{" 21:30 - 6:45 ", quiet{21*60 + 30, 6*60 + 45}, ""},
		{"13:00-14:00", quiet{13 * 60, 14 * 60}, ""},
		{"OFF", quiet{}, ""},
		{"none", quiet{}, ""},
		{"22:00", quiet{}, "not a span"},
		{"22:00-22:00", quiet{}, "same time"},
		{"24:00-07:00", quiet{}, "start"},
		{"22:00-7", quiet{}, "end"},
		{"22:0-07:00", quiet{}, "start"},
		{"-1:00-07:00", quiet{}, "start"},
		{"22:00-07:60", quiet{}, "end"},
		{"２２:00-07:00", quiet{}, "start"},
	}
	for _, tt := range tests {
		got, err := parseQuietHours(tt.in)
		if got != tt.want || (err == nil) != (tt.err == "") || err != nil && !strings.Contains(err.Error(), tt.err) {
			t.Errorf("parseQuietHours(%q) = %v, %v; want %v, error containing %q", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestQuietIn(t *testing.T) {
	loc, _ := time.LoadLocation("America/New_York")
	night, lunch := quiet{22 * 60, 7 * 60}, quiet{12 * 60, 13 * 60}
	tests := []struct {
		q    quiet
		h, m int
		want bool
	}{
		{night, 21, 59, false}, {night, 22, 0, true}, {night, 2, 0, true}, {night, 6, 59, true}, {night, 7, 0, false},
		{lunch, 11, 59, false}, {lunch, 12, 0, true}, {lunch, 13, 0, false},
		{quiet{}, 3, 0, false},
	}
	for _, tt := range tests {
		t0 := time.Date(2026, 3, 2, tt.h, tt.m, 0, 0, loc)
		if got := tt.q.in(t0); got != tt.want {
			t.Errorf("%v.in(%02d:%02d) = %v, want %v", tt.q, tt.h, tt.m, got, tt.want)
		}
	}
}

func TestClockTimeNext(t *testing.T) {
	loc, _ := time.LoadLocation("America/New_York")
	tests := []struct {
		c    clockTime
		from time.Time
		want time.Time
	}{
		{9 * 60, time.Date(2026, 3, 2, 8, 0, 0, 0, loc), time.Date(2026, 3, 2, 9, 0, 0, 0, loc)},
		{9 * 60, time.Date(2026, 3, 2, 9, 0, 0, 0, loc), time.Date(2026, 3, 3, 9, 0, 0, 0, loc)},
		{7 * 60, time.Date(2026, 3, 2, 23, 0, 0, 0, loc), time.Date(2026, 3, 3, 7, 0, 0, 0, loc)},
		// 02:30 does not exist on 8 March 2026 in New York: just after the gap.
		{2*60 + 30, time.Date(2026, 3, 8, 1, 0, 0, 0, loc), time.Date(2026, 3, 8, 3, 30, 0, 0, loc)},
		// Across the spring-forward night, 07:00 is still 07:00 local.
		{7 * 60, time.Date(2026, 3, 7, 22, 0, 0, 0, loc), time.Date(2026, 3, 8, 7, 0, 0, 0, loc)},
	}
	for _, tt := range tests {
		if got := tt.c.next(tt.from); !got.Equal(tt.want) {
			t.Errorf("%d.next(%v) = %v, want %v", tt.c, tt.from, got, tt.want)
		}
	}
}

// FuzzParseQuietHours checks that quiet_hours and digest_at never panic,
// and that what parses is a real span that formats back to itself.
func FuzzParseQuietHours(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		q, err := parseQuietHours(s)
		if err != nil {
			if q != (quiet{}) {
				t.Fatalf("parseQuietHours(%q) = %v with error %v, want the zero value", s, q, err)
			}
			return
		}
		if q.start < 0 || q.start >= 24*60 || q.end < 0 || q.end >= 24*60 {
			t.Fatalf("parseQuietHours(%q) = %v, out of the day", s, q)
		}
		if q != (quiet{}) {
			again, err := parseQuietHours(q.start.String() + "-" + q.end.String())
			if err != nil || again != q {
				t.Fatalf("parseQuietHours(%q) = %v, which does not read back (%v, %v)", s, q, again, err)
			}
		}
		if c, err := parseClock(s); err == nil && (c < 0 || c >= 24*60) {
			t.Fatalf("parseClock(%q) = %d, out of the day", s, c)
		}
	})
}
