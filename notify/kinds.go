package notify

import (
	"errors"
	"strings"
	"unicode"

	"github.com/pillbox/pillbox/dispenser"
)

// Event kinds the notifier appends to the adherence log, so that the record
// shows what reached whom. The strings are stored and synced; never rename
// one. Details are space-separated key=value fields (see Detail); they name
// recipients by role ("to=caregiver1"), never by number or name.
const (
	// KindSMSQueued: a message was committed to the outbox.
	// Detail: msg=ID to=ROLE priority=P alerts=KEY[,KEY] codes=CODE[,CODE] why=step|renotify|digest|resolved|help.
	KindSMSQueued dispenser.Kind = "sms_queued"
	// KindSMSSent: the provider accepted the message. Detail: msg=ID to=ROLE sid=SID attempt=N.
	KindSMSSent dispenser.Kind = "sms_sent"
	// KindSMSStatus: a delivery status callback that is not final
	// (queued, sending, sent, ...). Detail: msg=ID to=ROLE status=S.
	KindSMSStatus dispenser.Kind = "sms_status"
	// KindSMSDelivered: the provider reports the message delivered (or read).
	// Detail: msg=ID to=ROLE status=S.
	KindSMSDelivered dispenser.Kind = "sms_delivered"
	// KindSMSFailed: the message did not and will not reach the phone: the
	// provider refused it (Detail: msg=ID to=ROLE code=N reason=...), or
	// reported it undelivered or failed (msg=ID to=ROLE status=S code=N).
	KindSMSFailed dispenser.Kind = "sms_failed"
	// KindSMSCanceled: a queued message was not sent because every alert it
	// was about had been acknowledged or resolved meanwhile, or its
	// recipient opted out. Detail: msg=ID to=ROLE reason=...
	KindSMSCanceled dispenser.Kind = "sms_canceled"
	// KindSMSOptOut: a number replied STOP (or the provider says it did);
	// nothing more is sent to it until it replies START.
	// Detail: to=ROLE source=reply|provider.
	KindSMSOptOut dispenser.Kind = "sms_opt_out"
	// KindSMSOptIn: a number replied START. Detail: to=ROLE.
	KindSMSOptIn dispenser.Kind = "sms_opt_in"
	// KindAlertAck: a caregiver acknowledged an alert; its ladder stops.
	// Detail: alert=KEY code=CODE by=ROLE.
	KindAlertAck dispenser.Kind = "alert_ack"
	// KindMissDisputed: a caregiver replied TAKEN to a missed-dose alert:
	// they say the dose recorded as missed was taken (the reports count it
	// as a false miss). Detail: dose=DOSEID by=ROLE reason=caregiver reply
	// (see DisputeDetail; reason is the last field and may hold spaces). The dose id is in the
	// detail, not the event's DoseID, so that the dispenser's dose states
	// (its replay, the doses table) never see the event.
	KindMissDisputed dispenser.Kind = "miss_disputed"
)

// Events other parts append for the notifier to act on.
const (
	// KindVitalAlert is the event a vitals rule appends when a reading
	// needs a person. Its detail is an alert detail (see AlertDetail): the
	// notifier turns it into an alert with that priority, key and text.
	KindVitalAlert dispenser.Kind = "vital_alert"
	// KindVitalAlertCleared ends the vital alert with the same key; its
	// detail is a clear detail (see ClearDetail).
	KindVitalAlertCleared dispenser.Kind = "vital_alert_cleared"
)

// own reports whether k is one of the kinds the notifier itself appends:
// the notifier skips them when it reads the log.
func own(k dispenser.Kind) bool {
	switch k {
	case KindSMSQueued, KindSMSSent, KindSMSStatus, KindSMSDelivered, KindSMSFailed,
		KindSMSCanceled, KindSMSOptOut, KindSMSOptIn, KindAlertAck, KindMissDisputed, KindCallStatus:
		return true
	}
	return false
}

// DisputeDetail is the detail of a miss_disputed event: dose=DOSE by=BY
// reason=REASON. The dose id and the role may not be empty nor hold white
// space, which would make the detail ambiguous.
func DisputeDetail(dose, by, reason string) (string, error) {
	if !isToken(dose) || !isToken(by) {
		return "", errors.New("notify: dispute detail: dose id and role must be non-empty, without white space")
	}
	return "dose=" + dose + " by=" + by + " reason=" + reason, nil
}

// ParseDisputeDetail reads a miss_disputed event's detail. The detail may
// come from another device through the clinic's uplink: anything that is
// not DisputeDetail's form is an error.
func ParseDisputeDetail(detail string) (dose, by, reason string, err error) {
	rest, ok1 := strings.CutPrefix(detail, "dose=")
	dose, rest, ok2 := strings.Cut(rest, " by=")
	by, reason, ok3 := strings.Cut(rest, " reason=")
	if !ok1 || !ok2 || !ok3 || !isToken(dose) || !isToken(by) {
		return "", "", "", errors.New("notify: dispute detail: want dose=ID by=ROLE reason=TEXT")
	}
	return dose, by, reason, nil
}

func isToken(s string) bool { return s != "" && strings.IndexFunc(s, unicode.IsSpace) < 0 }
