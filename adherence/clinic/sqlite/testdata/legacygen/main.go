// Command legacygen writes a clinic database as adherenced made it before
// the clinic had its own migrations (the device chain at version 7), with
// some of everything in it, and the secrets a test needs to check it.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/pillbox/pillbox/adherence"
	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/uplink"
	"github.com/pillbox/pillbox/notify"
	"github.com/pillbox/pillbox/schedule"
)

type sender struct{}

func (sender) Send(context.Context, string, string) (notify.Sent, error) {
	return notify.Sent{SID: "SM1"}, nil
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func main() {
	ctx := context.Background()
	path := os.Args[1]
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := schedule.NewSimClock(t0)
	st, err := adherence.Open(ctx, path)
	must(err)
	cs, err := clinic.Open(ctx, st, clock)
	must(err)
	cs.Password = clinic.PasswordParams{Time: 1, MemoryKiB: 64, Threads: 1}
	cli := clinic.CLI("legacygen")
	const pw = "correct horse battery"
	alice, err := cs.CreateUser(ctx, cli, "alice", "Dr Alice", clinic.RoleClinician, pw)
	must(err)
	root, err := cs.CreateUser(ctx, cli, "root", "Admin", clinic.RoleAdmin, pw)
	must(err)
	gone, err := cs.CreateUser(ctx, cli, "gone", "Dr Gone", clinic.RoleClinician, pw)
	must(err)
	must(cs.SetUserDisabled(ctx, cli, gone.ID, true))
	ann, err := cs.CreatePatient(ctx, cli, "Ann Patient")
	must(err)
	ben, err := cs.CreatePatient(ctx, cli, "Ben Other")
	must(err)
	must(cs.SetFirstName(ctx, cli, ben.ID, "Benny"))
	must(cs.SetPanel(ctx, cli, alice.ID, ann.ID, true))
	must(cs.RequestPanel(ctx, clinic.Actor{ID: "user:" + root.ID}, root.ID, ben.ID))
	must(cs.AddCaregiver(ctx, cli, ann.ID, clinic.Caregiver{Name: "Carol", Phone: "+15555550101"}))
	must(cs.AddCaregiver(ctx, cli, ann.ID, clinic.Caregiver{Name: "Dan", Phone: "+15555550102"}))
	dev, devTok, err := cs.RegisterDevice(ctx, cli, ann.ID, "kitchen")
	must(err)
	devB, _, err := cs.RegisterDevice(ctx, cli, ben.ID, "")
	must(err)
	must(cs.SetDeviceDisabled(ctx, cli, devB.ID, true))
	apiTok, err := cs.IssueAPIToken(ctx, cli, alice.ID, "script")
	must(err)
	oldTok, err := cs.IssueAPIToken(ctx, cli, alice.ID, "old")
	must(err)
	p, err := cs.Authenticate(ctx, oldTok)
	must(err)
	must(cs.RevokeToken(ctx, cli, p.TokenID))

	// A synthetic fortnight on a second device of Ann's, with a profile.
	ny, err := time.LoadLocation("America/New_York")
	must(err)
	_, _, err = cs.SeedSynthetic(ctx, cli, ann.ID, 14, 7, ny)
	must(err)
	// A batch with a flagged time, a set-aside item and a reading.
	pd, err := cs.Authenticate(ctx, devTok)
	must(err)
	raw := fmt.Sprintf(`{"version":1,"device":%q,"log":"log1","heartbeat":{"time":%q,"uptime_s":1,"last_seq":0,"last_reading_seq":0,"software":"1.0"},`+
		`"events":[{"seq":1,"id":"ev1","time":"1970-01-01T00:05:00Z","kind":"button","clock_untrusted":true},`+
		`{"seq":2,"id":"ev2","time":%q,"kind":"missed","dose_id":"d1","medication":"m1"},`+
		`{"seq":3,"id":"ev3","time":"2199-01-01T00:00:00Z","kind":"button"},`+
		`{"seq":4,"id":"ev4","time":%q,"kind":"button","compartment":2000}],`+
		`"readings":[{"seq":1,"id":"r1","quantity":"pulse","value":72,"unit":"/min","time":%q,"device_time":true,"context":{"a":"b"}}]}`,
		dev.ID, t0.Format(time.RFC3339), t0.Add(-time.Hour).Format(time.RFC3339), t0.Format(time.RFC3339),
		t0.Add(-time.Minute).Format(time.RFC3339))
	b, err := uplink.DecodeBatch([]byte(raw))
	must(err)
	fmt.Fprintln(os.Stderr, "set aside:", len(b.SetAside))
	_, err = cs.Ingest(ctx, pd, b, "192.0.2.1")
	must(err)
	must(cs.MarkFalseMiss(ctx, clinic.Actor{ID: "user:" + alice.ID}, ann.ID, "d1", "blister pack", clinic.SourceClinician))

	// Silent: the watcher texts both caregivers.
	w, err := clinic.NewWatcher(clinic.WatcherConfig{Store: cs, Clock: clock, Texter: sender{}})
	must(err)
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { w.Run(wctx); close(done) }()
	time.Sleep(200 * time.Millisecond)
	clock.Advance(31 * time.Minute)
	time.Sleep(500 * time.Millisecond)
	cancel()
	<-done

	// A session, and sign-in failures.
	cookie, _, err := cs.NewSession(ctx, clinic.Actor{ID: "user:" + alice.ID, Remote: "192.0.2.1"}, alice.ID)
	must(err)
	_, err = cs.LoginFailed(ctx, clinic.KeyDelay{Key: clinic.AccountKey("alice"), Delay: clinic.DefaultAccountDelay},
		clinic.KeyDelay{Key: clinic.NetworkKey("192.0.2.9"), Delay: clinic.DefaultNetworkDelay})
	must(err)
	must(cs.Audit(ctx, clinic.System, "service.start", "", "legacygen", ""))
	must(st.Close())

	db, err := sql.Open("sqlite", "file:"+path)
	must(err)
	_, err = db.Exec("VACUUM")
	must(err)
	must(db.Close())

	out := map[string]string{"now": clock.Now().UTC().Format(time.RFC3339Nano), "password": pw, "alice": alice.ID, "root": root.ID, "gone": gone.ID,
		"ann": ann.ID, "ben": ben.ID, "device": dev.ID, "device_b": devB.ID, "device_token": devTok, "api_token": apiTok,
		"revoked_token": oldTok, "session": cookie}
	j, _ := json.MarshalIndent(out, "", "  ")
	fmt.Println(string(j))
}
