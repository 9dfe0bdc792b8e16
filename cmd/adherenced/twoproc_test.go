package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/clinic/postgres"
	"github.com/pillbox/pillbox/adherence/uplink"
	"github.com/pillbox/pillbox/hw/vital"
	"github.com/pillbox/pillbox/internal/pgtest"
	"github.com/pillbox/pillbox/schedule"
)

// TestMain gives the two-process test its PostgreSQL (skipped, loudly,
// without one; mandatory with PILLBOX_REQUIRE_POSTGRES=1).
func TestMain(m *testing.M) { pgtest.Main(m, pgtest.Settings{}) }

// proc is a built adherenced running as a process of its own.
type proc struct {
	url string
	cmd *exec.Cmd
	log bytes.Buffer
}

var readyListen = regexp.MustCompile(`adherenced: ready.* listen=(\S+)`)

// startProc runs bin on db on a free loopback port until the test ends.
func startProc(t *testing.T, bin, db string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, "--db", db, "--data", t.TempDir(), "--listen", "127.0.0.1:0")}
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "TWILIO_") { // never a real SMS provider
			p.cmd.Env = append(p.cmd.Env, e)
		}
	}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.log.WriteString(sc.Text() + "\n")
			if m := readyListen.FindStringSubmatch(sc.Text()); m != nil {
				ready <- m[1]
			}
		}
	}()
	t.Cleanup(func() {
		p.cmd.Process.Signal(os.Interrupt)
		<-done
		if err := p.cmd.Wait(); err != nil {
			t.Errorf("adherenced %s: %v\n%s", p.url, err, p.log.String())
		}
	})
	select {
	case p.url = <-ready:
	case <-done:
		t.Fatalf("adherenced exited before it was ready:\n%s", p.log.String())
	case <-time.After(time.Minute):
		t.Fatalf("adherenced not ready after a minute:\n%s", p.log.String())
	}
	return p
}

// TestTwoProcessesOnePostgres runs two real adherenced processes on one
// PostgreSQL database. A dispenser syncs to them alternately, and sends
// each batch again to both at once while the first try is in flight (a
// retry after a timeout, through a load balancer): every event and
// reading is stored once, every answer acknowledges the whole batch. Sign-in
// delays earned on one process hold on the other, and a session made on
// one is good on the other until the account is disabled.
func TestTwoProcessesOnePostgres(t *testing.T) {
	db := pgtest.New(t)
	ctx := context.Background()
	bin := filepath.Join(t.TempDir(), "adherenced")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	st, err := postgres.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cs := clinic.New(st, schedule.NewRealClock())
	cli := clinic.CLI("test")
	pt, err := cs.CreatePatient(ctx, cli, "Ann Lee")
	if err != nil {
		t.Fatal(err)
	}
	dev, tok, err := cs.RegisterDevice(ctx, cli, pt.ID, "kitchen")
	if err != nil {
		t.Fatal(err)
	}
	const password = "correct horse battery staple"
	users := map[string]clinic.User{}
	for _, name := range []string{"ursula", "victor"} {
		u, err := cs.CreateUser(ctx, cli, name, name, clinic.RoleClinician, password)
		if err != nil {
			t.Fatal(err)
		}
		users[name] = u
	}
	procs := []*proc{startProc(t, bin, db), startProc(t, bin, db)}

	// The device: 20 batches of 25 events and 1 reading.
	const batches, per = 20, 25
	base := time.Now().UTC().Add(-48 * time.Hour).Truncate(time.Second)
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	sync1 := func(p *proc, body []byte) (uplink.Ack, error) {
		req, err := http.NewRequest("POST", p.url+uplink.Path, bytes.NewReader(body))
		if err != nil {
			return uplink.Ack{}, err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return uplink.Ack{}, err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return uplink.Ack{}, fmt.Errorf("POST %s%s = %d %s", p.url, uplink.Path, resp.StatusCode, b)
		}
		var ack uplink.Ack
		return ack, json.Unmarshal(b, &ack)
	}
	var sentIDs []string
	for k := range batches {
		first := int64(k*per + 1)
		b := uplink.Batch{Version: uplink.Version, Device: dev.ID, Log: "log-1",
			Heartbeat: uplink.Heartbeat{Time: time.Now().UTC(), LastSeq: first + per - 1, LastReadingSeq: int64(k + 1), Software: "test"}}
		for i := range int64(per) {
			seq := first + i
			at := base.Add(time.Duration(seq) * time.Minute)
			b.Events = append(b.Events, uplink.Event{Seq: seq, ID: fmt.Sprintf("ev-%04d", seq), Time: at, Kind: "dispensed",
				DoseID: "metformin@" + at.Format(time.RFC3339), Scheduled: at, Medication: "metformin", Compartment: 1})
			sentIDs = append(sentIDs, fmt.Sprintf("ev-%04d", seq))
		}
		b.Readings = []uplink.Reading{{Seq: int64(k + 1), ID: fmt.Sprintf("rd-%02d", k+1), Quantity: string(vital.Systolic), Value: 120,
			Unit: "mmHg", Time: base.Add(time.Duration(k) * time.Hour), DeviceTime: true}}
		body, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		// The batch to this turn's process, and at once again to both.
		targets := []*proc{procs[k%2], procs[0], procs[1]}
		acks := make([]uplink.Ack, len(targets))
		errs := make([]error, len(targets))
		var wg sync.WaitGroup
		for i, p := range targets {
			wg.Go(func() { acks[i], errs[i] = sync1(p, body) })
		}
		wg.Wait()
		stored := 0
		for i, ack := range acks {
			if errs[i] != nil {
				t.Fatalf("batch %d try %d: %v", k, i, errs[i])
			}
			if ack.AckedSeq != first+per-1 || ack.AckedReadingSeq != int64(k+1) || ack.Stored+ack.Duplicates != per+1 {
				t.Errorf("batch %d try %d: ack %+v, want acked %d and %d, %d items counted", k, i, ack, first+per-1, k+1, per+1)
			}
			stored += ack.Stored
		}
		if stored != per+1 {
			t.Errorf("batch %d: stored %d over 3 concurrent tries on 2 processes, want %d (each item once)", k, stored, per+1)
		}
	}
	evs, err := st.SyncedEvents(ctx, clinic.EventQuery{PatientID: pt.ID, From: base, To: time.Now(), Limit: 10 * batches * per})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, e := range evs {
		count[e.ID]++
	}
	for _, id := range sentIDs {
		if count[id] != 1 {
			t.Errorf("event %s stored %d times, want once", id, count[id])
		}
	}
	if len(evs) != len(sentIDs) {
		t.Errorf("events stored = %d, want %d", len(evs), len(sentIDs))
	}
	if rs, err := st.PatientReadings(ctx, pt.ID, base.Add(-time.Hour), time.Now(), 1000); err != nil || len(rs) != batches {
		t.Errorf("readings stored = %d, %v; want %d", len(rs), err, batches)
	}

	// Sign-in delays: failures on alternate processes count together.
	login := func(p *proc, user, pw string) *http.Response {
		t.Helper()
		form := url.Values{"username": {user}, "password": {pw}, "csrf": {"c"}, "next": {"/panel"}}
		req, err := http.NewRequest("POST", p.url+"/login", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: "pillbox_login", Value: "c"})
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	free := clinic.DefaultAccountDelay.Free
	for i := range free + 1 {
		if resp := login(procs[i%2], "ursula", "wrong"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failed sign-in %d = %d, want 401", i+1, resp.StatusCode)
		}
	}
	// The last failure earned a wait of DefaultAccountDelay.First (1 s):
	// the other process refuses even the right password within it.
	if resp := login(procs[(free+1)%2], "ursula", password); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("sign-in on the other process right after %d failures = %d, want 429", free+1, resp.StatusCode)
	}

	// Sessions: made on one process, good on the other.
	resp := login(procs[0], "victor", password)
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "pillbox_session" {
			session = c
		}
	}
	if resp.StatusCode != http.StatusSeeOther || session == nil {
		t.Fatalf("sign-in on process A = %d, cookies %v; want 303 with a session", resp.StatusCode, resp.Cookies())
	}
	panel := func(p *proc) int {
		req, _ := http.NewRequest("GET", p.url+"/panel", nil)
		req.AddCookie(session)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := panel(procs[1]); got != http.StatusOK {
		t.Errorf("GET /panel on process B with A's session = %d, want 200", got)
	}
	if err := cs.SetUserDisabled(ctx, cli, users["victor"].ID, true); err != nil {
		t.Fatal(err)
	}
	for i, p := range procs {
		if got := panel(p); got == http.StatusOK {
			t.Errorf("GET /panel on process %d after the account was disabled = %d, want refused", i, got)
		}
	}
}
