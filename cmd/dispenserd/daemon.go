package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/pillbox/pillbox/adherence"
	"github.com/pillbox/pillbox/adherence/insights/coach"
	"github.com/pillbox/pillbox/cmd/internal/config"
	"github.com/pillbox/pillbox/cmd/internal/lifecycle"
	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/dispenser/httpapi"
	"github.com/pillbox/pillbox/dispenser/httpapi/simapi"
	"github.com/pillbox/pillbox/hw"
	"github.com/pillbox/pillbox/hw/host"
	"github.com/pillbox/pillbox/hw/sim"
	"github.com/pillbox/pillbox/hw/vital"
	"github.com/pillbox/pillbox/notify/vitals"
	"github.com/pillbox/pillbox/schedule"
)

// options are the daemon's flags.
type options struct {
	config   string
	sim      bool
	data     string
	listen   string
	simSpeed float64
	simStart string
	simState string
	// simUnsynced starts the simulated clock without NTP synchronisation:
	// untrusted until POST /api/sim/ntp says it synced.
	simUnsynced bool
	logJSON     bool
	// apiToken is the local API token's file ("" in sim mode unless
	// given); tlsCert and tlsKey serve the API over TLS.
	apiToken        string
	tlsCert, tlsKey string
}

// daemon runs the dispenser until SIGTERM or SIGINT. SIGHUP re-reads the
// API token file (rotation, docs/api.md).
func daemon(o options, log *slog.Logger) error {
	var r *running
	return lifecycle.Life{
		Start: func(ctx context.Context) (err error) { r, err = start(ctx, o, log); return err },
		Serve: func(ctx context.Context) error { return r.serve(ctx) },
		Close: func() { r.close() },
		Reload: func() {
			log.Info("dispenserd: SIGHUP: reloading the API token")
			r.loadToken()
		},
	}.Run()
}

// openHost opens the real board; tests put a simulated board behind a
// daemon that is otherwise not in sim mode.
var openHost = host.Open

// running is a started daemon: everything wired, nothing serving yet.
type running struct {
	opts     options
	file     *config.File
	loc      *time.Location
	plan     *schedule.Plan
	log      *slog.Logger
	store    *adherence.Store
	board    *hw.Board
	world    *sim.World
	clock    schedule.Clock
	simClock *schedule.SimClock // nil unless --sim
	settler  *simapi.Settler    // nil unless --sim
	ctrl     *dispenser.Controller
	httpSrv  *http.Server
	listener net.Listener
	// token is the local API token, re-read on SIGHUP.
	token *httpapi.Token
	// pages are the panel's paths, which need no credential.
	pages []string

	// events is the log every writer appends through (the controller, the
	// notifier, vitals): after each durable commit it hands the stored
	// events to its subscribers.
	events *publishingLog

	// coach is what is learned of the patient (newCoach); vitals the
	// vitals monitor (wireVitals), whose personal baselines it feeds.
	coach  *coach.Coach
	vitals *vitals.Monitor

	routes   map[string]http.Handler // the API's routes beyond httpapi.Server's own
	services []func(ctx context.Context) error
	closers  []func() error
}

// start wires the daemon, in order: the config, the store, the clock and
// the board; what start-up found of a damaged log; the dose loop; then what
// acts on the log (the notifier, vitals, sync, the live stream and panel),
// each subscribed to it, and the metrics of them all; last the API and its
// listener. Nothing runs until serve.
func start(ctx context.Context, o options, log *slog.Logger) (*running, error) {
	f, probs, err := config.Load(o.config)
	if err != nil {
		return nil, err
	}
	if len(probs) > 0 {
		config.PrintProblems(os.Stderr, o.config, probs)
		return nil, fmt.Errorf("dispenserd: %s has %d problem(s); run dispenserd --check-config %s", o.config, len(probs), o.config)
	}
	tlsCfg, err := tlsConfig(o)
	if err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation(f.Patient.Timezone)
	if err != nil {
		return nil, fmt.Errorf("dispenserd: time zone: %w", err)
	}
	plan, err := schedule.NewPlan(f.Regimens, loc)
	if err != nil {
		return nil, fmt.Errorf("dispenserd: %w", err)
	}
	if err := os.MkdirAll(o.data, 0o700); err != nil {
		return nil, fmt.Errorf("dispenserd: data folder: %w", err)
	}
	opened, err := openStore(ctx, filepath.Join(o.data, "dispenser.db"), log)
	if err != nil {
		return nil, err
	}
	store := opened.store
	r := &running{opts: o, file: f, loc: loc, plan: plan, log: log, store: store, routes: map[string]http.Handler{},
		token: &httpapi.Token{}, events: &publishingLog{Store: store}}
	ok := false
	defer func() {
		if !ok {
			r.close()
		}
	}()

	var gate dispenser.ClockGate
	var ntp *simapi.NTP
	if o.sim {
		opts := []sim.Option{sim.WithLogger(log)}
		if o.simState != "" {
			opts = append(opts, sim.WithStateFile(o.simState))
		}
		r.world, err = sim.New(f.Board, f.Compartments, opts...)
		if err != nil {
			return nil, fmt.Errorf("dispenserd: %w", err)
		}
		r.board = r.world.Board()
		if r.simClock, err = newSimClock(ctx, o, store, r.world.Clock()); err != nil {
			return nil, err
		}
		r.settler = simapi.NewSettler(log)
		r.events.subscribe(r.settler.Committed)
		r.clock = r.settler.Clock(r.simClock)
		r.world.SetClock(r.simClock.Now())
		// With --sim-speed the clock also moves on its own: keep where it got.
		r.closers = append(r.closers, func() error { r.world.SetClock(r.simClock.Now()); return nil })
		ntp = simapi.NewNTP(!o.simUnsynced)
		gate = simapi.Gate(r.simClock, store, ntp)
	} else {
		r.clock = schedule.NewRealClock()
		r.board, err = openHost(f.Board, f.Compartments, log)
		if err != nil {
			return nil, fmt.Errorf("dispenserd: %w", err)
		}
		gate = &schedule.Trust{Clock: r.clock, Store: store}
	}

	if opened.damaged != nil {
		// Logged before anything else runs: the controller restores the
		// doses it makes uncertain, the notifier tells a caregiver.
		if _, err := store.Append(ctx, opened.damaged.Events(r.clock.Now(), plan, f.Medications)...); err != nil {
			log.Error("dispenserd: could not log the damaged database", "err", err)
		}
	}

	counts, capacity := map[int]int{}, map[int]int{}
	for _, c := range f.Compartments {
		counts[c.ID], capacity[c.ID] = c.Count, c.Capacity
	}
	if err := newCoach(ctx, r); err != nil {
		return nil, fmt.Errorf("dispenserd: %w", err)
	}
	r.ctrl, err = dispenser.New(dispenser.Config{
		Clock: r.clock, Log: r.events, Board: r.board, Plan: plan, Location: loc,
		Medications: f.Medications, Counts: counts, Capacity: capacity, Gate: gate,
		Logger: log, Language: f.Patient.Locale(), ClockStyle: f.Patient.Clock(), Reminders: f.Escalation.Reminders(), Coach: r.coach,
	})
	if err != nil {
		return nil, err
	}
	hub := httpapi.NewHub()
	r.events.subscribe(hub.Publish)
	n, err := wireNotify(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("dispenserd: notify: %w", err)
	}
	if err := wireVitals(ctx, r); err != nil {
		return nil, fmt.Errorf("dispenserd: vitals: %w", err)
	}
	if err := wireInsights(ctx, r); err != nil {
		return nil, fmt.Errorf("dispenserd: %w", err)
	}
	pusher, err := wireSync(r)
	if err != nil {
		return nil, fmt.Errorf("dispenserd: sync: %w", err)
	}
	wireStream(ctx, r)
	wireMetrics(r, n, pusher)

	api := &httpapi.Server{Controller: r.ctrl, Log: store, Hub: hub, Logger: log, Extra: r.routes}
	if o.sim {
		api.World = worldAPI{r.world}
		api.Clock = simapi.Clock{SimClock: r.simClock, World: r.world, Loop: r.ctrl, Settler: r.settler}
		r.mount((&simapi.Controls{World: r.world, NTP: ntp, Poker: r.ctrl, List: api.Routes}).Routes())
	}
	r.loadToken()
	if r.listener, api.Access, err = r.listenAPI(tlsCfg, r.pages); err != nil {
		return nil, err
	}
	r.httpSrv = &http.Server{
		Handler:           api.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ok = true
	return r, nil
}

// mount adds routes to the API's.
func (r *running) mount(routes map[string]http.Handler) {
	for pattern, h := range routes {
		if _, dup := r.routes[pattern]; dup {
			panic("dispenserd: route " + pattern + " mounted twice")
		}
		r.routes[pattern] = h
	}
}

// newSimClock starts the simulated clock at --sim-start exactly: a time
// before the log's last event is a board that booted with a wrong clock (a
// Pi without an RTC boots at 1970). Without it, the clock resumes the
// world's time saved in the state file (saved), or starts now; but never
// before the last event already logged, so a restarted simulator does not
// run its world backwards.
func newSimClock(ctx context.Context, o options, store *adherence.Store, saved time.Time) (*schedule.SimClock, error) {
	var start time.Time
	if o.simStart != "" {
		t, err := time.Parse(time.RFC3339, o.simStart)
		if err != nil {
			return nil, fmt.Errorf("dispenserd: --sim-start: want RFC 3339 such as 2026-03-08T07:00:00-05:00: %w", err)
		}
		start = t
	} else {
		start = saved
		if start.IsZero() {
			start = time.Now().Truncate(time.Minute)
		}
		latest, err := store.LastEventTime(ctx)
		if err != nil {
			return nil, err
		}
		if latest.After(start) {
			start = latest
		}
	}
	c := schedule.NewSimClock(start)
	if o.simSpeed > 0 {
		c.SetSpeed(o.simSpeed)
	}
	return c, nil
}

// serve runs the controller and the HTTP server until ctx ends, then shuts
// both down in order: no new requests, then the dose loop, then hardware.
func (r *running) serve(ctx context.Context) error {
	ctrlCtx, stopCtrl := context.WithCancel(context.Background())
	defer stopCtrl()
	ctrlDone := make(chan error, 1)
	go func() { ctrlDone <- r.ctrl.Run(ctrlCtx) }()
	httpDone := make(chan error, 1)
	go func() { httpDone <- r.httpSrv.Serve(r.listener) }()
	svcDone := make(chan error, len(r.services))
	for _, svc := range r.services {
		go func() { svcDone <- svc(ctrlCtx) }()
	}

	// Ready only once the loop answers: systemd and scripts wait for this.
	if _, err := r.ctrl.Status(ctx); err != nil {
		// Stop everything this function started before the caller closes
		// the store under it.
		r.httpSrv.Close()
		stopCtrl()
		<-ctrlDone
		for range r.services {
			<-svcDone
		}
		return fmt.Errorf("dispenserd: controller did not start: %w", err)
	}
	r.log.Info("dispenserd: ready", "listen", r.scheme()+"://"+r.listener.Addr().String(), "sim", r.world != nil)
	notifySystemd("READY=1")
	stopWatchdog := startWatchdog(ctx, r.ctrl, r.log)
	defer stopWatchdog()

	var err error
	ctrlRunning, svcRunning := true, len(r.services)
	select {
	case <-ctx.Done():
		r.log.Info("dispenserd: shutting down")
	case err = <-ctrlDone:
		ctrlRunning = false
		err = fmt.Errorf("dispenserd: controller stopped: %w", err)
	case err = <-httpDone:
		err = fmt.Errorf("dispenserd: http: %w", err)
	case err = <-svcDone:
		svcRunning--
		err = fmt.Errorf("dispenserd: service stopped: %w", err)
	}
	notifySystemd("STOPPING=1")
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r.httpSrv.Shutdown(shutCtx)
	stopCtrl()
	// Wait for the writers before the caller closes the store under them.
	for ctrlRunning || svcRunning > 0 {
		select {
		case <-ctrlDone:
			ctrlRunning = false
		case <-svcDone:
			svcRunning--
		case <-shutCtx.Done():
			r.log.Error("dispenserd: shutdown timed out", "controller_running", ctrlRunning, "services_running", svcRunning)
			return err
		}
	}
	return err
}

func (r *running) close() {
	for i := len(r.closers) - 1; i >= 0; i-- {
		if err := r.closers[i](); err != nil {
			r.log.Error("dispenserd: close", "err", err)
		}
	}
	if r.board != nil && r.board.Close != nil {
		if err := r.board.Close(); err != nil {
			r.log.Error("dispenserd: close board", "err", err)
		}
	}
	if r.store != nil {
		if err := r.store.Close(); err != nil {
			r.log.Error("dispenserd: close store", "err", err)
		}
	}
}

// publishingLog is the store's event log that also tells subscribers about
// every batch it commits, whoever appended it, and every batch of new
// readings; and the storage alarm about every write that fails or
// succeeds. Subscribers are added while the daemon is wired, before
// anything appends; they must not block.
type publishingLog struct {
	*adherence.Store
	subs     []func([]dispenser.Event)
	readings []func()
	failed   func(error)         // may be nil
	saved    func()              // may be nil
	took     func(time.Duration) // how long a commit took; may be nil
}

func (l *publishingLog) subscribe(f func([]dispenser.Event)) { l.subs = append(l.subs, f) }

// publish hands a committed batch to the subscribers.
func (l *publishingLog) publish(evs []dispenser.Event) {
	for _, f := range l.subs {
		f(evs)
	}
}

func (l *publishingLog) Append(ctx context.Context, evs ...dispenser.Event) ([]dispenser.Event, error) {
	begun := time.Now()
	stored, err := l.Store.Append(ctx, evs...)
	if err != nil {
		if l.failed != nil && ctx.Err() == nil {
			l.failed(err)
		}
		return nil, err
	}
	if l.took != nil {
		l.took(time.Since(begun))
	}
	if l.saved != nil {
		l.saved()
	}
	l.publish(stored)
	return stored, nil
}

// AppendReadings stores readings and tells the readings' subscribers (the
// clinic sync pushes them at once instead of at its next heartbeat).
func (l *publishingLog) AppendReadings(ctx context.Context, rs ...vital.Reading) ([]vital.Reading, error) {
	stored, err := l.Store.AppendReadings(ctx, rs...)
	if len(stored) > 0 {
		for _, f := range l.readings {
			f()
		}
	}
	return stored, err
}

var (
	_ dispenser.Log = (*publishingLog)(nil)
	_ vitals.Store  = (*publishingLog)(nil)
)

// worldAPI adapts the simulated world to the HTTP API's view of it.
type worldAPI struct{ *sim.World }

func (w worldAPI) Snapshot() any { return w.World.Snapshot() }

var _ httpapi.World = worldAPI{}
