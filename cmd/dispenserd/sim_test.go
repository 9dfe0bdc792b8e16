package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/notify"
	"github.com/pillbox/pillbox/notify/twiliotest"
)

// simDaemon starts dispenserd --sim in-process with a state file.
func simDaemon(t *testing.T, o options) *inProcess {
	t.Helper()
	o.sim, o.listen = true, "127.0.0.1:0"
	if o.config == "" {
		o.config = "../../examples/dispenser.yaml"
	}
	o.simState = filepath.Join(o.data, "world.json")
	return startInProcess(t, o)
}

func (d *inProcess) status() dispenser.Status {
	d.t.Helper()
	var st dispenser.Status
	if err := json.Unmarshal(d.do("GET", "/api/status", nil, http.StatusOK), &st); err != nil {
		d.t.Fatal(err)
	}
	return st
}

// A simulated Pi that boots at 1970 without NTP is untrusted: nothing is
// due and the patient is asked to wait. NTP stepping the clock to the right
// time trusts it at once.
func TestSimNTP(t *testing.T) {
	data := t.TempDir()
	d := simDaemon(t, options{data: data, simStart: "1970-01-01T00:00:10Z", simUnsynced: true})
	if st := d.status(); st.ClockTrusted || !slices.Equal(st.Display, []string{"Setting clock", "Please wait"}) {
		t.Fatalf("at 1970 without NTP: trusted %t, display %q; want untrusted, Setting clock", st.ClockTrusted, st.Display)
	}
	d.do("POST", "/api/sim/ntp", map[string]bool{"synced": true}, http.StatusOK)
	if st := d.status(); st.ClockTrusted {
		t.Errorf("at 1970 with NTP: trusted, want untrusted (before the build floor)")
	}
	d.do("POST", "/api/sim/clock", map[string]string{"set": "2027-01-12T08:10:00-05:00"}, http.StatusOK)
	st := d.status()
	if !st.ClockTrusted || len(st.Pending) == 0 {
		t.Errorf("after the NTP step to 08:10: trusted %t, pending %v; want trusted with the 08:00 dose due", st.ClockTrusted, st.Pending)
	}
	for _, bad := range []string{`{}`, `{"synced":"yes"}`, `{"synced":true,"x":1}`} {
		d.do("POST", "/api/sim/ntp", json.RawMessage(bad), http.StatusBadRequest)
	}
}

// The world's clock survives the daemon: a restart without --sim-start
// resumes where the simulated time had got to, even with no event since.
func TestSimClockResumes(t *testing.T) {
	data := t.TempDir()
	d := simDaemon(t, options{data: data, simStart: "2027-01-12T10:00:00-05:00"})
	d.do("POST", "/api/sim/clock", map[string]string{"advance": "5h"}, http.StatusOK)
	want := d.status().Now
	d.stop()
	d = simDaemon(t, options{data: data})
	if got := d.status().Now; !got.Equal(want) {
		t.Errorf("clock after restart = %v, want %v", got, want)
	}
}

// The fault controls act on the world, and the route list names them with
// the rest of the API.
func TestSimFaultAndRoutes(t *testing.T) {
	d := simDaemon(t, options{data: t.TempDir(), simStart: "2027-01-12T10:00:00-05:00"})
	d.do("POST", "/api/sim/fault", map[string]string{"input": "lid", "stick": "active"}, http.StatusOK)
	var w struct {
		Sensors map[string]struct{ Active bool }
	}
	json.Unmarshal(d.do("GET", "/api/sim/world", nil, http.StatusOK), &w)
	if !w.Sensors["lid"].Active {
		t.Errorf("lid sensor after sticking it active = %+v, want active", w.Sensors["lid"])
	}
	var routes []string
	json.Unmarshal(d.do("GET", "/api/sim/routes", nil, http.StatusOK), &routes)
	var rt struct {
		Goroutines int    `json:"goroutines"`
		HeapAlloc  uint64 `json:"heap_alloc"`
	}
	if err := json.Unmarshal(d.do("GET", "/api/sim/runtime", nil, http.StatusOK), &rt); err != nil || rt.Goroutines < 5 || rt.HeapAlloc == 0 {
		t.Errorf("GET /api/sim/runtime = %+v, %v; want goroutines and heap figures", rt, err)
	}
	for _, want := range []string{"GET /api/status", "POST /api/sim/fault", "POST /api/sim/ntp", "GET /api/sim/routes", "GET /api/sim/runtime", "POST /api/sim/sms/reply", "GET /api/stream"} {
		if !slices.Contains(routes, want) {
			t.Errorf("GET /api/sim/routes = %q, want it to list %q", routes, want)
		}
	}
}

// A clock step answers once everything due on the way has happened at its
// time: the dispenser's timers, the alerts they raise and the texts those
// queue, sent. A script that reads the log right after the step sees every
// text the step queued, and sent at the moment it was queued, with the
// local sink and through Twilio's client alike.
func TestSimClockSettles(t *testing.T) {
	const days = 4
	tests := []struct {
		name   string
		twilio bool
		steps  []map[string]string // one day's steps, from 07:50 to 07:50 the next day
	}{
		{"advance/sink", false, []map[string]string{{"advance": "40m"}, {"advance": "23h20m"}}},
		{"advance/twilio", true, []map[string]string{{"advance": "40m"}, {"advance": "23h20m"}}},
		// A wall-clock step, as NTP makes: the controller sees the jump
		// when the step pokes it, and the texts it leads to are sent.
		{"set/sink", false, []map[string]string{{"set": "08:40"}, {"advance": "23h10m"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			config := "../../examples/dispenser.yaml"
			if tt.twilio {
				config = withTwilio(t, twiliotest.New(t, testAccount, testToken), "")
			}
			d := startInProcess(t, options{config: config, sim: true, listen: "127.0.0.1:0", data: t.TempDir(), simStart: "2026-03-10T07:50:00-04:00"})
			day := time.Date(2026, 3, 10, 0, 0, 0, 0, d.r.loc)
			for range days {
				for _, step := range tt.steps {
					if hm, ok := step["set"]; ok {
						step = map[string]string{"set": day.Format("2006-01-02T") + hm + ":00" + day.Format("-07:00")}
					}
					since := d.lastSeq()
					d.do("POST", "/api/sim/clock", step, http.StatusOK)
					if err := settledTexts(d.events(since)); err != nil {
						t.Errorf("%s %v: %v", day.Format(time.DateOnly), step, err)
					}
				}
				day = day.AddDate(0, 0, 1)
			}
		})
	}
}

// settledTexts checks, in the events a clock step logged, that every text
// it queued was sent in the same step and at the same simulated time, and
// that it queued some.
func settledTexts(evs []dispenser.Event) error {
	queued := map[string]dispenser.Event{}
	var unsent []string
	for _, ev := range evs {
		msg, _, _ := strings.Cut(ev.Detail, " ")
		switch ev.Kind {
		case notify.KindSMSQueued:
			queued[msg] = ev
			unsent = append(unsent, msg)
		case notify.KindSMSSent:
			q, ok := queued[msg]
			if !ok {
				continue // queued in an earlier step
			}
			unsent = slices.DeleteFunc(unsent, func(m string) bool { return m == msg })
			if !ev.Time.Equal(q.Time) {
				return fmt.Errorf("%s queued at %s was sent at %s, want at once", msg, q.Time.Format(time.TimeOnly), ev.Time.Format(time.TimeOnly))
			}
		}
	}
	switch {
	case len(queued) == 0:
		return fmt.Errorf("no text queued in %d events, want the ladder's", len(evs))
	case len(unsent) > 0:
		return fmt.Errorf("%d of %d texts queued in the step unsent when it answered: %v", len(unsent), len(queued), unsent)
	}
	return nil
}
