package twiliotest

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Sign returns the X-Twilio-Signature Twilio sends with a POST to rawURL
// carrying params: HMAC-SHA1 keyed with the auth token over the URL followed
// by each parameter name and value, names sorted. Like twilio-go's
// RequestValidator.ValidateBody, it uses the first value of a repeated name.
func Sign(authToken, rawURL string, params url.Values) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	mac := hmac.New(sha1.New, []byte(authToken))
	io.WriteString(mac, rawURL)
	for _, k := range keys {
		io.WriteString(mac, k)
		io.WriteString(mac, params.Get(k))
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// DeliverStatus tells the message's StatusCallback URL that the message
// reached status ("sent", "delivered", "undelivered", "failed", ...), with
// errorCode when it is not 0, in a request signed as Twilio signs it. It
// returns the webhook's HTTP status.
func (s *Server) DeliverStatus(sid, status string, errorCode int) (int, error) {
	s.mu.Lock()
	i := slices.IndexFunc(s.msgs, func(m Message) bool { return m.SID == sid })
	var m Message
	if i >= 0 {
		s.msgs[i].Status = status
		m = s.msgs[i]
	}
	s.mu.Unlock()
	if i < 0 {
		return 0, fmt.Errorf("twiliotest: deliver status: no message %s", sid)
	}
	if m.StatusCallback == "" {
		return 0, fmt.Errorf("twiliotest: deliver status: message %s has no StatusCallback", sid)
	}
	p := url.Values{
		"AccountSid":    {s.accountSID},
		"ApiVersion":    {"2010-04-01"},
		"MessageSid":    {m.SID},
		"MessageStatus": {status},
		"SmsSid":        {m.SID},
		"SmsStatus":     {status},
		"To":            {m.To},
	}
	if m.From != "" {
		p.Set("From", m.From)
	}
	if m.MessagingServiceSID != "" {
		p.Set("MessagingServiceSid", m.MessagingServiceSID)
	}
	if errorCode != 0 {
		p.Set("ErrorCode", strconv.Itoa(errorCode))
	}
	code, _, err := s.PostHook(m.StatusCallback, p)
	return code, err
}

// SendInbound posts an incoming SMS from -> to with body to webhookURL, signed
// as Twilio signs it, and returns the webhook's HTTP status and response
// body (TwiML).
func (s *Server) SendInbound(webhookURL, from, to, body string) (int, string, error) {
	return s.PostHook(webhookURL, s.Inbound(from, to, body))
}

// Inbound is the form Twilio posts for an incoming SMS from -> to with
// body, with a new MessageSid. PostHook sends it, as often as a test wants
// to replay it.
func (s *Server) Inbound(from, to, body string) url.Values {
	sid := newSID("SM")
	return url.Values{
		"AccountSid":    {s.accountSID},
		"ApiVersion":    {"2010-04-01"},
		"Body":          {body},
		"From":          {from},
		"MessageSid":    {sid},
		"NumMedia":      {"0"},
		"NumSegments":   {strconv.Itoa(Segments(body))},
		"SmsMessageSid": {sid},
		"SmsSid":        {sid},
		"SmsStatus":     {"received"},
		"To":            {to},
	}
}

// PostHook posts the webhook form p to rawURL, signed as Twilio signs it,
// and returns the webhook's HTTP status and response body.
func (s *Server) PostHook(rawURL string, p url.Values) (int, string, error) {
	req, err := http.NewRequest(http.MethodPost, rawURL, strings.NewReader(p.Encode()))
	if err != nil {
		return 0, "", fmt.Errorf("twiliotest: webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", Sign(s.authToken, rawURL, p))
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	resp, err := s.hooks.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("twiliotest: webhook: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, "", fmt.Errorf("twiliotest: webhook response: %w", err)
	}
	return resp.StatusCode, string(b), nil
}
