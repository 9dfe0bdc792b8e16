package quality

import (
	"github.com/pillbox/pillbox/hw/vital"
)

// repeatOf returns the stored readings m repeats, or nil. Only a
// measurement timed on arrival is judged here: it repeats a stored one of
// the same device, also timed on arrival less than RepeatWindow before
// this reception, when their readings match one for one in quantity and
// value as sent. A stamped record sent again is the store's to drop: it
// knows every record, not only the recent ones.
func repeatOf(m []vital.Reading, c Context) []vital.Reading {
	if len(m) == 0 || m[0].DeviceTime {
		return nil
	}
	dev := m[0].Device
	var candidates []vital.Reading
	for _, r := range c.Recent {
		if r.Device == dev && !r.DeviceTime && r.DeviceClock.IsZero() &&
			!r.Time.After(c.At) && c.At.Sub(r.Time) < RepeatWindow {
			candidates = append(candidates, r)
		}
	}
	// The newest earlier measurement that matches.
	groups := Measurements(candidates)
	for i := len(groups) - 1; i >= 0; i-- {
		if same(m, groups[i]) {
			return groups[i]
		}
	}
	return nil
}

// same reports whether two measurements carry the same readings, in any
// order.
func same(a, b []vital.Reading) bool {
	if len(a) != len(b) {
		return false
	}
	used := make([]bool, len(b))
next:
	for _, x := range a {
		for j, y := range b {
			if !used[j] && x.Quantity == y.Quantity && x.Original == y.Original && x.Absent == y.Absent &&
				(x.Original != "" || x.Value == y.Value) {
				used[j] = true
				continue next
			}
		}
		return false
	}
	return true
}
