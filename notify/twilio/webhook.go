package twilio

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/twilio/twilio-go/client"

	"github.com/pillbox/pillbox/notify"
)

const (
	// maxWebhookBody is far above any Twilio webhook (an SMS is at most
	// 1600 characters) and small enough that a flood costs little memory.
	maxWebhookBody = 64 << 10
	maxErrorCode   = 999999

	twimlHeader = `<?xml version="1.0" encoding="UTF-8"?>`
	errPrefix   = "twilio: webhook: "
)

// Webhook answers Twilio's webhooks: incoming messages (answered with
// TwiML), delivery status callbacks (answered 204), and, with OnCall, the
// key presses (TwiML) and status callbacks (204) of calls. It rejects with 403
// every request whose X-Twilio-Signature does not validate, and never says
// why, so that a prober learns nothing.
type Webhook struct {
	validator client.RequestValidator
	base      string
	onReply   func(context.Context, notify.InboundSMS) string
	onStatus  func(context.Context, notify.StatusUpdate)
	onCall    CallHandlers
}

var _ http.Handler = (*Webhook)(nil)

// NewWebhook returns the handler. publicURL is the scheme, host and any
// path prefix under which Twilio reaches this server, e.g.
// "https://clinic.example.org" or, behind a proxy that strips "/pillbox",
// "https://clinic.example.org/pillbox": the URL Twilio signed is publicURL
// followed by the path and query of the request as received, so the
// handler may be mounted under http.StripPrefix. onReply returns the text
// to answer with, "" for none; onStatus may be nil.
func NewWebhook(authToken, publicURL string, onReply func(context.Context, notify.InboundSMS) string, onStatus func(context.Context, notify.StatusUpdate)) (*Webhook, error) {
	if authToken == "" {
		// An empty HMAC key would let anyone sign.
		return nil, errors.New(errPrefix + "auth token is empty")
	}
	u, err := url.Parse(publicURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return nil, fmt.Errorf(errPrefix+"public URL %q must be an absolute http(s) URL without query or fragment", publicURL)
	}
	return &Webhook{
		validator: client.NewRequestValidator(authToken),
		base:      strings.TrimSuffix(publicURL, "/"),
		onReply:   onReply,
		onStatus:  onStatus,
	}, nil
}

func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		fail(w, http.StatusMethodNotAllowed)
		return
	}
	sig := r.Header.Get("X-Twilio-Signature")
	if sig == "" {
		fail(w, http.StatusForbidden)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		fail(w, http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			fail(w, http.StatusRequestEntityTooLarge)
		} else {
			fail(w, http.StatusBadRequest)
		}
		return
	}
	params, err := parseWebhookForm(body)
	if err != nil {
		fail(w, http.StatusBadRequest)
		return
	}
	if !h.validator.Validate(h.base+requestURI(r), params, sig) {
		fail(w, http.StatusForbidden)
		return
	}

	if _, ok := params["CallSid"]; ok {
		h.serveCall(w, r.Context(), params)
		return
	}
	if _, ok := params["MessageStatus"]; ok {
		u, err := parseStatusUpdate(params)
		if err != nil {
			fail(w, http.StatusBadRequest)
			return
		}
		if h.onStatus != nil {
			h.onStatus(r.Context(), u)
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	in, err := parseInboundSMS(params)
	if err != nil {
		fail(w, http.StatusBadRequest)
		return
	}
	var answer string
	if h.onReply != nil {
		answer = h.onReply(r.Context(), in)
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	io.WriteString(w, twiml(answer))
}

// serveCall answers a call's callback: a key press with TwiML, a status
// with 204.
func (h *Webhook) serveCall(w http.ResponseWriter, ctx context.Context, params map[string]string) {
	u, digits, err := ParseCallback(params)
	if err != nil || digits != nil && h.onCall.Digits == nil || digits == nil && h.onCall.Status == nil {
		fail(w, http.StatusBadRequest)
		return
	}
	if digits != nil {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		io.WriteString(w, sayAndHangUp(h.onCall.Digits(ctx, *digits)))
		return
	}
	h.onCall.Status(ctx, u)
	w.WriteHeader(http.StatusNoContent)
}

// fail answers with the status and its bare text: no detail for callers
// who failed the signature, and none that could echo their input.
func fail(w http.ResponseWriter, status int) {
	http.Error(w, http.StatusText(status), status)
}

// requestURI is the path and query as the client sent them, before any
// StripPrefix: the signature covers the exact bytes Twilio used.
func requestURI(r *http.Request) string {
	if strings.HasPrefix(r.RequestURI, "/") {
		return r.RequestURI
	}
	return r.URL.RequestURI()
}

// parseWebhookForm decodes a form body into the name -> first value map
// that the signature covers (twilio-go's ValidateBody also takes the first
// value). The handler reads fields only from this map, so a repeated name
// appended by someone else cannot change what was signed.
func parseWebhookForm(body []byte) (map[string]string, error) {
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, errors.New(errPrefix + "malformed form")
	}
	params := make(map[string]string, len(vals))
	for k, v := range vals {
		if !utf8.ValidString(k) || !utf8.ValidString(v[0]) {
			return nil, errors.New(errPrefix + "form is not UTF-8")
		}
		params[k] = v[0]
	}
	return params, nil
}

func parseStatusUpdate(p map[string]string) (notify.StatusUpdate, error) {
	u := notify.StatusUpdate{MessageSID: p["MessageSid"], Status: notify.MessageStatus(p["MessageStatus"])}
	if !isSID(u.MessageSID) {
		return u, errors.New(errPrefix + "status callback without a valid MessageSid")
	}
	if !u.Status.Known() {
		return u, errors.New(errPrefix + "unknown MessageStatus")
	}
	if s, ok := p["ErrorCode"]; ok && s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > maxErrorCode {
			return u, errors.New(errPrefix + "ErrorCode is not a Twilio error code")
		}
		u.ErrorCode = n
	}
	return u, nil
}

func parseInboundSMS(p map[string]string) (notify.InboundSMS, error) {
	in := notify.InboundSMS{MessageSID: p["MessageSid"], From: p["From"], To: p["To"], Body: p["Body"]}
	if !isSID(in.MessageSID) {
		return in, errors.New(errPrefix + "message without a valid MessageSid")
	}
	if in.From == "" {
		return in, errors.New(errPrefix + "message without From")
	}
	in.Reply = notify.ParseReply(in.Body)
	return in, nil
}

// isSID reports whether s looks like a Twilio SID: two upper-case letters
// ("SM", "MM") and 32 lower-case hex digits.
func isSID(s string) bool {
	if len(s) != 34 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if i < 2 && !(c >= 'A' && c <= 'Z') || i >= 2 && !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// twiml is the TwiML answer to an incoming message: say text, or nothing.
func twiml(text string) string {
	if text == "" {
		return twimlHeader + "<Response/>"
	}
	var b strings.Builder
	b.WriteString(twimlHeader + "<Response><Message>")
	xml.EscapeText(&b, []byte(text))
	b.WriteString("</Message></Response>")
	return b.String()
}
