package fhirapi

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/report"
	"github.com/pillbox/pillbox/dispenser"
)

// A patient's resources are made from their records at each request, by
// adherence/report's mapping (the export's), with references Type/id.
// The adherence figures, which are of a period, are served per calendar
// month in the patient's zone: each month that has data, the current one
// through yesterday, so that a figure's id (which names its period) and
// content stay the same until new data changes them.

// entry is one resource and its search index.
type entry struct {
	Type, ID string
	Patient  clinic.Patient // whose it is
	Subject  string         // the Patient's FHIR id
	Body     []byte         // the resource's JSON, with meta
	Version  string
	Updated  time.Time // meta.lastUpdated
	// Index.
	Start, End        time.Time // date parameter (zero: none)
	Codes, Categories []coding
	Status, Intent    string
	Identifiers       []coding
}

type coding struct{ System, Code string }

// indexed is what the index reads of a resource's JSON.
type indexed struct {
	Status     string    `json:"status"`
	Intent     string    `json:"intent"`
	Code       *concept  `json:"code"`
	Category   []concept `json:"category"`
	Identifier []struct {
		System string `json:"system"`
		Value  string `json:"value"`
	} `json:"identifier"`
	EffectiveDateTime string `json:"effectiveDateTime"`
	EffectivePeriod   *struct {
		Start string `json:"start"`
		End   string `json:"end"`
	} `json:"effectivePeriod"`
	Period *struct {
		Start string `json:"start"`
		End   string `json:"end"`
	} `json:"period"`
}

type concept struct {
	Coding []struct {
		System string `json:"system"`
		Code   string `json:"code"`
	} `json:"coding"`
}

func (c *concept) codings() []coding {
	if c == nil {
		return nil
	}
	out := make([]coding, len(c.Coding))
	for i, x := range c.Coding {
		out[i] = coding{x.System, x.Code}
	}
	return out
}

// dataFloor is the earliest record time the API reads: the clinic holds
// times before 2000 unreliable (clinic.ClockBefore2000).
var dataFloor = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// patientEntries returns the patient's resources of the types want
// accepts at now, in the export's order.
func (a *API) patientEntries(ctx context.Context, p clinic.Patient, now time.Time, want func(typ string) bool) ([]*entry, error) {
	c := a.c.Clinic
	setup, infos, err := c.PatientSetup(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	devs, err := c.Store.Devices(ctx, p.ID)
	if err != nil {
		return nil, fmt.Errorf("fhirapi: devices: %w", err)
	}
	to := now.Add(clinic.MaxClockSkew)
	synced, err := c.Store.SyncedEvents(ctx, clinic.EventQuery{PatientID: p.ID, From: dataFloor, To: to, Limit: clinic.NoLimit, Reliable: true})
	if err != nil {
		return nil, fmt.Errorf("fhirapi: events: %w", err)
	}
	readings, err := c.Store.PatientReadings(ctx, p.ID, dataFloor, to, clinic.NoLimit)
	if err != nil {
		return nil, fmt.Errorf("fhirapi: readings: %w", err)
	}
	marks, err := c.Store.FalseMisses(ctx, p.ID)
	if err != nil {
		return nil, fmt.Errorf("fhirapi: false misses: %w", err)
	}
	// When the clinic last received data of the patient: what a resource
	// made of several records (or of the profile) may have changed at.
	dataAt := p.Created
	doseAt := map[string]time.Time{}
	devAt := map[string]time.Time{}
	for _, d := range devs {
		devAt[d.ID] = maxTime(d.Created, d.LastSeen)
		dataAt = maxTime(dataAt, d.LastSeen)
	}
	events := make([]dispenser.Event, len(synced))
	for i, e := range synced {
		events[i] = e.Event
		if e.DoseID != "" {
			doseAt[e.DoseID] = maxTime(doseAt[e.DoseID], e.Received)
		}
	}
	for id, m := range marks {
		doseAt[id] = maxTime(doseAt[id], m.At)
		dataAt = maxTime(dataAt, m.At)
	}
	loc := setup.Location
	if loc == nil {
		loc = time.UTC
	}
	first := now
	if len(events) > 0 {
		first = events[0].Time
	}
	if len(readings) > 0 && readings[0].Time.Before(first) {
		first = readings[0].Time
	}
	y, m, d := first.In(loc).Date()
	from := time.Date(y, m, d, 0, 0, 0, 0, loc)
	in := report.Input{Subject: report.Subject{ID: p.ID, Name: p.DisplayName}, Dispensers: infos, Setup: setup,
		Events: events, Readings: readings, Marks: marks, From: from, To: to, Generated: now}
	var out []*entry
	add := func(res report.FHIRResource, updated time.Time) error {
		e, err := newEntry(p, res, updated)
		if err != nil {
			return err
		}
		out = append(out, e)
		return nil
	}
	for _, res := range report.Build(in).FHIRResources(report.RelativeRef) {
		if res.Summary || !want(res.Type) {
			continue
		}
		updated := dataAt
		switch res.Type {
		case "Patient":
			updated = p.Created
		case "Device":
			for id, at := range devAt {
				if res.ID == report.FHIRID(p.ID, "Device", id) {
					updated = at
				}
			}
		case "MedicationAdministration":
			if dose := identifier(res.Resource); dose != "" && !doseAt[dose].IsZero() {
				updated = doseAt[dose]
			}
		}
		if err := add(res, updated); err != nil {
			return nil, err
		}
	}
	if !want("Observation") {
		return out, nil
	}
	// The adherence figures, month by month.
	today := time.Date(now.In(loc).Year(), now.In(loc).Month(), now.In(loc).Day(), 0, 0, 0, 0, loc)
	for start := time.Date(y, m, 1, 0, 0, 0, 0, loc); start.Before(today); start = start.AddDate(0, 1, 0) {
		end := start.AddDate(0, 1, 0)
		if end.After(today) {
			end = today
		}
		mi := in
		mi.From, mi.To, mi.Generated = start, end, end
		lo := sort.Search(len(events), func(i int) bool { return !events[i].Time.Before(start.Add(-clinic.FillLookback)) })
		hi := sort.Search(len(events), func(i int) bool { return !events[i].Time.Before(end) })
		mi.Events = events[lo:hi]
		mi.Readings = nil
		for _, res := range report.Build(mi).FHIRResources(report.RelativeRef) {
			if res.Summary {
				if err := add(res, minTime(dataAt, end)); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, nil
}

// identifier is the first identifier value of a resource the mapping
// wrote as a map.
func identifier(res any) string {
	m, ok := res.(map[string]any)
	if !ok {
		return ""
	}
	b, err := json.Marshal(m["identifier"])
	if err != nil {
		return ""
	}
	var ids []struct{ Value string }
	if json.Unmarshal(b, &ids) != nil || len(ids) == 0 {
		return ""
	}
	return ids[0].Value
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// newEntry marshals a resource, versions it by its content and indexes
// it.
func newEntry(p clinic.Patient, res report.FHIRResource, updated time.Time) (*entry, error) {
	raw, err := json.Marshal(res.Resource)
	if err != nil || len(raw) < 2 || raw[0] != '{' {
		return nil, fmt.Errorf("fhirapi: marshal %s: %v", res.Type, err)
	}
	sum := sha256.Sum256(raw)
	e := &entry{Type: res.Type, ID: res.ID, Patient: p, Subject: report.FHIRID(p.ID, "Patient"),
		Version: hex.EncodeToString(sum[:8]), Updated: updated.UTC().Truncate(time.Millisecond)}
	meta, _ := json.Marshal(map[string]string{"versionId": e.Version, "lastUpdated": e.Updated.Format(time.RFC3339Nano)})
	e.Body = slices.Concat([]byte(`{"meta":`), meta, []byte(","), raw[1:])
	var x indexed
	if err := json.Unmarshal(raw, &x); err != nil {
		return nil, fmt.Errorf("fhirapi: index %s: %w", res.Type, err)
	}
	e.Status, e.Intent, e.Codes = x.Status, x.Intent, x.Code.codings()
	for _, c := range x.Category {
		e.Categories = append(e.Categories, c.codings()...)
	}
	for _, id := range x.Identifier {
		e.Identifiers = append(e.Identifiers, coding{id.System, id.Value})
	}
	switch {
	case x.EffectiveDateTime != "":
		e.Start = parseInstant(x.EffectiveDateTime)
	case x.EffectivePeriod != nil:
		e.Start, e.End = parseInstant(x.EffectivePeriod.Start), parseInstant(x.EffectivePeriod.End)
	case x.Period != nil:
		e.Start, e.End = parseInstant(x.Period.Start), parseInstant(x.Period.End)
		if e.End.IsZero() && res.Type == "Flag" {
			// An open alert's period runs on: it is still on.
			e.End = farFuture
		}
	}
	return e, nil
}

var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

func parseInstant(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// sortEntries orders entries for a search: by the date parameter when
// sorted, else by date with undated ones first, then type and id.
func sortEntries(es []*entry, q query) {
	key := func(e *entry) time.Time {
		if q.Sort != nil && q.Sort.field == fieldLastUpdated {
			return e.Updated
		}
		return e.Start
	}
	slices.SortStableFunc(es, func(a, b *entry) int {
		c := key(a).Compare(key(b))
		if q.Desc {
			c = -c
		}
		return cmp.Or(c, cmp.Compare(a.Type, b.Type), cmp.Compare(a.ID, b.ID))
	})
}
