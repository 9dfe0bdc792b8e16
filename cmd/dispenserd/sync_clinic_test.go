package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/uplink"
	"github.com/pillbox/pillbox/dispenser"
)

// demoClinic is a run of the real adherenced binary with --demo.
type demoClinic struct {
	base, password, dispenserConfig string
}

// startDemoClinic builds adherenced, runs it with --demo on a free port
// (its demo dispenser config written from the example), and returns once
// it is ready.
func startDemoClinic(t *testing.T) demoClinic {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "adherenced")
	build := exec.Command("go", "build", "-o", bin, "../adherenced")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build adherenced: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	cmd := exec.Command(bin, "--demo", "--data", filepath.Join(dir, "clinic"), "--listen", addr,
		"--demo-dispenser-config", "../../examples/dispenser.yaml")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("adherenced log:\n%s", logs.String())
		}
	})
	c := demoClinic{base: "http://" + addr}
	lines := bufio.NewScanner(stdout)
	for c.dispenserConfig == "" && lines.Scan() {
		if pw, ok := strings.CutPrefix(lines.Text(), "sign in: demo / "); ok {
			c.password = pw
		}
		if p, ok := strings.CutPrefix(lines.Text(), "dispenser config: "); ok {
			c.dispenserConfig = p
		}
	}
	go io.Copy(io.Discard, stdout)
	if c.password == "" || c.dispenserConfig == "" {
		t.Fatalf("adherenced --demo printed no password or dispenser config; log:\n%s", logs.String())
	}
	if !filepath.IsAbs(c.dispenserConfig) {
		c.dispenserConfig = filepath.Join(dir, "clinic", filepath.Base(c.dispenserConfig))
	}
	return c
}

// signIn signs in as the demo clinician through the login form and
// returns a client holding the session.
func (c demoClinic) signIn(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := cl.Get(c.base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	u, _ := url.Parse(c.base)
	var csrf string
	for _, ck := range jar.Cookies(u) {
		if ck.Name == "pillbox_login" {
			csrf = ck.Value
		}
	}
	resp, err = cl.PostForm(c.base+"/login", url.Values{"username": {"demo"}, "password": {c.password}, "csrf": {csrf}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/panel" {
		t.Fatalf("sign in = %d at %s, want the panel", resp.StatusCode, resp.Request.URL)
	}
	return cl
}

func getJSON(t *testing.T, cl *http.Client, u string, v any) {
	t.Helper()
	resp, err := cl.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s = %d %s", u, resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
}

// TestSyncAfter1970Boot runs the real dispenserd, booted at the untrusted
// 1970 time of a Pi without a real-time clock, against the real adherenced
// (--demo). Before its clock is set, its boot event reaches the clinic,
// marked as logged before clock trust; after NTP steps and syncs the clock
// (through the sim API), the clinic acknowledges the whole log and shows
// the 1970 events as untrusted and the rest as plain events.
func TestSyncAfter1970Boot(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the daemon and adherenced binaries")
	}
	cl := startDemoClinic(t)
	// The dispenser syncs through a proxy that signals each answer the
	// clinic gave, so the test looks at the pusher's state when something
	// happened instead of on a timer.
	answered := make(chan struct{}, 1)
	target, err := url.Parse(cl.base)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rp.ServeHTTP(w, r)
		select {
		case answered <- struct{}{}:
		default:
		}
	}))
	t.Cleanup(proxy.Close)
	text, err := os.ReadFile(cl.dispenserConfig)
	if err != nil || !bytes.Contains(text, []byte(cl.base)) {
		t.Fatalf("the demo's dispenser config %s does not name the clinic %s (%v)", cl.dispenserConfig, cl.base, err)
	}
	// Beside the demo's, so that the paths in it still resolve.
	proxied := filepath.Join(filepath.Dir(cl.dispenserConfig), "dispenser-proxied.yaml")
	if err := os.WriteFile(proxied, bytes.ReplaceAll(text, []byte(cl.base), []byte(proxy.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, proxied, t.TempDir(), "--sim-start", "1970-01-01T00:05:00Z", "--sim-unsynced")
	syncStatus := func() uplink.Status {
		var s uplink.Status
		if err := json.Unmarshal(d.do("GET", "/api/sync", nil, http.StatusOK), &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	// until looks at the pusher after each answer of the clinic; the
	// pusher records an answer just after it arrives, so a short wait
	// looks again once without a new answer.
	until := func(what string, ok func(uplink.Status) bool) uplink.Status {
		t.Helper()
		deadline := time.After(60 * time.Second)
		for {
			s := syncStatus()
			if ok(s) {
				return s
			}
			select {
			case <-answered:
			case <-time.After(100 * time.Millisecond):
			case <-deadline:
				t.Fatalf("%s: not within 60 s; GET /api/sync = %+v", what, s)
			}
		}
	}

	// Still at 1970: the boot is acknowledged all the same.
	before := until("the 1970 boot acknowledged", func(s uplink.Status) bool { return s.AckedSeq >= 1 })
	var st dispenser.Status
	json.Unmarshal(d.do("GET", "/api/status", nil, http.StatusOK), &st)
	if st.ClockTrusted {
		t.Fatal("the dispenser trusts its clock before NTP synced it")
	}
	if before.LastError != "" {
		t.Errorf("GET /api/sync before the clock is set = %+v, want no error", before)
	}

	// NTP steps the clock to now and reports it synchronised.
	now := time.Now().UTC().Truncate(time.Second)
	d.do("POST", "/api/sim/clock", map[string]string{"set": now.Format(time.RFC3339)}, http.StatusOK)
	d.do("POST", "/api/sim/ntp", map[string]bool{"synced": true}, http.StatusOK)
	d.waitFor(dispenser.KindClockTrusted, 0)
	var last int64
	after := until("the whole log acknowledged", func(s uplink.Status) bool {
		evs := d.events(0)
		last = evs[len(evs)-1].Seq
		return s.AckedSeq == last
	})

	// What the clinic holds and shows.
	web := cl.signIn(t)
	var panel struct{ Patients []clinic.PanelEntry }
	getJSON(t, web, cl.base+"/api/v1/patients", &panel)
	if len(panel.Patients) != 1 {
		t.Fatalf("demo panel = %+v, want one patient", panel)
	}
	pt := panel.Patients[0].Patient.ID
	var got struct{ Events []clinic.SyncedEvent }
	getJSON(t, web, cl.base+"/api/v1/patients/"+pt+"/events?from=1970-01-01T00:00:00Z&to="+now.Add(time.Hour).Format(time.RFC3339), &got)
	mine := d.events(0)
	if int64(len(got.Events)) < last {
		t.Fatalf("clinic holds %d events, want the %d acknowledged", len(got.Events), last)
	}
	byID := map[string]clinic.SyncedEvent{}
	for _, e := range got.Events {
		byID[e.ID] = e
	}
	untrusted := 0
	for _, ev := range mine[:last] {
		e, ok := byID[ev.ID]
		wantClock := ""
		if ev.ClockUntrusted {
			wantClock = clinic.ClockUntrusted
			untrusted++
		}
		if !ok || e.Seq != ev.Seq || !e.Time.Equal(ev.Time) || e.Clock != wantClock {
			t.Errorf("clinic's event %d %s (%s at %s) = %+v, want it stored with clock %q", ev.Seq, ev.ID, ev.Kind, ev.Time, e, wantClock)
		}
	}
	if first := mine[0]; first.Kind != dispenser.KindBoot || !first.ClockUntrusted || first.Time.Year() != 1970 {
		t.Errorf("the dispenser's first event = %+v, want the 1970 boot marked clock_untrusted", first)
	}
	var view struct{ Devices []clinic.Device }
	getJSON(t, web, cl.base+"/api/v1/patients/"+pt, &view)
	if len(view.Devices) != 1 || view.Devices[0].ClockWrong() || !strings.HasPrefix(view.Devices[0].Software, "dispenserd ") {
		t.Errorf("clinic's device = %+v, want its clock right at the last heartbeat and its software named", view.Devices)
	}
	resp, err := web.Get(cl.base + "/patients/" + pt)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "logged before the dispenser&#39;s clock was set") {
		t.Error("the patient page does not list the events logged before the clock was set")
	}
	t.Logf("after a 1970 boot and NTP sync: acked_seq %d of %d events; clinic holds %d, %d marked clock untrusted (shown as "+
		"\"logged before the dispenser's clock was set\"), the rest plain; acked_seq was %d before the sync",
		after.AckedSeq, last, len(got.Events), untrusted, before.AckedSeq)
}

// TestSyncTokenFileMode: a device token file others can read makes the
// daemon warn at start, as the Twilio token's does.
func TestSyncTokenFileMode(t *testing.T) {
	for _, tc := range []struct {
		mode os.FileMode
		warn bool
	}{{0o600, false}, {0o644, true}} {
		dir := t.TempDir()
		cfg := syncConfig(t, dir, "http://127.0.0.1:9", "dv_0123456789abcdef0123", "pbd_test")
		if err := os.Chmod(filepath.Join(dir, "token"), tc.mode); err != nil {
			t.Fatal(err)
		}
		var logs strings.Builder
		r, err := start(t.Context(), options{config: cfg, sim: true, data: filepath.Join(dir, "data"), listen: "127.0.0.1:0"},
			slog.New(slog.NewTextHandler(&logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		r.close()
		if got := strings.Contains(logs.String(), "device token file is readable by others"); got != tc.warn {
			t.Errorf("token file mode %04o: warned %v, want %v; log:\n%s", tc.mode, got, tc.warn, logs.String())
		}
	}
}
