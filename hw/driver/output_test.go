package driver

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pillbox/pillbox/hw"
	"periph.io/x/conn/v3/gpio"
)

// levelsAt lists the logged writes as "level@offset from start".
func levelsAt(ops []pinOp, start time.Time) []string {
	s := make([]string, len(ops))
	for i, o := range ops {
		s[i] = o.l.String() + "@" + o.at.Sub(start).String()
	}
	return s
}

func TestOutput(t *testing.T) {
	tests := []struct {
		name      string
		activeLow bool
		mode      hw.Mode
		want      []string // writes during the first 1.1s after Set
	}{
		{"on", false, hw.On, []string{"High@0s"}},
		{"on, active low", true, hw.On, []string{"Low@0s"}},
		{"off", false, hw.Off, []string{"Low@0s"}},
		{"blink 1 Hz", false, hw.Blink, []string{"High@0s", "Low@500ms", "High@1s"}},
		{"fast blink 4 Hz", true, hw.FastBlink, []string{"Low@0s", "High@125ms", "Low@250ms", "High@375ms",
			"Low@500ms", "High@625ms", "Low@750ms", "High@875ms", "Low@1s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				log := &pinLog{}
				pin := newRecPin(log, "GPIO5")
				o := NewOutput(pin, tt.activeLow)
				if got, want := opNames(log.take()), []string{"GPIO5=" + gpio.Level(tt.activeLow).String()}; !slices.Equal(got, want) {
					t.Errorf("NewOutput wrote %v, want %v (off)", got, want)
				}
				start := time.Now()
				if err := o.Set(tt.mode); err != nil {
					t.Fatal(err)
				}
				if o.Mode() != tt.mode {
					t.Errorf("Mode() = %v, want %v", o.Mode(), tt.mode)
				}
				time.Sleep(1100 * time.Millisecond)
				if got := levelsAt(log.take(), start); !slices.Equal(got, tt.want) {
					t.Errorf("writes = %v, want %v", got, tt.want)
				}
				if err := o.Close(); err != nil {
					t.Fatal(err)
				}
				off := gpio.Level(tt.activeLow)
				if pin.Read() != off || o.Mode() != hw.Off {
					t.Errorf("after Close: pin %v, mode %v; want %v, off", pin.Read(), o.Mode(), off)
				}
				log.take()
				// No goroutine is left behind: the bubble would not end
				// (synctest reports a deadlock) and the pin would keep moving.
				time.Sleep(10 * time.Second)
				if ops := log.take(); len(ops) != 0 {
					t.Errorf("%d writes after Close, want none", len(ops))
				}
			})
		})
	}
}

func TestOutputSameModeKeepsRhythm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := &pinLog{}
		o := NewOutput(newRecPin(log, "GPIO5"), false)
		defer o.Close()
		start := time.Now()
		o.Set(hw.Blink)
		time.Sleep(300 * time.Millisecond)
		o.Set(hw.Blink)
		time.Sleep(300 * time.Millisecond)
		if got, want := levelsAt(log.take()[1:], start), []string{"High@0s", "Low@500ms"}; !slices.Equal(got, want) {
			t.Errorf("writes = %v, want %v", got, want)
		}
		o.Set(hw.FastBlink) // switching restarts on the new rhythm
		time.Sleep(130 * time.Millisecond)
		if got, want := levelsAt(log.take(), start), []string{"High@600ms", "Low@725ms"}; !slices.Equal(got, want) {
			t.Errorf("writes after switching = %v, want %v", got, want)
		}
	})
}

func TestOutputUnknownMode(t *testing.T) {
	o := NewOutput(newRecPin(&pinLog{}, "GPIO5"), false)
	if err := o.Set(hw.Mode(9)); err == nil || o.Mode() != hw.Off {
		t.Errorf("Set(9) = %v, mode %v; want an error and mode off", err, o.Mode())
	}
}

func TestOutputPinError(t *testing.T) {
	pin := newRecPin(&pinLog{}, "GPIO5")
	o := NewOutput(pin, false)
	pin.failAfter = 1
	if err := o.Set(hw.On); err == nil {
		t.Errorf("Set(On) on a broken pin = nil, want an error")
	}
}

func TestNopParts(t *testing.T) {
	if err := (NopDisplay{}).Show("x"); err != nil {
		t.Errorf("NopDisplay.Show = %v", err)
	}
	var ind NopIndicator
	if err := ind.Set(hw.Blink); err != nil || ind.Mode() != hw.Off {
		t.Errorf("NopIndicator: Set = %v, Mode = %v; want nil, off", err, ind.Mode())
	}
	synctest.Test(t, func(t *testing.T) {
		var s NopSensor
		ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
		defer cancel()
		ch := make(chan hw.Edge, 1)
		if err := s.Watch(ctx, ch); err != nil || len(ch) != 0 || s.Active() {
			t.Errorf("NopSensor: Watch = %v, %d edges, Active %v; want nil, 0, false", err, len(ch), s.Active())
		}
	})
}
