package twiliotest

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Call is one call the server accepted.
type Call struct {
	SID              string
	Account          string
	To, From         string
	Twiml            string // the TwiML sent with the request, if any
	URL              string // the TwiML URL, if any
	StatusCallback   string
	MachineDetection string // "", "Enable" or "DetectMessageEnd"
	Timeout          int    // seconds it rings; Twilio's default 60
	// Status is "queued" on creation, then the status AnswerCall ended it
	// with.
	Status     string
	AnsweredBy string
	Received   time.Time
}

// Says is what the call's TwiML says, in order (Say verbs, in Gathers
// too).
func (c Call) Says() []string {
	var says []string
	for _, v := range parseTwiML(c.Twiml) {
		says = append(says, v.says...)
	}
	return says
}

// Answer is how the callee answers a call in AnswerCall.
type Answer int

const (
	// Pressed answers as a person who presses Key at the first Gather.
	Pressed Answer = iota + 1
	// NoKey answers as a person who hangs up without pressing a key.
	NoKey
	// Machine lets voicemail answer: the message is left after the beep.
	Machine
	// NoAnswer rings out.
	NoAnswer
	// Busy finds the line busy.
	Busy
	// Failed fails to connect (a carrier error).
	Failed
)

// callRejectMessages are Twilio's bodies for the call creation errors
// RejectCallTo can produce.
var callRejectMessages = map[int]string{
	21210: "The source phone number provided, %s, is not yet verified for your account.",
	21214: "'To' phone number cannot be reached",
	21215: "Account not authorized to call %s. Perhaps you need to enable some international permissions.",
	21216: "Call blocked by Twilio blocklist",
	21217: "Phone number does not appear to be valid",
}

// RejectCallTo makes calls to number fail with a Twilio error code: 21214
// (cannot be reached), 21215 (geo permissions), 21216 (block list), 21217
// (not a valid number), or any other 4xx code.
func (s *Server) RejectCallTo(number string, code int) {
	s.mu.Lock()
	s.callRejects[number] = code
	s.mu.Unlock()
}

// Calls returns the calls accepted so far, oldest first.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// createCall answers POST .../Calls.json, whose form is parsed and whose
// credentials were checked.
func (s *Server) createCall(w http.ResponseWriter, r *http.Request, user string, now time.Time) {
	f := r.PostForm
	c := Call{To: f.Get("To"), From: f.Get("From"), Twiml: f.Get("Twiml"), URL: f.Get("Url"),
		StatusCallback: f.Get("StatusCallback"), MachineDetection: f.Get("MachineDetection"), Timeout: 60,
		Status: "queued", Account: user, Received: now}
	bad := http.StatusBadRequest
	reject := func(code int, msg string) { writeError(w, bad, code, msg) }
	if t := f.Get("Timeout"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 5 || n > 600 {
			reject(21200, "Timeout must be between 5 and 600 seconds")
			return
		}
		c.Timeout = n
	}
	switch {
	case c.To == "":
		reject(21201, "No 'To' number is specified")
		return
	case c.From == "":
		reject(21213, "No 'From' number is specified")
		return
	case c.Twiml == "" && c.URL == "" && f.Get("ApplicationSid") == "":
		reject(21205, "Url parameter is required.")
		return
	case !e164.MatchString(c.To):
		reject(21217, callRejectMessages[21217])
		return
	case c.Twiml != "" && len(c.Twiml) > 4000:
		reject(21200, "Twiml parameter exceeds the maximum length of 4000 characters")
		return
	case c.Twiml != "" && parseTwiML(c.Twiml) == nil:
		reject(21200, "Invalid Twiml")
		return
	case c.StatusCallback != "" && !absoluteHTTP(c.StatusCallback):
		reject(21609, "Invalid StatusCallback url")
		return
	case !slices.Contains([]string{"", "Enable", "DetectMessageEnd"}, c.MachineDetection):
		reject(21200, "MachineDetection must be Enable or DetectMessageEnd")
		return
	}
	s.mu.Lock()
	code, rejected := s.callRejects[c.To]
	s.mu.Unlock()
	if rejected {
		text, ok := callRejectMessages[code]
		if !ok {
			text = "Call rejected"
		}
		if strings.Contains(text, "%s") {
			text = fmt.Sprintf(text, c.To)
		}
		reject(code, text)
		return
	}
	c.SID = newSID("CA")
	s.mu.Lock()
	s.calls = append(s.calls, c)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(s.callResource(c))
}

// callResource is Twilio's JSON call resource, nulls included.
type callResource struct {
	AccountSID      string            `json:"account_sid"`
	AnsweredBy      *string           `json:"answered_by"`
	APIVersion      string            `json:"api_version"`
	CallerName      *string           `json:"caller_name"`
	DateCreated     string            `json:"date_created"`
	DateUpdated     string            `json:"date_updated"`
	Direction       string            `json:"direction"`
	Duration        *string           `json:"duration"`
	EndTime         *string           `json:"end_time"`
	ForwardedFrom   *string           `json:"forwarded_from"`
	From            string            `json:"from"`
	FromFormatted   string            `json:"from_formatted"`
	GroupSID        *string           `json:"group_sid"`
	ParentCallSID   *string           `json:"parent_call_sid"`
	PhoneNumberSID  *string           `json:"phone_number_sid"`
	Price           *string           `json:"price"`
	PriceUnit       string            `json:"price_unit"`
	QueueTime       string            `json:"queue_time"`
	SID             string            `json:"sid"`
	StartTime       *string           `json:"start_time"`
	Status          string            `json:"status"`
	SubresourceURIs map[string]string `json:"subresource_uris"`
	To              string            `json:"to"`
	ToFormatted     string            `json:"to_formatted"`
	TrunkSID        *string           `json:"trunk_sid"`
	URI             string            `json:"uri"`
}

func (s *Server) callResource(c Call) callResource {
	date := c.Received.UTC().Format(time.RFC1123Z)
	base := messagesPath + s.accountSID + "/Calls/" + c.SID
	return callResource{
		AccountSID: s.accountSID, APIVersion: "2010-04-01", DateCreated: date, DateUpdated: date,
		Direction: "outbound-api", From: c.From, FromFormatted: c.From, PriceUnit: "USD", QueueTime: "0",
		SID: c.SID, Status: c.Status, To: c.To, ToFormatted: c.To, URI: base + ".json",
		SubresourceURIs: map[string]string{
			"notifications": base + "/Notifications.json",
			"recordings":    base + "/Recordings.json",
			"events":        base + "/Events.json",
		},
	}
}

// verb is a top-level verb of a TwiML document, as far as the stand-in
// plays it: a Say, or a Gather with its action and its Says.
type verb struct {
	gather string // the Gather's action URL; "" for a Say
	says   []string
}

// parseTwiML reads the verbs of a <Response>; nil if it is not TwiML.
func parseTwiML(doc string) []verb {
	var resp struct {
		XMLName xml.Name `xml:"Response"`
		Verbs   []struct {
			XMLName xml.Name
			Action  string `xml:"action,attr"`
			Text    string `xml:",chardata"`
			Says    []struct {
				Text string `xml:",chardata"`
			} `xml:"Say"`
		} `xml:",any"`
	}
	if err := xml.Unmarshal([]byte(doc), &resp); err != nil {
		return nil
	}
	out := []verb{}
	for _, v := range resp.Verbs {
		switch v.XMLName.Local {
		case "Say":
			out = append(out, verb{says: []string{v.Text}})
		case "Gather":
			g := verb{gather: v.Action}
			for _, s := range v.Says {
				g.says = append(g.says, s.Text)
			}
			out = append(out, g)
		}
	}
	return out
}

// AnswerCall plays the call sid to its end as the callee answers it, the
// way Twilio calls back: for Pressed, the first Gather's action gets the
// key (it answers with TwiML, returned here); then the status callback
// gets the call's end, with AnsweredBy when machine detection was asked
// for. It returns the key press answer ("" when there was none) and the
// status callback's HTTP status (0 without a StatusCallback).
func (s *Server) AnswerCall(sid string, a Answer, key string) (twiml string, statusCode int, err error) {
	s.mu.Lock()
	i := slices.IndexFunc(s.calls, func(c Call) bool { return c.SID == sid })
	var c Call
	if i >= 0 {
		c = s.calls[i]
	}
	s.mu.Unlock()
	if i < 0 {
		return "", 0, fmt.Errorf("twiliotest: answer call: no call %s", sid)
	}
	status, answeredBy, duration := "completed", "human", 12
	switch a {
	case Pressed:
		if key == "" {
			return "", 0, fmt.Errorf("twiliotest: answer call: Pressed needs a key")
		}
		action := ""
		for _, v := range parseTwiML(c.Twiml) {
			if v.gather != "" {
				action = v.gather
				break
			}
		}
		if action == "" {
			return "", 0, fmt.Errorf("twiliotest: answer call: call %s has no Gather with an action", sid)
		}
		p := s.CallForm(c, "in-progress")
		p.Set("Digits", key)
		p.Set("FinishedOnKey", "")
		code, body, err := s.PostHook(action, p)
		if err != nil {
			return "", 0, err
		}
		if code != http.StatusOK {
			return body, 0, fmt.Errorf("twiliotest: answer call: the gather webhook answered %d", code)
		}
		twiml = body
	case NoKey:
		duration = 25
	case Machine:
		answeredBy, duration = "machine_end_beep", 30
	case NoAnswer, Busy, Failed:
		status, answeredBy, duration = map[Answer]string{NoAnswer: "no-answer", Busy: "busy", Failed: "failed"}[a], "", 0
	default:
		return "", 0, fmt.Errorf("twiliotest: answer call: unknown answer %d", a)
	}
	s.mu.Lock()
	s.calls[i].Status = status
	if c.MachineDetection != "" {
		s.calls[i].AnsweredBy = answeredBy
	}
	s.mu.Unlock()
	if c.StatusCallback == "" {
		return twiml, 0, nil
	}
	p := s.CallForm(c, status)
	p.Set("CallDuration", strconv.Itoa(duration))
	p.Set("CallbackSource", "call-progress-events")
	p.Set("SequenceNumber", "0")
	if c.MachineDetection != "" && answeredBy != "" {
		p.Set("AnsweredBy", answeredBy)
	}
	code, _, err := s.PostHook(c.StatusCallback, p)
	return twiml, code, err
}

// CallForm is the form Twilio posts about call c in status (a test adds
// Digits for a key press); PostHook signs and sends it.
func (s *Server) CallForm(c Call, status string) url.Values {
	return url.Values{
		"AccountSid": {s.accountSID},
		"ApiVersion": {"2010-04-01"},
		"CallSid":    {c.SID},
		"CallStatus": {status},
		"Called":     {c.To},
		"Caller":     {c.From},
		"Direction":  {"outbound-api"},
		"From":       {c.From},
		"To":         {c.To},
	}
}
