package twilio

import (
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/pillbox/pillbox/notify"
	"github.com/pillbox/pillbox/notify/twiliotest"
)

const (
	hookSID   = "AC0123456789abcdef0123456789abcdef"
	hookToken = "f00dfeedcafebabe5ecre7a11token99"
	hookFrom  = "+15005550006"
	caregiver = "+15551234567"
	msgSID    = "SM0123456789abcdef0123456789abcdef"
)

// recorder collects what the webhook handed to its callbacks.
type recorder struct {
	mu       sync.Mutex
	inbound  []notify.InboundSMS
	statuses []notify.StatusUpdate
	answer   string
}

func (r *recorder) onReply(_ context.Context, in notify.InboundSMS) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inbound = append(r.inbound, in)
	return r.answer
}

func (r *recorder) onStatus(_ context.Context, u notify.StatusUpdate) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.statuses = append(r.statuses, u)
}

func (r *recorder) calls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.inbound) + len(r.statuses)
}

// hookServer serves a Webhook on a loopback server whose URL is also the
// public URL, as if Twilio reached it directly.
func hookServer(t *testing.T, rec *recorder) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	h, err := NewWebhook(hookToken, "http://"+srv.Listener.Addr().String(), rec.onReply, rec.onStatus)
	if err != nil {
		t.Fatalf("NewWebhook: %v", err)
	}
	srv.Config.Handler = h
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

func TestWebhookInboundMessage(t *testing.T) {
	tests := []struct {
		name, body, answer string
		reply              notify.Reply
		twiml              string
	}{
		{"ack with code", "ok #4f7", "Thanks, alert 4F7 acknowledged.", notify.Reply{Kind: notify.ReplyAck, Code: "4F7"},
			`<?xml version="1.0" encoding="UTF-8"?><Response><Message>Thanks, alert 4F7 acknowledged.</Message></Response>`},
		{"answer escaped", "HELP", `Reply "OK <code>" & we'll stop`, notify.Reply{Kind: notify.ReplyHelp},
			`<?xml version="1.0" encoding="UTF-8"?><Response><Message>Reply &#34;OK &lt;code&gt;&#34; &amp; we&#39;ll stop</Message></Response>`},
		{"nothing to say", "STOP", "", notify.Reply{Kind: notify.ReplyOptOut},
			`<?xml version="1.0" encoding="UTF-8"?><Response/>`},
		{"free text", "Is Mum ok?", "", notify.Reply{}, `<?xml version="1.0" encoding="UTF-8"?><Response/>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{answer: tt.answer}
			srv := hookServer(t, rec)
			tw := twiliotest.New(t, hookSID, hookToken)

			status, body, err := tw.SendInbound(srv.URL+"/twilio/sms?site=home", caregiver, hookFrom, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if status != http.StatusOK || body != tt.twiml {
				t.Errorf("webhook answered %d %q, want 200 %q", status, body, tt.twiml)
			}
			if len(rec.inbound) != 1 {
				t.Fatalf("onReply called %d times, want 1", len(rec.inbound))
			}
			in := rec.inbound[0]
			if in.From != caregiver || in.To != hookFrom || in.Body != tt.body || in.Reply != tt.reply || !isSID(in.MessageSID) {
				t.Errorf("onReply got %+v, want From %s To %s Body %q Reply %+v", in, caregiver, hookFrom, tt.body, tt.reply)
			}
		})
	}
}

func TestWebhookTwiMLContentType(t *testing.T) {
	rec := &recorder{answer: "hi"}
	srv := hookServer(t, rec)
	p := inboundForm("OK")
	req := signedRequest(t, srv.URL+"/sms", p.Encode(), hookToken, srv.URL+"/sms")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if got := resp.Header.Get("Content-Type"); got != "text/xml; charset=utf-8" {
		t.Errorf("Content-Type = %q, want text/xml; charset=utf-8", got)
	}
	var doc struct {
		XMLName xml.Name `xml:"Response"`
		Message string   `xml:"Message"`
	}
	if err := xml.NewDecoder(resp.Body).Decode(&doc); err != nil || doc.Message != "hi" {
		t.Errorf("TwiML decodes to %+v, %v; want Message hi", doc, err)
	}
}

func inboundForm(body string) url.Values {
	return url.Values{"MessageSid": {msgSID}, "From": {caregiver}, "To": {hookFrom}, "Body": {body},
		"AccountSid": {hookSID}, "SmsStatus": {"received"}}
}

func statusForm(status, code string) url.Values {
	p := url.Values{"MessageSid": {msgSID}, "MessageStatus": {status}, "AccountSid": {hookSID}}
	if code != "" {
		p.Set("ErrorCode", code)
	}
	return p
}

// signedRequest posts body to target, signed with token for signedURL.
func signedRequest(t *testing.T, target, body, token, signedURL string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	p, _ := url.ParseQuery(body)
	req.Header.Set("X-Twilio-Signature", twiliotest.Sign(token, signedURL, p))
	return req
}

func TestWebhookRejects(t *testing.T) {
	good := inboundForm("OK").Encode()
	tests := []struct {
		name string
		// build returns the request for a server at base.
		build func(t *testing.T, base string) *http.Request
		want  int
	}{
		{"missing signature", func(t *testing.T, base string) *http.Request {
			r := signedRequest(t, base+"/sms", good, hookToken, base+"/sms")
			r.Header.Del("X-Twilio-Signature")
			return r
		}, http.StatusForbidden},
		{"forged signature", func(t *testing.T, base string) *http.Request {
			return signedRequest(t, base+"/sms", good, "someoneelsestoken", base+"/sms")
		}, http.StatusForbidden},
		{"signature for another path", func(t *testing.T, base string) *http.Request {
			return signedRequest(t, base+"/sms", good, hookToken, base+"/status")
		}, http.StatusForbidden},
		{"signature for another query", func(t *testing.T, base string) *http.Request {
			return signedRequest(t, base+"/sms?site=home", good, hookToken, base+"/sms?site=away")
		}, http.StatusForbidden},
		{"signature for another host", func(t *testing.T, base string) *http.Request {
			return signedRequest(t, base+"/sms", good, hookToken, "https://old.example.org/sms")
		}, http.StatusForbidden},
		{"tampered body", func(t *testing.T, base string) *http.Request {
			r := signedRequest(t, base+"/sms", good, hookToken, base+"/sms")
			r.Body = io.NopCloser(strings.NewReader(inboundForm("STOP").Encode()))
			r.ContentLength = -1
			return r
		}, http.StatusForbidden},
		{"GET", func(t *testing.T, base string) *http.Request {
			r := signedRequest(t, base+"/sms", good, hookToken, base+"/sms")
			r.Method = http.MethodGet
			return r
		}, http.StatusMethodNotAllowed},
		{"JSON body", func(t *testing.T, base string) *http.Request {
			r := signedRequest(t, base+"/sms", `{"Body":"OK"}`, hookToken, base+"/sms")
			r.Header.Set("Content-Type", "application/json")
			return r
		}, http.StatusUnsupportedMediaType},
		{"body over 64 KiB", func(t *testing.T, base string) *http.Request {
			return signedRequest(t, base+"/sms", inboundForm(strings.Repeat("x", 70<<10)).Encode(), hookToken, base+"/sms")
		}, http.StatusRequestEntityTooLarge},
		{"malformed escape", func(t *testing.T, base string) *http.Request {
			return signedRequest(t, base+"/sms", good+"&Body=%zz", hookToken, base+"/sms")
		}, http.StatusBadRequest},
		{"semicolon separator", func(t *testing.T, base string) *http.Request {
			return signedRequest(t, base+"/sms", good+";x=1", hookToken, base+"/sms")
		}, http.StatusBadRequest},
		{"invalid UTF-8", func(t *testing.T, base string) *http.Request {
			return signedRequest(t, base+"/sms", good+"&Extra=%ff", hookToken, base+"/sms")
		}, http.StatusBadRequest},
		{"signed but no MessageSid", func(t *testing.T, base string) *http.Request {
			p := inboundForm("OK")
			p.Del("MessageSid")
			return signedRequest(t, base+"/sms", p.Encode(), hookToken, base+"/sms")
		}, http.StatusBadRequest},
		{"signed but no From", func(t *testing.T, base string) *http.Request {
			p := inboundForm("OK")
			p.Del("From")
			return signedRequest(t, base+"/sms", p.Encode(), hookToken, base+"/sms")
		}, http.StatusBadRequest},
		{"signed but unknown status", func(t *testing.T, base string) *http.Request {
			return signedRequest(t, base+"/status", statusForm("exploded", "").Encode(), hookToken, base+"/status")
		}, http.StatusBadRequest},
		{"signed but bad ErrorCode", func(t *testing.T, base string) *http.Request {
			return signedRequest(t, base+"/status", statusForm("failed", "30x03").Encode(), hookToken, base+"/status")
		}, http.StatusBadRequest},
		{"signed but bad MessageSid", func(t *testing.T, base string) *http.Request {
			p := statusForm("sent", "")
			p.Set("MessageSid", "SM'; DROP TABLE")
			return signedRequest(t, base+"/status", p.Encode(), hookToken, base+"/status")
		}, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{answer: "should not be sent"}
			srv := hookServer(t, rec)
			resp, err := http.DefaultClient.Do(tt.build(t, srv.URL))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("webhook answered %d, want %d", resp.StatusCode, tt.want)
			}
			if want := http.StatusText(tt.want) + "\n"; string(body) != want {
				t.Errorf("webhook body = %q, want only %q", body, want)
			}
			if n := rec.calls(); n != 0 {
				t.Errorf("callbacks called %d times, want 0", n)
			}
		})
	}
}

// Mounted under http.StripPrefix, the webhook still checks the URL Twilio
// called, prefix included.
func TestWebhookUnderStripPrefix(t *testing.T) {
	rec := &recorder{answer: "ok"}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	h, err := NewWebhook(hookToken, srv.URL+"/", rec.onReply, rec.onStatus)
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/hooks/", http.StripPrefix("/hooks", h))
	tw := twiliotest.New(t, hookSID, hookToken)
	status, _, err := tw.SendInbound(srv.URL+"/hooks/sms", caregiver, hookFrom, "OK")
	if err != nil || status != http.StatusOK {
		t.Errorf("SendInbound via StripPrefix = %d, %v; want 200", status, err)
	}
}

func TestNewWebhookRejectsBadConfig(t *testing.T) {
	tests := []struct{ name, token, url string }{
		{"empty token", "", "https://clinic.example.org"},
		{"relative URL", hookToken, "/twilio"},
		{"no scheme", hookToken, "clinic.example.org"},
		{"ftp", hookToken, "ftp://clinic.example.org"},
		{"query", hookToken, "https://clinic.example.org/?a=b"},
		{"fragment", hookToken, "https://clinic.example.org/#x"},
		{"user info", hookToken, "https://user:pw@clinic.example.org"},
		{"unparsable", hookToken, "https://clinic example.org/%zz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewWebhook(tt.token, tt.url, nil, nil); err == nil {
				t.Errorf("NewWebhook(%q, %q) = nil error, want one", tt.token, tt.url)
			}
		})
	}
	if _, err := NewWebhook(hookToken, "https://clinic.example.org/pillbox", nil, nil); err != nil {
		t.Errorf("NewWebhook(valid) = %v, want nil", err)
	}
}

// FuzzWebhookForm feeds arbitrary bodies, correctly signed whenever they
// decode, so that the fuzzer reaches the field parsing and TwiML writing
// behind the signature check.
func FuzzWebhookForm(f *testing.F) {
	const public = "https://clinic.example.org"
	f.Fuzz(func(t *testing.T, body string) {
		rec := &recorder{}
		var echo string
		h, err := NewWebhook(hookToken, public, func(ctx context.Context, in notify.InboundSMS) string {
			echo = in.Body
			return rec.onReply(ctx, in) + in.Body
		}, rec.onStatus)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := url.ParseQuery(body)
		req := httptest.NewRequest(http.MethodPost, "/twilio/sms", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", twiliotest.Sign(hookToken, public+"/twilio/sms", p))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)

		switch w.Code {
		case http.StatusOK:
			if len(rec.inbound) != 1 {
				t.Fatalf("200 with %d onReply calls, want 1", len(rec.inbound))
			}
			var doc struct {
				XMLName xml.Name `xml:"Response"`
				Message *string  `xml:"Message"`
			}
			if err := xml.Unmarshal(w.Body.Bytes(), &doc); err != nil {
				t.Fatalf("TwiML %q does not parse: %v", w.Body, err)
			}
			if echo == "" && doc.Message != nil || echo != "" && doc.Message == nil {
				t.Fatalf("TwiML %q for reply %q", w.Body, echo)
			}
			if doc.Message != nil && xmlSafe(echo) && *doc.Message != echo {
				t.Fatalf("TwiML message = %q, want %q", *doc.Message, echo)
			}
		case http.StatusNoContent:
			if len(rec.statuses) != 1 || !rec.statuses[0].Status.Known() {
				t.Fatalf("204 with onStatus calls %+v, want one known status", rec.statuses)
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			if rec.calls() != 0 {
				t.Fatalf("%d with %d callback calls, want 0", w.Code, rec.calls())
			}
		default:
			// 403 would mean the handler and twiliotest.Sign disagree
			// about what a valid signature is.
			t.Fatalf("webhook answered %d for %q", w.Code, body)
		}
	})
}

// xmlSafe reports whether s survives XML escaping unchanged (XML 1.0 has no
// way to carry most control characters; EscapeText replaces them).
func xmlSafe(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r >= 0xD800 && r <= 0xDFFF || r == 0xFFFE || r == 0xFFFF {
			return false
		}
	}
	return true
}
