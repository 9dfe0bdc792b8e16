package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/notify"
	"github.com/pillbox/pillbox/notify/twiliotest"
)

const (
	testAccount   = "AC0123456789abcdef0123456789abcdef"
	testToken     = "f00dfeedcafebabe5ecre7a11token99"
	testFrom      = "+15005550006"
	anaPhone      = "+15555550101" // caregiver1 in the example
	davidPhone    = "+15555550102"
	margaretPhone = "+15555550100" // the patient in the example
)

// inProcess is a daemon started with start() and serve() in this process.
type inProcess struct {
	t    testing.TB
	r    *running
	base string
	stop func()
}

// runDaemon starts dispenserd --sim in-process on config and data.
func runDaemon(t testing.TB, config, data, listen, simStart string) *inProcess {
	t.Helper()
	return startInProcess(t, options{config: config, sim: true, data: data, listen: listen, simStart: simStart})
}

// startInProcess starts the daemon with o, serves it until the test ends,
// and returns once its notifier runs.
func startInProcess(t testing.TB, o options) *inProcess {
	t.Helper()
	d := serveInProcess(t, o, slog.New(slog.DiscardHandler), nil)
	// Ready once the notifier runs (the viewer waits for it).
	d.do("GET", "/api/sim/sms", nil, http.StatusOK)
	return d
}

// serveInProcess starts the daemon with o, logging to log, puts wrap (if
// any) in front of its HTTP handler, and serves it until the test ends.
func serveInProcess(t testing.TB, o options, log *slog.Logger, wrap func(http.Handler) http.Handler) *inProcess {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r, err := start(ctx, o, log)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if wrap != nil {
		r.httpSrv.Handler = wrap(r.httpSrv.Handler)
	}
	done := make(chan error, 1)
	go func() { done <- r.serve(ctx) }()
	d := &inProcess{t: t, r: r, base: r.scheme() + "://" + r.listener.Addr().String()}
	stopped := false
	d.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		r.close()
	}
	t.Cleanup(d.stop)
	return d
}

func (d *inProcess) do(method, path string, body any, want int) []byte {
	d.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, d.base+path, rd)
	if method != "GET" { // every other request is JSON, empty or not, as the API requires
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		d.t.Fatalf("%s %s = %d %s, want %d", method, path, resp.StatusCode, out, want)
	}
	return out
}

func (d *inProcess) advance(dur string) {
	d.t.Helper()
	d.do("POST", "/api/sim/clock", map[string]string{"advance": dur}, http.StatusOK)
}

// waitFor long-polls the log for events of kind after since until match
// accepts one, and returns it.
func (d *inProcess) waitFor(kind dispenser.Kind, since int64, match func(dispenser.Event) bool) dispenser.Event {
	d.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var evs []dispenser.Event
		if err := json.Unmarshal(d.do("GET", fmt.Sprintf("/api/events?since=%d&wait=5s", since), nil, http.StatusOK), &evs); err != nil {
			d.t.Fatal(err)
		}
		for _, ev := range evs {
			if ev.Kind == kind && (match == nil || match(ev)) {
				return ev
			}
			since = ev.Seq
		}
	}
	var all []dispenser.Event
	json.Unmarshal(d.do("GET", "/api/events?since=0&limit=10000", nil, http.StatusOK), &all)
	var lines []string
	for _, ev := range all {
		lines = append(lines, fmt.Sprintf("%d %s %s %s %s", ev.Seq, ev.Time.Format(time.RFC3339), ev.Kind, ev.DoseID, ev.Detail))
	}
	d.t.Fatalf("no matching %s event within 30s; the log:\n%s", kind, strings.Join(lines, "\n"))
	return dispenser.Event{}
}

// events reads the log after since.
func (d *inProcess) events(since int64) []dispenser.Event {
	d.t.Helper()
	var evs []dispenser.Event
	if err := json.Unmarshal(d.do("GET", fmt.Sprintf("/api/events?since=%d&limit=10000", since), nil, http.StatusOK), &evs); err != nil {
		d.t.Fatal(err)
	}
	return evs
}

func (d *inProcess) lastSeq() int64 {
	evs := d.events(0)
	if len(evs) == 0 {
		return 0
	}
	return evs[len(evs)-1].Seq
}

func to(role string) func(dispenser.Event) bool {
	return func(ev dispenser.Event) bool { return strings.Contains(ev.Detail, "to="+role+" ") }
}

// withTwilio is the example config sending through the stand-in, with the
// webhooks' own listener at hook (none when hook is ""), and the other
// replacements of exampleWith.
func withTwilio(t testing.TB, stand *twiliotest.Server, hook string, replace ...string) string {
	t.Helper()
	twilioHTTP = stand.Client()
	t.Cleanup(func() { twilioHTTP = nil })
	t.Setenv("TWILIO_AUTH_TOKEN", testToken)
	public := ""
	if hook != "" {
		public = "    public_url: http://" + hook + "\n    listen: " + hook + "\n"
	}
	return exampleWith(t, append([]string{"  #twilio:\n  #  account_sid: AC0123456789abcdef0123456789abcdef\n  #  from: \"+15005550006\"",
		"  twilio:\n    account_sid: " + testAccount + "\n    from: \"" + testFrom + "\"\n    in_sim: true\n" + public + "#"}, replace...)...)
}

// The daemon in sim mode, with Twilio configured against the stand-in: a
// dose nobody presses is texted to the first caregiver through the real
// client, and their OK through the signed webhook stops the ladder.
func TestNotifyEndToEnd(t *testing.T) {
	stand := twiliotest.New(t, testAccount, testToken)
	addr := freeAddr(t) // the webhooks'; the API listens elsewhere
	d := runDaemon(t, withTwilio(t, stand, addr), filepath.Join(t.TempDir(), "data"), "127.0.0.1:0", "2026-03-10T07:50:00-04:00")
	since := d.lastSeq()

	d.advance("40m") // 08:30: the 08:00 metformin dose is 30 minutes late
	d.waitFor(notify.KindSMSSent, since, to("caregiver1"))
	var ana []twiliotest.Message
	for _, m := range stand.Messages() {
		if m.To == anaPhone {
			ana = append(ana, m)
		}
	}
	if len(ana) != 1 || !strings.Contains(ana[0].Body, "Margaret has not taken the 8:00 AM dose yet") ||
		ana[0].StatusCallback != "http://"+addr+"/twilio/status" {
		t.Fatalf("the stand-in got %+v for caregiver 1, want one text about the 8:00 AM dose with a status callback", ana)
	}

	// A status callback and a forged reply, then the real one.
	if code, err := stand.DeliverStatus(ana[0].SID, "delivered", 0); err != nil || code != http.StatusNoContent {
		t.Errorf("DeliverStatus = %d, %v; want 204", code, err)
	}
	d.waitFor(notify.KindSMSDelivered, since, to("caregiver1"))
	forged := url.Values{"MessageSid": {"SM0123456789abcdef0123456789abcdef"}, "From": {anaPhone}, "To": {testFrom}, "Body": {"OK"}}
	req, _ := http.NewRequest("POST", "http://"+addr+"/twilio/sms", strings.NewReader(forged.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twiliotest.Sign("0000"+testToken[4:], "http://"+addr+"/twilio/sms", forged))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("forged reply = %v, %v; want 403", resp, err)
	} else {
		resp.Body.Close()
	}
	// The webhooks' listener serves them alone: the API is not behind it.
	for _, path := range []string{"/api/status", "/api/events", "/"} {
		if resp, err := http.Get("http://" + addr + path); err != nil || resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s on the webhooks' listener = %v, %v; want 404", path, resp, err)
		} else {
			resp.Body.Close()
		}
	}
	code, twiml, err := stand.SendInbound("http://"+addr+"/twilio/sms", anaPhone, testFrom, "OK")
	if err != nil || code != http.StatusOK || !strings.Contains(twiml, "Thanks, Ana.") {
		t.Fatalf("reply OK = %d %s, %v; want 200 and thanks", code, twiml, err)
	}
	d.waitFor(notify.KindAlertAck, since, nil)

	d.advance("2h")
	d.waitFor(dispenser.KindMissed, since, nil)
	var views []smsView
	json.Unmarshal(d.do("GET", "/api/sim/sms", nil, http.StatusOK), &views)
	for _, m := range stand.Messages() {
		if m.To == davidPhone && strings.Contains(m.Body, "8:00 AM") {
			t.Errorf("caregiver 2 was texted about the 8:00 AM dose after caregiver 1 acknowledged it: %q", m.Body)
		}
	}
	var found bool
	for _, v := range views {
		found = found || v.To == anaPhone && v.Status == "delivered" && v.Code != "" && strings.Contains(v.Body, "Reply OK "+v.Code)
	}
	if !found {
		t.Errorf("GET /api/sim/sms = %+v, want the delivered text to caregiver 1 with its code", views)
	}
}

// Without Twilio the texts go to the simulator's outbox, and the reply box
// answers as the webhook would.
func TestNotifySimSink(t *testing.T) {
	d := runDaemon(t, "../../examples/dispenser.yaml", filepath.Join(t.TempDir(), "data"), "127.0.0.1:0", "2026-03-10T07:50:00-04:00")
	since := d.lastSeq()
	d.advance("40m")
	d.waitFor(notify.KindSMSSent, since, to("caregiver1"))

	var views []smsView
	json.Unmarshal(d.do("GET", "/api/sim/sms", nil, http.StatusOK), &views)
	var code string
	for _, v := range views {
		if v.To == anaPhone {
			code = v.Code
		}
	}
	if code == "" {
		t.Fatalf("GET /api/sim/sms = %+v, want a text to caregiver 1 with a code", views)
	}
	var ans struct{ Reply, Understood string }
	json.Unmarshal(d.do("POST", "/api/sim/sms/reply", map[string]string{"from": anaPhone, "body": "ok " + strings.ToLower(code)}, http.StatusOK), &ans)
	if ans.Understood != "ack" || !strings.Contains(ans.Reply, "Alert "+code+" acknowledged") {
		t.Errorf("reply = %+v, want the acknowledgement of %s", ans, code)
	}
	d.waitFor(notify.KindAlertAck, since, nil)
	json.Unmarshal(d.do("GET", "/api/sim/sms", nil, http.StatusOK), &views)
	if last := views[len(views)-1]; last.Direction != "out" || last.To != anaPhone || !strings.Contains(last.Body, "acknowledged") {
		t.Errorf("last text in the viewer = %+v, want the answer to caregiver 1", last)
	}
	for _, bad := range []string{`{"from":"555","body":"OK"}`, `{"from":"+15555550101"}`, `{"from":"+15555550101","body":"OK","x":1}`, `[]`} {
		req, _ := http.NewRequest("POST", d.base+"/api/sim/sms/reply", strings.NewReader(bad))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("reply %s = %d, want 400", bad, resp.StatusCode)
		}
	}
}

// After six hours without power the first caregiver gets one summary of
// the doses slept through, not a text per dose.
func TestNotifyPowerOffSummary(t *testing.T) {
	stand := twiliotest.New(t, testAccount, testToken)
	addr := freeAddr(t)
	config, data := withTwilio(t, stand, addr), filepath.Join(t.TempDir(), "data")
	d := runDaemon(t, config, data, "127.0.0.1:0", "2026-03-10T07:50:00-04:00")
	d.advance("5m")
	d.stop() // power off at 07:55

	d = runDaemon(t, config, data, "127.0.0.1:0", "2026-03-10T13:55:00-04:00")
	d.waitFor(notify.KindSMSSent, 0, to("caregiver1"))
	d.advance("30m")
	d.waitFor(notify.KindSMSSent, 0, to("caregiver2"))
	got := stand.Messages()
	if len(got) != 2 || got[0].To != anaPhone || got[1].To != davidPhone {
		t.Fatalf("after the power-off the stand-in got %+v, want one text to caregiver 1, then one to caregiver 2", got)
	}
	for _, m := range got {
		if !strings.Contains(m.Body, "Margaret missed 2 doses (8:00 AM to 9:00 AM)") {
			t.Errorf("text %q, want the summary of the 2 doses slept through", m.Body)
		}
	}
}

// BenchmarkWindowCloseToSend runs the daemon in sim mode with the stand-in
// and, each simulated day, lets the 08:00 dose's window close at 09:00
// unpressed, when the ladder's last step (caregiver 2 at +60m) is due: the
// metric is the real time from the clock step that closes the window to
// Twilio receiving the text (target: at most 2 s). ns/op is a whole
// simulated day, every other timer of the day included.
func BenchmarkWindowCloseToSend(b *testing.B) {
	stand := twiliotest.New(b, testAccount, testToken)
	d := runDaemon(b, withTwilio(b, stand, ""), filepath.Join(b.TempDir(), "data"), "127.0.0.1:0", "2026-03-10T07:50:00-04:00")
	d.advance("69m") // 08:59
	var total, worst time.Duration
	for i := 0; i < b.N; i++ {
		if i > 0 {
			d.advance("23h59m")
		}
		since := d.lastSeq()
		t0 := time.Now()
		d.advance("1m") // 09:00: the window closes
		ev := d.waitFor(notify.KindSMSQueued, since, func(ev dispenser.Event) bool {
			return strings.Contains(ev.Detail, "to=caregiver2 ") && strings.Contains(ev.Detail, "T08:00")
		})
		msg, _, _ := strings.Cut(ev.Detail, " ")
		d.waitFor(notify.KindSMSSent, since, func(ev dispenser.Event) bool { return strings.HasPrefix(ev.Detail, msg+" ") })
		var got time.Time
		for _, m := range stand.Messages() {
			if m.To == davidPhone && m.Received.After(got) {
				got = m.Received
			}
		}
		lat := got.Sub(t0)
		if lat <= 0 || lat > time.Minute {
			b.Fatalf("day %d: the text reached the stand-in %v after the window closed", i, lat)
		}
		total += lat
		worst = max(worst, lat)
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N)/1000, "ms-close-to-send")
	b.ReportMetric(float64(worst.Microseconds())/1000, "ms-worst")
}

// smsView is one text of GET /api/sim/sms, as the tests read it.
type smsView struct {
	Direction string    `json:"direction"`
	To        string    `json:"to"`
	From      string    `json:"from"`
	Body      string    `json:"body"`
	Status    string    `json:"status"`
	Code      string    `json:"code"`
	Priority  string    `json:"priority"`
	Why       string    `json:"why"`
	Name      string    `json:"name"`
	Via       string    `json:"via"`
	SID       string    `json:"sid"`
	AckedBy   string    `json:"acked_by"`
	Time      time.Time `json:"time"`
}

// Twilio configured but its auth token missing: the daemon still runs and
// dispenses, shows the fault, and keeps the texts queued in the outbox
// (they go once the token is installed) instead of refusing to start.
func TestNotifyWithoutToken(t *testing.T) {
	stand := twiliotest.New(t, testAccount, testToken)
	config := withTwilio(t, stand, "")
	t.Setenv("TWILIO_AUTH_TOKEN", "")
	d := runDaemon(t, config, filepath.Join(t.TempDir(), "data"), "127.0.0.1:0", "2026-03-10T07:50:00-04:00")
	since := d.lastSeq()

	d.advance("40m") // the 08:00 dose, unpressed: caregiver 1 is due a text
	d.waitFor(notify.KindSMSQueued, since, to("caregiver1"))
	// The fault was set as the daemon started, well before this text.
	if got := d.status().Faults["sms-token"]; !slices.Equal(got, []string{"Texts not set up", "Call installer"}) {
		t.Errorf("fault sms-token = %q, want [Texts not set up, Call installer]", got)
	}

	d.do("POST", "/api/sim/button?wait=1", nil, http.StatusOK)
	d.waitFor(dispenser.KindDispensed, since, nil)

	var views []smsView
	json.Unmarshal(d.do("GET", "/api/sim/sms", nil, http.StatusOK), &views)
	queued := 0
	for _, v := range views {
		if v.Direction == "out" && v.Status == "queued" {
			queued++
		}
	}
	if queued == 0 {
		t.Errorf("GET /api/sim/sms = %+v, want the caregiver's text still queued", views)
	}
	if got := stand.Messages(); len(got) != 0 {
		t.Errorf("Twilio got %d texts without an auth token, want 0", len(got))
	}
}
