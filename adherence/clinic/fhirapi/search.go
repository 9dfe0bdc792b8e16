package fhirapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// match reports whether e meets every filter of q.
func (q query) match(e *entry) bool {
	for _, f := range q.Filters {
		if !slices.ContainsFunc(f.Values, func(v value) bool { return matchValue(f.P, v, e) }) {
			return false
		}
	}
	return true
}

func matchValue(p param, v value, e *entry) bool {
	switch p.field {
	case fieldID:
		return !v.HasSystem && v.Code == e.ID
	case fieldLastUpdated:
		return matchDate(v, e.Updated, e.Updated)
	case fieldSubject:
		return v.Ref == e.Subject
	case fieldCode:
		return matchToken(v, e.Codes)
	case fieldCategory:
		return matchToken(v, e.Categories)
	case fieldIdentifier:
		return matchToken(v, e.Identifiers)
	case fieldStatus:
		// The status codes' system is implied by the element.
		return v.Code == e.Status
	case fieldIntent:
		return v.Code == e.Intent
	case fieldDate:
		return matchDate(v, e.Start, e.End)
	}
	return false
}

// matchToken: code alone matches any system, system|code that system,
// |code a coding without one.
func matchToken(v value, cs []coding) bool {
	return slices.ContainsFunc(cs, func(c coding) bool {
		return c.Code == v.Code && (!v.HasSystem || c.System == v.System)
	})
}

// subjects returns the Patient ids the subject filters allow, nil for
// any.
func (q query) subjects() []string {
	var out []string
	restricted := false
	for _, f := range q.Filters {
		if f.P.field != fieldSubject {
			continue
		}
		var ids []string
		for _, v := range f.Values {
			ids = append(ids, v.Ref)
		}
		if !restricted {
			out, restricted = ids, true
			continue
		}
		out = slices.DeleteFunc(out, func(id string) bool { return !slices.Contains(ids, id) })
	}
	if restricted && out == nil {
		out = []string{}
	}
	return out
}

// bundleEntry is one entry of a searchset.
type bundleEntry struct {
	FullURL  string          `json:"fullUrl,omitempty"`
	Resource json.RawMessage `json:"resource"`
	Search   struct {
		Mode string `json:"mode"`
	} `json:"search"`
}

type bundleLink struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

type searchset struct {
	ResourceType string        `json:"resourceType"`
	Type         string        `json:"type"`
	Total        int           `json:"total"`
	Link         []bundleLink  `json:"link"`
	Entry        []bundleEntry `json:"entry,omitempty"`
}

// strict reports whether the client asked for strict handling of
// unknown parameters (Prefer: handling=strict).
func strict(r *http.Request) bool {
	for _, v := range r.Header.Values("Prefer") {
		for _, p := range strings.Split(v, ",") {
			if strings.EqualFold(strings.ReplaceAll(strings.TrimSpace(p), " ", ""), "handling=strict") {
				return true
			}
		}
	}
	return false
}

func (a *API) search(w http.ResponseWriter, r *http.Request, c *caller) {
	typ, ok := a.typeAllowed(w, r, c, 's')
	if !ok {
		return
	}
	q, err := parseQuery(typ, r.URL.Query(), strict(r), a.c.Location)
	var br *badRequest
	if errors.As(err, &br) {
		a.outcome(w, r, http.StatusBadRequest, "invalid", br.msg)
		return
	}
	ctx := r.Context()
	ps, err := a.grant(ctx, c)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	now := a.c.Clock.Now().UTC()
	allowed := q.subjects()
	var matched []*entry
	for _, p := range ps {
		if allowed != nil && !slices.Contains(allowed, patientFHIRID(p)) {
			continue
		}
		es, err := a.entriesOf(ctx, p, typ, now)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		for _, e := range es {
			if q.match(e) {
				matched = append(matched, e)
			}
		}
	}
	sortEntries(matched, q)
	b := searchset{ResourceType: "Bundle", Type: "searchset", Total: len(matched)}
	b.Link = append(b.Link, bundleLink{"self", a.link(typ, q.Kept, q.Offset)})
	var page []*entry
	if !q.SummaryCount && q.Count > 0 && q.Offset < len(matched) {
		page = matched[q.Offset:min(q.Offset+q.Count, len(matched))]
		if end := q.Offset + len(page); end < len(matched) {
			b.Link = append(b.Link, bundleLink{"next", a.link(typ, q.Kept, end)})
		}
		if q.Offset > 0 {
			b.Link = append(b.Link, bundleLink{"previous", a.link(typ, q.Kept, max(0, q.Offset-q.Count))})
		}
	}
	var patients []string
	types := []string{typ}
	seen := map[string]bool{}
	add := func(e *entry, mode string) {
		be := bundleEntry{FullURL: a.base + "/" + e.Type + "/" + e.ID, Resource: e.Body}
		be.Search.Mode = mode
		b.Entry = append(b.Entry, be)
		if !slices.Contains(patients, e.Patient.ID) {
			patients = append(patients, e.Patient.ID)
		}
	}
	for _, e := range page {
		add(e, "match")
	}
	if len(q.Includes) > 0 && c.scopes.allows("Patient", 'r') {
		for _, e := range page {
			if seen[e.Subject] {
				continue
			}
			seen[e.Subject] = true
			pe, err := a.entriesOf(ctx, e.Patient, "Patient", now)
			if err != nil {
				a.fail(w, r, err)
				return
			}
			add(pe[0], "include")
			if !slices.Contains(types, "Patient") {
				types = append(types, "Patient")
			}
		}
	}
	if len(q.Ignored) > 0 {
		oo, _ := json.Marshal(map[string]any{"resourceType": "OperationOutcome", "issue": []map[string]string{{"severity": "warning",
			"code": "not-supported", "diagnostics": "ignored unknown search parameters: " + strings.Join(q.Ignored, ", ")}}})
		be := bundleEntry{Resource: oo}
		be.Search.Mode = "outcome"
		b.Entry = append(b.Entry, be)
	}
	if err := a.auditReads(ctx, c, "fhir.search", patients, strings.Join(types, ",")+" ("+strconv.Itoa(len(page))+" of "+strconv.Itoa(len(matched))+")"); err != nil {
		a.fail(w, r, err)
		return
	}
	writeFHIR(w, http.StatusOK, b)
}

// link is the URL of a page of a search.
func (a *API) link(typ string, kept url.Values, offset int) string {
	v := url.Values{}
	for k, vs := range kept {
		v[k] = vs
	}
	if offset > 0 {
		v.Set(pageParam, strconv.Itoa(offset))
	}
	u := a.base + "/" + typ
	if enc := v.Encode(); enc != "" {
		u += "?" + enc
	}
	return u
}
