package main

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/hw/vital"
)

// dependOnAdherenced makes the files adherenced is built from part of this
// test's cache key: go test knows the packages pillload imports, not
// those of a binary the test builds, so a change to cmd/adherenced alone
// would otherwise replay a stale pass.
func dependOnAdherenced(t *testing.T) {
	t.Helper()
	mod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(strings.TrimSpace(string(mod)))
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.Dir}}", "github.com/pillbox/pillbox/cmd/adherenced").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dir := range strings.Fields(string(out)) {
		if !strings.HasPrefix(dir, root+string(filepath.Separator)) {
			continue // the standard library and modules: in go.sum's keys already
		}
		// Subfolders too: templates and static files are embedded.
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				_, err = os.Stat(path)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// The CI-size run: 20 dispensers for a simulated day against a real
// adherenced, with every event and reading stored exactly once and no
// error. (Heartbeats every 30 minutes keep each dispenser within the
// clinic's per-token burst, so that the run takes seconds.)
func TestSmallRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts adherenced")
	}
	dependOnAdherenced(t)
	bin, err := buildAdherenced(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	o := options{n: 20, days: 1, interval: 30 * time.Minute, rate: pace{burst: 100, perSec: 3.5}, seed: 7, adherenced: bin}
	var log strings.Builder
	r, err := load(t.Context(), o, &log)
	if err != nil {
		t.Fatalf("load: %v\n%s", err, log.String())
	}
	var out strings.Builder
	r.write(&out)
	t.Log("\n" + out.String())
	requests, stored, dups, errs, sent := r.totals()
	var evs, rds int
	for _, d := range r.devs {
		evs += len(d.events)
		rds += len(d.readings)
	}
	if evs < 20*10 || rds < 20*6 {
		t.Errorf("%d events and %d readings sent, want at least 10 and 6 a dispenser-day", evs, rds)
	}
	if requests < r.plannedPushes() {
		t.Errorf("%d requests, want at least one per planned push (%d)", requests, r.plannedPushes())
	}
	if errs != 0 || dups != 0 {
		t.Errorf("%d errors and %d duplicates, want none", errs, dups)
	}
	if stored != sent {
		t.Errorf("acknowledged %d stored, want %d (every event and reading once)", stored, sent)
	}
	if !r.checkedDB || len(r.problems) > 0 {
		t.Errorf("database checked: %t; problems: %q; want checked and none", r.checkedDB, r.problems)
	}
	if !r.ok() || !strings.Contains(out.String(), "exactly once: every event and reading acknowledged, and stored once in the database") {
		t.Errorf("the report does not say the run passed:\n%s", out.String())
	}
}

func TestPlan(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	ev := func(m int) dispenser.Event { return dispenser.Event{Time: at(m)} }
	rd := func(m int) vital.Reading { return vital.Reading{Time: at(m)} }
	tests := []struct {
		name  string
		evs   []dispenser.Event
		rs    []vital.Reading
		phase int
		want  []push
	}{
		{"heartbeats only", nil, nil, 5, []push{{at(5), 0, 0}, {at(25), 0, 0}, {at(45), 0, 0}}},
		{"events at one instant go together; a push restarts the heartbeat period",
			[]dispenser.Event{ev(10), ev(10)}, []vital.Reading{rd(30)}, 0,
			[]push{{at(0), 0, 0}, {at(10), 2, 0}, {at(30), 2, 1}, {at(50), 2, 1}}},
		{"an event and a reading at one instant go together", []dispenser.Event{ev(15)}, []vital.Reading{rd(15)}, 0,
			[]push{{at(0), 0, 0}, {at(15), 1, 1}, {at(35), 1, 1}, {at(55), 1, 1}}},
		{"an event after the end is still pushed", []dispenser.Event{ev(70)}, nil, 0,
			[]push{{at(0), 0, 0}, {at(20), 0, 0}, {at(40), 0, 0}, {at(70), 1, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := plan(tt.evs, tt.rs, t0, at(60), time.Duration(tt.phase)*time.Minute, 20*time.Minute)
			if len(got) != len(tt.want) {
				t.Fatalf("plan = %v, want %v", got, tt.want)
			}
			for i := range got {
				if !got[i].at.Equal(tt.want[i].at) || got[i].events != tt.want[i].events || got[i].readings != tt.want[i].readings {
					t.Errorf("push %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// The device gives the Pusher only what its log holds so far, in
// batches.
func TestDeviceSource(t *testing.T) {
	d := &device{log: "load-x-0"}
	for i := int64(1); i <= 5; i++ {
		d.events = append(d.events, dispenser.Event{Seq: i})
	}
	d.visibleEvents = 4
	tests := []struct {
		after    int64
		limit    int
		wantSeqs []int64
	}{
		{0, 10, []int64{1, 2, 3, 4}},
		{2, 10, []int64{3, 4}},
		{0, 2, []int64{1, 2}},
		{4, 10, nil},
	}
	for _, tt := range tests {
		got, _ := d.Since(context.Background(), tt.after, tt.limit)
		var seqs []int64
		for _, e := range got {
			seqs = append(seqs, e.Seq)
		}
		if len(seqs) != len(tt.wantSeqs) || (len(seqs) > 0 && (seqs[0] != tt.wantSeqs[0] || seqs[len(seqs)-1] != tt.wantSeqs[len(tt.wantSeqs)-1])) {
			t.Errorf("Since(%d, %d) = seqs %v, want %v", tt.after, tt.limit, seqs, tt.wantSeqs)
		}
	}
}

func TestBucket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := pace{burst: 3, perSec: 2}.bucket()
		start := time.Now()
		want := []time.Duration{0, 0, 0, 500 * time.Millisecond, time.Second, 1500 * time.Millisecond}
		for i, w := range want {
			if err := b.wait(t.Context()); err != nil {
				t.Fatal(err)
			}
			if got := time.Since(start); got != w {
				t.Errorf("request %d at %v, want %v (a burst of 3, then 2 a second)", i+1, got, w)
			}
		}
	})
}

func TestPercentile(t *testing.T) {
	var hundred []time.Duration
	for i := 1; i <= 100; i++ {
		hundred = append(hundred, time.Duration(i)*time.Millisecond)
	}
	tests := []struct {
		xs   []time.Duration
		q    float64
		want time.Duration
	}{
		{hundred, 0.5, 50 * time.Millisecond},
		{hundred, 0.99, 99 * time.Millisecond},
		{hundred, 1, 100 * time.Millisecond},
		{hundred, 0, time.Millisecond},
		{[]time.Duration{7}, 0.99, 7},
		{nil, 0.5, 0},
	}
	for _, tt := range tests {
		if got := percentile(tt.xs, tt.q); got != tt.want {
			t.Errorf("percentile(%d values, %v) = %v, want %v", len(tt.xs), tt.q, got, tt.want)
		}
	}
}

func TestExactlyOnce(t *testing.T) {
	tests := []struct {
		name         string
		stored, sent []string
		want         string // "" for no problem
	}{
		{"all once", []string{"a", "b"}, []string{"a", "b"}, ""},
		{"one missing", []string{"a"}, []string{"a", "b"}, "1 missing, 0 stored more than once, 0 never sent"},
		{"one twice", []string{"a", "b", "b"}, []string{"a", "b"}, "0 missing, 1 stored more than once, 0 never sent"},
		{"one never sent", []string{"a", "b", "z"}, []string{"a", "b"}, "0 missing, 0 stored more than once, 1 never sent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := exactlyOnce("dv_1", "events", tt.stored, tt.sent)
			if (len(got) == 0) != (tt.want == "") || (tt.want != "" && !strings.Contains(got[0], tt.want)) {
				t.Errorf("exactlyOnce(%q, %q) = %q, want %q", tt.stored, tt.sent, got, tt.want)
			}
		})
	}
}

func TestReadDevices(t *testing.T) {
	tests := []struct {
		name, text string
		n          int
		want       []credential
		wantErr    string
	}{
		{"two of three", "# from pillctl\ndv_1 tok1\n\ndv_2 tok2\ndv_3 tok3\n", 2,
			[]credential{{device: "dv_1", token: "tok1"}, {device: "dv_2", token: "tok2"}}, ""},
		{"too few", "dv_1 tok1\n", 2, nil, "has 1 dispensers, --n asks for 2"},
		{"not two words", "dv_1\n", 1, nil, ":1: want \"DEVICE-ID TOKEN\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "devices.txt")
			if err := os.WriteFile(path, []byte(tt.text), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := readDevices(path, tt.n)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("readDevices = %v, %v; want an error with %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || len(got) != len(tt.want) {
				t.Fatalf("readDevices = %v, %v; want %v", got, err, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("device %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestLimits(t *testing.T) {
	wall := 10 * time.Second
	start := usage{total: 0, idle: 0, serverOK: true}
	tests := []struct {
		name string
		end  usage
		want string
	}{
		{"disk", usage{total: 2000, idle: 100, iowait: 800, server: 5 * time.Second, serverOK: true}, "the disk"},
		{"all CPUs busy", usage{total: 2000, idle: 50, server: 12 * time.Second, self: 6 * time.Second, serverOK: true}, "all busy: adherenced 1.20 cores, pillload 0.60"},
		{"one core, the rest idle", usage{total: 2000, idle: 900, server: 10 * time.Second, serverOK: true}, "serial work: it used 1.00 cores while 45% of the CPUs stayed idle"},
		{"nothing stands out", usage{total: 2000, idle: 300, server: 15 * time.Second, serverOK: true}, "no single resource"},
	}
	for _, tt := range tests {
		if got := limits(wall, start, tt.end, 2); !strings.Contains(got, tt.want) {
			t.Errorf("%s: limits = %q, want it to say %q", tt.name, got, tt.want)
		}
	}
}

func TestOptionsCheck(t *testing.T) {
	good := options{n: 1, days: 1, interval: time.Minute, rate: pace{burst: 1}}
	tests := []struct {
		name   string
		change func(o *options)
		want   string // "" for valid
	}{
		{"defaults", func(o *options) {}, ""},
		{"url without devices", func(o *options) { o.url = "http://127.0.0.1:8090" }, "--url and --devices go together"},
		{"pid without url", func(o *options) { o.serverPid = 42 }, "--server-pid goes with --url"},
		{"interval too short", func(o *options) { o.interval = time.Second }, "--interval"},
		{"no dispensers", func(o *options) { o.n = 0 }, "--n and --days"},
	}
	for _, tt := range tests {
		o := good
		tt.change(&o)
		err := o.check(0)
		if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: check = %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestErrKind(t *testing.T) {
	tests := []struct{ msg, want string }{
		{`uplink: post: Post "http://127.0.0.1:1/api/v1/sync": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`, "no answer within 30 s (a dispenser's timeout)"},
		{"uplink: server answered 503: Service Unavailable", "HTTP 503"},
		{"uplink: server rejected the batch: 401: unknown token", "HTTP 401"},
		{`uplink: post: Post "http://127.0.0.1:1/api/v1/sync": dial tcp 127.0.0.1:1: connect: connection refused`, "connection"},
		{"uplink: the server stored the batch but did not advance its acknowledgement", "other"},
	}
	for _, tt := range tests {
		if got := errKind(tt.msg); got != tt.want {
			t.Errorf("errKind(%q) = %q, want %q", tt.msg, got, tt.want)
		}
	}
}

func TestProcField(t *testing.T) {
	self := os.Getpid()
	tests := []struct {
		file, field string
		wantOK      bool
	}{
		{"status", "VmHWM", true},
		{"io", "write_bytes", true},
		{"status", "NoSuchField", false},
	}
	for _, tt := range tests {
		n, ok := procField(self, tt.file, tt.field)
		if ok != tt.wantOK || (ok && n <= 0 && tt.field == "VmHWM") {
			t.Errorf("procField(self, %s, %s) = %d, %t; want ok %t (and a peak RSS above 0)", tt.file, tt.field, n, ok, tt.wantOK)
		}
	}
	if _, ok := procCPU(self); !ok {
		t.Errorf("procCPU(self) found no CPU time in /proc/%d/stat", self)
	}
	// VmHWM is in kB in the file, in bytes here.
	if n, _ := procField(self, "status", "VmHWM"); n%1024 != 0 || n < 1<<20 {
		t.Errorf("procField(self, status, VmHWM) = %d, want bytes (a multiple of 1024, at least 1 MiB)", n)
	}
}
