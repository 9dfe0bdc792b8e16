package fhirapi

import (
	"net/http"
)

// capabilityDate is when this API's capabilities last changed.
const capabilityDate = "2026-12-07"

const (
	bulkIG           = "http://hl7.org/fhir/uv/bulkdata/"
	patientExportDef = bulkIG + "OperationDefinition/patient-export"
	groupExportDef   = bulkIG + "OperationDefinition/group-export"
)

// capabilityStatement is made from resourceDefs, the table the parser
// and matcher use, so that it says what search does.
func (a *API) capabilityStatement() map[string]any {
	var resources []map[string]any
	for _, d := range resourceDefs {
		var params []map[string]string
		for _, p := range d.params() {
			params = append(params, map[string]string{"name": p.Name, "definition": p.Definition, "type": p.Type, "documentation": p.Doc})
		}
		r := map[string]any{"type": d.Type,
			"interaction":     []map[string]string{{"code": "read"}, {"code": "search-type"}},
			"versioning":      "versioned",
			"readHistory":     false,
			"conditionalRead": "not-match",
			"searchParam":     params,
		}
		if d.Profile != "" {
			r["supportedProfile"] = []string{d.Profile}
		}
		if len(d.Includes) > 0 {
			r["searchInclude"] = d.Includes
		}
		if d.Type == "Patient" {
			r["operation"] = []map[string]string{{"name": "export", "definition": patientExportDef}}
		}
		resources = append(resources, r)
	}
	resources = append(resources, map[string]any{"type": "Group",
		"operation": []map[string]string{{"name": "export", "definition": groupExportDef}}})
	return map[string]any{
		"resourceType": "CapabilityStatement",
		"status":       "active",
		"date":         capabilityDate,
		"publisher":    "pillbox",
		"kind":         "instance",
		"instantiates": []string{bulkIG + "CapabilityStatement/bulk-data"},
		"software":     map[string]string{"name": "pillbox adherenced", "version": orDev(a.c.Software)},
		"implementation": map[string]string{"description": "Pillbox clinic: dispenser adherence and vital signs (read-only)",
			"url": a.base},
		// The JSON schema of R4 lists fhirVersion values up to 4.0.0;
		// 4.0.1 is right (tools/fhir-validate makes the exception).
		"fhirVersion": "4.0.1",
		"format":      []string{"json", fhirJSON},
		"rest": []map[string]any{{
			"mode": "server",
			"documentation": "Search results are paged (next links); _count defaults to 50, at most 500; _count=0 and _summary=count give the total only. " +
				"_sort takes a date parameter of the type (date, -date); without it results are by date, then type and id. " +
				"Unknown parameters are refused (400) with Prefer: handling=strict and left out of the search (and its self link) otherwise. " +
				"Dates without a zone are in the server's zone.",
			"security": map[string]any{
				"cors": false,
				"service": []map[string]any{{"coding": []map[string]string{{
					"system": "http://terminology.hl7.org/CodeSystem/restful-security-service", "code": "SMART-on-FHIR"}}}},
				"extension": []map[string]any{{
					"url":       "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
					"extension": []map[string]string{{"url": "token", "valueUri": a.tokenURL()}},
				}},
				"description": "SMART Backend Services: client_credentials with a private_key_jwt assertion (RS384 or ES384) signed by a key of the client's registered JWKS; SMART v2 system scopes (.rs). See " + a.base + "/.well-known/smart-configuration",
			},
			"resource": resources,
		}},
	}
}

func orDev(v string) string {
	if v == "" {
		return "dev"
	}
	return v
}

func (a *API) metadata(w http.ResponseWriter, r *http.Request) {
	writeFHIR(w, http.StatusOK, a.capabilityStatement())
}
