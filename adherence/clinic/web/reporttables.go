package web

import (
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/pillbox/pillbox/adherence/report"
)

// The long tables of the patient page (a row per dose, a row per
// reading) are written here rather than by the template: a year holds
// thousands of rows, and the template's reflection would take most of the
// page's time budget. Every value goes through esc.

// doseRows writes the rows of the doses table, with the false-miss forms.
func doseRows(r *report.Report, loc *time.Location, names Names, patientID, csrf string, days int) template.HTML {
	var b strings.Builder
	b.Grow(len(r.Doses) * 300)
	action := esc("/patients/" + patientID + "/false-misses")
	hidden := func(name, value string) {
		b.WriteString(`<input type="hidden" name="` + name + `" value="` + esc(value) + `">`)
	}
	form := func(id string, unmark bool) {
		b.WriteString(`<form method="post" action="` + action + `" class="inline">`)
		hidden("csrf", csrf)
		hidden("dose", id)
		hidden("days", strconv.Itoa(days))
		if unmark {
			hidden("action", "unmark")
			b.WriteString(`<button>Remove mark</button></form>`)
			return
		}
		b.WriteString(`<label>Reason <input name="reason" required maxlength="200" size="18"></label> ` +
			`<label>Told by <select name="source"><option value="clinician">me</option><option value="caregiver">a caregiver</option></select></label> ` +
			`<button>Mark as false miss</button></form>`)
	}
	for i := range r.Doses {
		d := &r.Doses[i]
		b.WriteString("<tr><td>" + esc(d.Local) + "</td><td>" + esc(names.Med(d.Medication)))
		if d.PRN {
			b.WriteString(" (as needed)")
		}
		b.WriteString("</td><td>" + esc(strings.ReplaceAll(string(d.Outcome), "_", " ")))
		if d.Reconciled {
			b.WriteString(" (dispenser was off)")
		}
		if d.LeftInCup {
			b.WriteString(" (left in the cup)")
		}
		b.WriteString("</td><td>" + esc(strings.Join(d.Signals, " + ")) + ` <span class="muted">` + esc(d.Confidence) + "</span></td><td>")
		if !d.Taken.IsZero() {
			b.WriteString(d.Taken.In(loc).Format("2006-01-02 15:04"))
			if d.Outcome == report.OutcomeTaken && !d.PRN {
				if d.OnTime {
					b.WriteString(" on time")
				} else {
					b.WriteString(" late")
				}
			}
		}
		b.WriteString(`</td><td class="noprint">`)
		switch {
		case d.FalseMiss != nil && d.FalseMiss.Source == report.SourceCaregiverSMS:
			// The device's log holds this mark: there is no clinic mark to remove.
			b.WriteString("reported taken (" + esc(d.FalseMiss.Source) + ", " + esc(names.Role(d.FalseMiss.By)) + "): " + esc(d.FalseMiss.Reason))
		case d.FalseMiss != nil:
			b.WriteString("reported taken (" + esc(d.FalseMiss.Source) + "): " + esc(d.FalseMiss.Reason) + " ")
			form(d.ID, true)
		case d.RecordedMiss():
			form(d.ID, false)
		}
		b.WriteString("</td></tr>\n")
	}
	return template.HTML(b.String())
}

// chartRows writes the rows of a vitals chart's table.
func chartRows(rows []ChartRow) template.HTML {
	var b strings.Builder
	b.Grow(len(rows) * 100)
	for _, r := range rows {
		b.WriteString("<tr><td>" + esc(r.Time) + "</td><td>" + esc(r.Quantity) + "</td><td>" + esc(r.Value))
		if r.Abnormal {
			b.WriteString(" ⚠ outside the range")
		}
		b.WriteString("</td><td>" + esc(r.Note) + "</td></tr>\n")
	}
	return template.HTML(b.String())
}
