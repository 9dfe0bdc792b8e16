package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/cmd/internal/clinicdb"
	"github.com/pillbox/pillbox/schedule"
)

// local is an adherenced that pillload started on a database of its own,
// with the devices it registered there.
type local struct {
	dir, db, url string
	cmd          *exec.Cmd
	exited       chan error
}

// credential is a registered device.
type credential struct{ device, token, patient string }

// startLocal registers n devices (a patient each) in a new clinic
// database (db, or dir/clinic.db when db is "") through the clinic's Go
// API, as `pillctl clinic device add` does, and starts the adherenced
// binary on it on a free loopback port. Its log goes to
// dir/adherenced.log.
func startLocal(ctx context.Context, binary, dir, db string, n int) (*local, []credential, error) {
	l := &local{dir: dir, db: db, exited: make(chan error, 1)}
	if db == "" {
		l.db = filepath.Join(dir, "clinic.db")
	}
	creds, err := provision(ctx, l.db, n)
	if err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, fmt.Errorf("pillload: %w", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	logFile, err := os.Create(filepath.Join(dir, "adherenced.log"))
	if err != nil {
		return nil, nil, fmt.Errorf("pillload: %w", err)
	}
	l.cmd = exec.Command(binary, "--data", dir, "--db", l.db, "--listen", addr)
	// Never a real SMS provider: a silent device would text someone.
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "TWILIO_") {
			l.cmd.Env = append(l.cmd.Env, e)
		}
	}
	stderr, err := l.cmd.StderrPipe()
	if err != nil {
		logFile.Close()
		return nil, nil, fmt.Errorf("pillload: %w", err)
	}
	l.cmd.Stdout = logFile
	if err := l.cmd.Start(); err != nil {
		logFile.Close()
		return nil, nil, fmt.Errorf("pillload: start %s: %w", binary, err)
	}
	ready := make(chan struct{})
	go func() {
		defer logFile.Close()
		sc := bufio.NewScanner(stderr)
		signalled := false
		for sc.Scan() {
			fmt.Fprintln(logFile, sc.Text())
			if !signalled && strings.Contains(sc.Text(), "adherenced: ready") {
				signalled = true
				close(ready)
			}
		}
		io.Copy(logFile, stderr)
		l.exited <- l.cmd.Wait()
	}()
	select {
	case <-ready:
	case err := <-l.exited:
		return nil, nil, fmt.Errorf("pillload: adherenced exited before it was ready (%v); see %s", err, logFile.Name())
	case <-time.After(time.Minute):
		l.cmd.Process.Kill()
		return nil, nil, fmt.Errorf("pillload: adherenced not ready after a minute; see %s", logFile.Name())
	case <-ctx.Done():
		l.cmd.Process.Kill()
		return nil, nil, ctx.Err()
	}
	l.url = "http://" + addr
	return l, creds, nil
}

// provision makes the clinic database at path with n patients, a
// dispenser each.
func provision(ctx context.Context, path string, n int) ([]credential, error) {
	st, err := clinicdb.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	store := clinic.New(st, schedule.NewRealClock())
	actor := clinic.CLI("pillload")
	creds := make([]credential, n)
	for i := range creds {
		p, err := store.CreatePatient(ctx, actor, fmt.Sprintf("Load test patient %d", i+1))
		if err != nil {
			return nil, err
		}
		d, tok, err := store.RegisterDevice(ctx, actor, p.ID, "pillload")
		if err != nil {
			return nil, err
		}
		creds[i] = credential{device: d.ID, token: tok, patient: p.ID}
	}
	return creds, nil
}

// stop ends adherenced with SIGTERM, as systemd would.
func (l *local) stop() error {
	l.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-l.exited:
		if err != nil {
			return fmt.Errorf("pillload: adherenced: %w", err)
		}
		return nil
	case <-time.After(30 * time.Second):
		l.cmd.Process.Kill()
		return errors.New("pillload: adherenced did not stop within 30 s of SIGTERM")
	}
}

// verify checks in the database that every event and reading of every
// device is stored exactly once, and nothing else for its patient.
func (l *local) verify(ctx context.Context, devs []*device, from, to time.Time) []string {
	st, err := clinicdb.Open(ctx, l.db)
	if err != nil {
		return []string{err.Error()}
	}
	defer st.Close()
	store := clinic.New(st, schedule.NewRealClock())
	var problems []string
	for _, d := range devs {
		evs, err := store.PatientEvents(ctx, d.patient, from, to, 2*len(d.events)+10)
		if err != nil {
			return append(problems, err.Error())
		}
		rds, err := store.PatientReadings(ctx, d.patient, from, to, 2*len(d.readings)+10)
		if err != nil {
			return append(problems, err.Error())
		}
		var got, want []string
		for _, e := range evs {
			got = append(got, e.ID)
		}
		for _, e := range d.events {
			want = append(want, e.ID)
		}
		problems = append(problems, exactlyOnce(d.id, "events", got, want)...)
		got, want = got[:0], want[:0]
		for _, r := range rds {
			got = append(got, r.ID)
		}
		for _, r := range d.readings {
			want = append(want, r.ID)
		}
		problems = append(problems, exactlyOnce(d.id, "readings", got, want)...)
	}
	return problems
}

// exactlyOnce compares the ids stored with the ids sent.
func exactlyOnce(device, what string, stored, sent []string) []string {
	n := map[string]int{}
	for _, id := range stored {
		n[id]++
	}
	var missing, twice int
	for _, id := range sent {
		switch n[id] {
		case 0:
			missing++
		case 1:
		default:
			twice++
		}
		delete(n, id)
	}
	var out []string
	if missing > 0 || twice > 0 || len(n) > 0 {
		out = append(out, fmt.Sprintf("device %s: %s: %d sent, %d stored: %d missing, %d stored more than once, %d never sent",
			device, what, len(sent), len(stored), missing, twice, len(n)))
	}
	return out
}
