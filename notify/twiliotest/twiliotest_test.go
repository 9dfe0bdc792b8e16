package twiliotest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twilio/twilio-go/client"
)

const (
	sid   = "AC0123456789abcdef0123456789abcdef"
	token = "f00dfeedcafebabe5ecre7a11token99"
	api   = "https://api.twilio.com/2010-04-01/Accounts/" + sid + "/Messages.json"
)

// post sends a Messages API request through the stand-in's client.
func post(t *testing.T, s *Server, method, target, user, pass string, form url.Values) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, target, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(user, pass)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

func form(to, from, body string) url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"To": to, "From": from, "Body": body} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

func TestMessagesAPIErrors(t *testing.T) {
	ok := form("+15551234567", "+15005550006", "hello")
	tests := []struct {
		name         string
		method, url  string
		user, pass   string
		form         url.Values
		status, code int
	}{
		{"wrong token", "POST", api, sid, "nope", ok, 401, 20003},
		{"wrong user", "POST", api, "ACother", token, ok, 401, 20003},
		{"other account's path", "POST", strings.Replace(api, sid, "ACother", 1), sid, token, ok, 404, 20404},
		{"unknown path", "POST", "https://api.twilio.com/2010-04-01/Calls.json", sid, token, ok, 404, 20404},
		{"GET", "GET", api, sid, token, ok, 405, 20004},
		{"missing To", "POST", api, sid, token, form("", "+15005550006", "hi"), 400, 21604},
		{"missing From", "POST", api, sid, token, form("+15551234567", "", "hi"), 400, 21603},
		{"missing Body", "POST", api, sid, token, form("+15551234567", "+15005550006", ""), 400, 21602},
		{"invalid To", "POST", api, sid, token, form("555-1234", "+15005550006", "hi"), 400, 21211},
		{"body too long", "POST", api, sid, token, form("+15551234567", "+15005550006", strings.Repeat("ж", 1601)), 400, 21617},
		{"bad StatusCallback", "POST", api, sid, token, func() url.Values {
			v := form("+15551234567", "+15005550006", "hi")
			v.Set("StatusCallback", "not a url")
			return v
		}(), 400, 21609},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(t, sid, token)
			status, _, body := post(t, s, tt.method, tt.url, tt.user, tt.pass, tt.form)
			var e apiError
			if err := json.Unmarshal([]byte(body), &e); err != nil {
				t.Fatalf("body %q is not Twilio's JSON error: %v", body, err)
			}
			if status != tt.status || e.Code != tt.code || e.Status != tt.status || e.MoreInfo != "https://www.twilio.com/docs/errors/"+strconv.Itoa(tt.code) {
				t.Errorf("answer = %d %+v, want %d with code %d", status, e, tt.status, tt.code)
			}
			if n := len(s.Messages()); n != 0 {
				t.Errorf("stand-in recorded %d messages, want 0", n)
			}
		})
	}
}

func TestAuthErrorBodyIsTwilios(t *testing.T) {
	s := New(t, sid, token)
	_, _, body := post(t, s, "POST", api, sid, "wrong", form("+15551234567", "+15005550006", "hi"))
	want := `{"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401}` + "\n"
	if body != want {
		t.Errorf("401 body = %q, want %q", body, want)
	}
}

func TestMessageResource(t *testing.T) {
	s := New(t, sid, token)
	at := time.Date(2026, 3, 1, 12, 30, 5, 0, time.FixedZone("X", 3600))
	s.SetNow(func() time.Time { return at })
	status, _, body := post(t, s, "POST", api, sid, token, form("+15551234567", "+15005550006", strings.Repeat("a", 161)))
	if status != http.StatusCreated {
		t.Fatalf("status = %d (%s), want 201", status, body)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	sidv, _ := m["sid"].(string)
	want := map[string]any{
		"account_sid": sid, "status": "queued", "to": "+15551234567", "from": "+15005550006",
		"num_segments": "2", "num_media": "0", "price": nil, "error_code": nil, "direction": "outbound-api",
		"date_created": "Sun, 01 Mar 2026 11:30:05 +0000", "api_version": "2010-04-01",
		"uri": "/2010-04-01/Accounts/" + sid + "/Messages/" + sidv + ".json",
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("resource[%q] = %#v, want %#v", k, m[k], v)
		}
	}
	if len(sidv) != 34 || !strings.HasPrefix(sidv, "SM") || strings.Trim(sidv[2:], "0123456789abcdef") != "" {
		t.Errorf("sid = %q, want SM + 32 hex digits", sidv)
	}
	if got := s.Messages(); len(got) != 1 || got[0].SID != sidv || !got[0].Received.Equal(at) || got[0].Account != sid {
		t.Errorf("Messages() = %+v, want one with sid %s received %v from %s", got, sidv, at, sid)
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		fault      Fault
		status     int
		retryAfter string
		json       bool
	}{
		{Fail500, 500, "", true},
		{Fail429, 429, "3", true},
		{Fail503, 503, "", true},
		{Fail502HTML, 502, "", false},
	}
	for _, tt := range tests {
		s := New(t, sid, token)
		s.SetRetryAfter(3 * time.Second)
		s.FailNext(1, tt.fault)
		status, h, body := post(t, s, "POST", api, sid, token, form("+15551234567", "+15005550006", "hi"))
		if status != tt.status || h.Get("Retry-After") != tt.retryAfter || json.Valid([]byte(body)) != tt.json {
			t.Errorf("fault %d: answer %d Retry-After %q body %q, want %d %q JSON=%v",
				tt.fault, status, h.Get("Retry-After"), body, tt.status, tt.retryAfter, tt.json)
		}
		// The fault is used up: the next request succeeds.
		if status, _, _ := post(t, s, "POST", api, sid, token, form("+15551234567", "+15005550006", "hi")); status != 201 {
			t.Errorf("fault %d: next answer %d, want 201", tt.fault, status)
		}
	}
}

func TestFailSlowRelease(t *testing.T) {
	s := New(t, sid, token)
	s.FailNext(1, FailSlow)
	done := make(chan int)
	go func() {
		req, _ := http.NewRequest("POST", api, strings.NewReader(form("+15551234567", "+15005550006", "hi").Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(sid, token)
		resp, err := s.Client().Do(req)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	for s.Requests() == 0 { // the request is held once it is counted
		runtime.Gosched()
	}
	s.Release()
	if status := <-done; status != http.StatusCreated {
		t.Errorf("released request answered %d, want 201", status)
	}
}

func TestSignMatchesTwilioValidator(t *testing.T) {
	tests := []struct {
		url    string
		params url.Values
	}{
		{"https://clinic.example.org/twilio/sms", url.Values{"Body": {"OK 4F7"}, "From": {"+15551234567"}}},
		{"https://clinic.example.org/s?x=1&y=2", url.Values{"MessageStatus": {"sent"}, "A": {""}}},
		{"http://127.0.0.1:8080/hook", url.Values{"Body": {"é ünïcode 👍"}, "Z": {"1"}, "a": {"2"}}},
		{"https://clinic.example.org/", nil},
	}
	v := client.NewRequestValidator(token)
	for _, tt := range tests {
		flat := map[string]string{}
		for k := range tt.params {
			flat[k] = tt.params.Get(k)
		}
		sig := Sign(token, tt.url, tt.params)
		if !v.Validate(tt.url, flat, sig) {
			t.Errorf("Validate(%q, %v, Sign(...)) = false, want true", tt.url, tt.params)
		}
		if v.Validate(tt.url+"x", flat, sig) {
			t.Errorf("Validate(%q, ...) with the signature for %q = true, want false", tt.url+"x", tt.url)
		}
	}
}

func TestDeliverStatusErrors(t *testing.T) {
	s := New(t, sid, token)
	if _, err := s.DeliverStatus("SMnope", "sent", 0); err == nil {
		t.Error("DeliverStatus(unknown sid) = nil error, want one")
	}
	post(t, s, "POST", api, sid, token, form("+15551234567", "+15005550006", "hi"))
	if _, err := s.DeliverStatus(s.Messages()[0].SID, "sent", 0); err == nil {
		t.Error("DeliverStatus(message without StatusCallback) = nil error, want one")
	}
}

func TestSegments(t *testing.T) {
	tests := []struct {
		body string
		want int
	}{
		{"", 1},
		{strings.Repeat("a", 160), 1},
		{strings.Repeat("a", 161), 2},
		{strings.Repeat("a", 306), 2},
		{strings.Repeat("a", 307), 3},
		{strings.Repeat("€", 80), 1}, // extension characters take two septets
		{strings.Repeat("€", 81), 2},
		{strings.Repeat("é", 160), 1}, // é is in the GSM basic set
		{strings.Repeat("ж", 70), 1},
		{strings.Repeat("ж", 71), 2},
		{strings.Repeat("👍", 35), 1}, // two UTF-16 units each
		{strings.Repeat("👍", 36), 2},
	}
	for _, tt := range tests {
		if got := Segments(tt.body); got != tt.want {
			t.Errorf("Segments(%d × %q) = %d, want %d", len([]rune(tt.body)), []rune(tt.body + " ")[0], got, tt.want)
		}
	}
}

// OnAccept sees an accepted message before its sender gets the answer, and
// never a refused one; Start runs a server outside a test's cleanup.
func TestOnAcceptAndStart(t *testing.T) {
	s := Start(sid, token)
	defer s.Close()
	var seen []Message
	s.OnAccept(func(m Message) {
		if len(s.Messages()) != len(seen)+1 {
			t.Errorf("OnAccept called with %d messages recorded, want %d", len(s.Messages()), len(seen)+1)
		}
		seen = append(seen, m)
	})
	s.RejectTo("+15551230000", 21211)
	for _, tc := range []struct {
		to   string
		want int
	}{{"+15551234567", http.StatusCreated}, {"+15551230000", http.StatusBadRequest}} {
		if code, _, body := post(t, s, "POST", api, sid, token, form(tc.to, "+15005550006", "hi")); code != tc.want {
			t.Errorf("send to %s = %d %s, want %d", tc.to, code, body, tc.want)
		}
	}
	if len(seen) != 1 || seen[0].To != "+15551234567" || seen[0].SID == "" {
		t.Errorf("OnAccept saw %+v, want the one accepted message with its SID", seen)
	}
}

// ClearFaults drops rules not used up, so the next request succeeds.
func TestClearFaults(t *testing.T) {
	s := New(t, sid, token)
	s.FailNext(3, Fail500)
	s.FailUntil(time.Now().Add(time.Hour), Fail503)
	if code, _, _ := post(t, s, "POST", api, sid, token, form("+15551234567", "+15005550006", "a")); code != http.StatusInternalServerError {
		t.Fatalf("first send = %d, want 500", code)
	}
	s.ClearFaults()
	if code, _, body := post(t, s, "POST", api, sid, token, form("+15551234567", "+15005550006", "b")); code != http.StatusCreated {
		t.Errorf("send after ClearFaults = %d %s, want 201", code, body)
	}
}
