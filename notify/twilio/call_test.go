package twilio_test

import (
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/pillbox/pillbox/notify"
	"github.com/pillbox/pillbox/notify/twilio"
	"github.com/pillbox/pillbox/notify/twiliotest"
)

const (
	callStatusURL = "https://clinic.example.org/twilio/call/status"
	gatherURL     = "https://clinic.example.org/twilio/call/gather"
)

var testCall = notify.Call{Say: "Margaret has not taken the 8:00 AM dose <yet> & more.",
	Ask: "Press 1 if you will handle this.", NoKey: "No key was pressed. Goodbye."}

func withCalls(c *twilio.Config) { c.CallStatusCallback, c.CallGather = callStatusURL, gatherURL }

// Call places the call through twilio-go's Calls API: TwiML inline, the
// status callback, machine detection to the end of the greeting; the
// stand-in's errors come back classified as Send's are.
func TestCall(t *testing.T) {
	for _, tt := range []struct {
		name   string
		edit   func(*twilio.Config)
		reject int // the stand-in refuses calls to testTo with it
		fault  twiliotest.Fault
		class  twilio.Class // 0: accepted
		config bool
		code   int
	}{
		{name: "accepted", edit: withCalls},
		{name: "invalid number", edit: withCalls, reject: 21217, class: twilio.Permanent, code: 21217},
		{name: "geo permissions", edit: withCalls, reject: 21215, class: twilio.Permanent, config: true, code: 21215},
		{name: "Twilio down", edit: withCalls, fault: twiliotest.Fail503, class: twilio.Retryable, code: 20503},
		{name: "no public URL", edit: nil, class: twilio.Permanent, config: true},
		{name: "messaging service only", edit: func(c *twilio.Config) {
			withCalls(c)
			c.From, c.MessagingServiceSID = "", "MG0123456789abcdef0123456789abcdef"
		}, class: twilio.Permanent, config: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := twiliotest.New(t, testSID, testToken)
			if tt.reject != 0 {
				srv.RejectCallTo(testTo, tt.reject)
			}
			if tt.fault != 0 {
				srv.FailNext(1, tt.fault)
			}
			s := newSender(t, srv, tt.edit)
			res, err := s.Call(context.Background(), testTo, testCall)
			if tt.class != 0 {
				e, ok := errors.AsType[*twilio.Error](err)
				if !ok || e.Class != tt.class || e.Config != tt.config || e.Code != tt.code {
					t.Fatalf("Call = %+v, %v; want class %v config %v code %d", res, err, tt.class, tt.config, tt.code)
				}
				if strings.Contains(err.Error(), testTo) {
					t.Errorf("the error %q names the number", err)
				}
				if len(srv.Calls()) != 0 {
					t.Errorf("the stand-in holds %d calls, want none", len(srv.Calls()))
				}
				return
			}
			if err != nil || !strings.HasPrefix(res.SID, "CA") || res.Status != "queued" {
				t.Fatalf("Call = %+v, %v; want a CA SID, queued", res, err)
			}
			calls := srv.Calls()
			if len(calls) != 1 {
				t.Fatalf("the stand-in got %d calls, want 1", len(calls))
			}
			c := calls[0]
			if c.SID != res.SID || c.To != testTo || c.From != testFrom || c.StatusCallback != callStatusURL ||
				c.MachineDetection != "DetectMessageEnd" || c.Timeout != twilio.Ring || c.URL != "" {
				t.Errorf("the stand-in got %+v, want the call to %s from %s with the status callback and machine detection", c, testTo, testFrom)
			}
			if got, want := strings.Join(c.Says(), "|"), testCall.Say+"|"+testCall.Ask+"|"+testCall.Ask+"|"+testCall.NoKey; got != want {
				t.Errorf("the call says %q, want %q", got, want)
			}
		})
	}
}

// The TwiML gathers one key twice, posting it to the gather URL, and
// escapes what it says.
func TestCallTwiML(t *testing.T) {
	doc := twilio.CallTwiML(testCall, gatherURL+"?a=1&b=2")
	var resp struct {
		XMLName xml.Name `xml:"Response"`
		Gathers []struct {
			Action    string   `xml:"action,attr"`
			NumDigits string   `xml:"numDigits,attr"`
			Input     string   `xml:"input,attr"`
			Says      []string `xml:"Say"`
		} `xml:"Gather"`
		Says []string `xml:"Say"`
	}
	if err := xml.Unmarshal([]byte(doc), &resp); err != nil {
		t.Fatalf("CallTwiML = %s: %v", doc, err)
	}
	if len(resp.Gathers) != 2 || len(resp.Says) != 1 || resp.Says[0] != testCall.NoKey {
		t.Fatalf("CallTwiML = %s, want two Gathers then the no-key Say", doc)
	}
	for i, g := range resp.Gathers {
		if g.Action != gatherURL+"?a=1&b=2" || g.NumDigits != "1" || g.Input != "dtmf" {
			t.Errorf("Gather %d = %+v, want one DTMF key posted to the gather URL", i, g)
		}
	}
	if resp.Gathers[0].Says[0] != testCall.Say {
		t.Errorf("the first Gather says %q, want %q", resp.Gathers[0].Says[0], testCall.Say)
	}
}

// callRecorder records what the webhook hands on about calls.
type callRecorder struct {
	updates []notify.CallUpdate
	digits  []notify.CallDigits
}

func (r *callRecorder) handlers() twilio.CallHandlers {
	return twilio.CallHandlers{
		Status: func(_ context.Context, u notify.CallUpdate) { r.updates = append(r.updates, u) },
		Digits: func(_ context.Context, d notify.CallDigits) string {
			r.digits = append(r.digits, d)
			return "Thank you <Ana>."
		},
	}
}

const callSID = "CA0123456789abcdef0123456789abcdef"

func callForm(kv ...string) url.Values {
	p := url.Values{"AccountSid": {testSID}, "CallSid": {callSID}, "From": {testFrom}, "To": {testTo}}
	for i := 0; i < len(kv); i += 2 {
		p.Set(kv[i], kv[i+1])
	}
	return p
}

// The call routes check the signature as the SMS routes do, hand key
// presses and statuses on, and refuse what Twilio would not send.
func TestWebhookCalls(t *testing.T) {
	const public = "https://clinic.example.org"
	for _, tt := range []struct {
		name   string
		path   string
		form   url.Values
		forged bool
		want   int
		body   string // in the answer
	}{
		{"key 1", "/twilio/call/gather", callForm("Digits", "1", "CallStatus", "in-progress"), false, 200, "<Say>Thank you &lt;Ana&gt;.</Say><Hangup/>"},
		{"completed by a machine", "/twilio/call/status", callForm("CallStatus", "completed", "AnsweredBy", "machine_end_beep"), false, 204, ""},
		{"no answer", "/twilio/call/status", callForm("CallStatus", "no-answer"), false, 204, ""},
		{"forged", "/twilio/call/gather", callForm("Digits", "1"), true, 403, ""},
		{"two keys", "/twilio/call/gather", callForm("Digits", "12"), false, 400, ""},
		{"unknown status", "/twilio/call/status", callForm("CallStatus", "exploded"), false, 400, ""},
		{"bad AnsweredBy", "/twilio/call/status", callForm("CallStatus", "completed", "AnsweredBy", "<script>"), false, 400, ""},
		{"a message SID as call SID", "/twilio/call/status", callForm("CallSid", "SM0123456789abcdef0123456789abcdef", "CallStatus", "busy"), false, 400, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := &callRecorder{}
			h, err := twilio.NewWebhook(testToken, public, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			h.OnCall(rec.handlers())
			token := testToken
			if tt.forged {
				token = "0000" + testToken[4:]
			}
			req := httptest.NewRequest(http.MethodPost, tt.path, strings.NewReader(tt.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Twilio-Signature", twiliotest.Sign(token, public+tt.path, tt.form))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != tt.want || !strings.Contains(w.Body.String(), tt.body) {
				t.Fatalf("POST %s = %d %q, want %d containing %q", tt.path, w.Code, w.Body, tt.want, tt.body)
			}
			handed := len(rec.updates) + len(rec.digits)
			if (tt.want < 300) != (handed == 1) {
				t.Errorf("POST %s = %d and handed on %d callbacks, want 1 exactly when accepted", tt.path, w.Code, handed)
			}
		})
	}
	// Without OnCall a call's callback is refused.
	h, _ := twilio.NewWebhook(testToken, public, nil, nil)
	p := callForm("CallStatus", "busy")
	req := httptest.NewRequest(http.MethodPost, "/twilio/call/status", strings.NewReader(p.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twiliotest.Sign(testToken, public+"/twilio/call/status", p))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusBadRequest {
		t.Errorf("a call status without OnCall = %d, want 400", w.Code)
	}
}

// FuzzCallback: the call callback parser never panics, and what it accepts
// is a call SID with one known status, or one key.
func FuzzCallback(f *testing.F) {
	f.Fuzz(func(t *testing.T, body string) {
		vals, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		p := map[string]string{}
		for k, v := range vals {
			p[k] = v[0]
		}
		u, d, err := twilio.ParseCallback(p)
		if err != nil {
			if len(p["CallSid"]) >= 8 && strings.Contains(err.Error(), p["CallSid"]) {
				t.Fatalf("ParseCallback error %q echoes the input", err)
			}
			return
		}
		switch {
		case d != nil:
			if !strings.HasPrefix(d.CallSID, "CA") || len(d.CallSID) != 34 || len(d.Digits) > 1 {
				t.Fatalf("ParseCallback(%q) = key press %+v, not a call SID and one key", body, d)
			}
		case !strings.HasPrefix(u.CallSID, "CA") || len(u.CallSID) != 34 || !u.Status.Known() || len(u.AnsweredBy) > 32:
			t.Fatalf("ParseCallback(%q) = status %+v, not a call SID and a known status", body, u)
		}
	})
}
