package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/pillbox/pillbox/adherence/clinic"
)

// TestAdminCannotGrantOwnPanel: an admin who adds a patient to their own
// panel over HTTP gets a pending request, not the patient; another admin
// grants it by making the same change (or pillctl does, on the server);
// every step is audited.
func TestAdminCannotGrantOwnPanel(t *testing.T) {
	e := newEnv(t)
	cli := clinic.CLI("test")
	tokRoot, err := e.Clinic.IssueAPIToken(e.Ctx, cli, e.Admin.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	admin2, err := e.Clinic.CreateUser(e.Ctx, cli, "root2", "Second admin", clinic.RoleAdmin, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	tok2, err := e.Clinic.IssueAPIToken(e.Ctx, cli, admin2.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	grant := `{"user":"` + e.Admin.ID + `","patient":"` + e.PatA.ID + `","on":true}`
	sees := func() int { return e.do("GET", "/api/v1/patients/"+e.PatA.ID, "Bearer "+tokRoot, "").Code }

	w := e.do("POST", "/api/v1/admin/panels", "Bearer "+tokRoot, grant, "Content-Type", "application/json")
	if w.Code != http.StatusAccepted || !strings.Contains(w.Body.String(), `"pending": true`) {
		t.Fatalf("admin adds a patient to their own panel = %d %s, want 202 pending", w.Code, w.Body)
	}
	if code := sees(); code != http.StatusNotFound {
		t.Errorf("the admin reads the patient after asking = %d, want 404", code)
	}
	var reqs struct{ Requests []clinic.PanelRequest }
	w = e.do("GET", "/api/v1/admin/panel-requests", "Bearer "+tok2, "")
	if err := json.Unmarshal(w.Body.Bytes(), &reqs); err != nil || len(reqs.Requests) != 1 || reqs.Requests[0].UserID != e.Admin.ID ||
		reqs.Requests[0].PatientID != e.PatA.ID {
		t.Fatalf("GET panel-requests = %d %s, want the one request", w.Code, w.Body)
	}
	// The second admin cannot approve their own request either, but can
	// grant the first admin's.
	if w := e.do("POST", "/api/v1/admin/panels", "Bearer "+tok2, `{"user":"`+admin2.ID+`","patient":"`+e.PatB.ID+`","on":true}`,
		"Content-Type", "application/json"); w.Code != http.StatusAccepted {
		t.Errorf("second admin adds a patient to their own panel = %d, want 202", w.Code)
	}
	if w := e.do("POST", "/api/v1/admin/panels", "Bearer "+tok2, grant, "Content-Type", "application/json"); w.Code != http.StatusOK {
		t.Fatalf("second admin grants the request = %d %s, want 200", w.Code, w.Body)
	}
	if code := sees(); code != http.StatusOK {
		t.Errorf("the admin reads the patient after the grant = %d, want 200", code)
	}
	if rs, _ := e.Clinic.PanelRequests(e.Ctx); len(rs) != 1 || rs[0].UserID != admin2.ID {
		t.Errorf("pending requests after the grant = %+v, want only the second admin's", rs)
	}
	// Taking a patient off one's own panel needs nobody.
	if w := e.do("POST", "/api/v1/admin/panels", "Bearer "+tokRoot, strings.Replace(grant, "true", "false", 1),
		"Content-Type", "application/json"); w.Code != http.StatusOK || sees() != http.StatusNotFound {
		t.Errorf("admin takes a patient off their own panel = %d, want 200 and the patient gone", w.Code)
	}
	// pillctl (the server's operator) may grant anyone.
	if err := e.Clinic.SetPanel(e.Ctx, cli, e.Admin.ID, e.PatA.ID, true); err != nil || sees() != http.StatusOK {
		t.Errorf("pillctl clinic panel add for the admin = %v, want the patient on their panel", err)
	}
	es, _ := e.Clinic.AuditLog(e.Ctx, clinic.AuditQuery{PatientID: e.PatA.ID, Limit: 1000})
	var got []string
	for _, en := range es {
		if strings.HasPrefix(en.Action, "panel.") {
			got = append(got, en.Actor+" "+en.Action+" "+en.Target+" "+en.Outcome)
		}
	}
	want := []string{
		"cli:test panel.add " + e.Alice.ID + " ok",
		"user:" + e.Admin.ID + " panel.request " + e.Admin.ID + " pending",
		"user:" + admin2.ID + " panel.add " + e.Admin.ID + " (granting their request) ok",
		"user:" + e.Admin.ID + " panel.remove " + e.Admin.ID + " ok",
		"cli:test panel.add " + e.Admin.ID + " ok",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("panel audit of patient A:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
