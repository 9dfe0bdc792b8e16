package twilio_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/pillbox/pillbox/notify"
	"github.com/pillbox/pillbox/notify/twilio"
	"github.com/pillbox/pillbox/notify/twiliotest"
)

// A message sent with the real client to the stand-in, then a delivery
// status posted back by the stand-in, signed, to the webhook.
func TestWebhookStatusCallbackEndToEnd(t *testing.T) {
	const (
		sid   = "AC0123456789abcdef0123456789abcdef"
		token = "f00dfeedcafebabe5ecre7a11token99"
		from  = "+15005550006"
		to    = "+15551234567"
	)
	var mu sync.Mutex
	var statuses []notify.StatusUpdate
	hooks := httptest.NewUnstartedServer(nil)
	h, err := twilio.NewWebhook(token, "http://"+hooks.Listener.Addr().String(), nil,
		func(_ context.Context, u notify.StatusUpdate) {
			mu.Lock()
			statuses = append(statuses, u)
			mu.Unlock()
		})
	if err != nil {
		t.Fatal(err)
	}
	hooks.Config.Handler = h
	hooks.Start()
	t.Cleanup(hooks.Close)

	tw := twiliotest.New(t, sid, token)
	s, err := twilio.New(twilio.Config{AccountSID: sid, AuthToken: token, From: from,
		StatusCallback: hooks.URL + "/twilio/status", HTTPClient: tw.Client()})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Send(context.Background(), to, "Dose missed. Reply OK 4F7.")
	if err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		status notify.MessageStatus
		code   int
	}{{notify.StatusSent, 0}, {notify.StatusUndelivered, 30003}}
	for _, st := range steps {
		code, err := tw.DeliverStatus(res.SID, string(st.status), st.code)
		if err != nil || code != http.StatusNoContent {
			t.Fatalf("DeliverStatus(%s) = %d, %v; want 204", st.status, code, err)
		}
	}
	want := []notify.StatusUpdate{{MessageSID: res.SID, Status: notify.StatusSent}, {MessageSID: res.SID, Status: notify.StatusUndelivered, ErrorCode: 30003}}
	mu.Lock()
	defer mu.Unlock()
	if len(statuses) != len(want) {
		t.Fatalf("onStatus got %+v, want %+v", statuses, want)
	}
	for i := range want {
		if statuses[i] != want[i] {
			t.Errorf("onStatus call %d = %+v, want %+v", i, statuses[i], want[i])
		}
	}
	if got := tw.Messages()[0].Status; got != string(notify.StatusUndelivered) {
		t.Errorf("stand-in message status = %q, want undelivered", got)
	}
}
