package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pillbox/pillbox/notify"
)

// In sim mode a ladder step with call: shows in the text list as a call,
// with the callee's name, and the panel answers it through the same
// handlers as Twilio's webhooks: 1 acknowledges, and the list marks every
// text about it acknowledged by Ana.
func TestSimCallAnswered(t *testing.T) {
	config := exampleWith(t, "    - to: caregiver1\n      after: 30m", "    - call: caregiver1\n      after: 30m")
	d := runDaemon(t, config, filepath.Join(t.TempDir(), "data"), "127.0.0.1:0", "2026-03-10T07:50:00-04:00")
	since := d.lastSeq()
	d.advance("40m") // 08:30: the 08:00 dose's call to caregiver 1 is due
	d.waitFor(notify.KindSMSSent, since, to("caregiver1"))

	var views []smsView
	json.Unmarshal(d.do("GET", "/api/sim/sms", nil, http.StatusOK), &views)
	var call, patient smsView
	for _, v := range views {
		switch v.To {
		case anaPhone:
			call = v
		case margaretPhone:
			patient = v
		}
	}
	if call.Via != "call" || !strings.HasPrefix(call.SID, "CA") || call.Name != "Ana" ||
		!strings.Contains(call.Body, "Margaret has not taken the 8:00 AM dose yet.") {
		t.Fatalf("GET /api/sim/sms lists the call as %+v, want via call, a CA SID, Ana, and what it says", call)
	}
	if patient.Name != "Margaret" || patient.Via != "" || patient.AckedBy != "" {
		t.Errorf("GET /api/sim/sms lists the patient's text as %+v, want a text named Margaret, not acknowledged", patient)
	}

	for _, bad := range []string{`{"sid": "` + call.SID + `", "answer": "pressed9"}`, `{"sid": "SM1", "answer": "busy"}`, `{}`} {
		d.do("POST", "/api/sim/call/answer", json.RawMessage(bad), http.StatusBadRequest)
	}
	d.do("POST", "/api/sim/call/answer", json.RawMessage(`{"sid": "CA0123456789abcdef0123456789abcdef", "answer": "busy"}`), http.StatusNotFound)
	var said map[string]string
	json.Unmarshal(d.do("POST", "/api/sim/call/answer", map[string]string{"sid": call.SID, "answer": "pressed1"}, http.StatusOK), &said)
	if !strings.Contains(said["said"], "Thank you, Ana.") {
		t.Errorf("answering with 1 said %q, want thanks to Ana", said["said"])
	}
	d.waitFor(notify.KindAlertAck, since, nil)
	json.Unmarshal(d.do("GET", "/api/sim/sms", nil, http.StatusOK), &views)
	for _, v := range views {
		if v.To == anaPhone && v.AckedBy != "Ana" {
			t.Errorf("after the 1 the call is listed as %+v, want acked_by Ana", v)
		}
	}
	// The ladder stopped: David is never told of the 8:00 AM dose.
	d.advance("1h")
	json.Unmarshal(d.do("GET", "/api/sim/sms", nil, http.StatusOK), &views)
	for _, v := range views {
		if v.To == davidPhone {
			t.Errorf("David got %q after Ana pressed 1", v.Body)
		}
	}
}
