// Package storetest is the conformance suite of clinic.Store: one set of
// tests every backend runs (Run), so that a backend cannot drift from what
// the clinic relies on. It checks every method against the contract
// clinic.Store documents, including what the domain cannot see from one
// process: idempotent ingest under concurrent retries, the audit log's
// append-only rule, and state (sessions, sign-in delays, silent devices,
// claimed texts) shared by two Store values on one database, as two
// adherenced processes would have.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/report"
	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/hw/vital"
)

// Backend opens the stores the suite runs on.
type Backend struct {
	// Open returns a Store on a new, empty database. The suite closes it.
	Open func(t *testing.T) clinic.Store
	// Again returns another Store on s's database, as a second adherenced
	// process has. The suite closes it.
	Again func(t *testing.T, s clinic.Store) clinic.Store
}

// Run runs the suite on b, each test on a database of its own.
func Run(t *testing.T, b Backend) {
	tests := []struct {
		name string
		f    func(t *testing.T, b Backend)
	}{
		{"Ping", testPing},
		{"Users", testUsers},
		{"Patients", testPatients},
		{"Panels", testPanels},
		{"PanelRequests", testPanelRequests},
		{"Caregivers", testCaregivers},
		{"Devices", testDevices},
		{"Tokens", testTokens},
		{"Sessions", testSessions},
		{"SessionsShared", testSessionsShared},
		{"LoginDelays", testLoginDelays},
		{"LoginDelaysShared", testLoginDelaysShared},
		{"Audit", testAudit},
		{"AuditAppendOnly", testAuditAppendOnly},
		{"Ingest", testIngest},
		{"IngestAcks", testIngestAcks},
		{"IngestRefused", testIngestRefused},
		{"IngestConcurrentRetries", testIngestConcurrentRetries},
		{"IngestConcurrentDevice", testIngestConcurrentDevice},
		{"SyncedReads", testSyncedReads},
		{"FalseMisses", testFalseMisses},
		{"Silence", testSilence},
		{"SilenceShared", testSilenceShared},
		{"Texts", testTexts},
		{"TextsClaimedOnce", testTextsClaimedOnce},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.f(t, b) })
	}
}

// t0 is the suite's "now"; every time it stores is to the millisecond.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// open returns a new store closed at the end of the test.
func open(t *testing.T, b Backend) clinic.Store {
	t.Helper()
	s := b.Open(t)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close = %v", err)
		}
	})
	return s
}

// again returns a second store on s's database, closed at the end.
func again(t *testing.T, b Backend, s clinic.Store) clinic.Store {
	t.Helper()
	s2 := b.Again(t, s)
	t.Cleanup(func() {
		if err := s2.Close(); err != nil {
			t.Errorf("Close (second store) = %v", err)
		}
	})
	return s2
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// entry is an audit entry of the suite at t0.
func entry(action, patient, target string) clinic.Entry {
	return clinic.Entry{Time: t0, Actor: "cli:storetest", Action: action, PatientID: patient, Target: target, Remote: "192.0.2.9", Outcome: "ok"}
}

// log returns the whole audit log.
func log(t *testing.T, s clinic.Store) []clinic.Entry {
	t.Helper()
	var all []clinic.Entry
	var after int64
	for {
		es, err := s.AuditLog(context.Background(), clinic.AuditQuery{After: after, Limit: 1000})
		must(t, err)
		all = append(all, es...)
		if len(es) < 1000 {
			return all
		}
		after = es[len(es)-1].Seq
	}
}

// actions lists the audit log's actions with their patients and targets.
func actions(t *testing.T, s clinic.Store) []string {
	t.Helper()
	var out []string
	for _, e := range log(t, s) {
		out = append(out, fmt.Sprintf("%s %s %s", e.Action, e.PatientID, e.Target))
	}
	return out
}

// world is a small clinic the tests build on: user U (clinician), admin
// A, patients P and Q, device D of P with a token, caregivers of P.
type world struct {
	ctx     context.Context
	s       clinic.Store
	u, a    clinic.User
	p, q    clinic.Patient
	d       clinic.Device
	devTok  clinic.TokenInfo
	devHash string
}

func newWorld(t *testing.T, s clinic.Store) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{ctx: ctx, s: s,
		u: clinic.User{ID: "us_u", Username: "ursula", DisplayName: "Dr Ursula", Role: clinic.RoleClinician, Created: at(0)},
		a: clinic.User{ID: "us_a", Username: "alan", DisplayName: "Alan Admin", Role: clinic.RoleAdmin, Created: at(time.Second)},
		p: clinic.Patient{ID: "pt_p", DisplayName: "Pat Smith", FirstName: "Pat", Created: at(0)},
		q: clinic.Patient{ID: "pt_q", DisplayName: "Quinn Jones", FirstName: "Quinn", Created: at(0)},
		d: clinic.Device{ID: "dv_d", PatientID: "pt_p", Label: "kitchen", Created: at(time.Minute)},
	}
	w.devTok = clinic.TokenInfo{ID: "tk_d", Kind: clinic.KindDevice, DeviceID: w.d.ID, Created: at(time.Minute), Expires: at(365 * 24 * time.Hour)}
	w.devHash = clinic.HashSecret("pbd_device")
	must(t, s.CreateUser(ctx, w.u, "$argon2id$u", entry("user.create", "", w.u.ID)))
	must(t, s.CreateUser(ctx, w.a, "$argon2id$a", entry("user.create", "", w.a.ID)))
	must(t, s.CreatePatient(ctx, w.p, entry("patient.create", w.p.ID, "")))
	must(t, s.CreatePatient(ctx, w.q, entry("patient.create", w.q.ID, "")))
	must(t, s.AddCaregiver(ctx, w.p.ID, clinic.Caregiver{Name: "Carol", Phone: "+15555550101"}, entry("caregiver.add", w.p.ID, "")))
	must(t, s.AddCaregiver(ctx, w.p.ID, clinic.Caregiver{Name: "Dan", Phone: "+15555550102"}, entry("caregiver.add", w.p.ID, "")))
	must(t, s.RegisterDevice(ctx, w.d, w.devTok, w.devHash, entry("device.register", w.p.ID, w.d.ID)))
	return w
}

// device returns one device as Devices has it.
func (w *world) device(t *testing.T, id string) clinic.Device {
	t.Helper()
	ds, err := w.s.Devices(w.ctx, "")
	must(t, err)
	for _, d := range ds {
		if d.ID == id {
			return d
		}
	}
	t.Fatalf("Devices has no %s", id)
	return clinic.Device{}
}

// same reports whether two times are the same instant.
func same(a, b time.Time) bool { return a.Equal(b) }

func testPing(t *testing.T, b Backend) {
	s := open(t, b)
	if err := s.Ping(context.Background()); err != nil {
		t.Errorf("Ping = %v, want nil", err)
	}
}

func testUsers(t *testing.T, b Backend) {
	s := open(t, b)
	w := newWorld(t, s)
	ctx := w.ctx
	before := len(log(t, s))
	dup := clinic.User{ID: "us_other", Username: "ursula", DisplayName: "Another", Role: clinic.RoleClinician, Created: t0}
	if err := s.CreateUser(ctx, dup, "h", entry("user.create", "", dup.ID)); !errors.Is(err, clinic.ErrConflict) {
		t.Errorf("CreateUser(a taken username) = %v, want ErrConflict", err)
	}
	sameID := w.u
	sameID.Username = "someone"
	if err := s.CreateUser(ctx, sameID, "h", entry("user.create", "", w.u.ID)); !errors.Is(err, clinic.ErrConflict) {
		t.Errorf("CreateUser(a taken id) = %v, want ErrConflict", err)
	}
	if n := len(log(t, s)); n != before {
		t.Errorf("audit entries after refused CreateUsers = %d, want %d: a refused change is not audited", n, before)
	}
	us, err := s.Users(ctx)
	must(t, err)
	if len(us) != 2 || us[0].Username != "alan" || us[1].Username != "ursula" {
		t.Fatalf("Users = %+v, want alan then ursula", us)
	}
	if got := us[1]; got.ID != w.u.ID || got.DisplayName != w.u.DisplayName || got.Role != clinic.RoleClinician || got.Disabled || !same(got.Created, w.u.Created) {
		t.Errorf("Users[1] = %+v, want %+v", got, w.u)
	}
	for _, name := range []string{"ursula", "us_u"} {
		if u, err := s.UserByName(ctx, name); err != nil || u.ID != w.u.ID {
			t.Errorf("UserByName(%s) = %+v, %v; want %s", name, u, err, w.u.ID)
		}
	}
	if _, err := s.UserByName(ctx, "nobody"); !errors.Is(err, clinic.ErrNotFound) {
		t.Errorf("UserByName(unknown) = %v, want ErrNotFound", err)
	}
	u, hash, err := s.PasswordHash(ctx, "ursula")
	if err != nil || u.ID != w.u.ID || hash != "$argon2id$u" {
		t.Errorf("PasswordHash = %+v, %q, %v; want ursula's", u, hash, err)
	}
	if _, _, err := s.PasswordHash(ctx, "us_u"); !errors.Is(err, clinic.ErrNotFound) {
		t.Errorf("PasswordHash(an id, not a username) = %v, want ErrNotFound", err)
	}
	must(t, s.SetPasswordHash(ctx, w.u.ID, "$argon2id$new", entry("user.password", "", w.u.ID)))
	if _, hash, _ := s.PasswordHash(ctx, "ursula"); hash != "$argon2id$new" {
		t.Errorf("hash after SetPasswordHash = %q, want the new one", hash)
	}
	if err := s.SetPasswordHash(ctx, "us_none", "h", entry("user.password", "", "us_none")); !errors.Is(err, clinic.ErrNotFound) {
		t.Errorf("SetPasswordHash(unknown) = %v, want ErrNotFound", err)
	}
	must(t, s.SetUserDisabled(ctx, w.u.ID, true, entry("user.disable", "", w.u.ID)))
	if u, hash, err := s.PasswordHash(ctx, "ursula"); err != nil || !u.Disabled || hash == "" {
		t.Errorf("PasswordHash(disabled) = %+v, %q, %v; want the disabled user with the hash", u, hash, err)
	}
	must(t, s.SetUserDisabled(ctx, w.u.ID, false, entry("user.enable", "", w.u.ID)))
	if u, _ := s.UserByName(ctx, "ursula"); u.Disabled {
		t.Error("user still disabled after SetUserDisabled(false)")
	}
	if err := s.SetUserDisabled(ctx, "us_none", true, entry("user.disable", "", "us_none")); !errors.Is(err, clinic.ErrNotFound) {
		t.Errorf("SetUserDisabled(unknown) = %v, want ErrNotFound", err)
	}
	want := []string{"user.password  us_u", "user.disable  us_u", "user.enable  us_u"}
	if got := actions(t, s)[before:]; !slices.Equal(got, want) {
		t.Errorf("audit = %q, want %q (one entry per change, none for refused ones)", got, want)
	}
}

func testPatients(t *testing.T, b Backend) {
	s := open(t, b)
	w := newWorld(t, s)
	ctx := w.ctx
	early := clinic.Patient{ID: "pt_a", DisplayName: "Pat Smith", FirstName: "P", Created: at(-time.Hour)}
	must(t, s.CreatePatient(ctx, early, entry("patient.create", early.ID, "")))
	ps, err := s.Patients(ctx)
	must(t, err)
	var ids []string
	for _, p := range ps {
		ids = append(ids, p.ID)
	}
	if want := []string{"pt_a", "pt_p", "pt_q"}; !slices.Equal(ids, want) {
		t.Errorf("Patients = %v, want %v (by name, then id)", ids, want)
	}
	p, err := s.Patient(ctx, w.p.ID)
	if err != nil || p.DisplayName != w.p.DisplayName || p.FirstName != "Pat" || !same(p.Created, w.p.Created) {
		t.Errorf("Patient = %+v, %v; want %+v", p, err, w.p)
	}
	must(t, s.SetFirstName(ctx, w.p.ID, "Patty", entry("patient.first_name", w.p.ID, "")))
	if p, _ := s.Patient(ctx, w.p.ID); p.FirstName != "Patty" {
		t.Errorf("first name after SetFirstName = %q, want Patty", p.FirstName)
	}
	if _, err := s.Patient(ctx, "pt_none"); !errors.Is(err, clinic.ErrNotFound) {
		t.Errorf("Patient(unknown) = %v, want ErrNotFound", err)
	}
	if err := s.SetFirstName(ctx, "pt_none", "X", entry("patient.first_name", "pt_none", "")); !errors.Is(err, clinic.ErrNotFound) {
		t.Errorf("SetFirstName(unknown) = %v, want ErrNotFound", err)
	}
}

func testPanels(t *testing.T, b Backend) {
	s := open(t, b)
	w := newWorld(t, s)
	ctx := w.ctx
	for range 2 { // the second is a no-op
		must(t, s.SetPanel(ctx, w.u.ID, w.p.ID, true, entry("panel.add", w.p.ID, w.u.ID)))
	}
	must(t, s.SetPanel(ctx, w.u.ID, w.q.ID, true, entry("panel.add", w.q.ID, w.u.ID)))
	if ok, err := s.OnPanel(ctx, w.u.ID, w.p.ID); err != nil || !ok {
		t.Errorf("OnPanel(added) = %v, %v; want true", ok, err)
	}
	if ok, err := s.OnPanel(ctx, w.a.ID, w.p.ID); err != nil || ok {
		t.Errorf("OnPanel(another user's) = %v, %v; want false", ok, err)
	}
	for _, tc := range []struct{ user, patient string }{{"us_none", w.p.ID}, {w.u.ID, "pt_none"}} {
		if err := s.SetPanel(ctx, tc.user, tc.patient, true, entry("panel.add", tc.patient, tc.user)); !errors.Is(err, clinic.ErrNotFound) {
			t.Errorf("SetPanel(%s, %s) = %v, want ErrNotFound", tc.user, tc.patient, err)
		}
	}
	// The panel: by name; the device's state, disabled devices left out.
	es, err := s.PanelEntries(ctx, w.u.ID)
	must(t, err)
	if len(es) != 2 || es[0].Patient.ID != w.p.ID || es[1].Patient.ID != w.q.ID || !es[0].LastSeen.IsZero() || es[0].Silent {
		t.Fatalf("PanelEntries before any sync = %+v, want P (never seen) then Q", es)
	}
	if es[0].Patient.DisplayName != w.p.DisplayName || es[0].Patient.FirstName != w.p.FirstName || !same(es[0].Patient.Created, w.p.Created) {
		t.Errorf("PanelEntries patient = %+v, want %+v", es[0].Patient, w.p)
	}
	ingest(t, s, batch(w.d.ID, "l1", at(time.Hour)), nil)
	d2 := clinic.Device{ID: "dv_2", PatientID: w.p.ID, Created: at(time.Minute)}
	must(t, s.RegisterDevice(ctx, d2, clinic.TokenInfo{ID: "tk_2", Kind: clinic.KindDevice, DeviceID: d2.ID, Created: t0, Expires: at(time.Hour)},
		clinic.HashSecret("pbd_2"), entry("device.register", w.p.ID, d2.ID)))
	ingest(t, s, batch(d2.ID, "l2", at(2*time.Hour)), nil)
	if es, _ := s.PanelEntries(ctx, w.u.ID); !same(es[0].LastSeen, at(2*time.Hour)) {
		t.Errorf("PanelEntries last seen = %v, want the latest device's, %v", es[0].LastSeen, at(2*time.Hour))
	}
	must(t, s.SetDeviceDisabled(ctx, d2.ID, true, entry("device.disable", "", d2.ID)))
	if _, err := s.MarkSilent(ctx, at(3*time.Hour), at(3*time.Hour), silentText); err != nil {
		t.Fatal(err)
	}
	es, _ = s.PanelEntries(ctx, w.u.ID)
	if !same(es[0].LastSeen, at(time.Hour)) || !es[0].Silent {
		t.Errorf("PanelEntries = %+v, want P last seen %v (the disabled device left out) and silent", es[0], at(time.Hour))
	}
	// Off, twice.
	for range 2 {
		must(t, s.SetPanel(ctx, w.u.ID, w.p.ID, false, entry("panel.remove", w.p.ID, w.u.ID)))
	}
	if es, _ := s.PanelEntries(ctx, w.u.ID); len(es) != 1 || es[0].Patient.ID != w.q.ID {
		t.Errorf("PanelEntries after removing P = %+v, want Q only", es)
	}
}

func testPanelRequests(t *testing.T, b Backend) {
	s := open(t, b)
	w := newWorld(t, s)
	ctx := w.ctx
	r := clinic.PanelRequest{UserID: w.a.ID, PatientID: w.q.ID, RequestedAt: at(time.Minute)}
	must(t, s.RequestPanel(ctx, r, entry("panel.request", w.q.ID, w.a.ID)))
	later := r
	later.RequestedAt = at(time.Hour)
	must(t, s.RequestPanel(ctx, later, entry("panel.request", w.q.ID, w.a.ID)))
	must(t, s.RequestPanel(ctx, clinic.PanelRequest{UserID: w.u.ID, PatientID: w.q.ID, RequestedAt: at(0)}, entry("panel.request", w.q.ID, w.u.ID)))
	rs, err := s.PanelRequests(ctx)
	must(t, err)
	if len(rs) != 2 || rs[0].UserID != w.u.ID || rs[1].UserID != w.a.ID || !same(rs[1].RequestedAt, at(time.Minute)) {
		t.Fatalf("PanelRequests = %+v, want ursula's then alan's, alan's first request kept", rs)
	}
	if err := s.RequestPanel(ctx, clinic.PanelRequest{UserID: w.a.ID, PatientID: "pt_none", RequestedAt: t0}, entry("panel.request", "pt_none", w.a.ID)); !errors.Is(err, clinic.ErrNotFound) {
		t.Errorf("RequestPanel(unknown patient) = %v, want ErrNotFound", err)
	}
	// Granting closes the request and says so in the audit entry.
	before := len(log(t, s))
	must(t, s.SetPanel(ctx, w.a.ID, w.q.ID, true, entry("panel.add", w.q.ID, w.a.ID)))
	must(t, s.SetPanel(ctx, w.a.ID, w.p.ID, true, entry("panel.add", w.p.ID, w.a.ID)))
	must(t, s.SetPanel(ctx, w.u.ID, w.q.ID, false, entry("panel.remove", w.q.ID, w.u.ID)))
	want := []string{"panel.add pt_q us_a" + clinic.GrantedRequest, "panel.add pt_p us_a", "panel.remove pt_q us_u"}
	if got := actions(t, s)[before:]; !slices.Equal(got, want) {
		t.Errorf("audit of panel changes = %q, want %q", got, want)
	}
	if rs, _ := s.PanelRequests(ctx); len(rs) != 0 {
		t.Errorf("PanelRequests after a grant and a removal = %+v, want none (a removal closes a request too)", rs)
	}
}

func testCaregivers(t *testing.T, b Backend) {
	s := open(t, b)
	w := newWorld(t, s)
	ctx := w.ctx
	must(t, s.AddCaregiver(ctx, w.p.ID, clinic.Caregiver{Name: "Carol B", Phone: "+15555550101"}, entry("caregiver.add", w.p.ID, "")))
	cs, err := s.Caregivers(ctx, w.p.ID)
	must(t, err)
	want := []clinic.Caregiver{{Name: "Carol B", Phone: "+15555550101"}, {Name: "Dan", Phone: "+15555550102"}}
	if !reflect.DeepEqual(cs, want) {
		t.Errorf("Caregivers = %+v, want %+v (the same phone renamed, in the order added)", cs, want)
	}
	if cs, _ := s.Caregivers(ctx, w.q.ID); len(cs) != 0 {
		t.Errorf("Caregivers(Q) = %+v, want none", cs)
	}
	if err := s.AddCaregiver(ctx, "pt_none", want[0], entry("caregiver.add", "pt_none", "")); !errors.Is(err, clinic.ErrNotFound) {
		t.Errorf("AddCaregiver(unknown patient) = %v, want ErrNotFound", err)
	}
}

func testDevices(t *testing.T, b Backend) {
	s := open(t, b)
	w := newWorld(t, s)
	ctx := w.ctx
	d := w.device(t, w.d.ID)
	if d.PatientID != w.p.ID || d.Label != "kitchen" || !same(d.Created, w.d.Created) || d.Disabled || !d.LastSeen.IsZero() ||
		!d.SilentSince.IsZero() || d.Software != "" || d.ClockOffset != 0 || !d.ClockSuspect.IsZero() || d.ClockNote != "" ||
		d.SetAside != 0 || !same(d.TokenExpires, w.devTok.Expires) || d.Heartbeat != nil {
		t.Errorf("new device = %+v, want as registered, never seen, its token's expiry", d)
	}
	dq := clinic.Device{ID: "dv_q", PatientID: w.q.ID, Created: at(-time.Hour)}
	tq := clinic.TokenInfo{ID: "tk_q", Kind: clinic.KindDevice, DeviceID: dq.ID, Created: t0, Expires: at(time.Hour)}
	must(t, s.RegisterDevice(ctx, dq, tq, clinic.HashSecret("pbd_q"), entry("device.register", w.q.ID, dq.ID)))
	if err := s.RegisterDevice(ctx, dq, clinic.TokenInfo{ID: "tk_q2", Kind: clinic.KindDevice, DeviceID: dq.ID, Created: t0, Expires: at(time.Hour)},
		clinic.HashSecret("pbd_q2"), entry("device.register", w.q.ID, dq.ID)); !errors.Is(err, clinic.ErrConflict) {
		t.Errorf("RegisterDevice(a taken id) = %v, want ErrConflict", err)
	}
	orphan := clinic.Device{ID: "dv_o", PatientID: "pt_none", Created: t0}
	if err := s.RegisterDevice(ctx, orphan, clinic.TokenInfo{ID: "tk_o", Kind: clinic.KindDevice, DeviceID: orphan.ID, Created: t0, Expires: at(time.Hour)},
		clinic.HashSecret("pbd_o"), entry("device.register", "pt_none", orphan.ID)); !errors.Is(err, clinic.ErrNotFound) {
		t.Errorf("RegisterDevice(unknown patient) = %v, want ErrNotFound", err)
	}
	if _, err := s.Credential(ctx, clinic.HashSecret("pbd_o")); !errors.Is(err, clinic.ErrNotFound) {
		t.Errorf("the refused device's token: %v, want none stored", err)
	}
	all, err := s.Devices(ctx, "")
	must(t, err)
	if len(all) != 2 || all[0].ID != dq.ID || all[1].ID != w.d.ID {
		t.Errorf("Devices(all) = %+v, want dv_q then dv_d (by creation)", all)
	}
	if ds, _ := s.Devices(ctx, w.q.ID); len(ds) != 1 || ds[0].ID != dq.ID {
		t.Errorf("Devices(Q) = %+v, want dv_q only", ds)
	}
	// Disabling: the entry names the device's patient; silence ends.
	ingest(t, s, batch(w.d.ID, "l1", t0), nil)
	if _, err := s.MarkSilent(ctx, at(time.Hour), at(time.Hour), silentText); err != nil {
		t.Fatal(err)
	}
	before := len(log(t, s))
	must(t, s.SetDeviceDisabled(ctx, w.d.ID, true, entry("device.disable", "", w.d.ID)))
	if d := w.device(t, w.d.ID); !d.Disabled || !d.SilentSince.IsZero() {
		t.Errorf("device after SetDeviceDisabled = disabled %v, silent since %v; want disabled, not silent", d.Disabled, d.SilentSince)
	}
	must(t, s.SetDeviceDisabled(ctx, w.d.ID, false, entry("device.enable", "", w.d.ID)))
	if err := s.SetDeviceDisabled(ctx, "dv_none", true, entry("device.disable", "", "dv_none")); !errors.Is(err, clinic.ErrNotFound) {
		t.Errorf("SetDeviceDisabled(unknown) = %v, want ErrNotFound", err)
	}
	want := []string{"device.disable pt_p dv_d", "device.enable pt_p dv_d"}
	if got := actions(t, s)[before:]; !slices.Equal(got, want) {
		t.Errorf("audit = %q, want %q (the device's patient filled in)", got, want)
	}
}

func testTokens(t *testing.T, b Backend) {
	s := open(t, b)
	w := newWorld(t, s)
	ctx := w.ctx
	api := clinic.TokenInfo{ID: "tk_api", Kind: clinic.KindAPI, UserID: w.u.ID, Label: "script", Created: at(time.Hour), Expires: at(90 * 24 * time.Hour)}
	must(t, s.IssueToken(ctx, api, clinic.HashSecret("pba_api"), entry("token.issue", "", "api for us_u")))
	if err := s.IssueToken(ctx, clinic.TokenInfo{ID: "tk_x", Kind: clinic.KindAPI, UserID: "us_none", Created: t0, Expires: at(time.Hour)},
		clinic.HashSecret("pba_x"), entry("token.issue", "", "api for us_none")); !errors.Is(err, clinic.ErrNotFound) {
		t.Errorf("IssueToken(unknown user) = %v, want ErrNotFound", err)
	}
	c, err := s.Credential(ctx, clinic.HashSecret("pba_api"))
	if err != nil || c.ID != api.ID || c.Kind != clinic.KindAPI || c.User.ID != w.u.ID || c.User.Username != "ursula" ||
		c.User.Role != clinic.RoleClinician || c.User.Disabled || c.PatientID != "" || !same(c.Expires, api.Expires) || !c.Revoked.IsZero() {
		t.Errorf("Credential(API token) = %+v, %v; want ursula's valid token", c, err)
	}
	c, err = s.Credential(ctx, w.devHash)
	if err != nil || c.ID != w.devTok.ID || c.Kind != clinic.KindDevice || c.DeviceID != w.d.ID || c.PatientID != w.p.ID || c.DeviceDisabled || c.User.ID != "" {
		t.Errorf("Credential(device token) = %+v, %v; want device D of P", c, err)
	}
	if _, err := s.Credential(ctx, clinic.HashSecret("pba_unknown")); !errors.Is(err, clinic.ErrNotFound) {
		t.Errorf("Credential(unknown) = %v, want ErrNotFound", err)
	}
	must(t, s.SetUserDisabled(ctx, w.u.ID, true, entry("user.disable", "", w.u.ID)))
	must(t, s.SetDeviceDisabled(ctx, w.d.ID, true, entry("device.disable", "", w.d.ID)))
	if c, _ := s.Credential(ctx, clinic.HashSecret("pba_api")); !c.User.Disabled {
		t.Error("Credential of a disabled user's token does not say so")
	}
	if c, _ := s.Credential(ctx, w.devHash); !c.DeviceDisabled {
		t.Error("Credential of a disabled device's token does not say so")
	}
	// Rotation revokes the device's valid tokens at the new one's creation.
	next := clinic.TokenInfo{ID: "tk_d2", Kind: clinic.KindDevice, DeviceID: w.d.ID, Created: at(2 * time.Hour), Expires: at(400 * 24 * time.Hour)}
	before := len(log(t, s))
	must(t, s.RotateDeviceToken(ctx, next, clinic.HashSecret("pbd_next"), entry("token.rotate", "", w.d.ID)))
	if c, _ := s.Credential(ctx, w.devHash); !same(c.Revoked, next.Created) {
		t.Errorf("old device token revoked at %v, want %v", c.Revoked, next.Created)
	}
	if c, err := s.Credential(ctx, clinic.HashSecret("pbd_next")); err != nil || !c.Revoked.IsZero() || c.ID != next.ID {
		t.Errorf("new device token = %+v, %v; want valid", c, err)
	}
	if d := w.device(t, w.d.ID); !same(d.TokenExpires, next.Expires) {
		t.Errorf("device's token expiry = %v, want the new token's %v", d.TokenExpires, next.Expires)
	}
	if err := s.RotateDeviceToken(ctx, clinic.TokenInfo{ID: "tk_n", Kind: clinic.KindDevice, DeviceID: "dv_none", Created: t0, Expires: at(time.Hour)},
		clinic.HashSecret("pbd_n"), entry("token.rotate", "", "dv_none")); !errors.Is(err, clinic.ErrNotFound) {
		t.Errorf("RotateDeviceToken(unknown device) = %v, want ErrNotFound", err)
	}
	must(t, s.RevokeToken(ctx, api.ID, at(3*time.Hour), entry("token.revoke", "", api.ID)))
	if err := s.RevokeToken(ctx, api.ID, at(4*time.Hour), entry("token.revoke", "", api.ID)); !errors.Is(err, clinic.ErrNotFound) {
		t.Errorf("RevokeToken(already revoked) = %v, want ErrNotFound", err)
	}
	if err := s.RevokeToken(ctx, "tk_none", at(4*time.Hour), entry("token.revoke", "", "tk_none")); !errors.Is(err, clinic.ErrNotFound) {
		t.Errorf("RevokeToken(unknown) = %v, want ErrNotFound", err)
	}
	want := []string{"token.rotate pt_p dv_d", "token.revoke  tk_api"}
	if got := actions(t, s)[before:]; !slices.Equal(got, want) {
		t.Errorf("audit = %q, want %q", got, want)
	}
	ts, err := s.Tokens(ctx)
	must(t, err)
	var ids []string
	for _, tk := range ts {
		ids = append(ids, tk.ID)
	}
	if want := []string{"tk_d", "tk_api", "tk_d2"}; !slices.Equal(ids, want) {
		t.Fatalf("Tokens = %v, want %v (oldest first)", ids, want)
	}
	if got := ts[1]; got.Label != "script" || got.UserID != w.u.ID || !same(got.Revoked, at(3*time.Hour)) || !same(got.Created, api.Created) {
		t.Errorf("Tokens[1] = %+v, want the API token, revoked at %v", got, at(3*time.Hour))
	}
}

func testSessions(t *testing.T, b Backend) {
	s := open(t, b)
	w := newWorld(t, s)
	ctx := w.ctx
	ss := clinic.Session{IDHash: clinic.HashSecret("pbs_1"), UserID: w.u.ID, CSRF: "csrf1", Created: t0, LastSeen: t0}
	must(t, s.CreateSession(ctx, ss, entry("login.success", "", w.u.ID)))
	got, u, err := s.Session(ctx, ss.IDHash)
	if err != nil || got.UserID != w.u.ID || got.CSRF != "csrf1" || !same(got.Created, t0) || !same(got.LastSeen, t0) || u.Username != "ursula" || u.Disabled {
		t.Errorf("Session = %+v, %+v, %v; want the session and ursula", got, u, err)
	}
	if _, _, err := s.Session(ctx, clinic.HashSecret("pbs_none")); !errors.Is(err, clinic.ErrNotFound) {
		t.Errorf("Session(unknown) = %v, want ErrNotFound", err)
	}
	must(t, s.TouchSession(ctx, ss.IDHash, at(5*time.Minute)))
	if got, _, _ := s.Session(ctx, ss.IDHash); !same(got.LastSeen, at(5*time.Minute)) {
		t.Errorf("LastSeen after TouchSession = %v, want %v", got.LastSeen, at(5*time.Minute))
	}
	// Pruning: idle before, or created before.
	mk := func(id string, created, seen time.Duration) string {
		h := clinic.HashSecret(id)
		must(t, s.CreateSession(ctx, clinic.Session{IDHash: h, UserID: w.a.ID, CSRF: id, Created: at(created), LastSeen: at(seen)}, entry("login.success", "", w.a.ID)))
		return h
	}
	idle, old, fresh := mk("pbs_idle", 0, 0), mk("pbs_old", -13*time.Hour, time.Hour), mk("pbs_fresh", 0, time.Hour)
	must(t, s.PruneSessions(ctx, at(30*time.Minute), at(-12*time.Hour)))
	for h, want := range map[string]bool{idle: false, old: false, fresh: true, ss.IDHash: false} {
		if _, _, err := s.Session(ctx, h); (err == nil) != want {
			t.Errorf("session after PruneSessions: %v, want kept %v", err, want)
		}
	}
	// Logging out audits; a deletion without an entry does not.
	before := len(log(t, s))
	must(t, s.DeleteSession(ctx, fresh, entry("logout", "", w.a.ID)))
	must(t, s.DeleteSession(ctx, fresh))
	if got := actions(t, s)[before:]; !slices.Equal(got, []string{"logout  us_a"}) {
		t.Errorf("audit of two deletions, one with an entry = %q, want the logout only", got)
	}
	// A new password, or disabling, ends a user's sessions; enabling does not.
	for _, end := range []func(h string){
		func(string) { must(t, s.SetPasswordHash(ctx, w.u.ID, "h2", entry("user.password", "", w.u.ID))) },
		func(string) { must(t, s.SetUserDisabled(ctx, w.u.ID, true, entry("user.disable", "", w.u.ID))) },
	} {
		h := clinic.HashSecret(fmt.Sprint("pbs_", time.Now().UnixNano()))
		must(t, s.CreateSession(ctx, clinic.Session{IDHash: h, UserID: w.u.ID, CSRF: "c", Created: t0, LastSeen: t0}, entry("login.success", "", w.u.ID)))
		end(h)
		if _, _, err := s.Session(ctx, h); !errors.Is(err, clinic.ErrNotFound) {
			t.Errorf("session after its user's password changed or was disabled: %v, want gone", err)
		}
	}
	h := clinic.HashSecret("pbs_enable")
	must(t, s.CreateSession(ctx, clinic.Session{IDHash: h, UserID: w.a.ID, CSRF: "c", Created: t0, LastSeen: t0}, entry("login.success", "", w.a.ID)))
	must(t, s.SetUserDisabled(ctx, w.a.ID, false, entry("user.enable", "", w.a.ID)))
	if _, _, err := s.Session(ctx, h); err != nil {
		t.Errorf("session after SetUserDisabled(false): %v, want kept", err)
	}
}

func testSessionsShared(t *testing.T, b Backend) {
	s := open(t, b)
	w := newWorld(t, s)
	s2 := again(t, b, s)
	ctx := w.ctx
	h := clinic.HashSecret("pbs_shared")
	must(t, s.CreateSession(ctx, clinic.Session{IDHash: h, UserID: w.u.ID, CSRF: "c", Created: t0, LastSeen: t0}, entry("login.success", "", w.u.ID)))
	if _, u, err := s2.Session(ctx, h); err != nil || u.ID != w.u.ID {
		t.Fatalf("a session made on one store, read on the other: %+v, %v", u, err)
	}
	must(t, s2.TouchSession(ctx, h, at(time.Minute)))
	if got, _, _ := s.Session(ctx, h); !same(got.LastSeen, at(time.Minute)) {
		t.Errorf("LastSeen touched on the other store = %v, want %v", got.LastSeen, at(time.Minute))
	}
	must(t, s2.DeleteSession(ctx, h, entry("logout", "", w.u.ID)))
	if _, _, err := s.Session(ctx, h); !errors.Is(err, clinic.ErrNotFound) {
		t.Errorf("a session logged out on the other store: %v, want gone", err)
	}
}

// delay earns a wait that tells the count: 2^(n-1) ms.
var delay = clinic.Delay{Free: 0, First: time.Millisecond, Max: time.Hour}

func testLoginDelays(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	key := func(k string) clinic.KeyDelay { return clinic.KeyDelay{Key: k, Delay: delay} }
	if until, err := s.LoginWait(ctx, at(-24*time.Hour), "user:a", "net:x"); err != nil || !until.IsZero() {
		t.Errorf("LoginWait with no failures = %v, %v; want zero", until, err)
	}
	for n := 1; n <= 3; n++ {
		until, err := s.LoginFailed(ctx, t0, at(-24*time.Hour), key("user:a"))
		if want := t0.Add(delay.Wait(n)); err != nil || !same(until, want) {
			t.Errorf("failure %d: LoginFailed = %v, %v; want %v", n, until, err, want)
		}
	}
	// The longest wait of the keys counts.
	until, err := s.LoginFailed(ctx, at(time.Second), at(-24*time.Hour), key("user:a"), key("net:x"))
	if want := at(time.Second).Add(delay.Wait(4)); err != nil || !same(until, want) {
		t.Errorf("LoginFailed(two keys) = %v, %v; want the account's %v", until, err, want)
	}
	if until, _ := s.LoginWait(ctx, at(-24*time.Hour), "net:x", "user:a"); !same(until, at(time.Second).Add(delay.Wait(4))) {
		t.Errorf("LoginWait = %v, want the later of the two keys' waits", until)
	}
	if until, _ := s.LoginWait(ctx, at(2*time.Second), "user:a"); !until.IsZero() {
		t.Errorf("LoginWait(since after the last failure) = %v, want zero", until)
	}
	must(t, s.LoginSucceeded(ctx, "user:a"))
	if until, _ := s.LoginFailed(ctx, at(time.Minute), at(-24*time.Hour), key("user:a")); !same(until, at(time.Minute).Add(delay.Wait(1))) {
		t.Errorf("after LoginSucceeded the count starts again: LoginFailed = %v, want %v", until, at(time.Minute).Add(delay.Wait(1)))
	}
	if until, _ := s.LoginWait(ctx, at(-24*time.Hour), "net:x"); !same(until, at(time.Second).Add(delay.Wait(1))) {
		t.Errorf("a network's count after its account's success = %v, want kept", until)
	}
	// Forgetting: keys whose last failure is before forgetBefore start
	// again; the others keep their count.
	day := 24 * time.Hour
	until, _ = s.LoginFailed(ctx, at(day+30*time.Second), at(30*time.Second), key("user:a"), key("net:x"))
	if want := at(day + 30*time.Second).Add(delay.Wait(2)); !same(until, want) {
		t.Errorf("LoginFailed a day on = %v, want %v: the account (failed within the day) counts 2, the network starts over", until, want)
	}
	until, _ = s.LoginFailed(ctx, at(day+time.Minute), at(30*time.Second), key("net:x"))
	if want := at(day + time.Minute).Add(delay.Wait(2)); !same(until, want) {
		t.Errorf("the network's next failure = %v, want %v (count 2 after it was forgotten)", until, want)
	}
}

func testLoginDelaysShared(t *testing.T, b Backend) {
	s := open(t, b)
	s2 := again(t, b, s)
	ctx := context.Background()
	key := clinic.KeyDelay{Key: "user:victim", Delay: delay}
	const each = 5
	errs := make(chan error, 2*each)
	for _, st := range []clinic.Store{s, s2} {
		for range each {
			go func() {
				_, err := st.LoginFailed(ctx, t0, at(-24*time.Hour), key)
				errs <- err
			}()
		}
	}
	for range 2 * each {
		must(t, <-errs)
	}
	// Every failure counted, from either store: the next is number 11.
	until, err := s2.LoginFailed(ctx, at(time.Second), at(-24*time.Hour), key)
	if want := at(time.Second).Add(delay.Wait(2*each + 1)); err != nil || !same(until, want) {
		t.Errorf("failure after %d concurrent ones on two stores: wait until %v, %v; want %v", 2*each, until, err, want)
	}
	if until, _ := s.LoginWait(ctx, at(-24*time.Hour), key.Key); !same(until, at(time.Second).Add(delay.Wait(2*each+1))) {
		t.Errorf("LoginWait on the first store = %v, want the wait the second counted", until)
	}
	must(t, s2.LoginSucceeded(ctx, key.Key))
	if until, _ := s.LoginWait(ctx, at(-24*time.Hour), key.Key); !until.IsZero() {
		t.Errorf("LoginWait after a success on the other store = %v, want none", until)
	}
}

func testAudit(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	es := []clinic.Entry{
		{Time: at(time.Millisecond), Actor: "user:us_1", Action: "patient.read", PatientID: "pt_1", Target: "report", Remote: "2001:db8::1", Outcome: "ok"},
		{Time: at(2 * time.Millisecond), Actor: "anonymous", Action: "login.failure", Target: "unknown user", Remote: "192.0.2.1", Outcome: "denied"},
		{Time: at(3 * time.Millisecond), Actor: "system", Action: "device.silent", PatientID: "pt_2", Target: "dv_2", Outcome: "ok"},
	}
	must(t, s.AppendAudit(ctx, es[0], es[1]))
	must(t, s.AppendAudit(ctx, es[2]))
	must(t, s.AppendAudit(ctx)) // nothing
	got := log(t, s)
	if len(got) != 3 {
		t.Fatalf("AuditLog = %+v, want 3 entries", got)
	}
	for i, e := range got {
		if i > 0 && e.Seq <= got[i-1].Seq {
			t.Errorf("Seq %d after %d: want increasing", e.Seq, got[i-1].Seq)
		}
		want := es[i]
		want.Seq = e.Seq
		if !same(e.Time, want.Time) {
			t.Errorf("entry %d time = %v, want %v", i, e.Time, want.Time)
		}
		e.Time, want.Time = time.Time{}, time.Time{}
		if e != want {
			t.Errorf("entry %d = %+v, want %+v", i, e, want)
		}
	}
	for _, tc := range []struct {
		q    clinic.AuditQuery
		want []string
	}{
		{clinic.AuditQuery{Limit: 2}, []string{"patient.read", "login.failure"}},
		{clinic.AuditQuery{After: got[0].Seq, Limit: 10}, []string{"login.failure", "device.silent"}},
		{clinic.AuditQuery{PatientID: "pt_2", Limit: 10}, []string{"device.silent"}},
		{clinic.AuditQuery{PatientID: "pt_2", After: got[2].Seq, Limit: 10}, nil},
	} {
		es, err := s.AuditLog(ctx, tc.q)
		must(t, err)
		var acts []string
		for _, e := range es {
			acts = append(acts, e.Action)
		}
		if !slices.Equal(acts, tc.want) {
			t.Errorf("AuditLog(%+v) = %q, want %q", tc.q, acts, tc.want)
		}
	}
}

// testAuditAppendOnly runs every method that writes and checks that no
// entry written before changed or went: the interface has no way to
// change the log, and no method may do so on the side.
func testAuditAppendOnly(t *testing.T, b Backend) {
	s := open(t, b)
	w := newWorld(t, s)
	ctx := w.ctx
	must(t, s.AppendAudit(ctx, entry("patient.read", w.p.ID, "x")))
	before := log(t, s)
	ingest(t, s, batch(w.d.ID, "l1", t0, ev(1, t0, "missed", "d1")), nil)
	must(t, s.SetPanel(ctx, w.u.ID, w.p.ID, true, entry("panel.add", w.p.ID, w.u.ID)))
	must(t, s.RequestPanel(ctx, clinic.PanelRequest{UserID: w.a.ID, PatientID: w.p.ID, RequestedAt: t0}, entry("panel.request", w.p.ID, w.a.ID)))
	must(t, s.SetPanel(ctx, w.a.ID, w.p.ID, true, entry("panel.add", w.p.ID, w.a.ID)))
	must(t, s.MarkFalseMiss(ctx, w.p.ID, "d1", falseMiss, entry("dose.false_miss", w.p.ID, "")))
	must(t, s.UnmarkFalseMiss(ctx, w.p.ID, "d1", entry("dose.false_miss_removed", w.p.ID, "")))
	must(t, s.CreateSession(ctx, clinic.Session{IDHash: "h", UserID: w.u.ID, CSRF: "c", Created: t0, LastSeen: t0}, entry("login.success", "", w.u.ID)))
	must(t, s.DeleteSession(ctx, "h", entry("logout", "", w.u.ID)))
	must(t, s.SetPasswordHash(ctx, w.u.ID, "h", entry("user.password", "", w.u.ID)))
	must(t, s.SetUserDisabled(ctx, w.u.ID, true, entry("user.disable", "", w.u.ID)))
	must(t, s.SetDeviceDisabled(ctx, w.d.ID, true, entry("device.disable", "", w.d.ID)))
	must(t, s.RevokeToken(ctx, w.devTok.ID, t0, entry("token.revoke", "", w.devTok.ID)))
	must(t, s.PruneSessions(ctx, at(time.Hour), at(time.Hour)))
	if _, err := s.LoginFailed(ctx, t0, at(-time.Hour), clinic.KeyDelay{Key: "user:x", Delay: delay}); err != nil {
		t.Fatal(err)
	}
	after := log(t, s)
	if len(after) <= len(before) {
		t.Fatalf("audit entries: %d before, %d after the changes; want more", len(before), len(after))
	}
	if !reflect.DeepEqual(after[:len(before)], before) {
		t.Errorf("audit entries written before changed:\nbefore %+v\nafter  %+v", before, after[:len(before)])
	}
}

// ev is a synced event of the suite.
func ev(seq int64, t time.Time, kind, dose string) clinic.SyncedEvent {
	return clinic.SyncedEvent{Event: dispenser.Event{Seq: seq, ID: fmt.Sprintf("ev%d", seq), Time: t, Kind: dispenser.Kind(kind), DoseID: dose}}
}

// batch is a batch of device's log received at received.
func batch(device, log string, received time.Time, evs ...clinic.SyncedEvent) clinic.SyncBatch {
	return clinic.SyncBatch{Device: device, Log: log, Received: received, Events: evs}
}

// falseMiss is a clinician's mark.
var falseMiss = report.FalseMiss{Reason: "taken from a blister pack", By: "user:us_u", Source: "clinician", At: t0}

// ingest runs Ingest with a decide that records the state it got and
// writes u (its Heartbeat defaulting to {}), and returns the state.
func ingest(t *testing.T, s clinic.Store, b clinic.SyncBatch, u *clinic.SyncUpdate) clinic.SyncState {
	t.Helper()
	st, err := ingestErr(s, b, u)
	if err != nil {
		t.Fatalf("Ingest(%s/%s) = %v", b.Device, b.Log, err)
	}
	return st
}

func ingestErr(s clinic.Store, b clinic.SyncBatch, u *clinic.SyncUpdate) (clinic.SyncState, error) {
	var got clinic.SyncState
	err := s.Ingest(context.Background(), b, func(st clinic.SyncState) (clinic.SyncUpdate, error) {
		got = st
		if u == nil {
			return clinic.SyncUpdate{Heartbeat: json.RawMessage(`{}`)}, nil
		}
		return *u, nil
	})
	return got, err
}

// silentText composes what MarkSilent queues and audits.
func silentText(d clinic.SilentDevice) (clinic.CaregiverText, clinic.Entry) {
	return clinic.CaregiverText{Reason: clinic.ReasonSilent, Body: d.FirstName + " silent since " + d.LastSeen.UTC().Format(time.RFC3339), At: t0},
		clinic.Entry{Time: t0, Actor: "system", Action: "device.silent", PatientID: d.PatientID, Target: d.ID, Outcome: "ok"}
}

// readings are two of every shape: a value with everything a reading
// carries, and an absent one.
func readings() []vital.Reading {
	return []vital.Reading{
		{Seq: 1, ID: "r1", Device: "A4:C1:38:00:00:01", Quantity: vital.Systolic, Value: 128.5, Unit: "mmHg", Original: "128.5 mmHg",
			Time: at(-time.Hour), DeviceTime: true, Unreliable: []string{"cuff loose"}, Context: map[string]string{"arm": "left"}},
		{Seq: 2, ID: "r2", Quantity: vital.SpO2, Unit: "%", Time: at(-30 * time.Minute), Absent: "measurement unsuccessful"},
	}
}
