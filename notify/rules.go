package notify

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pillbox/pillbox/dispenser"
)

// effect is what one event does to the alert of one condition.
type effect struct {
	// Key names the condition: "dose:<dose id>", "jam:<compartment>",
	// "supply:<compartment>", "fault:<what>", "<event kind>:<key>".
	Key string
	// Clear ends the condition: its alert closes and its ladder stops.
	Clear bool
	// Ended says, on a Clear, how the condition ended when that is news
	// for the people told of it (see endings); "" when another alert takes
	// over (a jam ends the dose's own alert).
	Ended string
	What  Condition
	// Priority raises the alert to at least this.
	Priority Priority
	// Base is when the ladder's offsets count from (a dose's scheduled
	// time); zero means the first step that applies goes at once.
	Base  time.Time
	Facts Facts
}

// rule turns one event into its effects on alerts.
type rule func(ev dispenser.Event, meds map[string]dispenser.Medication) []effect

// rules is the event -> alert table: every event kind the notifier acts
// on, and nothing else. To make a new event kind reach people, add a line
// here: an event that carries its own priority and text (a vitals rule's
// KindVitalAlert) can use alertRule with a detail made by AlertDetail, and
// the event that ends it clearRule with a detail made by ClearDetail.
//
// missed events are not here: several at once (after a power-off or a
// clock jump) become one summary, which needs the whole batch (see
// Notifier.missed).
var rules = map[dispenser.Kind]rule{
	dispenser.KindDoseDue:   doseDue,
	dispenser.KindReminder:  doseDue,
	dispenser.KindDispensed: dispensed,
	dispenser.KindTaken:     clearDose(endTaken),
	dispenser.KindSkipped:   clearDose(endSkipped),
	dispenser.KindNotTaken:  notTaken,
	dispenser.KindJam:       jam,
	dispenser.KindUncertain: uncertain,
	dispenser.KindEmpty:     empty,
	dispenser.KindFault:     fault,
	dispenser.KindStrayDrop: strayDrop,
	KindVitalAlert:          alertRule,
	KindVitalAlertCleared:   clearRule(KindVitalAlert),
}

func doseKey(id string) string { return "dose:" + id }

func doseFacts(ev dispenser.Event) Facts {
	return Facts{DoseID: ev.DoseID, Medication: ev.Medication, Scheduled: ev.Scheduled, Compartment: ev.Compartment}
}

// isPRN reports an as-needed dose: the patient asked for it, so nobody is
// told when it is not taken.
func isPRN(ev dispenser.Event) bool { return strings.HasPrefix(ev.DoseID, "prn:") }

func doseDue(ev dispenser.Event, _ map[string]dispenser.Medication) []effect {
	if ev.DoseID == "" || isPRN(ev) || ev.Scheduled.IsZero() {
		return nil
	}
	return []effect{{Key: doseKey(ev.DoseID), What: CondDue, Priority: Medium, Base: ev.Scheduled, Facts: doseFacts(ev)}}
}

// clearDose ends the dose's alert, which ended as ended says.
func clearDose(ended string) rule {
	return func(ev dispenser.Event, _ map[string]dispenser.Medication) []effect {
		if ev.DoseID == "" {
			return nil
		}
		return []effect{{Key: doseKey(ev.DoseID), Clear: true, Ended: ended}}
	}
}

// dispensed ends the dose's alert and, since a pill fell, any jam of its
// compartment.
func dispensed(ev dispenser.Event, meds map[string]dispenser.Medication) []effect {
	effs := clearDose(endDispensed)(ev, meds)
	if ev.Compartment != 0 {
		effs = append(effs, effect{Key: jamKey(ev.Compartment), Clear: true, Ended: endWorking})
	}
	return effs
}

func notTaken(ev dispenser.Event, _ map[string]dispenser.Medication) []effect {
	if ev.DoseID == "" {
		return nil
	}
	f := doseFacts(ev)
	f.At = ev.Time
	return []effect{{Key: doseKey(ev.DoseID), What: CondNotTaken, Priority: Medium, Facts: f}}
}

// missedEffect is the alert of one missed dose: high for a critical
// medication. Its ladder counts from the scheduled time, so the first
// caregiver hears at the usual offset, or at once if that has passed.
func missedEffect(ev dispenser.Event, meds map[string]dispenser.Medication) effect {
	p := Medium
	if meds[ev.Medication].Critical {
		p = High
	}
	base := ev.Scheduled
	if base.IsZero() {
		base = ev.Time
	}
	return effect{Key: doseKey(ev.DoseID), What: CondMissed, Priority: p, Base: base, Facts: doseFacts(ev)}
}

func jamKey(compartment int) string { return "jam:" + strconv.Itoa(compartment) }

// jam raises the compartment's jam alert and ends the dose's own: the jam
// alert says the dose was not given.
func jam(ev dispenser.Event, _ map[string]dispenser.Medication) []effect {
	if strings.HasPrefix(ev.Detail, "retry ") {
		return nil // the controller tries again; only the final jam counts
	}
	f := doseFacts(ev)
	f.At = ev.Time
	effs := []effect{{Key: jamKey(ev.Compartment), What: CondJam, Priority: Medium, Facts: f}}
	if ev.DoseID != "" {
		effs = append(effs, effect{Key: doseKey(ev.DoseID), Clear: true})
	}
	return effs
}

func uncertain(ev dispenser.Event, _ map[string]dispenser.Medication) []effect {
	f := doseFacts(ev)
	f.At = ev.Time
	key := doseKey(ev.DoseID)
	if ev.DoseID == "" {
		key = "uncertain:" + strconv.Itoa(ev.Compartment)
	}
	return []effect{{Key: key, What: CondUncertain, Priority: High, Facts: f}}
}

func supplyKey(compartment int) string { return "supply:" + strconv.Itoa(compartment) }

func empty(ev dispenser.Event, _ map[string]dispenser.Medication) []effect {
	if ev.Compartment == 0 {
		return nil
	}
	f := Facts{Compartment: ev.Compartment, Medication: ev.Medication, DoseID: ev.DoseID, Scheduled: ev.Scheduled, At: ev.Time}
	f.Left, _ = detailInt(ev.Detail, "left")
	return []effect{{Key: supplyKey(ev.Compartment), What: CondEmpty, Priority: Medium, Facts: f}}
}

// fault raises one alert per kind of fault and compartment. Extra pills in
// the cup are high: the patient may take more than prescribed.
func fault(ev dispenser.Event, _ map[string]dispenser.Medication) []effect {
	what, _, _ := strings.Cut(strings.TrimSpace(ev.Detail), " ")
	if what == "" {
		what = "unknown"
	}
	p := Medium
	if strings.HasPrefix(ev.Detail, "extra pills") {
		p = High
	}
	f := Facts{Compartment: ev.Compartment, DoseID: ev.DoseID, Scheduled: ev.Scheduled, Medication: ev.Medication,
		At: ev.Time, Text: clip(ev.Detail, 60)}
	return []effect{{Key: "fault:" + strconv.Itoa(ev.Compartment) + ":" + what, What: CondFault, Priority: p, Facts: f}}
}

// strayDrop: the beam saw something fall with no motor turning, a pill
// shaken loose (the cup may hold one too many) or a failing sensor. One
// alert however often it happens while open.
func strayDrop(ev dispenser.Event, _ map[string]dispenser.Medication) []effect {
	return []effect{{Key: string(dispenser.KindStrayDrop) + ":0", What: CondFault, Priority: Medium,
		Facts: Facts{At: ev.Time, Text: "something fell with no motor turning; check the cup"}}}
}

// alertRule reads an alert detail (see AlertDetail).
func alertRule(ev dispenser.Event, _ map[string]dispenser.Medication) []effect {
	p, key, text, err := ParseAlertDetail(ev.Detail)
	if err != nil {
		return nil // the producer's bug; Notifier logs events it cannot read
	}
	return []effect{{Key: string(ev.Kind) + ":" + key, What: CondGeneric, Priority: p, Facts: Facts{Text: text, At: ev.Time}}}
}

// clearRule ends the alert that an alertRule event of kind raise raised
// with the same key.
func clearRule(raise dispenser.Kind) rule {
	return func(ev dispenser.Event, _ map[string]dispenser.Medication) []effect {
		key, reason, err := ParseClearDetail(ev.Detail)
		if err != nil {
			return nil
		}
		return []effect{{Key: string(raise) + ":" + key, Clear: true, Ended: reason}}
	}
}

// Limits of an alert detail.
const (
	maxAlertKey  = 40
	maxAlertText = 200
)

var alertKey = regexp.MustCompile(`^[a-z0-9][a-z0-9_.:-]*$`)

// AlertDetail is the detail of an event that asks for an alert with its
// own priority and text, such as KindVitalAlert:
//
//	priority=high key=spo2 text=Oxygen saturation 88% at 07:40 (below 92%).
//
// priority is low, medium or high; key (lower-case letters, digits and
// "_.:-", at most 40) names the condition, so a repeat of the same key
// raises no second alert while the first is open; text, at most 200
// characters of printable text and the last field, is what the caregiver
// reads after "Pillbox: ". Keep the text free of medication names.
func AlertDetail(p Priority, key, text string) (string, error) {
	d := "priority=" + p.String() + " key=" + key + " text=" + text
	if _, _, _, err := ParseAlertDetail(d); err != nil {
		return "", err
	}
	return d, nil
}

// ParseAlertDetail reads a detail made by AlertDetail.
func ParseAlertDetail(detail string) (p Priority, key, text string, err error) {
	rest, ok := strings.CutPrefix(detail, "priority=")
	if !ok {
		return 0, "", "", errors.New("notify: alert detail: want priority= first")
	}
	ps, rest, _ := strings.Cut(rest, " ")
	if p, ok = ParsePriority(ps); !ok {
		return 0, "", "", fmt.Errorf("notify: alert detail: priority %q is not low, medium or high", clip(ps, 10))
	}
	if rest, ok = strings.CutPrefix(rest, "key="); !ok {
		return 0, "", "", errors.New("notify: alert detail: want key= after priority")
	}
	key, rest, _ = strings.Cut(rest, " ")
	if len(key) > maxAlertKey || !alertKey.MatchString(key) {
		return 0, "", "", errors.New("notify: alert detail: key must be 1 to 40 of a-z 0-9 _ . : -")
	}
	if text, ok = strings.CutPrefix(rest, "text="); !ok {
		return 0, "", "", errors.New("notify: alert detail: want text= after key")
	}
	switch {
	case strings.TrimSpace(text) == "":
		return 0, "", "", errors.New("notify: alert detail: text is empty")
	case !utf8.ValidString(text) || utf8.RuneCountInString(text) > maxAlertText:
		return 0, "", "", errors.New("notify: alert detail: text must be UTF-8, at most 200 characters")
	case strings.IndexFunc(text, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		return 0, "", "", errors.New("notify: alert detail: text has control characters")
	}
	return p, key, text, nil
}

// ClearDetail is the detail of an event that ends an alert raised with
// AlertDetail, such as KindVitalAlertCleared:
//
//	key=spo2 reason=normal
//
// reason is one word, for the record.
func ClearDetail(key, reason string) (string, error) {
	d := "key=" + key + " reason=" + reason
	if _, _, err := ParseClearDetail(d); err != nil {
		return "", err
	}
	return d, nil
}

// ParseClearDetail reads a detail made by ClearDetail.
func ParseClearDetail(detail string) (key, reason string, err error) {
	rest, ok := strings.CutPrefix(detail, "key=")
	if !ok {
		return "", "", errors.New("notify: clear detail: want key= first")
	}
	key, rest, _ = strings.Cut(rest, " ")
	if len(key) > maxAlertKey || !alertKey.MatchString(key) {
		return "", "", errors.New("notify: clear detail: key must be 1 to 40 of a-z 0-9 _ . : -")
	}
	reason, ok = strings.CutPrefix(rest, "reason=")
	if !ok || reason == "" || len(reason) > 40 || strings.IndexFunc(reason, func(r rune) bool { return !unicode.IsPrint(r) || r == ' ' }) >= 0 {
		return "", "", errors.New("notify: clear detail: want reason= after key, one word")
	}
	return key, reason, nil
}

// detailInt reads "key=N" from an event detail.
func detailInt(detail, key string) (int, bool) {
	for _, f := range strings.Fields(detail) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			n, err := strconv.Atoi(v)
			return n, err == nil
		}
	}
	return 0, false
}

// clip shortens s to at most n runes.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
