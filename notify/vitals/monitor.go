package vitals

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/hw/vital"
	"github.com/pillbox/pillbox/hw/vital/quality"
	"github.com/pillbox/pillbox/schedule"
)

// Store is where readings are kept (adherence.Store implements it).
type Store interface {
	History
	// AppendReadings stores rs durably and returns those that were new
	// (a repeat of a stamped record counts on the stored one).
	AppendReadings(ctx context.Context, rs ...vital.Reading) ([]vital.Reading, error)
	// CountRepeats counts one repeat on each stored reading of ids.
	CountRepeats(ctx context.Context, ids ...string) error
	// LastReading returns the latest stored reading of a device (q "" for
	// any quantity).
	LastReading(ctx context.Context, device string, q vital.Quantity) (vital.Reading, bool, error)
}

// Log is the event log the monitor appends alerts to and reads dose
// events and earlier alerts from.
type Log interface {
	Append(ctx context.Context, evs ...dispenser.Event) ([]dispenser.Event, error)
	DoseHistory
}

// Monitor is the vitals path from readings to alert events: it passes each
// batch of readings through the quality step (hw/vital/quality), stores
// them, runs the rules over what was new, appends one event per alert
// change, runs the cross-rule on dose events, and keeps a no-data timer per
// device that has SilentAfter. Every source of readings (the Bluetooth
// transport, the simulator's endpoint) goes through Ingest.
type Monitor struct {
	engine  *Engine
	store   Store
	log     Log
	clock   schedule.Clock
	logger  *slog.Logger
	devices map[string]Device

	ingest sync.Mutex // one batch at a time: rules see readings in store order

	tmu    sync.Mutex
	timers map[string]schedule.Timer
	closed bool

	qmu   sync.Mutex
	queue []dispenser.Event
	wake  chan struct{}
	// dmu makes drains one at a time, so that Settle's waits for one that
	// Run has under way with the queue it took.
	dmu sync.Mutex
}

// restoreWindow is how far back Start reads earlier alert events.
const restoreWindow = 14 * 24 * time.Hour

// silenceGrace is the least time a device gets to report after the daemon
// starts before its no-data alarm, whatever its last reading says: it may
// have been measuring all along while the dispenser was off.
const silenceGrace = time.Hour

// NewMonitor returns a monitor; call Start before Ingest.
func NewMonitor(cfg Config, meds []dispenser.Medication, clock schedule.Clock, store Store, log Log, logger *slog.Logger) *Monitor {
	if logger == nil {
		logger = slog.Default()
	}
	m := &Monitor{engine: NewEngine(cfg, meds, clock, store, log), store: store, log: log, clock: clock,
		logger: logger, devices: map[string]Device{}, timers: map[string]schedule.Timer{}, wake: make(chan struct{}, 1)}
	for _, d := range cfg.Devices {
		addr, _ := vital.NormalizeAddress(d.Address)
		d.Address = addr
		m.devices[addr] = d
	}
	return m
}

// Engine returns the monitor's rules.
func (m *Monitor) Engine() *Engine { return m.engine }

// Start restores the rules' latches from the alerts already in the log
// and arms the no-data timers from each device's last stored reading.
func (m *Monitor) Start(ctx context.Context) error {
	now := m.clock.Now()
	evs, err := m.log.SinceTime(ctx, now.Add(-restoreWindow))
	if err != nil {
		return fmt.Errorf("vitals: start: %w", err)
	}
	m.engine.Restore(evs)
	for addr, d := range m.devices {
		if d.SilentAfter <= 0 {
			continue
		}
		wait := d.SilentAfter
		last, ok, err := m.store.LastReading(ctx, addr, "")
		if err != nil {
			return fmt.Errorf("vitals: start: %w", err)
		}
		if ok {
			wait = min(max(last.Time.Add(d.SilentAfter).Sub(now), silenceGrace), d.SilentAfter)
		}
		m.arm(addr, wait)
	}
	return nil
}

// Stop cancels the no-data timers.
func (m *Monitor) Stop() {
	m.tmu.Lock()
	defer m.tmu.Unlock()
	m.closed = true
	for _, t := range m.timers {
		t.Stop()
	}
}

func (m *Monitor) arm(addr string, wait time.Duration) {
	m.tmu.Lock()
	defer m.tmu.Unlock()
	if m.closed {
		return
	}
	if t, ok := m.timers[addr]; ok {
		t.Stop()
	}
	m.timers[addr] = m.clock.AfterFunc(wait, func() { m.silent(addr) })
}

// silent runs when a device's no-data timer fires.
func (m *Monitor) silent(addr string) {
	m.ingest.Lock()
	defer m.ingest.Unlock()
	alerts := m.engine.Silent(addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := m.appendAlerts(ctx, alerts); err != nil {
		m.logger.Error("vitals: no-data alarm", "err", err)
	}
	// Remind again after another full period if it stays silent.
	if d, ok := m.devices[addr]; ok {
		m.arm(addr, d.SilentAfter)
	}
}

// Ingest checks rs (the readings of one or more measurements, in the order
// they were taken or received, as decoded) with the quality step, stores
// them flagged, counts their repeats, runs the rules over the new ones and
// appends the alert events. rc is what the receiver knew at reception.
// It returns the readings stored (repeats of stored ones are left out) and
// the events appended.
func (m *Monitor) Ingest(ctx context.Context, rs []vital.Reading, rc quality.Reception) ([]vital.Reading, []dispenser.Event, error) {
	if len(rs) == 0 {
		return nil, nil, nil
	}
	m.ingest.Lock()
	defer m.ingest.Unlock()
	recent, err := m.recent(ctx, rs, rc.At)
	if err != nil {
		return nil, nil, fmt.Errorf("vitals: ingest: %w", err)
	}
	checked := quality.Check(rs, quality.Context{Reception: rc, Recent: recent})
	if len(checked.Repeats) > 0 {
		ids := make([]string, len(checked.Repeats))
		for i, r := range checked.Repeats {
			ids[i] = r.ID
		}
		if err := m.store.CountRepeats(ctx, ids...); err != nil {
			return nil, nil, fmt.Errorf("vitals: ingest: %w", err)
		}
	}
	stored, err := m.store.AppendReadings(ctx, checked.Readings...)
	if err != nil {
		return nil, nil, fmt.Errorf("vitals: ingest: %w", err)
	}
	// Only a new measurement ends a silence: a cuff replaying its memory or
	// a meter with no new record says nothing of whether the patient
	// measures.
	armed := map[string]bool{}
	for _, r := range stored {
		if d, ok := m.devices[r.Device]; ok && d.SilentAfter > 0 && !armed[r.Device] {
			armed[r.Device] = true
			m.arm(r.Device, d.SilentAfter)
		}
	}
	var alerts []Alert
	var ruleErr error
	for _, group := range quality.Measurements(stored) {
		as, err := m.engine.Measurement(ctx, group)
		alerts = append(alerts, as...)
		if err != nil && ruleErr == nil {
			ruleErr = err
		}
	}
	evs, err := m.appendAlerts(ctx, alerts)
	if err == nil {
		err = ruleErr
	}
	if err != nil {
		return stored, evs, fmt.Errorf("vitals: ingest: %w", err)
	}
	return stored, evs, nil
}

// recent returns the stored readings the quality step compares rs with:
// those of rs's devices measured in the last quality.RepeatWindow before
// at, when rs has a reading timed on arrival (only those are judged
// against them).
func (m *Monitor) recent(ctx context.Context, rs []vital.Reading, at time.Time) ([]vital.Reading, error) {
	var out []vital.Reading
	seen := map[string]bool{}
	for _, r := range rs {
		if r.DeviceTime || seen[r.Device] {
			continue
		}
		seen[r.Device] = true
		got, err := m.store.DeviceReadings(ctx, r.Device, at.Add(-quality.RepeatWindow), at.Add(time.Millisecond))
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	return out, nil
}

func (m *Monitor) appendAlerts(ctx context.Context, alerts []Alert) ([]dispenser.Event, error) {
	if len(alerts) == 0 {
		return nil, nil
	}
	now := m.clock.Now()
	evs := make([]dispenser.Event, len(alerts))
	for i, a := range alerts {
		evs[i] = a.Event(now)
	}
	stored, err := m.log.Append(ctx, evs...)
	if err != nil {
		return nil, fmt.Errorf("append alerts: %w", err)
	}
	for _, a := range alerts {
		// Rule and priority only: the text and the device stay in the log.
		if a.Cleared {
			m.logger.Info("vitals: alert cleared", "rule", a.Rule, "reason", a.Reason)
		} else {
			m.logger.Info("vitals: alert", "rule", a.Rule, "priority", a.Priority.String())
		}
	}
	return stored, nil
}

// OnCommit is the event log subscriber: it queues the dose events the
// cross-rule needs for Run. It never blocks, as subscribers must not.
func (m *Monitor) OnCommit(evs []dispenser.Event) {
	var keep []dispenser.Event
	for _, ev := range evs {
		switch ev.Kind {
		case dispenser.KindMissed, dispenser.KindDispensed, dispenser.KindTaken:
			if m.engine.bpMeds[ev.Medication] {
				keep = append(keep, ev)
			}
		}
	}
	if len(keep) == 0 {
		return
	}
	m.qmu.Lock()
	m.queue = append(m.queue, keep...)
	m.qmu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Run runs the cross-rule on queued dose events until ctx ends.
func (m *Monitor) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-m.wake:
		}
		if err := m.drain(ctx); err != nil {
			m.logger.Error("vitals: dose events not judged", "err", err)
		}
	}
}

// Settle runs the cross-rule, in the caller's goroutine, over every dose
// event committed before the call that Run has not finished with: a
// simulator calls it after each step of its clock, so that the alerts the
// step's doses raise are logged at their time.
func (m *Monitor) Settle(ctx context.Context) error { return m.drain(ctx) }

// drain runs the cross-rule over the queued dose events.
func (m *Monitor) drain(ctx context.Context) error {
	m.dmu.Lock()
	defer m.dmu.Unlock()
	m.qmu.Lock()
	evs := m.queue
	m.queue = nil
	m.qmu.Unlock()
	if err := m.doses(ctx, evs); err != nil {
		return fmt.Errorf("vitals: cross-rule: %w", err)
	}
	return nil
}

func (m *Monitor) doses(ctx context.Context, evs []dispenser.Event) error {
	m.ingest.Lock()
	defer m.ingest.Unlock()
	alerts, err := m.engine.Doses(ctx, evs)
	if err != nil {
		return err
	}
	_, err = m.appendAlerts(ctx, alerts)
	return err
}
