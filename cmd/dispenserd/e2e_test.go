package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pillbox/pillbox/dispenser"
)

// These tests run the real dispenserd binary in sim mode and drive it only
// through its HTTP API, as an outside script or the browser panel would.

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "dispenserd-e2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "dispenserd")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build dispenserd:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// exampleWith is the example config with some text replaced, so the tests
// follow the example as it evolves.
func exampleWith(t testing.TB, replace ...string) string {
	t.Helper()
	b, err := os.ReadFile("../../examples/dispenser.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for i := 0; i < len(replace); i += 2 {
		if !strings.Contains(s, replace[i]) {
			t.Fatalf("example config no longer contains %q", replace[i])
		}
		s = strings.Replace(s, replace[i], replace[i+1], 1)
	}
	path := filepath.Join(t.TempDir(), "dispenser.yaml")
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// daemonProc is one run of the binary.
type daemonProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	base string
	logs *bytes.Buffer
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startDaemon runs dispenserd --sim and returns once it reports ready.
func startDaemon(t *testing.T, config, data string, extra ...string) *daemonProc {
	t.Helper()
	addr := freeAddr(t)
	args := append([]string{"--sim", "--config", config, "--data", data, "--listen", addr,
		"--sim-state", filepath.Join(data, "world.json")}, extra...)
	cmd := exec.Command(binary, args...)
	logs := &bytes.Buffer{}
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &daemonProc{t: t, cmd: cmd, base: "http://" + addr, logs: logs}
	ready := make(chan struct{})
	go func() {
		var line []byte
		buf := make([]byte, 4096)
		closed := false
		for {
			n, err := pr.Read(buf)
			logs.Write(buf[:n])
			line = append(line, buf[:n]...)
			if !closed && bytes.Contains(line, []byte("dispenserd: ready")) {
				close(ready)
				closed = true
			}
			if err != nil {
				if !closed {
					close(ready)
				}
				return
			}
		}
	}()
	t.Cleanup(func() {
		d.cmd.Process.Kill()
		d.cmd.Wait()
		pw.Close()
		if t.Failed() {
			t.Logf("dispenserd log:\n%s", logs.String())
		}
	})
	select {
	case <-ready:
	case <-time.After(60 * time.Second):
		t.Fatalf("dispenserd did not become ready; log:\n%s", logs.String())
	}
	return d
}

func (d *daemonProc) do(method, path string, body any, want int) []byte {
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

func (d *daemonProc) advance(dur string) {
	d.t.Helper()
	d.do("POST", "/api/sim/clock", map[string]string{"advance": dur}, 200)
}

func (d *daemonProc) advanceTo(t time.Time) {
	d.t.Helper()
	var st dispenser.Status
	json.Unmarshal(d.do("GET", "/api/status", nil, 200), &st)
	if gap := t.Sub(st.Now); gap > 0 {
		d.advance(gap.String())
	}
}

func (d *daemonProc) events(since int64) []dispenser.Event {
	d.t.Helper()
	var evs []dispenser.Event
	if err := json.Unmarshal(d.do("GET", fmt.Sprintf("/api/events?since=%d&limit=10000", since), nil, 200), &evs); err != nil {
		d.t.Fatal(err)
	}
	return evs
}

// waitFor long-polls the log until an event of kind appears after since.
func (d *daemonProc) waitFor(kind dispenser.Kind, since int64) dispenser.Event {
	d.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var evs []dispenser.Event
		json.Unmarshal(d.do("GET", fmt.Sprintf("/api/events?since=%d&wait=5s", since), nil, 200), &evs)
		for _, ev := range evs {
			if ev.Kind == kind {
				return ev
			}
			since = ev.Seq
		}
	}
	d.t.Fatalf("no %s event within 30s", kind)
	return dispenser.Event{}
}

func kindsByDose(evs []dispenser.Event) map[string][]dispenser.Kind {
	m := map[string][]dispenser.Kind{}
	for _, ev := range evs {
		if ev.DoseID != "" {
			m[ev.DoseID] = append(m[ev.DoseID], ev.Kind)
		}
	}
	return m
}

// TestScriptedDay drives two days of a patient with three medications, one
// of them once a day at 02:30 across the spring-forward change, through the
// HTTP API, and checks the log dose by dose.
func TestScriptedDay(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the daemon binary")
	}
	ny, _ := time.LoadLocation("America/New_York")
	at := func(d, h, m int) time.Time { return time.Date(2027, 3, d, h, m, 0, 0, ny) }
	cfg := exampleWith(t, "cron: \"0 9 * * *\"\n    early: 30m\n    late: 3h", "cron: \"30 2 * * *\"")
	d := startDaemon(t, cfg, t.TempDir(), "--sim-start", at(13, 7, 0).Format(time.RFC3339))

	// Saturday: morning metformin taken from the cup.
	d.advanceTo(at(13, 8, 0))
	d.do("POST", "/api/sim/button?wait=1", nil, 200)
	d.do("POST", "/api/sim/cup?wait=1", map[string]bool{"present": false}, 200)
	d.do("POST", "/api/sim/cup?wait=1", map[string]bool{"present": true}, 200)

	// Paracetamol as needed at 10:00 by holding the button; again at 11:00
	// is too soon.
	d.advanceTo(at(13, 10, 0))
	d.do("POST", "/api/sim/button?wait=1", map[string]string{"hold": "3s"}, 200)
	d.do("POST", "/api/sim/lid?wait=1", map[string]bool{"open": true}, 200)
	d.do("POST", "/api/sim/lid?wait=1", map[string]bool{"open": false}, 200)
	d.advanceTo(at(13, 11, 0))
	d.do("POST", "/api/prn", map[string]string{"medication": "paracetamol"}, 409)

	// Evening metformin: nobody presses; the window closes at 21:00.
	d.advanceTo(at(13, 21, 30))

	// Sunday 02:30 does not exist in New York: the dose is due at 03:00 EDT.
	d.advanceTo(at(14, 3, 0))
	var st dispenser.Status
	json.Unmarshal(d.do("GET", "/api/status", nil, 200), &st)
	if !slices.Equal(st.Display, []string{"Time for pills", "Press the button"}) {
		t.Errorf("display at 03:00 EDT = %q, want the reminder", st.Display)
	}
	d.do("POST", "/api/sim/button?wait=1", nil, 200)
	d.do("POST", "/api/sim/cup?wait=1", map[string]bool{"present": false}, 200)
	d.do("POST", "/api/sim/cup?wait=1", map[string]bool{"present": true}, 200)

	// Sunday morning metformin dispensed but left in the cup for an hour.
	d.advanceTo(at(14, 8, 5))
	d.do("POST", "/api/sim/button?wait=1", nil, 200)
	d.advanceTo(at(14, 9, 0))
	d.do("POST", "/api/sim/cup?wait=1", map[string]bool{"present": false}, 200)

	evs := d.events(0)
	got := kindsByDose(evs)
	const (
		due, rem, start, disp, taken = dispenser.KindDoseDue, dispenser.KindReminder, dispenser.KindDispenseStarted, dispenser.KindDispensed, dispenser.KindTaken
	)
	want := map[string][]dispenser.Kind{
		"metformin@2027-03-13T08:00":  {due, rem, start, disp, taken},
		"metformin@2027-03-13T20:00":  {due, rem, rem, dispenser.KindMissed},
		"lisinopril@2027-03-14T02:30": {due, rem, start, disp, taken},
		"metformin@2027-03-14T08:00":  {due, rem, start, disp, dispenser.KindNotTaken, taken},
	}
	for id, kinds := range want {
		if !slices.Equal(got[id], kinds) {
			t.Errorf("events of %s = %v, want %v", id, got[id], kinds)
		}
	}
	var prn []string
	for id, kinds := range got {
		if strings.HasPrefix(id, "prn:paracetamol@") {
			prn = append(prn, id)
			if w := []dispenser.Kind{start, disp, taken}; !slices.Equal(kinds, w) {
				t.Errorf("events of %s = %v, want %v", id, kinds, w)
			}
		}
	}
	if len(prn) != 1 {
		t.Errorf("as-needed doses = %v, want exactly one", prn)
	}
	if n := countKind(evs, dispenser.KindPRNRefused); n != 1 {
		t.Errorf("prn_refused events = %d, want 1", n)
	}
	for _, ev := range evs {
		if ev.DoseID == "lisinopril@2027-03-14T02:30" && ev.Kind == due {
			if want := time.Date(2027, 3, 14, 7, 0, 0, 0, time.UTC); !ev.Scheduled.Equal(want) {
				t.Errorf("lisinopril scheduled = %v, want %v (03:00 EDT)", ev.Scheduled, want)
			}
		}
	}
	// Nothing else was dispensed: the simulated world agrees with the log.
	var world struct {
		Compartments []struct {
			ID, Dispensed int
		}
	}
	json.Unmarshal(d.do("GET", "/api/sim/world", nil, 200), &world)
	wantDispensed := map[int]int{1: 2, 2: 1, 3: 2}
	for _, c := range world.Compartments {
		if c.Dispensed != wantDispensed[c.ID] {
			t.Errorf("world: compartment %d dispensed %d pills, want %d", c.ID, c.Dispensed, wantDispensed[c.ID])
		}
	}
}

func countKind(evs []dispenser.Event, k dispenser.Kind) int {
	n := 0
	for _, ev := range evs {
		if ev.Kind == k {
			n++
		}
	}
	return n
}

// TestKillMidDispense kills the daemon with SIGKILL while the motor turns;
// the restarted daemon, meeting the same simulated world, records the dose
// as uncertain and never turns the motor for it again (invariant 1).
func TestKillMidDispense(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the daemon binary")
	}
	// A slow motor: a unit takes about ten seconds, so the kill lands mid-turn.
	cfg := exampleWith(t, "step_delay: 2ms", "step_delay: 20ms")
	data := t.TempDir()
	start := time.Date(2027, 1, 12, 8, 0, 0, 0, time.FixedZone("EST", -5*3600)).Format(time.RFC3339)
	d := startDaemon(t, cfg, data, "--sim-start", start)
	d.do("POST", "/api/sim/button", nil, 202)
	started := d.waitFor(dispenser.KindDispenseStarted, 0)
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	d.cmd.Wait()

	d2 := startDaemon(t, cfg, data)
	d2.waitFor(dispenser.KindUncertain, started.Seq)
	before := countKind(d2.events(0), dispenser.KindDispenseStarted)
	d2.do("POST", "/api/sim/button?wait=1", nil, 200)
	evs := d2.events(0)
	if n := countKind(evs, dispenser.KindDispenseStarted); n != before {
		t.Errorf("dispense_started after restart and press = %d, want %d", n, before)
	}
	if got := kindsByDose(evs)[started.DoseID]; !slices.Equal(got[len(got)-2:], []dispenser.Kind{dispenser.KindDispenseStarted, dispenser.KindUncertain}) {
		t.Errorf("events of %s = %v, want to end in dispense_started, uncertain", started.DoseID, got)
	}
	var world struct {
		Compartments []struct{ ID, Dispensed int }
	}
	json.Unmarshal(d2.do("GET", "/api/sim/world", nil, 200), &world)
	for _, c := range world.Compartments {
		if c.Dispensed > 1 {
			t.Errorf("world: compartment %d dispensed %d pills for one dose", c.ID, c.Dispensed)
		}
	}
}
