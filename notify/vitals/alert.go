package vitals

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pillbox/pillbox/dispenser"
)

// The event kinds the rules append. A vital_alert raises an alert, or
// raises the priority of the one with the same key; a vital_alert_cleared
// closes it. The notifier turns them into SMS (see docs/vitals.md for the
// contract).
const (
	// KindVitalAlert is notify.KindVitalAlert: the notifier reads it.
	KindVitalAlert        dispenser.Kind = "vital_alert"
	KindVitalAlertCleared dispenser.Kind = "vital_alert_cleared"
)

// Alert is one change of a rule's alert: raised, escalated or cleared.
type Alert struct {
	Rule string
	// Key names the alert from its raise to its clear; the next episode of
	// the same rule gets a new key.
	Key      string
	Priority Priority // of a raise; 0 on a clear
	Level    int      // of a raise: a rule's severity level, 1, 2, ...
	Cleared  bool
	// Reason says why an alert cleared: "normal" (a reading back within
	// limits), "expired" (no abnormal reading for the realert period),
	// "resumed" (a silent device reported), "dose_taken".
	Reason   string
	Quantity dispenser.Quantity // the quantity the rule watches, if one
	Device   string             // the device concerned, if one
	Reading  int64              // Seq of the reading that raised it, if one
	// Text is the plain summary for the message: no values, no names.
	Text string
}

// Event returns the alert as an event of the log, at now.
func (a Alert) Event(now time.Time) dispenser.Event {
	kind := KindVitalAlert
	if a.Cleared {
		kind = KindVitalAlertCleared
	}
	return dispenser.Event{Time: now, Kind: kind, Detail: a.Detail()}
}

// Detail encodes the alert as the event detail: space-separated key=value
// fields, values with a space or a quote in Go quoted form.
//
//	rule=glucose_low key=vital:glucose_low:1764142200 priority=high level=2 quantity=glucose device=AA:BB:CC:DD:EE:FF reading=42 text="very low blood sugar (level 2 hypoglycaemia)"
//	rule=glucose_low key=vital:glucose_low:1764142200 cleared=normal
func (a Alert) Detail() string {
	var b strings.Builder
	field := func(k, v string) {
		if v == "" {
			return
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
		b.WriteByte('=')
		if strings.ContainsAny(v, " \"=\\") || !strconv.IsPrint(rune(v[0])) {
			v = strconv.Quote(v)
		}
		b.WriteString(v)
	}
	field("rule", a.Rule)
	field("key", a.Key)
	if a.Cleared {
		field("cleared", a.Reason)
	} else if a.Priority != 0 {
		field("priority", a.Priority.String())
		field("level", strconv.Itoa(a.Level))
	}
	field("quantity", string(a.Quantity))
	field("device", a.Device)
	if a.Reading > 0 {
		field("reading", strconv.FormatInt(a.Reading, 10))
	}
	field("text", a.Text)
	return b.String()
}

// ParseAlert reads back an alert event the rules appended.
func ParseAlert(ev dispenser.Event) (Alert, error) {
	if ev.Kind != KindVitalAlert && ev.Kind != KindVitalAlertCleared {
		return Alert{}, fmt.Errorf("vitals: parse alert: event %d is a %s", ev.Seq, ev.Kind)
	}
	fields, err := ParseDetail(ev.Detail)
	if err != nil {
		return Alert{}, fmt.Errorf("vitals: parse alert: event %d: %w", ev.Seq, err)
	}
	a := Alert{Rule: fields["rule"], Key: fields["key"], Quantity: dispenser.Quantity(fields["quantity"]),
		Device: fields["device"], Text: fields["text"], Cleared: ev.Kind == KindVitalAlertCleared, Reason: fields["cleared"]}
	if v, ok := fields["reading"]; ok {
		if a.Reading, err = strconv.ParseInt(v, 10, 64); err != nil {
			return Alert{}, fmt.Errorf("vitals: parse alert: event %d: reading %q is not a number", ev.Seq, v)
		}
	}
	if !a.Cleared {
		p, ok := ParsePriority(fields["priority"])
		if !ok {
			return Alert{}, fmt.Errorf("vitals: parse alert: event %d: priority %q is not low, medium or high", ev.Seq, fields["priority"])
		}
		a.Priority = p
		if a.Level, err = strconv.Atoi(fields["level"]); err != nil || a.Level < 1 {
			return Alert{}, fmt.Errorf("vitals: parse alert: event %d: level %q is not a number from 1", ev.Seq, fields["level"])
		}
	}
	if a.Rule == "" || a.Key == "" {
		return Alert{}, fmt.Errorf("vitals: parse alert: event %d: no rule or no key", ev.Seq)
	}
	return a, nil
}

// ParseDetail splits a detail of key=value fields, as Detail writes them.
func ParseDetail(s string) (map[string]string, error) {
	out := map[string]string{}
	for s = strings.TrimLeft(s, " "); s != ""; s = strings.TrimLeft(s, " ") {
		eq := strings.IndexByte(s, '=')
		if eq <= 0 || strings.ContainsAny(s[:eq], " \"") {
			return nil, errors.New("detail is not key=value fields")
		}
		key := s[:eq]
		s = s[eq+1:]
		var val string
		if strings.HasPrefix(s, `"`) {
			q, err := strconv.QuotedPrefix(s)
			if err != nil {
				return nil, fmt.Errorf("detail field %s: bad quoting", key)
			}
			val, _ = strconv.Unquote(q)
			s = s[len(q):]
			if s != "" && s[0] != ' ' {
				return nil, fmt.Errorf("detail field %s: text after the closing quote", key)
			}
		} else {
			end := strings.IndexByte(s, ' ')
			if end < 0 {
				end = len(s)
			}
			val, s = s[:end], s[end:]
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("detail field %s appears twice", key)
		}
		out[key] = val
	}
	return out, nil
}
