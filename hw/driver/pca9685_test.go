package driver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestNewPCA9685(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus := &recBus{}
		if _, err := NewPCA9685(bus, 0x40); err != nil {
			t.Fatal(err)
		}
		ops := bus.take()
		want := [][]byte{
			{0x00, 0x10},                   // MODE1: SLEEP, so PRE_SCALE can be written
			{0x01, 0x04},                   // MODE2: totem pole
			{0xFE, 121},                    // PRE_SCALE for 50 Hz
			{0x00, 0x20},                   // MODE1: wake, auto-increment
			{0x00, 0xA0},                   // MODE1: RESTART, auto-increment
			{0xFA, 0x00, 0x00, 0x00, 0x10}, // ALL_LED: full off
		}
		if len(ops) != len(want) {
			t.Fatalf("init wrote %d times, want %d: %v", len(ops), len(want), ops)
		}
		for i, op := range ops {
			if op.addr != 0x40 || !bytes.Equal(op.w, want[i]) {
				t.Errorf("write %d = %#x % x, want 0x40 % x", i, op.addr, op.w, want[i])
			}
		}
		if gap := ops[4].at.Sub(ops[3].at); gap < 500*time.Microsecond {
			t.Errorf("RESTART written %v after wake, want >= 500us for the oscillator", gap)
		}
	})
}

func TestPCA9685Prescale(t *testing.T) {
	// Equation 1 of the data sheet, rounded: the constant must agree.
	osc, f := float64(PCAOscillator), float64(PCAFrequency)
	if got := int(math.Round(osc/(4096*f))) - 1; got != PCAPrescale {
		t.Errorf("prescale for %d Hz = %d, want %d", PCAFrequency, got, PCAPrescale)
	}
	if PCAPrescale != 121 {
		t.Errorf("PCAPrescale = %d, want 121", PCAPrescale)
	}
}

func TestPCA9685SetPulse(t *testing.T) {
	tests := []struct {
		channel int
		width   time.Duration
		want    []byte // register, ON_L, ON_H, OFF_L, OFF_H
	}{
		// 1.5 ms * 25 MHz / 122 = 307.4 -> 307 = 0x133
		{0, 1500 * time.Microsecond, []byte{0x06, 0x00, 0x00, 0x33, 0x01}},
		{1, 1000 * time.Microsecond, []byte{0x0A, 0x00, 0x00, 0xCD, 0x00}},  // 204.9 -> 205
		{15, 2000 * time.Microsecond, []byte{0x42, 0x00, 0x00, 0x9A, 0x01}}, // 409.8 -> 410
		{7, 0, []byte{0x22, 0x00, 0x00, 0x00, 0x10}},                        // full off
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("ch%d_%v", tt.channel, tt.width), func(t *testing.T) {
			bus := &recBus{}
			p, err := NewPCA9685(bus, 0x41)
			if err != nil {
				t.Fatal(err)
			}
			bus.take()
			if err := p.SetPulse(tt.channel, tt.width); err != nil {
				t.Fatal(err)
			}
			ops := bus.take()
			if len(ops) != 1 || ops[0].addr != 0x41 || !bytes.Equal(ops[0].w, tt.want) {
				t.Errorf("SetPulse(%d, %v) wrote %v, want one write of % x to 0x41", tt.channel, tt.width, ops, tt.want)
			}
		})
	}
}

func TestPCA9685Errors(t *testing.T) {
	bus := &recBus{}
	p, err := NewPCA9685(bus, 0x40)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		channel int
		width   time.Duration
		want    string
	}{
		{16, time.Millisecond, "channel 16"},
		{-1, time.Millisecond, "channel -1"},
		{0, -time.Millisecond, "pulse -1ms"},
		{0, 20 * time.Millisecond, "pulse 20ms"},
	}
	for _, tt := range tests {
		if err := p.SetPulse(tt.channel, tt.width); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("SetPulse(%d, %v) = %v, want error containing %q", tt.channel, tt.width, err, tt.want)
		}
	}
	if _, err := NewPCA9685(&recBus{failAt: 3}, 0x40); !errors.Is(err, errBus) || !strings.Contains(err.Error(), "0x40") {
		t.Errorf("NewPCA9685(failing bus) = %v, want an error naming 0x40", err)
	}
}

func TestServoDispense(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus := &recBus{}
		p, err := NewPCA9685(bus, 0x40)
		if err != nil {
			t.Fatal(err)
		}
		s, err := NewServo(p, 3, 0, 90, 500*time.Microsecond, 2500*time.Microsecond, 300*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		bus.take()
		start := time.Now()
		if err := s.DispenseOne(t.Context()); err != nil {
			t.Fatal(err)
		}
		want := []struct {
			w  []byte
			at time.Duration
		}{
			{[]byte{0x12, 0, 0, 0x33, 0x01}, 0},                      // 90 degrees: 1.5 ms
			{[]byte{0x12, 0, 0, 0x66, 0x00}, 300 * time.Millisecond}, // 0 degrees: 0.5 ms = 102 counts
			{[]byte{0x12, 0, 0, 0, 0x10}, 600 * time.Millisecond},    // off: no holding jitter
		}
		ops := bus.take()
		if len(ops) != len(want) {
			t.Fatalf("DispenseOne wrote %d times, want %d", len(ops), len(want))
		}
		for i, op := range ops {
			if !bytes.Equal(op.w, want[i].w) || op.at.Sub(start) != want[i].at {
				t.Errorf("write %d = % x at %v, want % x at %v", i, op.w, op.at.Sub(start), want[i].w, want[i].at)
			}
		}
	})
}

func TestServoCancelClosesGate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus := &recBus{}
		p, _ := NewPCA9685(bus, 0x40)
		s, err := NewServo(p, 0, 10, 100, 500*time.Microsecond, 2500*time.Microsecond, 300*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		bus.take()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- s.DispenseOne(ctx) }()
		time.Sleep(100 * time.Millisecond)
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("DispenseOne() = %v, want context.Canceled", err)
		}
		ops := bus.take()
		if len(ops) != 3 || !bytes.Equal(ops[1].w, []byte{0x06, 0, 0, 125, 0}) /* 0.611 ms */ || ops[2].w[4] != 0x10 {
			t.Errorf("writes after cancel = %v, want dispense, rest (10 degrees), off", ops)
		}
	})
}

func TestNewServoErrors(t *testing.T) {
	p, _ := NewPCA9685(&recBus{}, 0x40)
	ms := time.Millisecond
	tests := []struct {
		name       string
		p          *PCA9685
		ch         int
		rest, disp float64
		min, max   time.Duration
		settle     time.Duration
		want       string
	}{
		{"no controller", nil, 0, 0, 90, ms / 2, 5 * ms / 2, 0, "no PCA9685"},
		{"channel", p, 16, 0, 90, ms / 2, 5 * ms / 2, 0, "channel 16"},
		{"angle", p, 0, 0, 181, ms / 2, 5 * ms / 2, 0, "angles"},
		{"pulses swapped", p, 0, 0, 90, 5 * ms / 2, ms / 2, 0, "pulse range"},
		{"settle", p, 0, 0, 90, ms / 2, 5 * ms / 2, -ms, "settle"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewServo(tt.p, tt.ch, tt.rest, tt.disp, tt.min, tt.max, tt.settle)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewServo() = %v, want error containing %q", err, tt.want)
			}
		})
	}
}
