package fhirapi

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/report"
)

// Bulk Data Access v2 (the FHIR Bulk Data IG): a kick-off (GET
// Patient/$export or Group/{id}/$export with Prefer: respond-async)
// starts a job and answers 202 with its status URL; the status answers
// 202 with X-Progress and Retry-After while it runs and 200 with the
// manifest when done; the files, NDJSON per resource type, are behind the
// same access token; DELETE cancels a job and removes its files. Jobs
// live in this process (a restart forgets them, and a client starts
// again); at most Workers run at once, the rest wait their turn.

// BulkConfig configures bulk export.
type BulkConfig struct {
	// Dir holds the files; "" is a new temporary folder, removed by
	// Close.
	Dir string
	// Workers is how many jobs run at once; 0 is 2.
	Workers int
	// PerClient is how many unfinished jobs a client may have; 0 is 4.
	PerClient int
	// Keep is how long a finished job and its files are kept; 0 is 1 hour.
	Keep time.Duration
	// RetryAfter is the poll interval the status asks for; 0 is 2
	// seconds (the header has whole seconds).
	RetryAfter time.Duration
}

type jobState int

const (
	jobQueued jobState = iota
	jobRunning
	jobDone
	jobFailed
)

// job is one export.
type job struct {
	ID       string
	ClientID string
	Request  string
	Types    []string
	Since    time.Time
	Patients []clinic.Patient
	Scopes   scopes

	mu       sync.Mutex
	state    jobState
	progress string
	started  time.Time // the transactionTime
	finished time.Time
	files    []bulkFile
	cancel   context.CancelFunc
	done     chan struct{}
}

// bulkFile is one NDJSON file of a job.
type bulkFile struct {
	Type, Name, Path string
	Count            int
	Patients         []string // clinic ids of the patients whose data it holds
}

type bulkRunner struct {
	a       *API
	c       BulkConfig
	ownDir  bool
	sem     chan struct{}
	ctx     context.Context
	stop    context.CancelFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	jobs    map[string]*job
	started int // jobs ever started, for the test hook
}

func newBulkRunner(a *API, c BulkConfig) (*bulkRunner, error) {
	b := &bulkRunner{a: a, c: c, jobs: map[string]*job{}}
	if b.c.Workers <= 0 {
		b.c.Workers = 2
	}
	if b.c.PerClient <= 0 {
		b.c.PerClient = 4
	}
	if b.c.Keep <= 0 {
		b.c.Keep = time.Hour
	}
	if b.c.RetryAfter <= 0 {
		b.c.RetryAfter = 2 * time.Second
	}
	if b.c.Dir == "" {
		d, err := os.MkdirTemp("", "pillbox-bulk-")
		if err != nil {
			return nil, fmt.Errorf("fhirapi: bulk folder: %w", err)
		}
		b.c.Dir, b.ownDir = d, true
	} else if err := os.MkdirAll(b.c.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("fhirapi: bulk folder: %w", err)
	}
	b.sem = make(chan struct{}, b.c.Workers)
	b.ctx, b.stop = context.WithCancel(context.Background())
	return b, nil
}

func (b *bulkRunner) close() {
	b.stop()
	b.wg.Wait()
	b.mu.Lock()
	defer b.mu.Unlock()
	for id, j := range b.jobs {
		b.remove(id, j)
	}
	if b.ownDir {
		os.RemoveAll(b.c.Dir)
	}
}

// remove forgets a job and deletes its files (b.mu held).
func (b *bulkRunner) remove(id string, j *job) {
	delete(b.jobs, id)
	os.RemoveAll(filepath.Join(b.c.Dir, id))
}

// prune removes the jobs finished more than Keep ago.
func (b *bulkRunner) prune(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for id, j := range b.jobs {
		j.mu.Lock()
		old := !j.finished.IsZero() && now.Sub(j.finished) > b.c.Keep
		j.mu.Unlock()
		if old {
			b.remove(id, j)
		}
	}
}

// GroupID is the id of the one Group a client may export: its grant.
func GroupID(c clinic.FHIRClient) string {
	if c.PanelUserID != "" {
		return report.FHIRID("panel", c.PanelUserID, "Group")
	}
	return report.FHIRID("client", c.ID, "Group")
}

var ndjsonFormats = []string{"application/fhir+ndjson", "application/ndjson", "ndjson"}

// kickOff starts an export.
func (a *API) kickOff(w http.ResponseWriter, r *http.Request, c *caller) {
	ctx := r.Context()
	if !preferAsync(r) {
		a.outcome(w, r, http.StatusBadRequest, "invalid", "bulk export needs the header Prefer: respond-async")
		return
	}
	if g := r.PathValue("group"); g != "" || strings.HasPrefix(r.URL.Path, "/fhir/Group/") {
		if g != GroupID(c.client) {
			a.audit(ctx, c.actor, "fhir.denied", "", "Group/"+clip(g), "denied")
			a.outcome(w, r, http.StatusNotFound, "not-found", "Group/"+clip(g)+" is not known")
			return
		}
	}
	q := r.URL.Query()
	j := &job{ClientID: c.client.ID, Request: a.c.BaseURL + r.URL.RequestURI(), Scopes: c.scopes, done: make(chan struct{})}
	for k, v := range q {
		if len(v) != 1 {
			a.outcome(w, r, http.StatusBadRequest, "invalid", clip(k)+": give it once")
			return
		}
		switch k {
		case "_outputFormat":
			if !slices.Contains(ndjsonFormats, v[0]) {
				a.outcome(w, r, http.StatusBadRequest, "invalid", "_outputFormat: only application/fhir+ndjson")
				return
			}
		case "_type":
			for _, t := range strings.Split(v[0], ",") {
				t = strings.TrimSpace(t)
				if !servedType(t) {
					a.outcome(w, r, http.StatusBadRequest, "invalid", "_type: this server does not serve "+clip(t))
					return
				}
				if !slices.Contains(j.Types, t) {
					j.Types = append(j.Types, t)
				}
			}
		case "_since":
			t, err := time.Parse(time.RFC3339Nano, v[0])
			if err != nil {
				a.outcome(w, r, http.StatusBadRequest, "invalid", "_since: want an instant such as 2026-03-01T00:00:00Z")
				return
			}
			j.Since = t
		default:
			if strict(r) || strings.HasPrefix(k, "_typeFilter") || k == "_elements" || k == "patient" || k == "includeAssociatedData" {
				a.outcome(w, r, http.StatusBadRequest, "not-supported", "bulk export does not support "+clip(k))
				return
			}
		}
	}
	if len(j.Types) == 0 {
		for _, t := range typeNames() {
			if c.scopes.allows(t, 'r') {
				j.Types = append(j.Types, t)
			}
		}
	}
	for _, t := range j.Types {
		if !c.scopes.allows(t, 'r') {
			a.outcome(w, r, http.StatusForbidden, "forbidden", "the access token's scopes do not allow reading "+t)
			return
		}
	}
	if len(j.Types) == 0 {
		a.outcome(w, r, http.StatusForbidden, "forbidden", "the access token's scopes allow reading no resource type")
		return
	}
	var err error
	if j.Patients, err = a.grant(ctx, c); err != nil {
		a.fail(w, r, err)
		return
	}
	now := a.c.Clock.Now().UTC()
	a.bulk.prune(now)
	if err := a.bulk.start(j, now); err != nil {
		w.Header().Set("Retry-After", "60")
		a.outcome(w, r, http.StatusTooManyRequests, "throttled", err.Error())
		return
	}
	a.audit(ctx, c.actor, "fhir.export.start", "", j.ID+" "+strings.Join(j.Types, ","), "ok")
	w.Header().Set("Content-Location", a.base+"/bulk/"+j.ID)
	writeFHIR(w, http.StatusAccepted, map[string]any{"resourceType": "OperationOutcome",
		"issue": []map[string]string{{"severity": "information", "code": "informational", "diagnostics": "export started: poll the Content-Location"}}})
}

func preferAsync(r *http.Request) bool {
	for _, v := range r.Header.Values("Prefer") {
		for _, p := range strings.Split(v, ",") {
			if strings.TrimSpace(p) == "respond-async" {
				return true
			}
		}
	}
	return false
}

var errTooMany = errors.New("too many unfinished exports for this client; wait for one to finish or cancel it")

// start queues j.
func (b *bulkRunner) start(j *job, now time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	unfinished := 0
	for _, o := range b.jobs {
		o.mu.Lock()
		if o.ClientID == j.ClientID && o.state < jobDone {
			unfinished++
		}
		o.mu.Unlock()
	}
	if unfinished >= b.c.PerClient {
		return errTooMany
	}
	var id [12]byte
	rand.Read(id[:])
	j.ID = hex.EncodeToString(id[:])
	ctx, cancel := context.WithCancel(b.ctx)
	j.cancel = cancel
	j.progress = "queued"
	b.jobs[j.ID] = j
	b.started++
	b.wg.Go(func() {
		defer close(j.done)
		defer cancel()
		select {
		case b.sem <- struct{}{}:
		case <-ctx.Done():
			b.finish(j, nil, ctx.Err())
			return
		}
		defer func() { <-b.sem }()
		files, err := b.run(ctx, j)
		b.finish(j, files, err)
	})
	return nil
}

func (b *bulkRunner) finish(j *job, files []bulkFile, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.finished = b.a.c.Clock.Now().UTC()
	if err != nil {
		j.state = jobFailed
		if !errors.Is(err, context.Canceled) {
			b.a.log.Error("fhirapi: bulk export failed", "job", j.ID, "err", err)
		}
		return
	}
	j.state, j.files = jobDone, files
}

// run writes the job's files: one per resource type with data.
func (b *bulkRunner) run(ctx context.Context, j *job) ([]bulkFile, error) {
	now := b.a.c.Clock.Now().UTC()
	j.mu.Lock()
	j.state, j.started = jobRunning, now
	j.mu.Unlock()
	dir := filepath.Join(b.c.Dir, j.ID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("fhirapi: bulk: %w", err)
	}
	type out struct {
		f    *os.File
		w    *bufio.Writer
		file bulkFile
	}
	outs := map[string]*out{}
	defer func() {
		for _, o := range outs {
			o.f.Close()
		}
	}()
	for i, p := range j.Patients {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		j.mu.Lock()
		j.progress = fmt.Sprintf("patient %d of %d", i+1, len(j.Patients))
		j.mu.Unlock()
		var es []*entry
		var err error
		if len(j.Types) == 1 && j.Types[0] == "Patient" {
			es, err = b.a.entriesOf(ctx, p, "Patient", now)
		} else {
			es, err = b.a.patientEntries(ctx, p, now, func(t string) bool { return slices.Contains(j.Types, t) })
		}
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			if !slices.Contains(j.Types, e.Type) || !j.Since.IsZero() && e.Updated.Before(j.Since) {
				continue
			}
			o := outs[e.Type]
			if o == nil {
				name := e.Type + ".ndjson"
				f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
				if err != nil {
					return nil, fmt.Errorf("fhirapi: bulk: %w", err)
				}
				o = &out{f: f, w: bufio.NewWriterSize(f, 64<<10), file: bulkFile{Type: e.Type, Name: name, Path: f.Name()}}
				outs[e.Type] = o
			}
			o.w.Write(e.Body)
			o.w.WriteByte('\n')
			o.file.Count++
			if !slices.Contains(o.file.Patients, p.ID) {
				o.file.Patients = append(o.file.Patients, p.ID)
			}
		}
	}
	var files []bulkFile
	for _, t := range j.Types {
		o := outs[t]
		if o == nil {
			continue
		}
		if err := o.w.Flush(); err != nil {
			return nil, fmt.Errorf("fhirapi: bulk: %w", err)
		}
		if err := o.f.Close(); err != nil {
			return nil, fmt.Errorf("fhirapi: bulk: %w", err)
		}
		files = append(files, o.file)
	}
	clear(outs)
	return files, nil
}

// withJob finds the caller's job for h; 404 when there is none of that
// id, or it is another client's (the same answer).
func (a *API) withJob(h func(w http.ResponseWriter, r *http.Request, c *caller, j *job)) func(w http.ResponseWriter, r *http.Request, c *caller) {
	return func(w http.ResponseWriter, r *http.Request, c *caller) {
		a.bulk.prune(a.c.Clock.Now().UTC())
		a.bulk.mu.Lock()
		j := a.bulk.jobs[r.PathValue("job")]
		a.bulk.mu.Unlock()
		if j == nil || j.ClientID != c.client.ID {
			a.noJob(w, r, c)
			return
		}
		h(w, r, c, j)
	}
}

func (a *API) noJob(w http.ResponseWriter, r *http.Request, c *caller) {
	a.audit(r.Context(), c.actor, "fhir.denied", "", "bulk/"+clip(r.PathValue("job")), "denied")
	a.outcome(w, r, http.StatusNotFound, "not-found", "no such export (finished exports are kept for a while, then removed)")
}

func (a *API) bulkStatus(w http.ResponseWriter, r *http.Request, c *caller, j *job) {
	j.mu.Lock()
	state, progress, files, started, finished := j.state, j.progress, slices.Clone(j.files), j.started, j.finished
	j.mu.Unlock()
	switch state {
	case jobQueued, jobRunning:
		w.Header().Set("X-Progress", progress)
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(a.bulk.c.RetryAfter.Seconds()))))
		w.WriteHeader(http.StatusAccepted)
		return
	case jobFailed:
		a.outcome(w, r, http.StatusInternalServerError, "exception", "the export failed; start another")
		return
	}
	output := []map[string]any{}
	for _, f := range files {
		output = append(output, map[string]any{"type": f.Type, "url": a.base + "/bulk/" + j.ID + "/" + f.Name, "count": f.Count})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Expires", finished.Add(a.bulk.c.Keep).Format(http.TimeFormat))
	writeJSONBody(w, map[string]any{"transactionTime": started.Format(time.RFC3339Nano), "request": j.Request,
		"requiresAccessToken": true, "output": output, "error": []any{}})
}

func (a *API) bulkCancel(w http.ResponseWriter, r *http.Request, c *caller, j *job) {
	j.cancel()
	<-j.done
	a.bulk.mu.Lock()
	a.bulk.remove(j.ID, j)
	a.bulk.mu.Unlock()
	a.audit(r.Context(), c.actor, "fhir.export.cancel", "", j.ID, "ok")
	w.WriteHeader(http.StatusAccepted)
}

func (a *API) bulkFile(w http.ResponseWriter, r *http.Request, c *caller, j *job) {
	j.mu.Lock()
	i := slices.IndexFunc(j.files, func(f bulkFile) bool { return f.Name == r.PathValue("file") })
	var f bulkFile
	if i >= 0 {
		f = j.files[i]
	}
	j.mu.Unlock()
	if i < 0 || !c.scopes.allows(f.Type, 'r') {
		a.noJob(w, r, c)
		return
	}
	// The grant as it is now: a patient taken off the panel since the
	// export is not read through its file.
	ps, err := a.grant(r.Context(), c)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	for _, id := range f.Patients {
		if !slices.ContainsFunc(ps, func(p clinic.Patient) bool { return p.ID == id }) {
			a.noJob(w, r, c)
			return
		}
	}
	fh, err := os.Open(f.Path)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	defer fh.Close()
	if err := a.auditReads(r.Context(), c, "fhir.export", f.Patients, f.Type+" (bulk "+j.ID+")"); err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/fhir+ndjson")
	http.ServeContent(w, r, "", time.Time{}, fh)
}
