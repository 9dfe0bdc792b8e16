package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// State is a snapshot of the simulated world for the status API and the
// browser panel.
type State struct {
	Compartments  []CompartmentState `json:"compartments"`
	PillsInCup    int                `json:"pills_in_cup"`
	LidOpen       bool               `json:"lid_open"`
	CupPresent    bool               `json:"cup_present"`
	ButtonPressed bool               `json:"button_pressed"`
	// Sensors are the configured sensors as their lines read, by name
	// ("button", "drop", "lid", "cup").
	Sensors map[string]SensorState `json:"sensors"`
	// Indicators are the configured LEDs and buzzer as seen on their pins,
	// by config name ("led_ready", "led_attention", "led_fault", "buzzer").
	Indicators map[string]IndicatorState `json:"indicators"`
	Display    DisplayState              `json:"display"`
	// Missing lists the optional parts the board runs without.
	Missing []string `json:"missing"`
	// SaveError is the last failure to write the state file, if any.
	SaveError string `json:"save_error,omitempty"`
}

// CompartmentState is one compartment of a State.
type CompartmentState struct {
	ID        int    `json:"id"`
	Motor     string `json:"motor"`
	Count     int    `json:"count"`
	Capacity  int    `json:"capacity"`
	Dispensed int    `json:"dispensed"` // pills that left the compartment, in total
	InCup     int    `json:"in_cup"`    // of those, in the cup now
	Taken     int    `json:"taken"`     // taken out with the cup
	Spilled   int    `json:"spilled"`   // fell with no cup in the tray
	// JamsPending is how many more units will turn without dropping.
	JamsPending int `json:"jams_pending"`
	// Jammed and EmptyTurns count units that turned and dropped nothing.
	Jammed     int `json:"jammed"`
	EmptyTurns int `json:"empty_turns"`
	// MotorFaults counts coil patterns or jumps a stepper could not follow.
	MotorFaults int `json:"motor_faults"`
}

// SensorState is what a sensor's line reads.
type SensorState struct {
	Pin    string `json:"pin"`
	Active bool   `json:"active"`
	// Stuck is "active" or "inactive" while a fault holds the sensor.
	Stuck string `json:"stuck,omitempty"`
}

// IndicatorState is an LED or buzzer as seen on its pin; Mode ("off",
// "on", "blink", "fast-blink") is inferred from how the pin toggles.
type IndicatorState struct {
	Pin  string `json:"pin"`
	On   bool   `json:"on"`
	Mode string `json:"mode"`
}

// DisplayState is what the display shows.
type DisplayState struct {
	Kind      string   `json:"kind,omitempty"` // "ssd1306", "hd44780", or empty without one
	On        bool     `json:"on"`
	Backlight bool     `json:"backlight,omitempty"` // hd44780
	Lines     []string `json:"lines"`
}

// Snapshot returns the current state of the world.
func (w *World) Snapshot() State {
	now := time.Now()
	w.mu.Lock()
	st := State{
		LidOpen:       w.lidOpen,
		CupPresent:    w.cupPresent,
		ButtonPressed: w.pressed,
		Sensors:       map[string]SensorState{},
		Indicators:    map[string]IndicatorState{},
		Missing:       append([]string{}, w.board.Missing...),
	}
	for _, c := range w.comps {
		st.Compartments = append(st.Compartments, CompartmentState{
			ID: c.cfg.ID, Motor: c.cfg.Motor.Kind,
			Count: c.count, Capacity: c.capacity,
			Dispensed: c.dispensed, InCup: c.inCup, Taken: c.taken, Spilled: c.spilled,
			JamsPending: c.jams, Jammed: c.jammed, EmptyTurns: c.emptyTurns,
			MotorFaults: c.coils.faults,
		})
		st.PillsInCup += c.inCup
	}
	for in, s := range w.sensors {
		ss := SensorState{Pin: s.pin.Name(), Active: bool(s.pin.Level()) != s.activeLow}
		switch {
		case s.stuck == nil:
		case *s.stuck:
			ss.Stuck = "active"
		default:
			ss.Stuck = "inactive"
		}
		st.Sensors[in.String()] = ss
	}
	for name, ind := range w.indicators {
		st.Indicators[name] = IndicatorState{Pin: ind.pin.Name(), On: ind.on, Mode: ind.mode(now).String()}
	}
	if w.saveErr != nil {
		st.SaveError = w.saveErr.Error()
	}
	w.mu.Unlock()

	// The device models have their own locks; the world's is not held
	// while reading them.
	st.Display.Lines = []string{}
	switch {
	case w.oled != nil:
		s := w.oled.State()
		st.Display = DisplayState{Kind: "ssd1306", On: s.On && s.ChargePump, Lines: w.oled.Text()}
	case w.lcd != nil:
		s := w.lcd.State()
		st.Display = DisplayState{Kind: "hd44780", On: s.On, Backlight: s.Backlight, Lines: w.lcd.Lines()}
	}
	return st
}

// SetClock records the simulated wall time, written through to the state
// file like every physical change, so that a killed and restarted daemon
// can resume the world's time instead of starting its clock afresh.
func (w *World) SetClock(t time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if t.Equal(w.clock) {
		return
	}
	w.clock = t
	w.saveLocked()
}

// Clock returns the wall time last recorded with SetClock, or loaded from
// the state file; zero when there is none.
func (w *World) Clock() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.clock
}

// stateVersion is the format of the state file.
const stateVersion = 1

// savedState is the physical state kept in the state file.
type savedState struct {
	Version      int                `json:"version"`
	Compartments []savedCompartment `json:"compartments"`
	LidOpen      bool               `json:"lid_open"`
	CupPresent   bool               `json:"cup_present"`
	// Clock is the simulated wall time last recorded with SetClock: the
	// world's time goes on when the controller dies, like the patient's.
	Clock time.Time `json:"clock,omitzero"`
}

type savedCompartment struct {
	ID        int `json:"id"`
	Count     int `json:"count"`
	Dispensed int `json:"dispensed"`
	InCup     int `json:"in_cup"`
	Taken     int `json:"taken"`
	Spilled   int `json:"spilled"`
	Jams      int `json:"jams"`
}

// Save writes the physical state to path, atomically.
func (w *World) Save(path string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return writeState(path, w.savedLocked())
}

func (w *World) savedLocked() savedState {
	s := savedState{Version: stateVersion, LidOpen: w.lidOpen, CupPresent: w.cupPresent, Clock: w.clock}
	for _, c := range w.comps {
		s.Compartments = append(s.Compartments, savedCompartment{
			ID: c.cfg.ID, Count: c.count, Dispensed: c.dispensed,
			InCup: c.inCup, Taken: c.taken, Spilled: c.spilled, Jams: c.jams,
		})
	}
	return s
}

// saveLocked writes the state through to the state file, if there is one.
// A failure is kept for Snapshot: the physics must go on regardless.
func (w *World) saveLocked() {
	if w.opts.stateFile == "" {
		return
	}
	w.saveErr = writeState(w.opts.stateFile, w.savedLocked())
}

// writeState replaces path with s: written to a temporary file in the same
// folder, fsynced, renamed over path, and the folder fsynced, so a crash
// leaves either the old or the new state.
func writeState(path string, s savedState) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("sim: encode state: %w", err)
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("sim: save state: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("sim: save state: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sim: save state: sync folder: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sim: save state: sync folder: %w", err)
	}
	return nil
}

// load applies the state file at path, if it exists, over the configured
// counts. Compartments the file does not mention keep their configuration;
// ones the configuration no longer has are ignored.
func (w *World) load(path string) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sim: load state: %w", err)
	}
	s, err := parseState(b)
	if err != nil {
		return fmt.Errorf("sim: load state %s: %w", path, err)
	}
	w.lidOpen, w.cupPresent, w.clock = s.LidOpen, s.CupPresent, s.Clock
	for _, sc := range s.Compartments {
		for _, c := range w.comps {
			if c.cfg.ID == sc.ID {
				c.count, c.dispensed, c.inCup = sc.Count, sc.Dispensed, sc.InCup
				c.taken, c.spilled, c.jams = sc.Taken, sc.Spilled, sc.Jams
				c.capacity = max(c.capacity, c.count)
			}
		}
	}
	return nil
}

// parseState decodes and checks a state file.
func parseState(b []byte) (savedState, error) {
	var s savedState
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return savedState{}, fmt.Errorf("decode: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return savedState{}, errors.New("decode: data after the state object")
	}
	if s.Version != stateVersion {
		return savedState{}, fmt.Errorf("version %d, want %d", s.Version, stateVersion)
	}
	seen := map[int]bool{}
	for i, c := range s.Compartments {
		if seen[c.ID] {
			return savedState{}, fmt.Errorf("compartments[%d]: id %d appears twice", i, c.ID)
		}
		seen[c.ID] = true
		for _, v := range []struct {
			name string
			n    int
		}{{"count", c.Count}, {"dispensed", c.Dispensed}, {"in_cup", c.InCup}, {"taken", c.Taken}, {"spilled", c.Spilled}, {"jams", c.Jams}} {
			if v.n < 0 {
				return savedState{}, fmt.Errorf("compartments[%d].%s: %d, want >= 0", i, v.name, v.n)
			}
		}
	}
	return s, nil
}
