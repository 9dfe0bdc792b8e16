// Package clinictest builds the clinic the tests of adherence/clinic and
// its subpackages share: two clinicians on separate panels, an admin, a
// patient on each panel with a registered device, tokens of each kind, on
// an in-memory SQLite store and a simulated clock.
package clinictest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/clinic/sqlite"
	"github.com/pillbox/pillbox/adherence/uplink"
	"github.com/pillbox/pillbox/schedule"
)

// T0 is when the fixture's clock starts.
var T0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// Cheap makes password hashing fast enough for tests; the production
// cost is tested once (TestPasswordDefaultCost).
var Cheap = clinic.PasswordParams{Time: 1, MemoryKiB: 64, Threads: 1}

// Password is every fixture account's password.
const Password = "correct horse battery"

// Fixture is the clinic the tests run against.
type Fixture struct {
	Ctx    context.Context
	Clock  *schedule.SimClock
	Store  *sqlite.Store
	Clinic *clinic.Service

	Alice, Bob, Admin clinic.User    // Alice has patient A, Bob patient B
	PatA, PatB        clinic.Patient // PatA on Alice's panel, PatB on Bob's
	DevA, DevB        clinic.Device
	TokA, TokB        string // device tokens
	APIAlice, APIBob  string // API tokens
	RevokedAPI        string // Alice's revoked API token
	RevokedDevice     string // DevA's token before rotation
}

// New builds the fixture; its store closes when the test ends.
func New(t testing.TB) *Fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.OpenMemory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return Populate(t, st, schedule.NewSimClock(T0))
}

// Populate builds the fixture on st, which must be empty.
func Populate(t testing.TB, st *sqlite.Store, clock *schedule.SimClock) *Fixture {
	t.Helper()
	ctx := context.Background()
	f := &Fixture{Ctx: ctx, Clock: clock, Store: st, Clinic: clinic.New(st, clock)}
	c := f.Clinic
	c.Password = Cheap
	cli := clinic.CLI("test")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var err error
	f.Alice, err = c.CreateUser(ctx, cli, "alice", "Dr Alice", clinic.RoleClinician, Password)
	must(err)
	f.Bob, err = c.CreateUser(ctx, cli, "bob", "Dr Bob", clinic.RoleClinician, Password)
	must(err)
	f.Admin, err = c.CreateUser(ctx, cli, "root", "Admin", clinic.RoleAdmin, Password)
	must(err)
	f.PatA, err = c.CreatePatient(ctx, cli, "Ann Patient")
	must(err)
	f.PatB, err = c.CreatePatient(ctx, cli, "Ben Patient")
	must(err)
	must(c.SetPanel(ctx, cli, f.Alice.ID, f.PatA.ID, true))
	must(c.SetPanel(ctx, cli, f.Bob.ID, f.PatB.ID, true))
	must(c.AddCaregiver(ctx, cli, f.PatA.ID, clinic.Caregiver{Name: "Carol", Phone: "+15555550101"}))
	must(c.AddCaregiver(ctx, cli, f.PatA.ID, clinic.Caregiver{Name: "Dan", Phone: "+15555550102"}))
	f.DevA, f.RevokedDevice, err = c.RegisterDevice(ctx, cli, f.PatA.ID, "kitchen")
	must(err)
	f.TokA, err = c.RotateDeviceToken(ctx, cli, f.DevA.ID)
	must(err)
	f.DevB, f.TokB, err = c.RegisterDevice(ctx, cli, f.PatB.ID, "")
	must(err)
	f.APIAlice, err = c.IssueAPIToken(ctx, cli, f.Alice.ID, "script")
	must(err)
	f.APIBob, err = c.IssueAPIToken(ctx, cli, f.Bob.ID, "")
	must(err)
	f.RevokedAPI, err = c.IssueAPIToken(ctx, cli, f.Alice.ID, "old")
	must(err)
	p, err := c.Authenticate(ctx, f.RevokedAPI)
	must(err)
	must(c.RevokeToken(ctx, cli, p.TokenID))
	return f
}

// BatchJSON is a batch of device's log with n button events from seq
// from on, a minute apart after T0, and a heartbeat at T0.
func BatchJSON(t testing.TB, device, log string, from, n int) string {
	t.Helper()
	b := uplink.Batch{Version: uplink.Version, Device: device, Log: log,
		Heartbeat: uplink.Heartbeat{Time: T0, Software: "test"}}
	for i := range n {
		seq := int64(from + i)
		b.Events = append(b.Events, uplink.Event{Seq: seq, ID: fmt.Sprintf("%s-ev%d", log, seq),
			Time: T0.Add(time.Duration(seq) * time.Minute), Kind: "button"})
	}
	j, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(j)
}

// Batch is BatchJSON decoded as the sync endpoint decodes it.
func Batch(t testing.TB, device, log string, from, n int) *uplink.Batch {
	t.Helper()
	b, err := uplink.DecodeBatch([]byte(BatchJSON(t, device, log, from, n)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Beat syncs a heartbeat of device A (its log "log1" from seq 1, no
// events) and returns whether the silent watcher should be woken.
func (f *Fixture) Beat(t testing.TB) bool {
	t.Helper()
	p, err := f.Clinic.Authenticate(f.Ctx, f.TokA)
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.Clinic.Ingest(f.Ctx, p, Batch(t, f.DevA.ID, "log1", 1, 0), "")
	if err != nil {
		t.Fatal(err)
	}
	return res.Wake
}
