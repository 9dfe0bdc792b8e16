package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/clinic/sqlite"
	"github.com/pillbox/pillbox/adherence/report"
	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/hw/vital"
)

// fillClinic puts a row in every table of the clinic through the Store.
func fillClinic(t *testing.T, s clinic.Store) {
	t.Helper()
	ctx := context.Background()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 123e6, time.UTC)
	e := func(action, patient string) clinic.Entry {
		return clinic.Entry{Time: t0, Actor: "cli:test", Action: action, PatientID: patient, Remote: "192.0.2.1", Outcome: "ok"}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.CreateUser(ctx, clinic.User{ID: "us_1", Username: "ursula", DisplayName: "Dr U", Role: clinic.RoleAdmin, Created: t0}, "$argon2id$x", e("user.create", "")))
	must(s.CreateUser(ctx, clinic.User{ID: "us_2", Username: "victor", DisplayName: "Dr V", Role: clinic.RoleClinician, Created: t0}, "$argon2id$y", e("user.create", "")))
	must(s.SetUserDisabled(ctx, "us_2", true, e("user.disable", "")))
	must(s.CreatePatient(ctx, clinic.Patient{ID: "pt_1", DisplayName: "Ann Lee", FirstName: "Ann", Created: t0}, e("patient.create", "pt_1")))
	must(s.AddCaregiver(ctx, "pt_1", clinic.Caregiver{Name: "Bo", Phone: "+15555550100"}, e("caregiver.add", "pt_1")))
	must(s.SetPanel(ctx, "us_1", "pt_1", true, e("panel.add", "pt_1")))
	must(s.RequestPanel(ctx, clinic.PanelRequest{UserID: "us_2", PatientID: "pt_1", RequestedAt: t0}, e("panel.request", "pt_1")))
	must(s.RegisterDevice(ctx, clinic.Device{ID: "dv_1", PatientID: "pt_1", Label: "kitchen", Created: t0},
		clinic.TokenInfo{ID: "tk_1", Kind: clinic.KindDevice, DeviceID: "dv_1", Created: t0, Expires: t0.Add(time.Hour)}, "hash1", e("device.register", "pt_1")))
	must(s.IssueToken(ctx, clinic.TokenInfo{ID: "tk_2", Kind: clinic.KindAPI, UserID: "us_1", Label: "script", Created: t0, Expires: t0.Add(time.Hour)},
		"hash2", e("token.issue", "")))
	must(s.RevokeToken(ctx, "tk_2", t0.Add(time.Minute), e("token.revoke", "")))
	must(s.CreateSession(ctx, clinic.Session{IDHash: "sess", UserID: "us_1", CSRF: "c", Created: t0, LastSeen: t0}, e("login.success", "")))
	if _, err := s.LoginFailed(ctx, t0, t0.Add(-time.Hour), clinic.KeyDelay{Key: "user:victor", Delay: clinic.DefaultAccountDelay}); err != nil {
		t.Fatal(err)
	}
	offset := 2 * time.Second
	must(s.Ingest(ctx, clinic.SyncBatch{Device: "dv_1", Log: "log1", Received: t0,
		Events: []clinic.SyncedEvent{
			{Event: dispenser.Event{Seq: 1, ID: "ev1", Time: t0.Add(-time.Hour), Kind: "missed", DoseID: "d1", Scheduled: t0.Add(-2 * time.Hour), Medication: "metformin", Compartment: 2, Detail: "x"}},
			{Event: dispenser.Event{Seq: 2, ID: "ev2", Time: time.Unix(300, 0).UTC(), Kind: "button", ClockUntrusted: true}, Clock: clinic.ClockUntrusted},
		},
		Readings: []vital.Reading{{Seq: 1, ID: "r1", Device: "A4:C1", Quantity: vital.Systolic, Value: 128.5, Unit: "mmHg", Time: t0.Add(-time.Hour),
			DeviceTime: true, Context: map[string]string{"arm": "left"}}, {Seq: 2, ID: "r2", Quantity: vital.SpO2, Unit: "%", Time: t0, Absent: "no reading"}},
		SetAside: []clinic.SetAsideItem{{What: "event", Seq: 3, ID: "ev3", Reason: "bad", Raw: []byte{0, 1, 2, 0xff}}},
	}, func(clinic.SyncState) (clinic.SyncUpdate, error) {
		return clinic.SyncUpdate{Heartbeat: json.RawMessage(`{"software":"v1", "x": 1}`), Software: "v1", ClockOffset: &offset, ClockNote: "note",
			Audit: []clinic.Entry{e("sync.ingest", "pt_1")}}, nil
	}))
	must(s.MarkFalseMiss(ctx, "pt_1", "d1", report.FalseMiss{Reason: "blister", Source: "clinician", By: "user:us_1", At: t0}, e("dose.false_miss", "pt_1")))
	if _, err := s.MarkSilent(ctx, t0, t0.Add(time.Hour), func(d clinic.SilentDevice) (clinic.CaregiverText, clinic.Entry) {
		return clinic.CaregiverText{Reason: clinic.ReasonSilent, Body: d.FirstName + " silent", At: t0.Add(time.Hour)}, e("device.silent", d.PatientID)
	}); err != nil {
		t.Fatal(err)
	}
	ts, err := s.ClaimTexts(ctx, t0.Add(time.Hour), t0.Add(2*time.Hour), 10)
	if err != nil || len(ts) != 1 {
		t.Fatalf("ClaimTexts = %d, %v", len(ts), err)
	}
	must(s.TextAttempted(ctx, ts[0].ID, clinic.TextAttempt{Sent: t0.Add(time.Hour), Error: ""}))
}

// everything reads all a store holds, through the Store.
func everything(t *testing.T, s clinic.Store) map[string]any {
	t.Helper()
	ctx := context.Background()
	out := map[string]any{}
	get := func(name string, v any, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = v
	}
	v1, err := s.Users(ctx)
	get("users", v1, err)
	v2, err := s.Patients(ctx)
	get("patients", v2, err)
	v3, err := s.Devices(ctx, "")
	get("devices", v3, err)
	v4, err := s.Tokens(ctx)
	get("tokens", v4, err)
	v5, err := s.AuditLog(ctx, clinic.AuditQuery{Limit: 1000})
	get("audit", v5, err)
	v6, err := s.SyncedEvents(ctx, clinic.EventQuery{PatientID: "pt_1", From: time.Unix(0, 0), To: time.Now(), Limit: 100})
	get("events", v6, err)
	v7, err := s.PatientReadings(ctx, "pt_1", time.Unix(0, 0), time.Now(), 100)
	get("readings", v7, err)
	v8, err := s.SetAsideItems(ctx, "pt_1", 100)
	get("set aside", v8, err)
	v9, err := s.Texts(ctx)
	get("texts", v9, err)
	v10, err := s.PanelEntries(ctx, "us_1")
	get("panel", v10, err)
	v11, err := s.PanelRequests(ctx)
	get("panel requests", v11, err)
	v12, err := s.Caregivers(ctx, "pt_1")
	get("caregivers", v12, err)
	v13, err := s.FalseMisses(ctx, "pt_1")
	get("false misses", v13, err)
	v14, err := s.LoginWait(ctx, time.Unix(0, 0), "user:victor")
	get("login wait", v14, err)
	ss, u, err := s.Session(ctx, "sess")
	get("session", []any{ss, u}, err)
	c, err := s.Credential(ctx, "hash1")
	get("credential", c, err)
	return out
}

func TestImport(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "clinic.db")
	lite, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	fillClinic(t, lite)
	want := everything(t, lite)
	lite.Close()
	src, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()

	url := schema.New(t)
	copied, err := Import(ctx, url, src)
	if err != nil {
		t.Fatalf("Import = %v", err)
	}
	if len(copied) != len(tables) {
		t.Errorf("Import copied %d tables, want %d", len(copied), len(tables))
	}
	for _, c := range copied {
		if c.Rows == 0 {
			t.Errorf("Import copied no row of %s: the test's clinic should have one in every table", c.Table)
		}
	}
	pg, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	got := everything(t, pg)
	for name := range want {
		if !reflect.DeepEqual(got[name], want[name]) {
			t.Errorf("%s after Import:\n got  %+v\n want %+v", name, got[name], want[name])
		}
	}
	// The service goes on numbering from the copied rows.
	if err := pg.AppendAudit(ctx, clinic.Entry{Actor: "system", Action: "service.start", Outcome: "ok"}); err != nil {
		t.Fatal(err)
	}
	if err := pg.AddCaregiver(ctx, "pt_1", clinic.Caregiver{Name: "Cy", Phone: "+15555550101"}, clinic.Entry{Actor: "system", Action: "caregiver.add", Outcome: "ok"}); err != nil {
		t.Errorf("AddCaregiver after Import = %v (identity not moved past the copied ids?)", err)
	}
	// A second import finds the target not empty and changes nothing.
	if _, err := Import(ctx, url, src); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("Import into a database with rows = %v, want refused as not empty", err)
	}
	audit, _ := pg.AuditLog(ctx, clinic.AuditQuery{Limit: 1000})
	if n := len(want["audit"].([]clinic.Entry)); len(audit) != n+2 {
		t.Errorf("audit entries after a refused second import = %d, want %d", len(audit), n+2)
	}
}
