package main

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic/sqlite"
)

func TestClinic(t *testing.T) {
	db := filepath.Join(t.TempDir(), "clinic.db")
	st, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()

	pc := func(want int, args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		words := []string{"clinic", args[0]}
		if args[1] != "" {
			words = append(words, args[1])
		}
		args = append(append(words, "--db", db), args[2:]...)
		if got := dispatch(args, &out, &errOut); got != want {
			t.Fatalf("pillctl %s = %d, want %d; stderr %s", strings.Join(args, " "), got, want, errOut.String())
		}
		return out.String() + errOut.String()
	}
	out := pc(0, "user", "add", "--admin", "alice", "Dr Alice")
	if !regexp.MustCompile(`password: [A-Z2-7]{26}\n`).MatchString(out) || !strings.Contains(out, "admin") {
		t.Errorf("user add = %q, want a printed password and the admin role", out)
	}
	pc(1, "user", "add", "alice", "Again") // taken
	patient := strings.TrimSpace(pc(0, "patient", "add", "Ann"))
	if !strings.HasPrefix(patient, "pt_") {
		t.Fatalf("patient add = %q, want a pt_ id", patient)
	}
	other := strings.TrimSpace(pc(0, "patient", "add", "--first-name", "Maggie", "Margaret Jones"))
	pc(0, "patient", "first-name", patient, "Annie")
	pc(1, "patient", "first-name", patient, "Annie\nBell")
	if ps := pc(0, "patients", ""); !regexp.MustCompile(patient+`\s+Ann\s+Annie\n`).MatchString(ps) ||
		!regexp.MustCompile(other+`\s+Margaret Jones\s+Maggie\n`).MatchString(ps) {
		t.Errorf("patients = %q, want each with the name the texts use", ps)
	}
	pc(0, "panel", "add", "alice", patient)
	pc(1, "panel", "add", "alice", "pt_nosuch")
	pc(0, "caregiver", "add", patient, "Carol", "+15555550101")
	pc(1, "caregiver", "add", patient, "Carol", "555-0101")
	out = pc(0, "device", "add", "--label", "kitchen", patient)
	m := regexp.MustCompile(`device: (dv_[0-9a-f]+)\ntoken:  (pbd_\S+)\n`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("device add = %q, want a device id and a token", out)
	}
	// Flags after the arguments, as docs/clinic.md writes them.
	out = pc(0, "device", "add", patient, "--label", "hall", "--days", "10")
	hall := regexp.MustCompile(`device: (dv_[0-9a-f]+)\n`).FindStringSubmatch(out)
	if hall == nil {
		t.Fatalf("device add PATIENT --label hall = %q, want a device id", out)
	}
	if ds := pc(0, "devices", ""); !regexp.MustCompile(hall[1] + `\s+` + patient + `\s+hall\s`).MatchString(ds) {
		t.Errorf("devices = %q, want %s labelled hall", ds, hall[1])
	}
	rot := pc(0, "device", "rotate", m[1])
	if !strings.HasPrefix(rot, "token: pbd_") || strings.Contains(rot, m[2]) {
		t.Errorf("device rotate = %q, want a new device token", rot)
	}
	tokens := pc(0, "tokens", "")
	if strings.Contains(tokens, "pbd_") || strings.Count(tokens, m[1]) != 2 {
		t.Errorf("tokens = %q, want the device's two tokens by id, never a token", tokens)
	}
	ids := regexp.MustCompile(`(tk_[0-9a-f]+)\s+device`).FindAllStringSubmatch(tokens, -1)
	live := ids[len(ids)-1][1]
	pc(0, "token", "revoke", live)
	pc(1, "token", "revoke", live) // already revoked
	// Token lifetimes: the default, one asked for, one over the maximum.
	out = pc(0, "token", "add", "--days", "30", "alice")
	if want := time.Now().Add(30 * 24 * time.Hour).UTC().Format("2006-01-02"); !strings.Contains(out, "expires: "+want) {
		t.Errorf("token add --days 30 = %q, want it to expire on %s", out, want)
	}
	if out := pc(1, "token", "add", "--days", "400", "alice"); !strings.Contains(out, "at most 365 days") {
		t.Errorf("token add --days 400 = %q, want the maximum named", out)
	}
	if out := pc(1, "device", "rotate", "--days", "800", m[1]); !strings.Contains(out, "at most 730 days") {
		t.Errorf("device rotate --days 800 = %q, want the maximum named", out)
	}
	if tokens := pc(0, "tokens", ""); !strings.Contains(tokens, "EXPIRES") ||
		!strings.Contains(tokens, time.Now().Add(365*24*time.Hour).UTC().Format("2006-01-02")) {
		t.Errorf("tokens = %q, want each token's expiry, the device's a year out", tokens)
	}
	pc(0, "token", "add", "alice", "--label", "reports")
	if tokens := pc(0, "tokens", ""); !regexp.MustCompile(`api\s+\S+\s+reports\s`).MatchString(tokens) {
		t.Errorf("tokens = %q, want alice's token labelled reports", tokens)
	}
	pc(0, "user", "disable", "alice")
	audit := pc(0, "audit", "", "--patient", patient)
	for _, action := range []string{"patient.create", "panel.add", "caregiver.add", "device.register", "token.rotate"} {
		if !strings.Contains(audit, `"action":"`+action+`"`) {
			t.Errorf("audit --patient = %s\nwant an entry %s", audit, action)
		}
	}
	if strings.Contains(audit, "pbd_") || strings.Contains(audit, "password") {
		t.Errorf("audit shows a secret: %s", audit)
	}
	var out2, errOut bytes.Buffer
	if got := dispatch([]string{"clinic", "users", "--db", filepath.Join(t.TempDir(), "typo.db")}, &out2, &errOut); got != 1 {
		t.Errorf("clinic users on a missing database = %d, want 1", got)
	}
}
