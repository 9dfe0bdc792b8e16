package twilio_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pillbox/pillbox/notify/twilio"
	"github.com/pillbox/pillbox/notify/twiliotest"
)

const (
	testSID   = "AC0123456789abcdef0123456789abcdef"
	testToken = "f00dfeedcafebabe5ecre7a11token99"
	testFrom  = "+15005550006"
	testTo    = "+15551234567"
	testBody  = "Dose missed at 08:00. Reply OK 4F7 to acknowledge."
	callback  = "https://clinic.example.org/twilio/status"
)

func newSender(t *testing.T, srv *twiliotest.Server, edit func(*twilio.Config)) *twilio.Sender {
	t.Helper()
	cfg := twilio.Config{
		AccountSID:     testSID,
		AuthToken:      testToken,
		From:           testFrom,
		StatusCallback: callback,
		HTTPClient:     srv.Client(),
	}
	if edit != nil {
		edit(&cfg)
	}
	s, err := twilio.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func TestSendSucceeds(t *testing.T) {
	srv := twiliotest.New(t, testSID, testToken)
	s := newSender(t, srv, nil)

	res, err := s.Send(context.Background(), testTo, testBody)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if !strings.HasPrefix(res.SID, "SM") || len(res.SID) != 34 {
		t.Errorf("Send SID = %q, want SM + 32 hex digits", res.SID)
	}
	if res.Status != "queued" {
		t.Errorf("Send status = %q, want queued", res.Status)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("stand-in got %d messages, want 1", len(msgs))
	}
	got := msgs[0]
	want := twiliotest.Message{SID: res.SID, Account: testSID, To: testTo, From: testFrom, Body: testBody,
		StatusCallback: callback, Status: "queued", Received: got.Received}
	if got != want {
		t.Errorf("stand-in saw %+v, want %+v", got, want)
	}
	if got.Received.IsZero() {
		t.Error("stand-in message has no receive time")
	}
}

func TestSendViaMessagingService(t *testing.T) {
	srv := twiliotest.New(t, testSID, testToken)
	const service = "MG0123456789abcdef0123456789abcdef"
	s := newSender(t, srv, func(c *twilio.Config) { c.From, c.MessagingServiceSID, c.StatusCallback = "", service, "" })

	res, err := s.Send(context.Background(), testTo, testBody)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if res.Status != "accepted" {
		t.Errorf("Send status = %q, want accepted", res.Status)
	}
	m := srv.Messages()[0]
	if m.MessagingServiceSID != service || m.From != "" || m.StatusCallback != "" {
		t.Errorf("stand-in saw service %q from %q callback %q, want %q, none, none",
			m.MessagingServiceSID, m.From, m.StatusCallback, service)
	}
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(*twiliotest.Server)
		token      string // overrides the sender's auth token
		to, body   string
		class      twilio.Class
		config     bool
		code       int
		status     int
		retryAfter time.Duration
	}{
		{name: "wrong credentials", token: "wrongtoken", class: twilio.Permanent, config: true, code: twilio.CodeAuth, status: 401},
		{name: "token the client refuses", token: "not-alnum", class: twilio.Permanent, config: true, code: 21224, status: 400},
		{name: "malformed number", to: "555-1234", class: twilio.Permanent, code: twilio.CodeInvalidTo, status: 400},
		{name: "invalid number", setup: func(s *twiliotest.Server) { s.RejectTo(testTo, 21211) },
			class: twilio.Permanent, code: twilio.CodeInvalidTo, status: 400},
		{name: "unsubscribed", setup: func(s *twiliotest.Server) { s.RejectTo(testTo, 21610) },
			class: twilio.Permanent, code: twilio.CodeUnsubscribed, status: 400},
		{name: "landline", setup: func(s *twiliotest.Server) { s.RejectTo(testTo, 21614) },
			class: twilio.Permanent, code: twilio.CodeNotMobile, status: 400},
		{name: "region not enabled", setup: func(s *twiliotest.Server) { s.RejectTo(testTo, 21408) },
			class: twilio.Permanent, config: true, code: 21408, status: 400},
		{name: "unknown 4xx code", setup: func(s *twiliotest.Server) { s.RejectTo(testTo, 21999) },
			class: twilio.Permanent, code: 21999, status: 400},
		{name: "body too long", body: strings.Repeat("é", 1601), class: twilio.Permanent, code: 21617, status: 400},
		{name: "empty body", body: "-", class: twilio.Permanent, code: 21602, status: 400},
		{name: "500", setup: func(s *twiliotest.Server) { s.FailNext(1, twiliotest.Fail500) },
			class: twilio.Retryable, code: 20500, status: 500},
		{name: "503", setup: func(s *twiliotest.Server) { s.FailNext(1, twiliotest.Fail503) },
			class: twilio.Retryable, code: 20503, status: 503},
		{name: "429 with Retry-After", setup: func(s *twiliotest.Server) {
			s.SetRetryAfter(7 * time.Second)
			s.FailNext(1, twiliotest.Fail429)
		}, class: twilio.Retryable, code: 20429, status: 429, retryAfter: 7 * time.Second},
		{name: "non-JSON 502", setup: func(s *twiliotest.Server) { s.FailNext(1, twiliotest.Fail502HTML) },
			class: twilio.Retryable, status: 502},
		{name: "connection reset", setup: func(s *twiliotest.Server) { s.FailNext(1, twiliotest.FailReset) },
			class: twilio.Retryable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := twiliotest.New(t, testSID, testToken)
			if tt.setup != nil {
				tt.setup(srv)
			}
			s := newSender(t, srv, func(c *twilio.Config) {
				if tt.token != "" {
					c.AuthToken = "placeholder"
				}
			})
			if tt.token != "" {
				// New refuses a token the client would refuse; bypass it to
				// show what the client itself does.
				s = twilio.NewUnchecked(s, tt.token)
			}
			to, body := tt.to, tt.body
			if to == "" {
				to = testTo
			}
			if body == "" {
				body = testBody
			} else if body == "-" {
				body = ""
			}

			_, err := s.Send(context.Background(), to, body)
			var e *twilio.Error
			if !errors.As(err, &e) {
				t.Fatalf("Send error = %v (%T), want *twilio.Error", err, err)
			}
			if e.Class != tt.class || e.Config != tt.config || e.Code != tt.code || e.HTTPStatus != tt.status || e.RetryAfter != tt.retryAfter {
				t.Errorf("Send error = {%v config=%v code=%d status=%d retry-after=%v}, want {%v config=%v code=%d status=%d retry-after=%v}",
					e.Class, e.Config, e.Code, e.HTTPStatus, e.RetryAfter, tt.class, tt.config, tt.code, tt.status, tt.retryAfter)
			}
			msg := err.Error()
			for _, secret := range []string{to, body, testToken, tt.token} {
				if secret != "" && strings.Contains(msg, secret) {
					t.Errorf("Send error %q contains %q (phone number, body or token)", msg, secret)
				}
			}
			if len(srv.Messages()) != 0 {
				t.Errorf("stand-in accepted %d messages, want 0", len(srv.Messages()))
			}
		})
	}
}

// After failures the next send goes through: the transport is left usable.
func TestSendRecoversAfterFailures(t *testing.T) {
	srv := twiliotest.New(t, testSID, testToken)
	s := newSender(t, srv, nil)
	srv.FailNext(1, twiliotest.Fail503)
	srv.FailNext(1, twiliotest.FailReset)
	srv.FailNext(1, twiliotest.Fail502HTML)
	for i := range 3 {
		if _, err := s.Send(context.Background(), testTo, testBody); err == nil {
			t.Fatalf("Send %d succeeded, want the injected failure", i)
		}
	}
	if _, err := s.Send(context.Background(), testTo, testBody); err != nil {
		t.Fatalf("Send after failures: %v", err)
	}
	if got := srv.Requests(); got != 4 {
		t.Errorf("stand-in saw %d requests, want 4", got)
	}
}

func TestSendFailUntil(t *testing.T) {
	srv := twiliotest.New(t, testSID, testToken)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	srv.SetNow(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	srv.FailUntil(now.Add(time.Minute), twiliotest.Fail500)
	s := newSender(t, srv, nil)

	for i := range 2 {
		if _, err := s.Send(context.Background(), testTo, testBody); err == nil {
			t.Fatalf("Send %d during the outage succeeded, want 500", i)
		}
	}
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	if _, err := s.Send(context.Background(), testTo, testBody); err != nil {
		t.Fatalf("Send after the outage: %v", err)
	}
	if got := srv.Messages()[0].Received; !got.Equal(now) {
		t.Errorf("message received at %v, want %v", got, now)
	}
}

func TestSendSlowAnswer(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration // Config.Timeout
		ctx     time.Duration // ctx deadline, 0 for none
	}{
		{name: "ctx deadline", timeout: time.Minute, ctx: 50 * time.Millisecond},
		{name: "client timeout", timeout: 50 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := twiliotest.New(t, testSID, testToken)
			srv.FailNext(1, twiliotest.FailSlow)
			s := newSender(t, srv, func(c *twilio.Config) { c.Timeout = tt.timeout })
			ctx := context.Background()
			if tt.ctx > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.ctx)
				defer cancel()
			}

			_, err := s.Send(ctx, testTo, testBody)
			var e *twilio.Error
			if !errors.As(err, &e) || e.Class != twilio.Retryable {
				t.Fatalf("Send error = %v, want a retryable *twilio.Error", err)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Send error = %v, want one that Is context.DeadlineExceeded", err)
			}
			if !strings.Contains(e.Reason, "timed out") {
				t.Errorf("Send error reason = %q, want it to say timed out", e.Reason)
			}
		})
	}
}

func TestSendCanceledCtxSendsNothing(t *testing.T) {
	srv := twiliotest.New(t, testSID, testToken)
	s := newSender(t, srv, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Send(ctx, testTo, testBody)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Send error = %v, want context.Canceled", err)
	}
	if n := srv.Requests(); n != 0 {
		t.Errorf("stand-in saw %d requests, want 0", n)
	}
}

// stuck is a transport that ignores the request's context, as a broken
// proxy or a custom RoundTripper might: Send must still return on ctx.
type stuck struct {
	entered chan struct{}
	release chan struct{}
}

func (s stuck) RoundTrip(*http.Request) (*http.Response, error) {
	s.entered <- struct{}{}
	<-s.release
	return nil, errors.New("released")
}

func TestSendAbandonsStuckCall(t *testing.T) {
	rt := stuck{entered: make(chan struct{}), release: make(chan struct{})}
	defer close(rt.release)
	s, err := twilio.New(twilio.Config{AccountSID: testSID, AuthToken: testToken, From: testFrom,
		HTTPClient: &http.Client{Transport: rt}, Timeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-rt.entered
		cancel()
	}()
	_, err = s.Send(ctx, testTo, testBody)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Send error = %v, want context.Canceled", err)
	}
}

func TestSendConcurrent(t *testing.T) {
	srv := twiliotest.New(t, testSID, testToken)
	s := newSender(t, srv, nil)
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := s.Send(context.Background(), testTo, testBody)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Send: %v", err)
		}
	}
	if got := len(srv.Messages()); got != n {
		t.Errorf("stand-in got %d messages, want %d", got, n)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	ok := twilio.Config{AccountSID: testSID, AuthToken: testToken, From: testFrom}
	tests := []struct {
		name string
		edit func(*twilio.Config)
		want string
	}{
		{"no account", func(c *twilio.Config) { c.AccountSID = "" }, "account SID"},
		{"account with symbols", func(c *twilio.Config) { c.AccountSID = "AC-1" }, "account SID"},
		{"no token", func(c *twilio.Config) { c.AuthToken = "" }, "auth token"},
		{"token with symbols", func(c *twilio.Config) { c.AuthToken = "tok/en" }, "auth token"},
		{"no sender", func(c *twilio.Config) { c.From = "" }, "From"},
		{"relative callback", func(c *twilio.Config) { c.StatusCallback = "/status" }, "status callback"},
		{"ftp callback", func(c *twilio.Config) { c.StatusCallback = "ftp://x/y" }, "status callback"},
		{"negative timeout", func(c *twilio.Config) { c.Timeout = -1 }, "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.edit(&cfg)
			_, err := twilio.New(cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New(%s) error = %v, want one mentioning %q", tt.name, err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), testToken) {
				t.Errorf("New error %q contains the auth token", err)
			}
		})
	}
	if _, err := twilio.New(ok); err != nil {
		t.Errorf("New(valid) = %v, want nil", err)
	}
}

// BenchmarkSendStandIn measures messages per second through the real
// twilio-go client to the stand-in, against a bare HTTP POST of the same
// form to the same server as the baseline.
func BenchmarkSendStandIn(b *testing.B) {
	b.Run("raw-http", func(b *testing.B) {
		srv := twiliotest.New(b, testSID, testToken)
		hc := srv.Client()
		form := url.Values{"To": {testTo}, "From": {testFrom}, "Body": {testBody}}.Encode()
		u := "https://api.twilio.com/2010-04-01/Accounts/" + testSID + "/Messages.json"
		for b.Loop() {
			req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(testSID, testToken)
			resp, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
	b.Run("twilio-go", func(b *testing.B) {
		srv := twiliotest.New(b, testSID, testToken)
		s, err := twilio.New(twilio.Config{AccountSID: testSID, AuthToken: testToken, From: testFrom, HTTPClient: srv.Client()})
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := s.Send(context.Background(), testTo, testBody); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
}
