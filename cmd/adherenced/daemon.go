package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/clinic/fhirapi"
	"github.com/pillbox/pillbox/adherence/clinic/metrics"
	"github.com/pillbox/pillbox/adherence/clinic/silent"
	"github.com/pillbox/pillbox/adherence/clinic/web"
	"github.com/pillbox/pillbox/cmd/internal/clinicdb"
	"github.com/pillbox/pillbox/cmd/internal/lifecycle"
	"github.com/pillbox/pillbox/cmd/internal/systemd"
	"github.com/pillbox/pillbox/notify"
	"github.com/pillbox/pillbox/notify/twilio"
	"github.com/pillbox/pillbox/schedule"
)

// daemon runs the clinic service until SIGTERM or SIGINT.
func daemon(o options, stdout io.Writer, log *slog.Logger) error {
	var s *service
	return lifecycle.Life{
		Start: func(ctx context.Context) (err error) { s, err = start(ctx, o, stdout, log); return err },
		Serve: func(ctx context.Context) error { return s.serve(ctx) },
		Close: func() { s.close() },
	}.Run()
}

// service is a started clinic service, not yet serving.
type service struct {
	o        options
	log      *slog.Logger
	st       clinic.Store
	clinic   *clinic.Service
	watcher  *silent.Watcher
	fhir     *fhirapi.API
	httpSrv  *http.Server
	listener net.Listener
}

func start(ctx context.Context, o options, stdout io.Writer, log *slog.Logger) (*service, error) {
	if o.demo {
		if err := os.MkdirAll(o.data, 0o700); err != nil {
			return nil, fmt.Errorf("adherenced: data folder: %w", err)
		}
	}
	st, err := clinicdb.Open(ctx, o.database()) // an SQLite backend makes its own folder
	if err != nil {
		return nil, fmt.Errorf("adherenced: open the database: %w", err)
	}
	s := &service{o: o, log: log, st: st}
	ok := false
	defer func() {
		if !ok {
			s.close()
		}
	}()
	clock := schedule.NewRealClock()
	store := clinic.New(st, clock)
	s.clinic = store
	sender, err := smsSender(log)
	if err != nil {
		return nil, err
	}
	meter := metrics.New(metrics.Config{Silence: store, Clock: clock, Refusals: web.Refusals, Logger: log})
	s.watcher, err = silent.New(silent.Config{Clinic: store, Clock: clock, Texter: sender, Logger: log, After: o.silentAfter, Meter: meter})
	if err != nil {
		return nil, err
	}
	publicURL := o.publicURL
	if s.listener, err = net.Listen("tcp", o.listen); err != nil {
		return nil, fmt.Errorf("adherenced: listen: %w", err)
	}
	local := "http://" + s.listener.Addr().String()
	if o.tlsCert != "" {
		local = "https://" + s.listener.Addr().String()
	}
	if publicURL == "" {
		publicURL = local
	}
	srv, err := web.New(web.Config{Clinic: store, Clock: clock, Logger: log, Watcher: s.watcher, Metrics: meter,
		PublicURL: publicURL, TrustedProxies: o.proxies})
	if err != nil {
		return nil, err
	}
	// The FHIR API (docs/fhir.md) beside the pages: its own
	// authorisation (SMART Backend Services), the same audit log.
	// Export files go under --data beside the SQLite file; with --db
	// naming the database elsewhere --data may not exist (and is not
	// made), so they go to a private temporary folder removed at stop.
	bulkDir := ""
	if o.db == "" {
		bulkDir = filepath.Join(o.data, "fhir-bulk")
		os.RemoveAll(bulkDir) // export jobs live in the process: older files are orphans
	}
	s.fhir, err = fhirapi.New(fhirapi.Config{Clinic: store, Clock: clock, Logger: log, BaseURL: publicURL,
		Location: time.Local, Remote: srv.Remote, Bulk: fhirapi.BulkConfig{Dir: bulkDir}, Software: version})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/fhir/", s.fhir.Handler())
	mux.Handle("/.well-known/smart-configuration", s.fhir.Handler())
	mux.Handle("/", srv.Handler())
	s.httpSrv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if o.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return nil, fmt.Errorf("adherenced: TLS: %w", err)
		}
		s.httpSrv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
		s.listener = tls.NewListener(s.listener, s.httpSrv.TLSConfig)
	}
	if o.demo {
		if err := setupDemo(ctx, store, o, local, stdout); err != nil {
			return nil, err
		}
	}
	// The service's own settings are configuration too: each start records
	// them, so a change between restarts shows in the audit log.
	settings := fmt.Sprintf("db=%s listen=%s public_url=%s tls=%t trusted_proxies=%d silent_after=%s demo=%t",
		clinicdb.Redact(o.database()), o.listen, publicURL, o.tlsCert != "", len(o.proxies), o.silentAfter, o.demo)
	if err := store.Audit(ctx, clinic.System, "service.start", "", settings, ""); err != nil {
		return nil, err
	}
	log.Info("adherenced: ready", "listen", local, "public_url", publicURL)
	ok = true
	return s, nil
}

// smsSender is Twilio when TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are
// set (with TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID), else a stand-in
// that captures texts in the database only (pillctl clinic texts shows
// them).
func smsSender(log *slog.Logger) (notify.Sender, error) {
	sid, tok := os.Getenv("TWILIO_ACCOUNT_SID"), os.Getenv("TWILIO_AUTH_TOKEN")
	if sid == "" && tok == "" {
		log.Warn("adherenced: no Twilio credentials (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN): texts are kept in the database, not sent")
		return captured{log}, nil
	}
	s, err := twilio.New(twilio.Config{AccountSID: sid, AuthToken: tok, From: os.Getenv("TWILIO_FROM"),
		MessagingServiceSID: os.Getenv("TWILIO_MESSAGING_SERVICE_SID")})
	if err != nil {
		return nil, fmt.Errorf("adherenced: %w", err)
	}
	return s, nil
}

// captured is the SMS stand-in without a provider.
type captured struct{ log *slog.Logger }

var _ notify.Sender = captured{}

func (c captured) Send(context.Context, string, string) (notify.Sent, error) {
	c.log.Info("adherenced: text captured, not sent (no SMS provider configured)")
	return notify.Sent{SID: "captured", Status: "captured"}, nil
}

// setupDemo prepares the demo accounts and device and prints how to use
// them; with --demo-dispenser-config it also writes a dispenser config
// that syncs here.
func setupDemo(ctx context.Context, store *clinic.Service, o options, local string, stdout io.Writer) error {
	tokFile, err := filepath.Abs(filepath.Join(o.data, "demo-device.token"))
	if err != nil {
		return fmt.Errorf("adherenced: demo: %w", err)
	}
	old, _ := os.ReadFile(tokFile) // missing on the first run
	d, err := store.SetupDemo(ctx, clinic.CLI("adherenced --demo"), "Margaret (demo)", strings.TrimSpace(string(old)))
	if err != nil {
		return err
	}
	if err := writePrivate(tokFile, []byte(d.Token+"\n")); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "clinic:  %s\nsign in: %s / %s\n", local, d.Username, d.Password)
	if o.demoConfig == "" {
		return nil
	}
	base, err := os.ReadFile(o.demoConfig)
	if err != nil {
		return fmt.Errorf("adherenced: demo: %w", err)
	}
	for _, line := range strings.Split(string(base), "\n") {
		if strings.HasPrefix(line, "sync:") {
			return fmt.Errorf("adherenced: demo: %s already has a sync: section", o.demoConfig)
		}
	}
	section := fmt.Sprintf("\n# Added by adherenced --demo: push to the local clinic service.\nsync:\n  url: %s\n  device: %s\n  token_file: %s\n  interval: 1m\n",
		local, d.DeviceID, tokFile)
	out := filepath.Join(o.data, "demo-dispenser.yaml")
	if err := writePrivate(out, append(base, section...)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "dispenser config: %s\n", out)
	return nil
}

// writePrivate writes a file readable by its owner only, atomically, so
// that a dispenser waiting for it never reads half of it.
func writePrivate(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("adherenced: write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("adherenced: write %s: %w", path, err)
	}
	return nil
}

// serve runs the watcher and the HTTP server until ctx ends.
func (s *service) serve(ctx context.Context) error {
	runCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watchDone := make(chan error, 1)
	go func() { watchDone <- s.watcher.Run(runCtx) }()
	httpDone := make(chan error, 1)
	go func() { httpDone <- s.httpSrv.Serve(s.listener) }()
	// Ready: the store opened and migrated in start, and the listener is
	// bound, so connections queue in the kernel until Serve takes them.
	if err := systemd.Notify("READY=1"); err != nil {
		s.log.Warn("adherenced: sd_notify", "err", err)
	}
	// The watchdog is fed only while the database answers: a process that
	// has lost its database is restarted rather than left serving errors.
	stopWatchdog := systemd.StartWatchdog(runCtx, s.st.Ping, func(err error) {
		s.log.Error("adherenced: the database does not answer; withholding the watchdog ping", "err", err)
	})
	defer stopWatchdog()
	var err error
	select {
	case <-ctx.Done():
		s.log.Info("adherenced: shutting down")
	case err = <-httpDone:
		if !errors.Is(err, http.ErrServerClosed) {
			err = fmt.Errorf("adherenced: http: %w", err)
		}
	}
	systemd.Notify("STOPPING=1")
	shutCtx, done := context.WithTimeout(context.Background(), 5*time.Second)
	defer done()
	s.httpSrv.Shutdown(shutCtx)
	cancel()
	<-watchDone
	return err
}

func (s *service) close() {
	if s.fhir != nil {
		s.fhir.Close()
	}
	if s.listener != nil {
		s.listener.Close()
	}
	if err := s.st.Close(); err != nil {
		s.log.Error("adherenced: close store", "err", err)
	}
}
