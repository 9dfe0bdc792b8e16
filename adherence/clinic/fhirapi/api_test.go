package fhirapi

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/report"
	fhirvalidate "github.com/pillbox/pillbox/tools/fhir-validate"
)

// TestCapabilityStatementMatchesParser checks that metadata lists exactly
// what the parser accepts, type by type, and that each listed parameter
// and include is accepted by a search.
func TestCapabilityStatementMatchesParser(t *testing.T) {
	e := newEnv(t)
	res, body := e.get(t, "/fhir/metadata", "")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), fhirJSON) {
		t.Fatalf("metadata = %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	var cs struct {
		FHIRVersion string `json:"fhirVersion"`
		Rest        []struct {
			Resource []struct {
				Type          string
				SearchInclude []string
				SearchParam   []struct{ Name, Type string }
				Interaction   []struct{ Code string }
			}
			Security struct {
				Extension []struct {
					Extension []struct{ URL, ValueURI string }
				}
			}
		}
	}
	if err := json.Unmarshal(body, &cs); err != nil || len(cs.Rest) != 1 {
		t.Fatalf("metadata: %v", err)
	}
	if cs.FHIRVersion != "4.0.1" {
		t.Errorf("fhirVersion = %q, want 4.0.1", cs.FHIRVersion)
	}
	if got := cs.Rest[0].Security.Extension[0].Extension[0].ValueURI; got != e.srv.URL+TokenPath {
		t.Errorf("token URI = %q, want %q", got, e.srv.URL+TokenPath)
	}
	tok := e.token(t, "system/*.rs")
	var types []string
	for _, r := range cs.Rest[0].Resource {
		types = append(types, r.Type)
		if r.Type == "Group" {
			continue // $export only
		}
		d, ok := defOf(r.Type)
		if !ok {
			t.Errorf("metadata lists %s, which the API does not serve", r.Type)
			continue
		}
		var names []string
		for _, p := range r.SearchParam {
			names = append(names, p.Name)
			v := map[string]string{"token": "x", "date": "ge2026-03-01", "reference": "Patient/x"}[p.Type]
			if b := e.search(t, "/fhir/"+r.Type+"?"+url.Values{p.Name: {v}}.Encode(), tok, "Prefer", "handling=strict"); b.Total < 0 {
				t.Errorf("search %s?%s refused", r.Type, p.Name)
			}
		}
		var want []string
		for _, p := range d.params() {
			want = append(want, p.Name)
		}
		if !slices.Equal(names, want) {
			t.Errorf("%s: metadata lists %v, the parser takes %v", r.Type, names, want)
		}
		for _, inc := range r.SearchInclude {
			e.search(t, "/fhir/"+r.Type+"?_include="+inc, tok, "Prefer", "handling=strict")
		}
	}
	if want := []string{"Patient", "Device", "MedicationRequest", "MedicationAdministration", "Observation", "Flag", "Group"}; !slices.Equal(types, want) {
		t.Errorf("metadata resources = %v, want %v", types, want)
	}
}

// TestGrant checks that a client sees its panel's patient and nothing of
// another's: not by id, not by search, not through _include or a forged
// paging link, with a 404 that says no more than for an unknown id.
func TestGrant(t *testing.T) {
	e := newEnv(t)
	tok := e.token(t, "system/*.rs")
	idA, idB := report.FHIRID(e.f.PatA.ID, "Patient"), report.FHIRID(e.f.PatB.ID, "Patient")
	if res, _ := e.get(t, "/fhir/Patient/"+idA, tok); res.StatusCode != 200 {
		t.Errorf("read own patient = %d, want 200", res.StatusCode)
	}
	_, unknown := e.get(t, "/fhir/Patient/00000000-0000-5000-8000-000000000000", tok)
	res, other := e.get(t, "/fhir/Patient/"+idB, tok)
	if res.StatusCode != 404 || strings.ReplaceAll(string(other), idB, "X") != strings.ReplaceAll(string(unknown), "00000000-0000-5000-8000-000000000000", "X") {
		t.Errorf("read another panel's patient = %d %s; want the unknown id's 404 %s", res.StatusCode, other, unknown)
	}
	for _, u := range []string{"/fhir/Patient", "/fhir/Observation?patient=" + idB, "/fhir/Observation?_include=Observation:patient&_count=5",
		"/fhir/Observation?_offset=3000&_count=500", "/fhir/Flag?_include=Flag:subject"} {
		for _, r := range e.all(t, u, tok) {
			if strings.Contains(mustJSON(t, r), idB) || strings.Contains(mustJSON(t, r), e.f.PatB.ID) {
				t.Errorf("%s: a resource of patient B: %.200s", u, mustJSON(t, r))
			}
		}
	}
	if b := e.search(t, "/fhir/Observation?patient="+idB, tok); b.Total != 0 || len(b.Entry) != 0 {
		t.Errorf("search of another panel's patient: total %d, want 0", b.Total)
	}
	// A client of named patients sees those only.
	named := e.register(t, "tele", &e.key.PublicKey, e.kid, "", []string{e.f.PatB.ID})
	st, body := e.tokenRequest(t, form(assertion(t, e.key, e.kid, e.claims(named)), "system/Patient.rs"))
	if st != 200 {
		t.Fatalf("token of the named client: %d %v", st, body)
	}
	got := e.all(t, "/fhir/Patient", body["access_token"].(string))
	if len(got) != 1 || got[0]["id"] != idB {
		t.Errorf("named client's Patients = %v, want only B", got)
	}
	// Every read is audited: who, which patient, which types.
	es, err := e.f.Clinic.AuditLog(e.f.Ctx, clinic.AuditQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var reads, denied int
	for _, en := range es {
		switch en.Action {
		case "fhir.read", "fhir.search":
			reads++
			if en.Actor != "fhir-client:"+e.client.ID && en.Actor != "fhir-client:"+named.ID || en.PatientID == e.f.PatB.ID && en.Actor == "fhir-client:"+e.client.ID {
				t.Errorf("audit entry %+v: wrong actor or a patient outside the grant", en)
			}
		case "fhir.denied":
			denied++
		}
	}
	if reads == 0 || denied < 2 {
		t.Errorf("audit has %d reads and %d denials, want some of each", reads, denied)
	}
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSearchEachType searches each type, follows the paging to the end
// and checks the total, the order, the ids' uniqueness and that every
// resource read by id is the same and passes the validator.
func TestSearchEachType(t *testing.T) {
	e := newEnv(t)
	tok := e.token(t, "system/*.rs")
	var all []map[string]any
	for _, d := range resourceDefs {
		first := e.search(t, "/fhir/"+d.Type+"?_count=7", tok)
		got := e.all(t, "/fhir/"+d.Type+"?_count=7", tok)
		if len(got) != first.Total {
			t.Errorf("%s: paging gave %d resources, total %d", d.Type, len(got), first.Total)
		}
		if first.Total == 0 {
			t.Errorf("%s: no resources for the synthetic patient", d.Type)
		}
		ids := map[string]bool{}
		for _, r := range got {
			if r["resourceType"] != d.Type || ids[r["id"].(string)] {
				t.Errorf("%s: entry %v/%v twice or of the wrong type", d.Type, r["resourceType"], r["id"])
			}
			ids[r["id"].(string)] = true
		}
		all = append(all, got...)
		// Read by id: the same resource, with its ETag; 304 with it.
		id := got[len(got)/2]["id"].(string)
		res, body := e.get(t, "/fhir/"+d.Type+"/"+id, tok)
		var one map[string]any
		if res.StatusCode != 200 || json.Unmarshal(body, &one) != nil || mustJSON(t, one) != mustJSON(t, got[len(got)/2]) {
			t.Errorf("read %s/%s = %d, not the search's resource", d.Type, id, res.StatusCode)
		}
		meta := one["meta"].(map[string]any)
		if etag := res.Header.Get("ETag"); etag != `W/"`+meta["versionId"].(string)+`"` {
			t.Errorf("ETag = %q, want W/\"%s\"", etag, meta["versionId"])
		}
		lu, _ := time.Parse(time.RFC3339Nano, meta["lastUpdated"].(string))
		if lm, err := http.ParseTime(res.Header.Get("Last-Modified")); err != nil || !lm.Equal(lu.Truncate(time.Second)) {
			t.Errorf("Last-Modified = %q, want %v", res.Header.Get("Last-Modified"), lu)
		}
		if res2, body2 := e.get(t, "/fhir/"+d.Type+"/"+id, tok, "If-None-Match", res.Header.Get("ETag")); res2.StatusCode != 304 || len(body2) != 0 {
			t.Errorf("If-None-Match = %d with %d bytes, want 304 and none", res2.StatusCode, len(body2))
		}
		if res3, _ := e.get(t, "/fhir/"+d.Type+"/"+id, tok, "If-None-Match", `W/"other"`); res3.StatusCode != 200 {
			t.Errorf("If-None-Match of another version = %d, want 200", res3.StatusCode)
		}
	}
	validate(t, e.srv.URL, all)
}

// validate runs the pinned validator over resources, in collection
// Bundles of at most 2000.
func validate(t *testing.T, base string, resources []map[string]any) {
	t.Helper()
	var bundles [][]byte
	for i := 0; i < len(resources); i += 2000 {
		var entries []map[string]any
		for _, r := range resources[i:min(i+2000, len(resources))] {
			entries = append(entries, map[string]any{"fullUrl": base + "/fhir/" + r["resourceType"].(string) + "/" + r["id"].(string), "resource": r})
		}
		b, _ := json.Marshal(map[string]any{"resourceType": "Bundle", "type": "collection", "entry": entries})
		bundles = append(bundles, b)
	}
	if ok, rep := fhirvalidate.Run(t, bundles...); !ok {
		t.Errorf("the validator refuses resources: %.3000s", rep)
	}
}

// TestSearchParameters checks each parameter's edge cases.
func TestSearchParameters(t *testing.T) {
	e := newEnv(t)
	tok := e.token(t, "system/*.rs")
	idA := report.FHIRID(e.f.PatA.ID, "Patient")
	total := func(u string, header ...string) int {
		t.Helper()
		return e.search(t, u, tok, header...).Total
	}
	obs := total("/fhir/Observation")
	vitals := total("/fhir/Observation?category=vital-signs")
	therapy := total("/fhir/Observation?category=therapy")
	lab := total("/fhir/Observation?category=laboratory")
	if vitals == 0 || therapy == 0 || vitals+therapy+lab != obs {
		t.Errorf("categories: %d vital signs + %d therapy + %d laboratory, of %d Observations", vitals, therapy, lab, obs)
	}
	for _, tc := range []struct {
		name, query string
		want        func(n int) bool
	}{
		{"patient by id", "patient=" + idA, func(n int) bool { return n == obs }},
		{"patient by reference", "patient=Patient/" + idA, func(n int) bool { return n == obs }},
		{"subject", "subject=Patient/" + idA, func(n int) bool { return n == obs }},
		{"unknown patient", "patient=00000000-0000-5000-8000-000000000000", func(n int) bool { return n == 0 }},
		{"code system|code", "code=http://loinc.org|85354-9", func(n int) bool { return n > 0 && n < vitals }},
		{"code alone", "code=85354-9", func(n int) bool { return n > 0 && n < vitals }},
		{"code of another system", "code=urn:other|85354-9", func(n int) bool { return n == 0 }},
		{"code without a system", "code=|85354-9", func(n int) bool { return n == 0 }},
		{"code OR", "code=85354-9,29463-7", func(n int) bool { return n > total("/fhir/Observation?code=85354-9") }},
		{"metric", "code=urn:pillbox:adherence-metric|taking-adherence", func(n int) bool { return n >= 2 }},
		{"status", "status=final", func(n int) bool { return n == obs }},
		{"status none", "status=preliminary", func(n int) bool { return n == 0 }},
		{"category and code", "category=vital-signs&code=85354-9", func(n int) bool { return n > 0 }},
		{"_id", "_id=nonexistent", func(n int) bool { return n == 0 }},
		{"_lastUpdated future", "_lastUpdated=gt2030-01-01", func(n int) bool { return n == 0 }},
		{"_lastUpdated past", "_lastUpdated=ge2000-01-01", func(n int) bool { return n == obs }},
		{"date far future", "date=ge2099", func(n int) bool { return n == 0 }},
		{"date year", "date=2026", func(n int) bool { return n > 0 && n <= obs }},
		{"unknown lenient", "foo=bar", func(n int) bool { return n == obs }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if n := total("/fhir/Observation?" + tc.query); !tc.want(n) {
				t.Errorf("Observation?%s: total %d (of %d, %d vital signs)", tc.query, n, obs, vitals)
			}
		})
	}
	// Status of the other types.
	if n, m := total("/fhir/MedicationAdministration?status=completed"), total("/fhir/MedicationAdministration?status=not-done"); n == 0 || m == 0 ||
		n+m+total("/fhir/MedicationAdministration?status=unknown") != total("/fhir/MedicationAdministration") {
		t.Errorf("MedicationAdministration statuses: %d completed, %d not-done, do not add up", n, m)
	}
	if n := total("/fhir/MedicationRequest?intent=order&status=active"); n != total("/fhir/MedicationRequest") || n == 0 {
		t.Errorf("MedicationRequest?intent=order&status=active = %d", n)
	}
	if n := total("/fhir/Patient?identifier=urn:pillbox:patient|" + e.f.PatA.ID); n != 1 {
		t.Errorf("Patient?identifier = %d, want 1", n)
	}
}

// TestDateAcrossDST checks date prefixes on the day DST starts in New
// York (2026-03-08, 23 hours long): a day's search is its local calendar
// day, and ge/lt split the doses exactly.
func TestDateAcrossDST(t *testing.T) {
	e := newEnv(t)
	tok := e.token(t, "system/MedicationAdministration.rs")
	all := e.all(t, "/fhir/MedicationAdministration?_count=500", tok)
	count := func(f func(time.Time) bool) int {
		n := 0
		for _, r := range all {
			at, err := time.Parse(time.RFC3339, r["effectiveDateTime"].(string))
			if err != nil {
				t.Fatal(err)
			}
			if f(at) {
				n++
			}
		}
		return n
	}
	dayStart := time.Date(2026, 3, 8, 0, 0, 0, 0, e.ny) // 05:00Z
	dayEnd := time.Date(2026, 3, 9, 0, 0, 0, 0, e.ny)   // 04:00Z: 23 hours later
	if dayEnd.Sub(dayStart) != 23*time.Hour {
		t.Fatalf("the zone has no DST change on 2026-03-08")
	}
	for _, tc := range []struct {
		q    string
		want int
	}{
		{"effective-time=2026-03-08", count(func(at time.Time) bool { return !at.Before(dayStart) && at.Before(dayEnd) })},
		{"effective-time=ge2026-03-08", count(func(at time.Time) bool { return !at.Before(dayStart) })},
		{"effective-time=lt2026-03-08", count(func(at time.Time) bool { return at.Before(dayStart) })},
		{"effective-time=gt2026-03-08", count(func(at time.Time) bool { return !at.Before(dayEnd) })},
		{"effective-time=le2026-03-08", count(func(at time.Time) bool { return at.Before(dayEnd) })},
		{"effective-time=ge2026-03-08&effective-time=lt2026-03-09", count(func(at time.Time) bool { return !at.Before(dayStart) && at.Before(dayEnd) })},
		{"effective-time=2026-03-08T00:00:00Z", 0},
		{"effective-time=ge2026-03-08T05:00:00Z", count(func(at time.Time) bool { return !at.Before(dayStart) })},
		{"effective-time=sa2026-03-08", count(func(at time.Time) bool { return !at.Before(dayEnd) })},
		{"effective-time=eb2026-03-08", count(func(at time.Time) bool { return at.Before(dayStart) })},
		{"effective-time=ne2026-03-08", count(func(at time.Time) bool { return at.Before(dayStart) || !at.Before(dayEnd) })},
	} {
		if got := e.search(t, "/fhir/MedicationAdministration?"+tc.q, tok).Total; got != tc.want {
			t.Errorf("%s: total %d, want %d", tc.q, got, tc.want)
		}
	}
	// The 8th has its four doses (08:00, 08:00, 20:00, 21:00 local).
	if n := e.search(t, "/fhir/MedicationAdministration?effective-time=2026-03-08&status=completed,not-done,unknown", tok).Total; n < 4 {
		t.Errorf("doses on 2026-03-08 = %d, want at least the 4 scheduled", n)
	}
}

// TestResultParameters checks _count, _sort, _summary, _include, paging
// and the handling of unknown parameters.
func TestResultParameters(t *testing.T) {
	e := newEnv(t)
	tok := e.token(t, "system/*.rs")
	obs := e.search(t, "/fhir/Observation", tok)
	if len(obs.Entry) != DefaultCount || obs.link("next") == "" {
		t.Errorf("default page: %d entries, next %q; want %d and a next link", len(obs.Entry), obs.link("next"), DefaultCount)
	}
	zero := e.search(t, "/fhir/Observation?_count=0", tok)
	if zero.Total != obs.Total || len(zero.Entry) != 0 || zero.link("next") != "" {
		t.Errorf("_count=0: total %d, %d entries, next %q; want the total only", zero.Total, len(zero.Entry), zero.link("next"))
	}
	if c := e.search(t, "/fhir/Observation?_summary=count", tok); c.Total != obs.Total || len(c.Entry) != 0 {
		t.Errorf("_summary=count: total %d with %d entries", c.Total, len(c.Entry))
	}
	big := e.search(t, "/fhir/Observation?_count=100000", tok)
	if len(big.Entry) != min(MaxCount, obs.Total) || !strings.Contains(big.link("self"), "_count="+strconv.Itoa(MaxCount)) {
		t.Errorf("_count over the maximum: %d entries, self %q; want %d", len(big.Entry), big.link("self"), MaxCount)
	}
	// _sort.
	dates := func(b bundle) []string {
		var out []string
		for _, en := range b.Entry {
			if d, ok := en.Resource["effectiveDateTime"].(string); ok {
				out = append(out, d)
			}
		}
		return out
	}
	asc := dates(e.search(t, "/fhir/Observation?category=vital-signs&_sort=date&_count=100", tok))
	desc := dates(e.search(t, "/fhir/Observation?category=vital-signs&_sort=-date&_count=100", tok))
	if !slices.IsSorted(asc) || len(asc) == 0 || !slices.IsSortedFunc(desc, func(a, b string) int { return strings.Compare(b, a) }) || asc[0] == desc[0] {
		t.Errorf("_sort=date gives %v..., -date %v...", asc[:min(3, len(asc))], desc[:min(3, len(desc))])
	}
	// _include adds the subject once, as an include.
	inc := e.search(t, "/fhir/Observation?_include=Observation:subject&_count=10", tok)
	var modes []string
	for _, en := range inc.Entry {
		modes = append(modes, en.Search.Mode+":"+en.Resource["resourceType"].(string))
	}
	if n := slices.Index(modes, "include:Patient"); n != 10 || len(modes) != 11 {
		t.Errorf("_include: entries %v, want 10 matches then the Patient", modes)
	}
	// Unknown parameters: strict refuses, lenient leaves them out of the
	// self link and says so in an outcome entry.
	res, body := e.get(t, "/fhir/Observation?foo=bar", tok, "Prefer", "handling=strict")
	if res.StatusCode != 400 || !strings.Contains(string(body), `"OperationOutcome"`) || !strings.Contains(string(body), "foo") {
		t.Errorf("strict unknown parameter = %d %s, want a 400 OperationOutcome naming it", res.StatusCode, body)
	}
	len1 := e.search(t, "/fhir/Observation?foo=bar&code=85354-9", tok)
	if self := len1.link("self"); strings.Contains(self, "foo") || !strings.Contains(self, "code=85354-9") {
		t.Errorf("lenient self link = %q, want the code and not foo", self)
	}
	if last := len1.Entry[len(len1.Entry)-1]; last.Search.Mode != "outcome" {
		t.Errorf("lenient search: no outcome entry naming the ignored parameter")
	}
	for _, q := range []string{"_count=-1", "_count=x", "_sort=code", "_sort=date,code", "_include=Observation:device", "date=2026-13-01",
		"date=ap2026", "code:text=x", "_summary=true", "patient=Group/x", "_offset=-5", "date=2026-02-30"} {
		if res, body := e.get(t, "/fhir/Observation?"+q, tok); res.StatusCode != 400 || !strings.Contains(string(body), "OperationOutcome") {
			t.Errorf("Observation?%s = %d %s, want a 400 OperationOutcome", q, res.StatusCode, body)
		}
	}
	// Paging links keep the search and move the offset.
	p := e.search(t, "/fhir/Observation?code=85354-9&_count=3", tok)
	next, _ := url.Parse(p.link("next"))
	if q := next.Query(); q.Get("code") != "85354-9" || q.Get("_count") != "3" || q.Get("_offset") != "3" {
		t.Errorf("next link = %s", p.link("next"))
	}
}

// TestScopesAndTokens checks scopes (403 outside them, include only with
// Patient read) and access-token expiry.
func TestScopesAndTokens(t *testing.T) {
	e := newEnv(t)
	tok := e.token(t, "system/Observation.rs")
	if res, _ := e.get(t, "/fhir/Patient", tok); res.StatusCode != 403 {
		t.Errorf("search outside the scopes = %d, want 403", res.StatusCode)
	}
	if b := e.search(t, "/fhir/Observation?_include=Observation:patient&_count=2", tok); len(b.Entry) != 2 {
		t.Errorf("_include without Patient read: %d entries, want the 2 matches only", len(b.Entry))
	}
	readOnly := e.token(t, "system/Observation.r")
	if res, _ := e.get(t, "/fhir/Observation", readOnly); res.StatusCode != 403 {
		t.Errorf("search with .r only = %d, want 403", res.StatusCode)
	}
	e.f.Clock.Advance(5 * time.Minute)
	if res, body := e.get(t, "/fhir/Observation", tok); res.StatusCode != 401 || !strings.Contains(res.Header.Get("WWW-Authenticate"), "invalid_token") {
		t.Errorf("expired token = %d %s", res.StatusCode, body)
	}
	if res, _ := e.get(t, "/fhir/Observation", ""); res.StatusCode != 401 {
		t.Errorf("no token = %d, want 401", res.StatusCode)
	}
	if res, _ := e.get(t, "/fhir/Observation", e.f.APIAlice); res.StatusCode != 401 {
		t.Errorf("a clinician's API token = %d, want 401", res.StatusCode)
	}
	if res, _ := e.get(t, "/fhir/metadata", "", "Accept", "application/fhir+xml"); res.StatusCode != 406 {
		t.Errorf("XML asked for = %d, want 406", res.StatusCode)
	}
}
