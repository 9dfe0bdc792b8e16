package adherence

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/notify"
	"github.com/pillbox/pillbox/notify/vitals"
)

// The alert history is rebuilt from the notifier's events in the log
// (docs/notify.md, "What the log records"), since the alerts table stays
// on the dispenser: which alerts were texted to whom, what became of each
// text, and who acknowledged. Recipients are roles ("caregiver1").

// Message is one text about one or more alerts.
type Message struct {
	ID       int64     `json:"id"`
	To       string    `json:"to"`
	Priority string    `json:"priority"`
	Why      string    `json:"why"`
	Queued   time.Time `json:"queued"`
	// Status is queued, sent, delivered, failed or canceled; Updated is
	// when it became so.
	Status  string    `json:"status"`
	Updated time.Time `json:"updated"`
}

// AlertRecord is one alert as the log shows it.
type AlertRecord struct {
	Key      string    `json:"key"`
	Kind     string    `json:"kind"` // dose, jam, supply, fault, uncertain, summary, vital_alert
	Priority string    `json:"priority"`
	Text     string    `json:"text,omitempty"` // a vital alert's own text
	Opened   time.Time `json:"opened"`
	Messages []Message `json:"messages"`
	AckedBy  string    `json:"acked_by,omitempty"`
	AckedAt  time.Time `json:"acked_at,omitzero"`
	// Resolved is when the condition ended, where the log says so (the
	// dose was taken, the compartment refilled, the vital sign cleared).
	Resolved time.Time `json:"resolved,omitzero"`
}

// alertMaxOpen is how long the notifier keeps an alert open at most.
const alertMaxOpen = 7 * 24 * time.Hour

// Open reports whether the alert still needs someone at now: neither
// acknowledged nor resolved, and younger than the notifier's week.
func (a AlertRecord) Open(now time.Time) bool {
	return a.AckedAt.IsZero() && a.Resolved.IsZero() && now.Sub(a.Opened) < alertMaxOpen
}

// fields reads an event detail's key=value fields.
func fields(detail string) map[string]string {
	m := map[string]string{}
	for _, f := range strings.Fields(detail) {
		if k, v, ok := strings.Cut(f, "="); ok {
			m[k] = v
		}
	}
	return m
}

// AlertHistory rebuilds the alerts that were texted or raised by a vitals
// rule, in order of opening. evs are in time order.
func AlertHistory(evs []dispenser.Event) []AlertRecord {
	var out []*AlertRecord
	open := map[string]*AlertRecord{} // by key: the latest episode
	msgs := map[int64][]*AlertRecord{}
	get := func(key string, at time.Time) *AlertRecord {
		if a := open[key]; a != nil && a.Resolved.IsZero() && a.AckedAt.IsZero() {
			return a
		}
		kind, _, _ := strings.Cut(key, ":")
		a := &AlertRecord{Key: key, Kind: kind, Opened: at}
		open[key] = a
		out = append(out, a)
		return a
	}
	resolve := func(key string, at time.Time) {
		if a := open[key]; a != nil && a.Resolved.IsZero() {
			a.Resolved = at
		}
	}
	setStatus := func(f map[string]string, status string, at time.Time) {
		id, err := strconv.ParseInt(f["msg"], 10, 64)
		if err != nil {
			return
		}
		for _, a := range msgs[id] {
			for i := range a.Messages {
				if m := &a.Messages[i]; m.ID == id && m.Status != "delivered" && m.Status != "failed" {
					m.Status, m.Updated = status, at
				}
			}
		}
	}
	for _, ev := range evs {
		f := fields(ev.Detail)
		switch ev.Kind {
		case notify.KindSMSQueued:
			id, err := strconv.ParseInt(f["msg"], 10, 64)
			if err != nil || f["alerts"] == "" || f["alerts"] == "-" {
				continue
			}
			m := Message{ID: id, To: f["to"], Priority: f["priority"], Why: f["why"], Queued: ev.Time,
				Status: "queued", Updated: ev.Time}
			for _, key := range strings.Split(f["alerts"], ",") {
				a := get(key, ev.Time)
				if a.Priority == "" || priorityRank(m.Priority) > priorityRank(a.Priority) {
					a.Priority = m.Priority
				}
				a.Messages = append(a.Messages, m)
				msgs[id] = append(msgs[id], a)
			}
		case notify.KindSMSSent:
			setStatus(f, "sent", ev.Time)
		case notify.KindSMSDelivered:
			setStatus(f, "delivered", ev.Time)
		case notify.KindSMSFailed:
			setStatus(f, "failed", ev.Time)
		case notify.KindSMSCanceled:
			setStatus(f, "canceled", ev.Time)
		case notify.KindAlertAck:
			if a := open[f["alert"]]; a != nil && a.AckedAt.IsZero() {
				a.AckedBy, a.AckedAt = f["by"], ev.Time
			}
		case vitals.KindVitalAlert:
			va, err := vitals.ParseAlert(ev)
			if err != nil {
				continue
			}
			a := get(string(vitals.KindVitalAlert)+":"+va.Key, ev.Time)
			if p := va.Priority.String(); priorityRank(p) > priorityRank(a.Priority) {
				a.Priority = p
			}
			a.Text = va.Text
		case vitals.KindVitalAlertCleared:
			if va, err := vitals.ParseAlert(ev); err == nil {
				resolve(string(vitals.KindVitalAlert)+":"+va.Key, ev.Time)
			}
		case dispenser.KindDispensed, dispenser.KindTaken, dispenser.KindSkipped:
			resolve("dose:"+ev.DoseID, ev.Time)
			if ev.Kind == dispenser.KindDispensed {
				resolve("jam:"+strconv.Itoa(ev.Compartment), ev.Time)
			}
		case dispenser.KindRefill:
			resolve("supply:"+strconv.Itoa(ev.Compartment), ev.Time)
		}
	}
	res := make([]AlertRecord, len(out))
	for i, a := range out {
		res[i] = *a
	}
	slices.SortStableFunc(res, func(a, b AlertRecord) int { return a.Opened.Compare(b.Opened) })
	return res
}

func priorityRank(p string) int {
	if pr, ok := notify.ParsePriority(p); ok {
		return int(pr)
	}
	return -1
}
