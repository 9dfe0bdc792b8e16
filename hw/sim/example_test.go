package sim_test

import (
	"fmt"

	"github.com/pillbox/pillbox/hw"
	"github.com/pillbox/pillbox/hw/sim"
)

// The daemon's sim mode builds the world from the config file's board and
// compartments, runs the controller on w.Board(), and serves Snapshot and
// the patient and fault actions to the browser panel.
func ExampleNew() {
	board := hw.BoardConfig{
		I2CBus:  "1",
		Display: &hw.DisplayConfig{Kind: "ssd1306", Address: 0x3C},
		Button:  hw.InputConfig{Pin: "GPIO17", ActiveLow: true},
		Drop:    hw.InputConfig{Pin: "GPIO27"},
	}
	comps := []hw.CompartmentConfig{{ID: 1, Capacity: 30, Count: 12, Motor: hw.MotorConfig{
		Kind: "uln2003", Pins: []string{"GPIO5", "GPIO6", "GPIO13", "GPIO19"}, StepsPerUnit: 512}}}

	w, err := sim.New(board, comps)
	if err != nil {
		fmt.Println(err)
		return
	}
	b := w.Board()
	defer b.Close()

	_ = b.Display.Show("Good morning")
	_ = w.InjectJam(1, 1) // the next unit of compartment 1 turns but drops nothing
	st := w.Snapshot()
	fmt.Println(st.Display.Lines, st.Compartments[0].Count, st.Compartments[0].JamsPending)
	fmt.Println(st.Missing)
	// Output:
	// [Good morning] 12 1
	// [lid cup buzzer led_ready led_attention led_fault]
}
