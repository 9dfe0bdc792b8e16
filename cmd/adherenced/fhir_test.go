package main

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// TestFHIRMounted checks that adherenced serves the FHIR API at /fhir
// beside the pages: metadata and the SMART configuration in public, the
// resources behind an access token, the pages as before.
func TestFHIRMounted(t *testing.T) {
	o := options{listen: "127.0.0.1:0", data: t.TempDir(), silentAfter: 30 * time.Minute}
	s, _ := startTest(t, o)
	base := "http://" + s.listener.Addr().String()
	get := func(path string) (*http.Response, map[string]any) {
		t.Helper()
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body map[string]any
		json.NewDecoder(res.Body).Decode(&body)
		return res, body
	}
	if res, body := get("/fhir/metadata"); res.StatusCode != 200 || body["resourceType"] != "CapabilityStatement" {
		t.Errorf("GET /fhir/metadata = %d %v", res.StatusCode, body["resourceType"])
	}
	if res, body := get("/.well-known/smart-configuration"); res.StatusCode != 200 || body["token_endpoint"] != base+"/fhir/auth/token" {
		t.Errorf("smart-configuration = %d, token_endpoint %v; want %s/fhir/auth/token", res.StatusCode, body["token_endpoint"], base)
	}
	if res, body := get("/fhir/Patient"); res.StatusCode != 401 || body["resourceType"] != "OperationOutcome" {
		t.Errorf("GET /fhir/Patient without a token = %d %v, want 401 OperationOutcome", res.StatusCode, body["resourceType"])
	}
	if res, _ := get("/panel"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("GET /panel = %d, want the sign-in redirect", res.StatusCode)
	}
}
