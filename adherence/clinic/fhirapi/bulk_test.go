package fhirapi

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
)

// waitJob waits for the job behind a Content-Location to finish (the
// runner closes its done channel), without sleeping.
func (e *env) waitJob(t *testing.T, loc string) {
	t.Helper()
	id := loc[strings.LastIndex(loc, "/")+1:]
	e.api.bulk.mu.Lock()
	j := e.api.bulk.jobs[id]
	e.api.bulk.mu.Unlock()
	if j == nil {
		t.Fatalf("no job %s", id)
	}
	<-j.done
}

type manifest struct {
	TransactionTime     string `json:"transactionTime"`
	Request             string `json:"request"`
	RequiresAccessToken bool   `json:"requiresAccessToken"`
	Output              []struct {
		Type, URL string
		Count     int
	} `json:"output"`
}

// TestBulkExport runs a Group and a Patient export to completion and
// checks the manifest, the files and who may read them.
func TestBulkExport(t *testing.T) {
	e := newEnv(t)
	tok := e.token(t, "system/*.rs")
	// Kick-off needs Prefer: respond-async.
	if res, _ := e.get(t, "/fhir/Patient/$export", tok); res.StatusCode != 400 {
		t.Errorf("kick-off without Prefer = %d, want 400", res.StatusCode)
	}
	if res, _ := e.get(t, "/fhir/Group/nope/$export", tok, "Prefer", "respond-async"); res.StatusCode != 404 {
		t.Errorf("kick-off of another Group = %d, want 404", res.StatusCode)
	}
	for _, q := range []string{"_type=Foo", "_since=yesterday", "_typeFilter=Observation%3Fcode%3Dx", "_outputFormat=text/csv"} {
		if res, _ := e.get(t, "/fhir/Patient/$export?"+q, tok, "Prefer", "respond-async"); res.StatusCode != 400 {
			t.Errorf("kick-off with %s = %d, want 400", q, res.StatusCode)
		}
	}
	res, _ := e.get(t, "/fhir/Group/"+GroupID(e.client)+"/$export?_type=Patient,Observation,Flag", tok, "Prefer", "respond-async")
	loc := res.Header.Get("Content-Location")
	if res.StatusCode != 202 || !strings.HasPrefix(loc, e.srv.URL+"/fhir/bulk/") {
		t.Fatalf("kick-off = %d, Content-Location %q", res.StatusCode, loc)
	}
	e.waitJob(t, loc)
	res, body := e.get(t, loc, tok)
	var m manifest
	if res.StatusCode != 200 || json.Unmarshal(body, &m) != nil || !m.RequiresAccessToken || len(m.Output) != 3 || !strings.Contains(m.Request, "$export") {
		t.Fatalf("status = %d %s", res.StatusCode, body)
	}
	if tt, err := time.Parse(time.RFC3339Nano, m.TransactionTime); err != nil || !tt.Equal(e.f.Clock.Now()) {
		t.Errorf("transactionTime = %s, want the clock's %v", m.TransactionTime, e.f.Clock.Now())
	}
	searchTotal := map[string]int{}
	var all []map[string]any
	for _, o := range m.Output {
		searchTotal[o.Type] = e.search(t, "/fhir/"+o.Type+"?_count=0", tok).Total
		res, body := e.get(t, o.URL, tok)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/fhir+ndjson" {
			t.Fatalf("file %s = %d %s", o.URL, res.StatusCode, res.Header.Get("Content-Type"))
		}
		n := 0
		sc := bufio.NewScanner(bytes.NewReader(body))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var r map[string]any
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r["resourceType"] != o.Type {
				t.Fatalf("line %d of %s: %v %.100s", n, o.Type, err, sc.Bytes())
			}
			all = append(all, r)
			n++
		}
		if n != o.Count || n != searchTotal[o.Type] {
			t.Errorf("%s: %d lines, manifest count %d, search total %d", o.Type, n, o.Count, searchTotal[o.Type])
		}
		// Another client does not see the job, nor its files.
		other := e.register(t, "other", &e.key.PublicKey, e.kid, "bob", nil)
		st, tb := e.tokenRequest(t, form(assertion(t, e.key, e.kid, e.claims(other)), "system/*.rs"))
		if st != 200 {
			t.Fatal(tb)
		}
		if res, _ := e.get(t, o.URL, tb["access_token"].(string)); res.StatusCode != 404 {
			t.Errorf("another client's GET of a file = %d, want 404", res.StatusCode)
		}
		if res, _ := e.get(t, loc, tb["access_token"].(string)); res.StatusCode != 404 {
			t.Errorf("another client's status = %d, want 404", res.StatusCode)
		}
	}
	validate(t, e.srv.URL, all)

	// _since after every update: nothing.
	res, _ = e.get(t, "/fhir/Patient/$export?_since=2030-01-01T00:00:00Z", tok, "Prefer", "respond-async")
	since := res.Header.Get("Content-Location")
	e.waitJob(t, since)
	_, body = e.get(t, since, tok)
	if err := json.Unmarshal(body, &m); err != nil || len(m.Output) != 0 {
		t.Errorf("_since in the future: output %v, want none", m.Output)
	}

	// A patient taken off the panel: the file is no longer readable.
	if err := e.f.Clinic.SetPanel(e.f.Ctx, clinic.CLI("test"), e.f.Alice.ID, e.f.PatA.ID, false); err != nil {
		t.Fatal(err)
	}
	_, body = e.get(t, loc, tok)
	json.Unmarshal(body, &m)
	if res, _ := e.get(t, m.Output[0].URL, tok); res.StatusCode != 404 {
		t.Errorf("file of a patient no longer granted = %d, want 404", res.StatusCode)
	}

	// Cancel removes the job; finished ones go after Keep.
	if res, _ := e.do(t, "DELETE", loc, tok); res.StatusCode != 202 {
		t.Errorf("DELETE = %d, want 202", res.StatusCode)
	}
	if res, _ := e.get(t, loc, tok); res.StatusCode != 404 {
		t.Errorf("status after DELETE = %d, want 404", res.StatusCode)
	}
	e.f.Clock.Advance(time.Hour + time.Minute)
	tok = e.token(t, "system/*.rs")
	if res, _ := e.get(t, since, tok); res.StatusCode != 404 {
		t.Errorf("status of a job finished over an hour ago = %d, want 404", res.StatusCode)
	}
}

// TestBulkQueue checks the bounded runner: with one worker held busy, a
// second job waits (202 with X-Progress "queued" and Retry-After), a
// client's unfinished jobs are bounded, and cancelling a queued job ends
// it.
func TestBulkQueue(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Bulk.Workers = 1; c.Bulk.PerClient = 2 })
	tok := e.token(t, "system/*.rs")
	e.api.bulk.sem <- struct{}{} // the one worker is busy
	kick := func() (int, string) {
		res, _ := e.get(t, "/fhir/Patient/$export?_type=Patient", tok, "Prefer", "respond-async")
		return res.StatusCode, res.Header.Get("Content-Location")
	}
	_, first := kick()
	_, second := kick()
	if st, _ := kick(); st != 429 {
		t.Errorf("third unfinished job = %d, want 429", st)
	}
	res, _ := e.get(t, first, tok)
	if res.StatusCode != 202 || res.Header.Get("X-Progress") != "queued" || res.Header.Get("Retry-After") != "2" {
		t.Errorf("queued status = %d, X-Progress %q, Retry-After %q", res.StatusCode, res.Header.Get("X-Progress"), res.Header.Get("Retry-After"))
	}
	if res, _ := e.do(t, "DELETE", second, tok); res.StatusCode != 202 {
		t.Errorf("DELETE of a queued job = %d", res.StatusCode)
	}
	<-e.api.bulk.sem // free the worker
	e.waitJob(t, first)
	if res, _ := e.get(t, first, tok); res.StatusCode != 200 {
		t.Errorf("status once run = %d, want 200", res.StatusCode)
	}
}
