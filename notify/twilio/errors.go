package twilio

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/twilio/twilio-go/client"

	"github.com/pillbox/pillbox/notify"
)

// Aliases of the notify names, so that callers of this package read as
// before: the outbox acts on the class without importing this package.
type Class = notify.Class

const (
	Retryable = notify.Retryable
	Permanent = notify.Permanent
)

// Twilio error codes that callers act on.
const (
	CodeAuth         = 20003 // wrong account SID or auth token
	CodeInvalidTo    = 21211 // not a valid phone number
	CodeUnsubscribed = 21610 // the recipient replied STOP
	CodeNotMobile    = 21614 // a landline or otherwise not SMS-capable
)

// Error is a failed send. Error() is safe to log: it never contains the
// phone number, the message body or Twilio's own error text (which often
// quotes the number).
type Error struct {
	Class Class
	// Config is true when the fault is in the deployment (credentials,
	// sender number, account permissions), not in this message: every
	// message will fail the same way until an operator fixes it.
	Config bool
	// Code is Twilio's error code (https://www.twilio.com/docs/errors), 0
	// when the failure had none (network, timeout, non-JSON answer).
	Code int
	// HTTPStatus is the answer's status, 0 when there was no answer.
	HTTPStatus int
	// RetryAfter is the server's Retry-After on a 429 or 503, else 0.
	RetryAfter time.Duration
	// Reason says what failed, in words safe to log.
	Reason string

	err error // network or context error; nil for Twilio's answers
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("twilio: send: ")
	b.WriteString(e.Class.String())
	if e.Config {
		b.WriteString(" configuration error")
	}
	if e.Code != 0 || e.HTTPStatus != 0 {
		b.WriteString(" (")
		if e.Code != 0 {
			fmt.Fprintf(&b, "code %d", e.Code)
			if e.HTTPStatus != 0 {
				b.WriteString(", ")
			}
		}
		if e.HTTPStatus != 0 {
			fmt.Fprintf(&b, "HTTP %d", e.HTTPStatus)
		}
		b.WriteString(")")
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, ", retry after %s", e.RetryAfter)
	}
	return b.String()
}

// Unwrap returns the network or context error behind a Retryable error, so
// errors.Is(err, context.DeadlineExceeded) works.
func (e *Error) Unwrap() error { return e.err }

// Failure tells the outbox what to do about the failed message.
func (e *Error) Failure() notify.Failure {
	return notify.Failure{Class: e.Class, Config: e.Config, Code: e.Code, RetryAfter: e.RetryAfter}
}

var _ notify.Failed = (*Error)(nil)

type known struct {
	class  Class
	config bool
	reason string
}

// codes classifies the Twilio errors the Messages API returns at creation
// time. Delivery failures (30xxx) arrive later in status callbacks.
var codes = map[int]known{
	20003: {Permanent, true, "authentication failed: check the account SID and auth token"},
	20404: {Permanent, true, "account or resource not found: check the account SID"},
	20429: {Retryable, false, "rate limited"},
	21211: {Permanent, false, "invalid 'To' number"},
	21212: {Permanent, true, "invalid 'From' number"},
	21222: {Permanent, true, "account SID has characters the client refuses"},
	21224: {Permanent, true, "auth token has characters the client refuses"},
	21408: {Permanent, true, "sending to this region is not enabled on the account (geo permissions)"},
	21602: {Permanent, false, "message body is empty"},
	21603: {Permanent, true, "no 'From' number or messaging service"},
	21604: {Permanent, false, "no 'To' number"},
	21606: {Permanent, true, "the 'From' number cannot send SMS"},
	21608: {Permanent, true, "trial account: the recipient is not a verified number"},
	21610: {Permanent, false, "the recipient has opted out (replied STOP)"},
	21611: {Retryable, false, "the sender's queue is full"},
	21612: {Permanent, false, "Twilio cannot route to this number"},
	21614: {Permanent, false, "the 'To' number cannot receive SMS (not a mobile number)"},
	21617: {Permanent, false, "message body longer than 1600 characters"},
	21659: {Permanent, true, "the 'From' number is not a Twilio number of this account"},
	21703: {Permanent, true, "the messaging service has no senders"},
	21705: {Permanent, true, "invalid messaging service"},
}

// classify turns a CreateMessage error into an *Error. status and header
// are those of the last HTTP answer (0 and nil when there was none), which
// twilio-go does not expose itself.
func classify(err error, status int, header http.Header) *Error {
	var rest *client.TwilioRestError
	if errors.As(err, &rest) {
		if rest.Status != 0 {
			status = rest.Status
		}
		e := &Error{Code: rest.Code, HTTPStatus: status}
		if k, ok := codes[rest.Code]; ok {
			e.Class, e.Config, e.Reason = k.class, k.config, k.reason
		} else {
			e.Class, e.Config = byStatus(status)
			e.Reason = "Twilio refused the message"
		}
		if e.Class == Retryable {
			e.RetryAfter = retryAfter(header)
		}
		return e
	}
	if status >= 400 {
		// An error answer without Twilio's JSON: a proxy or load balancer.
		c, cfg := byStatus(status)
		return &Error{Class: c, Config: cfg, HTTPStatus: status, RetryAfter: retryAfter(header),
			Reason: "error answer without a Twilio error body"}
	}
	if status != 0 {
		// A success status whose body did not decode: Twilio may well have
		// queued the message.
		return &Error{Class: Retryable, HTTPStatus: status, Reason: "unreadable answer", err: err}
	}
	return networkError(err)
}

func networkError(err error) *Error {
	reason := "network: " + err.Error()
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		reason = "canceled before Twilio answered"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		reason = "timed out before Twilio answered"
	}
	return &Error{Class: Retryable, Reason: reason, err: err}
}

// byStatus classifies by HTTP status alone.
func byStatus(status int) (c Class, config bool) {
	switch {
	case status == http.StatusTooManyRequests || status >= 500:
		return Retryable, false
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return Permanent, true
	case status >= 400:
		return Permanent, false
	}
	return Retryable, false
}

// retryAfter reads a Retry-After header: delay-seconds, or an HTTP date
// measured against the answer's own Date header (so no clock is needed).
func retryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 32); err == nil {
		return time.Duration(max(n, 0)) * time.Second
	}
	at, err1 := http.ParseTime(v)
	date, err2 := http.ParseTime(h.Get("Date"))
	if err1 != nil || err2 != nil || !at.After(date) {
		return 0
	}
	return at.Sub(date)
}
