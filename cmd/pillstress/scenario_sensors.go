package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pillbox/pillbox/dispenser"
)

// sensorCase is one hardware fault of the sensor scenario.
type sensorCase struct {
	name string
	// alert is the alert key the fault must raise, once ("" when it
	// raises none: harmless and invisible to the device).
	alert string
	// replace changes the example config (after fastMotors).
	replace []string
	// inject breaks the hardware, at 07:55, before the 08:00 dose.
	inject func(ctx context.Context, d *daemon) error
	// maxPills is how many pills the 08:00 metformin dose may give (its
	// prescription is 1; a fault may give fewer, never more).
	maxPills int
}

// sensorFaults breaks one sensor or actuator per run, then lives through
// the morning doses: the lid sensor stuck open or closed, the button
// bouncing at 100 Hz, spurious drop-sensor pulses with the motor idle, the
// drop sensor always blocked, and a motor that turns but delivers nothing.
// Each fault must be detected and reported once (one alert, one first text
// to a caregiver, however often it recurs), and never become a double dose
// (pills counted in the world).
func sensorFaults(ctx context.Context, h *harness, r *result) {
	stick := func(in, how string) func(context.Context, *daemon) error {
		return func(ctx context.Context, d *daemon) error {
			return d.api.fault(ctx, map[string]any{"input": in, "stick": how})
		}
	}
	cases := []sensorCase{
		{name: "lid stuck open", alert: "fault:0:lid", inject: stick("lid", "active"), maxPills: 1},
		// A stuck-closed lid hides nothing while the cup sensor sees
		// pickups; no sign of it reaches the device.
		{name: "lid stuck closed", inject: stick("lid", "inactive"), maxPills: 1},
		{name: "button bouncing at 100 Hz", alert: "fault:0:button",
			replace: []string{"    pull: up\n    debounce: 20ms\n  # IR", "    pull: up\n    debounce: 2ms\n  # IR"},
			inject: func(ctx context.Context, d *daemon) error {
				return d.api.fault(ctx, map[string]any{"input": "button", "chatter": 300, "every": "5ms"})
			}, maxPills: 1},
		{name: "spurious drop pulses, motor idle", alert: "stray_drop:0",
			inject: func(ctx context.Context, d *daemon) error {
				for range 5 { // a pulse now and then
					if err := d.api.fault(ctx, map[string]any{"input": "drop", "chatter": 2}); err != nil {
						return err
					}
					time.Sleep(300 * time.Millisecond)
				}
				return nil
			}, maxPills: 1},
		{name: "drop sensor always blocked", alert: "fault:0:drop", inject: stick("drop", "active"), maxPills: 1},
		{name: "motor turns, delivers nothing", alert: "jam:1",
			inject: func(ctx context.Context, d *daemon) error {
				return d.api.call(ctx, "POST", "/api/sim/jam", map[string]int{"compartment": 1, "count": 100}, nil)
			}, maxPills: 0},
	}
	for i, c := range cases {
		if ctx.Err() != nil {
			return
		}
		r.Runs++
		if err := sensorRun(ctx, h, r, i, c); err != nil {
			r.fail("%s: %v", c.name, err)
		}
	}
}

func sensorRun(ctx context.Context, h *harness, r *result, i int, c sensorCase) error {
	cfg, err := h.config(fmt.Sprintf("sensor-%d", i), append(append([]string{}, fastMotors...), c.replace...)...)
	if err != nil {
		return err
	}
	d, err := h.newDaemon(fmt.Sprintf("sensor-%d", i), cfg)
	if err != nil {
		return err
	}
	defer d.kill()
	if err := d.start(ctx, "--sim-start=2027-01-12T07:50:00-05:00"); err != nil {
		return err
	}
	chk, err := newChecker(r, d)
	if err != nil {
		return err
	}
	ny, _ := time.LoadLocation("America/New_York")
	at := func(hh, mm int) time.Time { return time.Date(2027, 1, 12, hh, mm, 0, 0, ny) }
	if err := d.api.advanceTo(ctx, at(7, 55)); err != nil {
		return err
	}
	if err := c.inject(ctx, d); err != nil {
		return fmt.Errorf("inject: %w", err)
	}
	// The morning: the 08:00 metformin (compartment 1) and the 09:00
	// lisinopril (compartment 2); the patient presses twice each time and
	// takes what the cup holds.
	for _, t := range []time.Time{at(8, 0), at(9, 0)} {
		if err := d.api.advanceTo(ctx, t); err != nil {
			return err
		}
		for range 2 {
			// Not ?wait=1: a button muted as flapping logs no press to
			// wait for.
			if err := d.api.press(ctx, false); err != nil {
				return fmt.Errorf("press at %s: %w", t.Format("15:04"), err)
			}
			time.Sleep(400 * time.Millisecond) // the press, and the dispense it starts
			if err := waitIdle(ctx, d); err != nil {
				return err
			}
		}
		if err := d.api.take(ctx); err != nil {
			return err
		}
		if err := chk.check(ctx); err != nil {
			return err
		}
	}
	// The fault goes on for hours: it is still reported once.
	for range 6 {
		if err := d.api.advance(ctx, 30*time.Minute); err != nil {
			return err
		}
		if err := chk.check(ctx); err != nil {
			return err
		}
	}
	if !d.alive() {
		return fmt.Errorf("%s", d.crashed())
	}
	w, err := d.api.world(ctx)
	if err != nil {
		return err
	}
	for _, comp := range w.Compartments {
		if comp.ID == 1 && comp.Dispensed > c.maxPills {
			return fmt.Errorf("compartment 1 gave %d pills for one dose of 1: a double dose", comp.Dispensed)
		}
		if comp.ID == 2 && comp.Dispensed > 1 {
			return fmt.Errorf("compartment 2 gave %d pills for one dose of 1: a double dose", comp.Dispensed)
		}
		r.add("pills_in_world", comp.Dispensed)
	}
	evs, err := d.api.events(ctx, 0)
	if err != nil {
		return err
	}
	alerts, firsts := map[string]bool{}, 0
	for _, ev := range evs {
		if ev.Kind != "sms_queued" {
			continue
		}
		for _, key := range strings.Split(field(ev.Detail, "alerts"), ",") {
			if !strings.HasPrefix(key, "dose:") && !strings.HasPrefix(key, "summary:") {
				alerts[key] = true
				if key == c.alert && field(ev.Detail, "to") == "caregiver1" && field(ev.Detail, "why") == "step" {
					firsts++
				}
			}
		}
	}
	r.add("faults_logged", kindCounts(evs)[dispenser.KindFault])
	if c.alert == "" {
		if len(alerts) > 0 {
			return fmt.Errorf("alerts %v for a fault the device cannot see", keys(alerts))
		}
		return nil
	}
	if !alerts[c.alert] || firsts != 1 {
		return fmt.Errorf("alert %s: raised %t, first texts to caregiver 1: %d; want raised and texted once (alerts: %v)", c.alert, alerts[c.alert], firsts, keys(alerts))
	}
	r.add("reported_once", 1)
	return nil
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// waitIdle waits until the dispenser is not busy giving pills.
func waitIdle(ctx context.Context, d *daemon) error {
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		st, err := d.api.status(ctx)
		if err != nil {
			return err
		}
		if !st.Busy {
			return nil
		}
	}
	return fmt.Errorf("still giving pills after 30 s")
}
