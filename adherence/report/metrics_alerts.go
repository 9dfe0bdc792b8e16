package report

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/notify"
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

// field reads the value of key=value in an event detail, "" if absent.
func field(detail, key string) string {
	for detail != "" {
		var f string
		f, detail, _ = strings.Cut(detail, " ")
		if v, ok := strings.CutPrefix(f, key); ok && strings.HasPrefix(v, "=") {
			return v[1:]
		}
	}
	return ""
}

// AlertHistory rebuilds the alerts that were texted or raised by a vitals
// rule, in order of opening. evs are in time order.
func AlertHistory(evs []dispenser.Event) []AlertRecord {
	var out []*AlertRecord
	// open holds the alerts neither acknowledged nor resolved, by key: a
	// small map, however long the log.
	open := map[string]*AlertRecord{}
	// doseOpen indexes the open dose alerts by dose id, so that the many
	// dose events look them up without building a key each.
	doseOpen := map[string]*AlertRecord{}
	msgs := map[int64][]*AlertRecord{}
	get := func(key string, at time.Time) *AlertRecord {
		if a := open[key]; a != nil {
			return a
		}
		kind, rest, _ := strings.Cut(key, ":")
		a := &AlertRecord{Key: key, Kind: kind, Opened: at}
		open[key] = a
		if kind == "dose" {
			doseOpen[rest] = a
		}
		out = append(out, a)
		return a
	}
	closeAlert := func(a *AlertRecord) {
		delete(open, a.Key)
		if a.Kind == "dose" {
			delete(doseOpen, strings.TrimPrefix(a.Key, "dose:"))
		}
	}
	resolve := func(key string, at time.Time) {
		if a := open[key]; a != nil {
			a.Resolved = at
			closeAlert(a)
		}
	}
	setStatus := func(detail, status string, at time.Time) {
		id, err := strconv.ParseInt(field(detail, "msg"), 10, 64)
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
	for i := range evs {
		ev := &evs[i]
		switch ev.Kind {
		case notify.KindSMSQueued:
			id, err := strconv.ParseInt(field(ev.Detail, "msg"), 10, 64)
			alerts := field(ev.Detail, "alerts")
			if err != nil || alerts == "" || alerts == "-" {
				continue
			}
			m := Message{ID: id, To: field(ev.Detail, "to"), Priority: field(ev.Detail, "priority"), Why: field(ev.Detail, "why"),
				Queued: ev.Time, Status: "queued", Updated: ev.Time}
			for _, key := range strings.Split(alerts, ",") {
				a := get(key, ev.Time)
				if a.Priority == "" || priorityRank(m.Priority) > priorityRank(a.Priority) {
					a.Priority = m.Priority
				}
				a.Messages = append(a.Messages, m)
				msgs[id] = append(msgs[id], a)
			}
		case notify.KindSMSSent:
			setStatus(ev.Detail, "sent", ev.Time)
		case notify.KindSMSDelivered:
			setStatus(ev.Detail, "delivered", ev.Time)
		case notify.KindSMSFailed:
			setStatus(ev.Detail, "failed", ev.Time)
		case notify.KindSMSCanceled:
			setStatus(ev.Detail, "canceled", ev.Time)
		case notify.KindAlertAck:
			key := field(ev.Detail, "alert")
			if a := open[key]; a != nil {
				a.AckedBy, a.AckedAt = field(ev.Detail, "by"), ev.Time
				closeAlert(a)
			}
		case notify.KindVitalAlert:
			p, key, text, err := notify.ParseAlertDetail(ev.Detail)
			if err != nil {
				continue
			}
			a := get(string(notify.KindVitalAlert)+":"+key, ev.Time)
			if priorityRank(p.String()) > priorityRank(a.Priority) {
				a.Priority = p.String()
			}
			a.Text = text
		case notify.KindVitalAlertCleared:
			if key, _, err := notify.ParseClearDetail(ev.Detail); err == nil {
				resolve(string(notify.KindVitalAlert)+":"+key, ev.Time)
			}
		case dispenser.KindDispensed, dispenser.KindTaken, dispenser.KindSkipped:
			if a := doseOpen[ev.DoseID]; a != nil {
				a.Resolved = ev.Time
				closeAlert(a)
			}
			if ev.Kind == dispenser.KindDispensed && len(open) > len(doseOpen) {
				resolve("jam:"+strconv.Itoa(ev.Compartment), ev.Time)
			}
		case dispenser.KindRefill:
			if len(open) > len(doseOpen) {
				resolve("supply:"+strconv.Itoa(ev.Compartment), ev.Time)
			}
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
