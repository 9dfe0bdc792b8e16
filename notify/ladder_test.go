package notify

import (
	"strings"
	"testing"
	"time"
)

func testNotifier(t *testing.T, e Escalation) *Notifier {
	t.Helper()
	p, err := e.resolve(testContacts)
	if err != nil {
		t.Fatal(err)
	}
	ny, _ := time.LoadLocation("America/New_York")
	return &Notifier{pol: p, loc: ny, open: map[string]*Alert{}, rnd: func() float64 { return 0.5 }}
}

func TestNextAction(t *testing.T) {
	n := testNotifier(t, Escalation{})
	base := time.Date(2026, 3, 2, 13, 0, 0, 0, time.UTC) // 08:00 in New York
	mins := func(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }
	tests := []struct {
		name string
		a    Alert
		want action // zero: none
		to   string
	}{
		{"first step: patient at +20", Alert{What: CondDue, Priority: Medium, Base: base, SentStep: -1},
			action{0, mins(20), whyStep}, "patient"},
		{"caregiver 1 at +30", Alert{What: CondDue, Priority: Medium, Base: base, Step: 1, SentStep: 0, StepAt: mins(20), Notified: mins(20)},
			action{1, mins(30), whyStep}, "caregiver1"},
		{"missed: no patient step", Alert{What: CondMissed, Priority: Medium, Base: base, SentStep: -1},
			action{1, mins(30), whyStep}, "caregiver1"},
		{"high: no patient step", Alert{What: CondDue, Priority: High, Base: base, SentStep: -1},
			action{1, mins(30), whyStep}, "caregiver1"},
		{"late step keeps the spacing", Alert{What: CondMissed, Priority: Medium, Base: base, Step: 2, SentStep: 1, StepAt: mins(100), Notified: mins(100)},
			action{2, mins(130), whyStep}, "caregiver2"},
		{"after the last step, a reminder", Alert{What: CondMissed, Priority: Medium, Base: base, Step: 3, SentStep: 2, StepAt: mins(60), Notified: mins(60)},
			action{-1, mins(300), whyRenotify}, "caregiver2"},
		{"reminders run out", Alert{What: CondMissed, Priority: Medium, Base: base, Step: 3, SentStep: 2, StepAt: mins(60), Notified: mins(60), Repeats: maxRepeats},
			action{}, ""},
		{"a rise tells the last person at once", Alert{What: CondMissed, Priority: High, Base: base, Step: 2, SentStep: 1, StepAt: mins(30)},
			action{-1, mins(30), whyRise}, "caregiver1"},
		{"acknowledged: nothing", Alert{What: CondMissed, Priority: Medium, Base: base, SentStep: -1, AckedAt: mins(1)},
			action{}, ""},
		{"low: the next digest", Alert{What: CondLowSupply, Priority: Low, Base: base, Opened: mins(10), SentStep: -1},
			action{-1, mins(60), whyDigest}, "caregiver1"}, // 09:00 New York
		{"low: a digest a day", Alert{What: CondLowSupply, Priority: Low, Base: base, Opened: mins(10), Notified: mins(60), SentStep: -1, Repeats: 1},
			action{-1, mins(60 + 24*60), whyDigest}, "caregiver1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := n.next(&tt.a)
			if ok != (tt.want != action{}) || got.step != tt.want.step || got.why != tt.want.why || !got.at.Equal(tt.want.at) {
				t.Fatalf("next = %+v, %v; want %+v", got, ok, tt.want)
			}
			if ok {
				if to := n.recipient(&tt.a, got); to != tt.to {
					t.Errorf("recipient = %q, want %q", to, tt.to)
				}
			}
		})
	}
}

func TestSkippedCaregiverMovesUp(t *testing.T) {
	n := testNotifier(t, Escalation{})
	base := time.Date(2026, 3, 2, 13, 0, 0, 0, time.UTC)
	a := &Alert{What: CondMissed, Priority: Medium, Base: base, Step: 2, SentStep: -1}
	n.moveUp(a, 1)
	if got, _ := n.next(a); got.step != 2 || !got.at.Equal(base.Add(30*time.Minute)) {
		t.Errorf("after caregiver 1 was skipped, next = %+v, want caregiver 2 at +30m", got)
	}
	p := &Alert{What: CondDue, Priority: Medium, Base: base, Step: 1, SentStep: -1}
	n.moveUp(p, 0)
	if got, _ := n.next(p); got.step != 1 || !got.at.Equal(base.Add(30*time.Minute)) {
		t.Errorf("after the patient was skipped, next = %+v, want caregiver 1 still at +30m", got)
	}
}

func TestLimiter(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	mins := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	msgs := []Message{
		{Phone: "a", Created: mins(-70)}, // outside the hour
		{Phone: "a", Created: mins(-50)},
		{Phone: "a", Created: mins(-10)},
		{Phone: "b", Created: mins(-5), State: MsgCanceled}, // never sent: does not count
	}
	l := newLimiter(RateLimits{PerRecipientPerHour: 2, PerHour: 3, PerDay: 5}, msgs)
	if until, held := l.hold("a", t0); !held || !until.Equal(mins(10)) {
		t.Errorf("hold(a) = %v, %v; want held until the older of the hour's two ages out (+10m)", until, held)
	}
	if _, held := l.hold("b", t0); held {
		t.Error("hold(b) = held, want free")
	}
	l.add("b", t0)
	if until, held := l.hold("c", t0); !held || !until.Equal(mins(10)) {
		t.Errorf("hold(c) = %v, %v; want held by the global hourly limit until +10m (3 in the hour)", until, held)
	}
	l = newLimiter(RateLimits{PerRecipientPerHour: 9, PerHour: 9, PerDay: 3}, msgs)
	if until, held := l.hold("c", t0); !held || !until.Equal(mins(-70).Add(24*time.Hour)) {
		t.Errorf("hold(c) with 3 in the day = %v, %v; want held by the daily limit", until, held)
	}
}

func TestNewCode(t *testing.T) {
	n := testNotifier(t, Escalation{})
	seen := map[string]bool{}
	for i := range 200 {
		c := n.newCode()
		if len(c) != 3 || strings.ContainsAny(c, "01OIL") || seen[c] {
			t.Fatalf("code %d = %q: want 3 unambiguous characters, unique among open alerts", i, c)
		}
		if r := ParseReply("ok " + strings.ToLower(c)); r.Kind != ReplyAck || r.Code != c {
			t.Fatalf("ParseReply(ok %s) = %+v, want an ack of %s", c, r, c)
		}
		seen[c] = true
		n.open[c] = &Alert{Code: c}
	}
}

func TestSentAt(t *testing.T) {
	due := time.Date(2026, 3, 2, 13, 30, 0, 0, time.UTC)
	for _, tt := range []struct {
		late time.Duration
		want time.Time
	}{
		{0, due},
		{time.Minute, due}, // a pass that ran a little late: on time
		{onTime, due},      // the limit
		{onTime + time.Second, due.Add(onTime + time.Second)}, // held: the spacing counts from now
		{8 * time.Hour, due.Add(8 * time.Hour)},
	} {
		if got := sentAt(due, due.Add(tt.late)); !got.Equal(tt.want) {
			t.Errorf("sentAt(due, due+%v) = %v, want %v", tt.late, got, tt.want)
		}
	}
}
