package sim

import (
	"sync"
	"time"
)

// PCA9685 registers and bits (NXP PCA9685 product data sheet rev. 4,
// section 7.3).
const (
	pcaRegMode1    = 0x00
	pcaRegMode2    = 0x01
	pcaRegLED0     = 0x06 // LEDn_ON_L at 0x06 + 4n, then ON_H, OFF_L, OFF_H
	pcaRegAllLED   = 0xFA // ALL_LED_ON_L .. ALL_LED_OFF_H at 0xFA..0xFD
	pcaRegPrescale = 0xFE

	pcaBitRestart = 0x80
	pcaBitAI      = 0x20
	pcaBitSleep   = 0x10
	pcaBitInvert  = 0x10 // MODE2 INVRT
	pcaBitFull    = 0x10 // bit 4 of LEDn_ON_H / LEDn_OFF_H

	pcaChannels   = 16
	pcaOscillator = 25_000_000 // internal oscillator, Hz
)

// PWM is what one PCA9685 output emits: a pulse of Width every Period.
// Width 0 is constantly low (off or asleep); Width == Period constantly
// high.
type PWM struct {
	Width  time.Duration
	Period time.Duration
}

// Frequency returns the frame rate in Hz, 0 when there is no period.
func (p PWM) Frequency() float64 {
	if p.Period <= 0 {
		return 0
	}
	return float64(time.Second) / float64(p.Period)
}

// PCA9685Model is the NXP 16-channel 12-bit PWM controller, decoded from
// its register writes by the data sheet: the first byte of a write sets
// the register pointer and each following byte is stored there, the
// pointer advancing only while MODE1.AI is set; PRE_SCALE accepts writes
// only while MODE1.SLEEP is set (values below 3 read as 3); ALL_LED writes
// load every channel; the oscillator, and so every output, is off while
// asleep. It starts in its power-on state: MODE1 0x11 (asleep, all-call),
// MODE2 0x04, PRE_SCALE 0x1E (200 Hz), every channel's full-off bit set.
type PCA9685Model struct {
	mu       sync.Mutex
	reg      [256]byte
	ptr      byte
	out      [pcaChannels]PWM // as last reported
	onChange func(ch int, p PWM)
	// IgnoredPrescale counts PRE_SCALE writes dropped because the chip
	// was awake.
	ignoredPrescale int
}

// NewPCA9685Model returns a controller in its power-on state.
func NewPCA9685Model() *PCA9685Model {
	m := &PCA9685Model{}
	m.reg[pcaRegMode1] = 0x11
	m.reg[pcaRegMode2] = 0x04
	m.reg[pcaRegPrescale] = 0x1E
	for ch := range pcaChannels {
		m.reg[pcaRegLED0+4*ch+3] = pcaBitFull
	}
	return m
}

// OnChange registers f to be called, outside the model's lock, with every
// change of a channel's output.
func (m *PCA9685Model) OnChange(f func(ch int, p PWM)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.onChange = f
}

// Tx implements Device.
func (m *PCA9685Model) Tx(w, r []byte) error {
	m.mu.Lock()
	if len(w) > 0 {
		m.ptr = w[0]
		for _, b := range w[1:] {
			m.writeLocked(m.ptr, b)
			m.advanceLocked()
		}
	}
	for i := range r {
		r[i] = m.reg[m.ptr]
		if m.ptr >= pcaRegAllLED && m.ptr < pcaRegPrescale {
			r[i] = 0 // ALL_LED registers read as zero
		}
		m.advanceLocked()
	}
	// Outputs change at the STOP condition (MODE2.OCH = 0) or at each
	// ACK; either way, by the end of the transaction.
	type change struct {
		ch int
		p  PWM
	}
	var changes []change
	for ch := range pcaChannels {
		if p := m.outputLocked(ch); p != m.out[ch] {
			m.out[ch] = p
			changes = append(changes, change{ch, p})
		}
	}
	f := m.onChange
	m.mu.Unlock()
	if f != nil {
		for _, c := range changes {
			f(c.ch, c.p)
		}
	}
	return nil
}

func (m *PCA9685Model) advanceLocked() {
	if m.reg[pcaRegMode1]&pcaBitAI != 0 {
		m.ptr++
	}
}

func (m *PCA9685Model) writeLocked(reg, v byte) {
	switch {
	case reg == pcaRegMode1:
		old := m.reg[pcaRegMode1]
		next := v &^ pcaBitRestart
		// RESTART is set by the chip when it is put to sleep with PWM
		// running and cleared by writing a 1 to it.
		if old&pcaBitRestart != 0 && v&pcaBitRestart == 0 {
			next |= pcaBitRestart
		}
		if old&pcaBitSleep == 0 && v&pcaBitSleep != 0 && m.anyActiveLocked() {
			next |= pcaBitRestart
		}
		m.reg[pcaRegMode1] = next
	case reg == pcaRegPrescale:
		if m.reg[pcaRegMode1]&pcaBitSleep == 0 {
			m.ignoredPrescale++
			return
		}
		m.reg[reg] = max(v, 3)
	case reg >= pcaRegAllLED && reg < pcaRegPrescale:
		for ch := range pcaChannels {
			m.reg[pcaRegLED0+4*ch+int(reg-pcaRegAllLED)] = v
		}
	default:
		m.reg[reg] = v
	}
}

func (m *PCA9685Model) anyActiveLocked() bool {
	for ch := range pcaChannels {
		if m.reg[pcaRegLED0+4*ch+3]&pcaBitFull == 0 {
			return true
		}
	}
	return false
}

func (m *PCA9685Model) periodLocked() time.Duration {
	return time.Duration(int(m.reg[pcaRegPrescale])+1) * 4096 * time.Second / pcaOscillator
}

// outputLocked computes what channel ch emits from its registers.
func (m *PCA9685Model) outputLocked(ch int) PWM {
	period := m.periodLocked()
	if m.reg[pcaRegMode1]&pcaBitSleep != 0 {
		return PWM{} // oscillator off
	}
	r := m.reg[pcaRegLED0+4*ch:]
	on := int(r[0]) | int(r[1]&0x0F)<<8
	off := int(r[2]) | int(r[3]&0x0F)<<8
	var width time.Duration
	switch {
	case r[3]&pcaBitFull != 0: // full off wins over full on
	case r[1]&pcaBitFull != 0:
		width = period
	default:
		counts := (off - on + 4096) % 4096
		width = period * time.Duration(counts) / 4096
	}
	if m.reg[pcaRegMode2]&pcaBitInvert != 0 {
		width = period - width
	}
	return PWM{Width: width, Period: period}
}

// Output returns what channel ch (0..15) emits now.
func (m *PCA9685Model) Output(ch int) PWM {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.outputLocked(ch)
}

// Register returns the raw value of register reg.
func (m *PCA9685Model) Register(reg byte) byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reg[reg]
}

// IgnoredPrescale counts PRE_SCALE writes the chip ignored because it was
// awake: a driver that does this runs its servos at the wrong frame rate.
func (m *PCA9685Model) IgnoredPrescale() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ignoredPrescale
}

var _ Device = (*PCA9685Model)(nil)
