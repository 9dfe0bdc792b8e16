// Package twilio is the Twilio adapter of package notify. It sends SMS
// through Twilio's Messages API with the official twilio-go client, and
// turns the client's errors into the two outcomes a durable outbox acts on
// (notify.Class): retry later, or give up on this message (and, for
// credential or sender problems, tell the operator). Its Webhook receives
// what Twilio posts back (replies, delivery statuses), checks Twilio's
// signature and hands them to the notifier as notify's provider-neutral
// types. It is the only package that imports twilio-go; its config
// section is package twilioconf, which does not.
//
// Only twilio-go's client and api/v2010 packages are imported: its root
// package links every Twilio product into the binary, which matters on a
// Raspberry Pi.
package twilio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/pillbox/pillbox/notify"
)

// DefaultTimeout bounds one request when Config.Timeout is 0; it is the
// twilio-go default.
const DefaultTimeout = 10 * time.Second

// Config is what a Sender needs. AccountSID and AuthToken are secrets'
// neighbours: never log AuthToken.
type Config struct {
	AccountSID string
	AuthToken  string
	// From is the sending number (E.164) or short code. Either From or
	// MessagingServiceSID must be set; Twilio picks a sender from the
	// service's pool when From is empty.
	From                string
	MessagingServiceSID string
	// StatusCallback, when set, is the absolute URL Twilio posts delivery
	// status to (see NewWebhook).
	StatusCallback string
	// CallStatusCallback and CallGather, when set, are the absolute URLs
	// Twilio posts a call's end and its key press to; calls need both.
	CallStatusCallback string
	CallGather         string
	// HTTPClient supplies the transport (tests pass the stand-in's);
	// nil means http.DefaultTransport. Its Timeout is used when Timeout is 0.
	HTTPClient *http.Client
	// Timeout bounds each request; 0 means HTTPClient's, else DefaultTimeout.
	Timeout time.Duration
}

// Sender sends SMS. It is safe for concurrent use.
type Sender struct {
	creds    *client.Credentials
	account  string
	from     string
	service  string
	callback string
	// A call's callbacks: its end, its key press.
	callStatus, gather string
	transport          http.RoundTripper
	timeout            time.Duration
}

// Result is Twilio's answer to an accepted message: the SID ("SM...", the
// key of later status callbacks) and the status, usually "queued"
// ("accepted" for a messaging service).
type Result = notify.Sent

var _ notify.Sender = (*Sender)(nil)

var alnum = regexp.MustCompile(`^[A-Za-z0-9]+$`)

// New checks cfg and returns a Sender. Errors name the field but never echo
// a credential.
func New(cfg Config) (*Sender, error) {
	switch {
	case !alnum.MatchString(cfg.AccountSID):
		return nil, errors.New("twilio: account SID must be non-empty and alphanumeric")
	case !alnum.MatchString(cfg.AuthToken):
		return nil, errors.New("twilio: auth token must be non-empty and alphanumeric")
	case cfg.From == "" && cfg.MessagingServiceSID == "":
		return nil, errors.New("twilio: set a From number or a messaging service SID")
	case cfg.Timeout < 0:
		return nil, errors.New("twilio: timeout must not be negative")
	}
	for _, cb := range []struct{ name, url string }{{"status callback", cfg.StatusCallback},
		{"call status callback", cfg.CallStatusCallback}, {"call gather", cfg.CallGather}} {
		if cb.url == "" {
			continue
		}
		u, err := url.Parse(cb.url)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, errors.New("twilio: " + cb.name + " must be an absolute http(s) URL")
		}
	}
	s := &Sender{
		creds:      client.NewCredentials(cfg.AccountSID, cfg.AuthToken),
		account:    cfg.AccountSID,
		from:       cfg.From,
		service:    cfg.MessagingServiceSID,
		callback:   cfg.StatusCallback,
		callStatus: cfg.CallStatusCallback,
		gather:     cfg.CallGather,
		transport:  http.DefaultTransport,
		timeout:    cfg.Timeout,
	}
	if cfg.HTTPClient != nil {
		if cfg.HTTPClient.Transport != nil {
			s.transport = cfg.HTTPClient.Transport
		}
		if s.timeout == 0 {
			s.timeout = cfg.HTTPClient.Timeout
		}
	}
	if s.timeout == 0 {
		s.timeout = DefaultTimeout
	}
	return s, nil
}

// Send asks Twilio to send body to the E.164 number to. It returns when
// Twilio answers, the request times out, or ctx is done, whichever is
// first. A non-nil error is always an *Error saying whether to retry.
//
// A Retryable error after the request was sent (a timeout, a reset, a 5xx
// from a proxy) does not prove that Twilio did not accept the message:
// retrying may deliver it twice, which for an alert beats not at all.
func (s *Sender) Send(ctx context.Context, to, body string) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, networkError(err)
	}
	p := &openapi.CreateMessageParams{}
	p.SetTo(to).SetBody(body)
	if s.from != "" {
		p.SetFrom(s.from)
	}
	if s.service != "" {
		p.SetMessagingServiceSid(s.service)
	}
	if s.callback != "" {
		p.SetStatusCallback(s.callback)
	}
	return s.create(ctx, "message", func(api *openapi.ApiService) (sid, status *string, err error) {
		m, err := api.CreateMessage(p)
		if m == nil {
			return nil, nil, err
		}
		return m.Sid, m.Status, err
	})
}

// create runs one create request of the API (a message, a call) on its
// own transport, bounded by ctx, and classifies its error. what names the
// resource in errors.
func (s *Sender) create(ctx context.Context, what string, do func(*openapi.ApiService) (sid, status *string, err error)) (Result, error) {
	// twilio-go builds its requests with context.Background and hides the
	// response of a failed call, so each call gets its own transport that
	// carries ctx down to the connection and keeps the response for
	// classify (status code, Retry-After).
	call := &callTransport{ctx: ctx, base: s.transport}
	c := &client.Client{
		Credentials: s.creds,
		HTTPClient: &http.Client{
			Transport:     call,
			Timeout:       s.timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	c.SetAccountSid(s.account)
	api := openapi.NewApiServiceWithClient(c)

	type outcome struct {
		sid, status *string
		err         error
	}
	done := make(chan outcome, 1)
	go func() {
		sid, status, err := do(api)
		done <- outcome{sid, status, err}
	}()
	var o outcome
	select {
	case o = <-done:
	case <-ctx.Done():
		select {
		case o = <-done: // the answer won the race: use it
		default:
			// The goroutine ends soon: ctx also cancels its request.
			return Result{}, networkError(ctx.Err())
		}
	}
	if o.err != nil {
		return Result{}, classify(o.err, call.status, call.header)
	}
	if o.sid == nil || *o.sid == "" {
		return Result{}, &Error{Class: Retryable, HTTPStatus: call.status, Reason: "answer without a " + what + " SID"}
	}
	r := Result{SID: *o.sid}
	if o.status != nil {
		r.Status = *o.status
	}
	return r, nil
}

// maxAnswer bounds the answer read into memory; Twilio's are a few KiB.
const maxAnswer = 1 << 20

// callTransport is one Send's transport: it puts the caller's ctx on the
// request and remembers the last answer's status and header for classify.
// It also reads the whole answer before handing it over: twilio-go closes
// success bodies before reaching EOF and never closes error bodies, and
// either would keep the connection from going back to the pool.
type callTransport struct {
	ctx  context.Context
	base http.RoundTripper

	// Written by the call's goroutine, read after its outcome is received.
	status int
	header http.Header
}

var _ http.RoundTripper = (*callTransport)(nil)

func (t *callTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req.WithContext(t.ctx))
	if err != nil {
		return nil, err
	}
	t.status, t.header = resp.StatusCode, resp.Header
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if len(body) > maxAnswer {
		return nil, errors.New("answer larger than 1 MiB")
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

func (s *Sender) String() string {
	return fmt.Sprintf("twilio.Sender{account %s}", s.account)
}
