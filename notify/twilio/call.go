package twilio

import (
	"context"
	"encoding/xml"
	"errors"
	"strconv"
	"strings"

	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/pillbox/pillbox/notify"
)

// Voice calls, through the Calls API. The TwiML goes with the request
// (no URL for Twilio to fetch it from), so only the gather and the status
// callback need the public URL.

var _ notify.Caller = (*Sender)(nil)

// Ring bounds how long a call rings before Twilio gives up with
// "no-answer"; GatherWait, how long it waits for a key after the question.
const (
	Ring       = 30 // seconds
	GatherWait = 8  // seconds
)

// Call-only Twilio error codes at creation time.
func init() {
	for code, k := range map[int]known{
		21200: {Permanent, false, "Twilio refused the call's parameters"},
		21201: {Permanent, false, "no 'To' number for the call"},
		21205: {Permanent, false, "the call has neither TwiML nor a URL"},
		21210: {Permanent, true, "the 'From' number is not verified for calls"},
		21213: {Permanent, true, "no 'From' number for the call"},
		21214: {Permanent, false, "the 'To' number cannot be reached"},
		21215: {Permanent, true, "calling this region is not enabled on the account (geo permissions)"},
		21216: {Permanent, false, "the 'To' number is on Twilio's block list"},
		21217: {Permanent, false, "the 'To' number does not look valid"},
	} {
		codes[code] = k
	}
}

// Call asks Twilio to phone to and play c: it returns once Twilio queued
// the call (its SID, "CA...", keys the callbacks) or refused it. Errors are
// *Error, as Send's. Answering machine detection waits for the end of a
// voicemail greeting, so a machine gets the message after the beep and
// the status callback says answered_by=machine_...: not an acknowledgement.
func (s *Sender) Call(ctx context.Context, to string, c notify.Call) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, networkError(err)
	}
	switch {
	case s.from == "":
		return Result{}, &Error{Class: Permanent, Config: true, Reason: "calls need a From number (a messaging service cannot call)"}
	case s.gather == "" || s.callStatus == "":
		return Result{}, &Error{Class: Permanent, Config: true, Reason: "calls need the public URL, for the key press and the call's end"}
	}
	p := &openapi.CreateCallParams{}
	p.SetTo(to).SetFrom(s.from).SetTwiml(CallTwiML(c, s.gather)).
		SetStatusCallback(s.callStatus).SetStatusCallbackMethod("POST").
		SetMachineDetection("DetectMessageEnd").SetTimeout(Ring)
	return s.create(ctx, "call", func(api *openapi.ApiService) (sid, status *string, err error) {
		call, err := api.CreateCall(p)
		if call == nil {
			return nil, nil, err
		}
		return call.Sid, call.Status, err
	})
}

// CallTwiML is the TwiML of a call: it says c.Say and asks c.Ask, waiting
// for one key that goes to gatherURL; asks once more; then says c.NoKey.
// Twilio hangs up at the end of the document.
func CallTwiML(c notify.Call, gatherURL string) string {
	var b strings.Builder
	b.WriteString(twimlHeader + "<Response>")
	gather := func(says ...string) {
		b.WriteString(`<Gather input="dtmf" numDigits="1" timeout="` + strconv.Itoa(GatherWait) + `" method="POST" action="`)
		xml.EscapeText(&b, []byte(gatherURL))
		b.WriteString(`">`)
		for _, s := range says {
			say(&b, s)
		}
		b.WriteString("</Gather>")
	}
	gather(c.Say, c.Ask)
	gather(c.Ask)
	say(&b, c.NoKey)
	b.WriteString("</Response>")
	return b.String()
}

func say(b *strings.Builder, text string) {
	if text == "" {
		return
	}
	b.WriteString("<Say>")
	xml.EscapeText(b, []byte(text))
	b.WriteString("</Say>")
}

// sayAndHangUp is the answer to a key press.
func sayAndHangUp(text string) string {
	var b strings.Builder
	b.WriteString(twimlHeader + "<Response>")
	say(&b, text)
	b.WriteString("<Hangup/></Response>")
	return b.String()
}

// CallHandlers are what a Webhook does with a call's callbacks (see
// Webhook.OnCall).
type CallHandlers struct {
	// Status gets a call's status callback.
	Status func(context.Context, notify.CallUpdate)
	// Digits gets the key pressed and returns what the call says before it
	// hangs up.
	Digits func(context.Context, notify.CallDigits) string
}

// OnCall makes the webhook accept the callbacks of the calls Sender.Call
// placed; without it they are refused (400). Call it before serving.
func (h *Webhook) OnCall(c CallHandlers) { h.onCall = c }

// maxAnsweredBy bounds AnsweredBy: Twilio's values are a few words.
const maxAnsweredBy = 32

// ParseCallback reads a call's callback from the form Twilio posted (the
// first value of each name, as signed): a key press when it has Digits,
// else a status callback. It rejects what Twilio would not send.
func ParseCallback(p map[string]string) (notify.CallUpdate, *notify.CallDigits, error) {
	sid := p["CallSid"]
	if !isSID(sid) || !strings.HasPrefix(sid, "CA") {
		return notify.CallUpdate{}, nil, errors.New(errPrefix + "call callback without a valid CallSid")
	}
	if d, ok := p["Digits"]; ok {
		if len(d) > 1 || d != "" && !strings.ContainsAny(d, "0123456789*#") {
			return notify.CallUpdate{}, nil, errors.New(errPrefix + "Digits is not one key")
		}
		return notify.CallUpdate{}, &notify.CallDigits{CallSID: sid, Digits: d}, nil
	}
	u := notify.CallUpdate{CallSID: sid, Status: notify.CallStatus(p["CallStatus"]), AnsweredBy: p["AnsweredBy"]}
	if !u.Status.Known() {
		return u, nil, errors.New(errPrefix + "unknown CallStatus")
	}
	if len(u.AnsweredBy) > maxAnsweredBy || strings.IndexFunc(u.AnsweredBy, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r == '_')
	}) >= 0 {
		return u, nil, errors.New(errPrefix + "AnsweredBy is not one of Twilio's words")
	}
	return u, nil, nil
}
