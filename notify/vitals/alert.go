package vitals

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/hw/vital"
	"github.com/pillbox/pillbox/notify"
)

// The event kinds the rules append: the notifier's. A vital_alert raises
// an alert, or raises the priority of the open one with the same key; a
// vital_alert_cleared closes it. The notifier's event -> alert table
// (notify/rules.go) turns them into SMS; docs/vitals.md has the contract.
const (
	KindVitalAlert        = notify.KindVitalAlert        // detail: notify.AlertDetail
	KindVitalAlertCleared = notify.KindVitalAlertCleared // detail: notify.ClearDetail
)

// Alert is one change of a rule's alert: raised, escalated or cleared.
type Alert struct {
	Rule string
	// Key names the alert from its raise to its clear: the rule, the
	// device for a per-device rule, and the start of the episode, e.g.
	// "glucose_low:t4k2zc" or "device_silent:a4c138123456:t4k2zc". The
	// next episode of the same rule gets a new key.
	Key      string
	Priority Priority // of a raise; 0 on a clear
	Cleared  bool
	// Reason says why an alert cleared: "normal" (a reading back within
	// limits), "expired" (no abnormal reading for the realert period),
	// "resumed" (a silent device reported), "dose_taken".
	Reason string
	Device string // the device of a per-device rule (device_silent, device_problem)
	// Text is the plain summary the caregiver reads: no values, no names.
	Text string
}

// Quantity is the quantity the alert's rule watches; "" for rules over
// several (news2) or none (device_silent).
func (a Alert) Quantity() vital.Quantity { return ruleQuantity[a.Rule] }

var ruleQuantity = map[string]vital.Quantity{
	RuleGlucoseLow:    vital.Glucose,
	RuleGlucoseHigh:   vital.Glucose,
	RuleBPCrisis:      vital.Systolic,
	RuleWeightGain:    vital.Weight,
	RuleBPMissedTrend: vital.Systolic,
}

// alertKey builds the key of an episode of rule that starts at at.
func alertKey(rule, device string, at time.Time) string {
	ep := "t" + strconv.FormatInt(at.Unix(), 36)
	if device == "" {
		return rule + ":" + ep
	}
	return rule + ":" + strings.ToLower(strings.ReplaceAll(device, ":", "")) + ":" + ep
}

// deviceFromKey reads the device address back from a per-device key.
func deviceFromKey(key string) string {
	parts := strings.Split(key, ":")
	if len(parts) != 3 || len(parts[1]) != 12 {
		return ""
	}
	var b strings.Builder
	for i := 0; i < 12; i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(strings.ToUpper(parts[1][i : i+2]))
	}
	return b.String()
}

// Event returns the alert as an event of the log, at now.
func (a Alert) Event(now time.Time) dispenser.Event {
	kind := KindVitalAlert
	if a.Cleared {
		kind = KindVitalAlertCleared
	}
	return dispenser.Event{Time: now, Kind: kind, Detail: a.Detail()}
}

// Detail encodes the alert as its event's detail, in the notifier's
// formats:
//
//	priority=high key=glucose_low:ttb9fg0 text=Very low blood sugar (level 2 hypoglycaemia).
//	key=glucose_low:ttb9fg0 reason=normal
func (a Alert) Detail() string {
	if a.Cleared {
		if d, err := notify.ClearDetail(a.Key, a.Reason); err == nil {
			return d
		}
		return "key=" + a.Key + " reason=cleared"
	}
	if d, err := notify.AlertDetail(a.Priority, a.Key, a.Text); err == nil {
		return d
	}
	// Only a text the notifier refuses gets here; the alert must still go.
	d, _ := notify.AlertDetail(a.Priority, a.Key, "A vital sign needs attention.")
	return d
}

// ParseAlert reads back an alert event the rules appended.
func ParseAlert(ev dispenser.Event) (Alert, error) {
	a := Alert{Cleared: ev.Kind == KindVitalAlertCleared}
	var err error
	switch ev.Kind {
	case KindVitalAlert:
		a.Priority, a.Key, a.Text, err = notify.ParseAlertDetail(ev.Detail)
	case KindVitalAlertCleared:
		a.Key, a.Reason, err = notify.ParseClearDetail(ev.Detail)
	default:
		err = fmt.Errorf("it is a %s", ev.Kind)
	}
	if err != nil {
		return Alert{}, fmt.Errorf("vitals: parse alert: event %d: %w", ev.Seq, err)
	}
	a.Rule, _, _ = strings.Cut(a.Key, ":")
	if perDevice[a.Rule] {
		a.Device = deviceFromKey(a.Key)
	}
	return a, nil
}

// sentence makes a rule's summary the caregiver's text: capitalised, with
// a full stop.
func sentence(s string) string {
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:] + "."
}
