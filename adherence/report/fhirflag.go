package report

import "strings"

// Alerts as FHIR Flags: one per alert of the report's period (the
// notifier's texts and the vitals rules' alerts, AlertHistory), active
// while it is open at the report's time (Open), inactive once it was
// acknowledged, resolved or aged out. The Flag's period runs from its
// opening to its acknowledgement or resolution.

const (
	sysAlertKind = "urn:pillbox:alert-kind"
	sysFlagCat   = "http://terminology.hl7.org/CodeSystem/flag-category"
)

var alertKindText = map[string]string{
	"dose":        "Dose not taken",
	"jam":         "Dispenser jammed",
	"supply":      "Medication running out",
	"fault":       "Dispenser fault",
	"uncertain":   "Dispense interrupted",
	"summary":     "Adherence summary",
	"vital_alert": "Vital sign alert",
}

func (b *fhirBuilder) flags() {
	for _, a := range b.r.Alerts {
		id := fhirID(b.r.Subject.ID, "Flag", a.Key, fhirTime(a.Opened))
		text := alertKindText[a.Kind]
		if text == "" {
			text = "Alert"
		}
		if a.Text != "" {
			text += ": " + a.Text
		}
		if a.Priority != "" {
			text += " (priority " + a.Priority + ")"
		}
		status := "inactive"
		if a.Open(b.r.Generated) {
			status = "active"
		}
		period := fhirPeriod{Start: fhirTime(a.Opened)}
		switch {
		case !a.AckedAt.IsZero():
			period.End = fhirTime(a.AckedAt)
		case !a.Resolved.IsZero():
			period.End = fhirTime(a.Resolved)
		}
		b.add("Flag", id, map[string]any{"resourceType": "Flag", "id": id, "status": status,
			"identifier": []fhirIdentifier{{System: sysAlertKind, Value: strings.TrimSpace(a.Key)}},
			"category":   []fhirConcept{{Coding: []fhirCoding{{System: sysFlagCat, Code: "clinical", Display: "Clinical"}}}},
			"code":       fhirConcept{Coding: []fhirCoding{{System: sysAlertKind, Code: a.Kind}}, Text: text},
			"subject":    b.patient, "period": period,
		})
	}
}
