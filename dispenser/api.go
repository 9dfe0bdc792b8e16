package dispenser

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/pillbox/pillbox/hw"
)

// Coded errors of requests to the controller; the HTTP layer maps them to
// statuses.
var (
	ErrInvalid        = errors.New("invalid request")
	ErrNotFound       = errors.New("not found")
	ErrTooSoon        = errors.New("too soon")
	ErrBusy           = errors.New("dispenser busy")
	ErrClockUntrusted = errors.New("clock not trusted yet")
	ErrConflict       = errors.New("conflict")
)

// Status is a snapshot for the status API and the panel.
type Status struct {
	Now          time.Time           `json:"now"`
	Local        string              `json:"local"` // patient's local time, RFC 3339 with offset
	Timezone     string              `json:"timezone"`
	ClockTrusted bool                `json:"clock_trusted"`
	Display      []string            `json:"display"`
	Lights       map[string]string   `json:"lights"`
	Compartments []CompartmentStatus `json:"compartments"`
	Pending      []Dose              `json:"pending"` // open, dispensing or in the cup
	Recent       []Dose              `json:"recent"`  // final states in the last 24 h
	Next         []Dose              `json:"next"`    // scheduled in the next 24 h
	Busy         bool                `json:"busy"`
	StoreError   bool                `json:"store_error"`
	Missing      []string            `json:"missing_hardware,omitempty"`
	Faults       map[string][]string `json:"faults,omitempty"`
}

// CompartmentStatus is one cassette's content.
type CompartmentStatus struct {
	ID         int    `json:"id"`
	Medication string `json:"medication"`
	Name       string `json:"name"`
	Left       int    `json:"left"`
	Capacity   int    `json:"capacity"`
}

// Status returns a snapshot of the controller.
func (c *Controller) Status(ctx context.Context) (Status, error) {
	var s Status
	err := c.do(ctx, func() { s = c.status() })
	return s, err
}

func (c *Controller) status() Status {
	now := c.cfg.Clock.Now()
	b := c.cfg.Board
	s := Status{
		Pending:      []Dose{},
		Recent:       []Dose{},
		Next:         []Dose{},
		Now:          now.UTC(),
		Local:        now.In(c.cfg.Location).Format(time.RFC3339),
		Timezone:     c.cfg.Location.String(),
		ClockTrusted: c.trusted,
		Display:      append([]string(nil), c.screen...),
		Lights:       map[string]string{},
		Busy:         c.active != nil || len(c.queue) > 0,
		StoreError:   c.storeErr != nil,
		Missing:      b.Missing,
		Faults:       maps.Clone(c.faults),
	}
	for name, ind := range map[string]hw.Indicator{"ready": b.Ready, "attention": b.Attention, "fault": b.Fault, "buzzer": b.Buzzer} {
		if ind != nil {
			s.Lights[name] = ind.Mode().String()
		}
	}
	for _, comp := range b.Compartments {
		cs := CompartmentStatus{ID: comp.ID, Left: c.counts[comp.ID], Capacity: c.cfg.Capacity[comp.ID]}
		for _, m := range c.cfg.Medications {
			if m.Compartment == comp.ID {
				cs.Medication, cs.Name = m.ID, m.Name
			}
		}
		s.Compartments = append(s.Compartments, cs)
	}
	for _, d := range c.sortedDoses() {
		switch {
		case d.State.Open() || d.State == StateDispensing || d.State == StateDispensed:
			s.Pending = append(s.Pending, *d)
		case now.Sub(d.Scheduled) < 24*time.Hour:
			s.Recent = append(s.Recent, *d)
		}
	}
	for _, occ := range c.cfg.Plan.Between(now, now.Add(24*time.Hour)) {
		if _, ok := c.doses[occ.ID]; ok {
			continue
		}
		m := c.meds[occ.Medication]
		s.Next = append(s.Next, Dose{ID: occ.ID, Medication: occ.Medication, Compartment: m.Compartment,
			Pills: m.PillsPerDose, Scheduled: occ.At, Opens: occ.Opens, Closes: occ.Closes})
	}
	return s
}

// Skip records that the patient or a caregiver chose to skip an open dose.
func (c *Controller) Skip(ctx context.Context, doseID, by string) error {
	var err error
	if derr := c.do(ctx, func() {
		d := c.doses[doseID]
		switch {
		case d == nil:
			err = fmt.Errorf("%w: no open dose %q", ErrNotFound, doseID)
		case !d.State.Open():
			err = fmt.Errorf("%w: dose is %s", ErrConflict, d.State)
		default:
			_, err = c.commit(c.ctx, c.doseEvent(d, KindSkipped, c.cfg.Clock.Now(), "by="+by))
		}
	}); derr != nil {
		return derr
	}
	return err
}

// RequestPRN asks for one dose of an as-needed medication, as holding the
// button does.
func (c *Controller) RequestPRN(ctx context.Context, med string) error {
	var err error
	if derr := c.do(ctx, func() { err = c.requestPRN(c.ctx, med) }); derr != nil {
		return derr
	}
	return err
}

// Refill records that a compartment was refilled to count pills.
func (c *Controller) Refill(ctx context.Context, compartment, count int) error {
	var err error
	if derr := c.do(ctx, func() {
		if c.motor(compartment) == nil {
			err = fmt.Errorf("%w: no compartment %d", ErrNotFound, compartment)
			return
		}
		if capa := c.cfg.Capacity[compartment]; count < 0 || capa > 0 && count > capa {
			err = fmt.Errorf("%w: count %d outside 0..%d", ErrInvalid, count, c.cfg.Capacity[compartment])
			return
		}
		if c.active != nil && c.active.dose.Compartment == compartment {
			err = ErrBusy
			return
		}
		ev := Event{Time: c.cfg.Clock.Now(), Kind: KindRefill, Compartment: compartment, Detail: fmt.Sprintf("left=%d", count)}
		if _, err = c.commit(c.ctx, ev); err == nil {
			c.counts[compartment] = count
		}
	}); derr != nil {
		return derr
	}
	return err
}

// WaitIdle returns once no dose is being dispensed or queued.
func (c *Controller) WaitIdle(ctx context.Context) error {
	var ch chan struct{}
	if err := c.do(ctx, func() {
		if c.active == nil && len(c.queue) == 0 {
			return
		}
		ch = make(chan struct{})
		c.idleWaiters = append(c.idleWaiters, ch)
	}); err != nil {
		return err
	}
	if ch == nil {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.quit:
		return ErrStopped
	}
}

// SetFault shows a problem that needs a person (texts not going out, a
// sensor stuck) on the display whenever no dose needs the patient, and
// lights the fault LED, until ClearFault with the same key. Lines should be
// short and plain; the patient is not expected to fix it.
func (c *Controller) SetFault(ctx context.Context, key string, lines ...string) error {
	return c.do(ctx, func() {
		if c.faults == nil {
			c.faults = map[string][]string{}
		}
		c.faults[key] = lines
	})
}

// ClearFault removes a fault set with SetFault.
func (c *Controller) ClearFault(ctx context.Context, key string) error {
	return c.do(ctx, func() { delete(c.faults, key) })
}
