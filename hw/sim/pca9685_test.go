package sim

import (
	"testing"
	"time"
)

// pcaAt writes bytes from register reg.
func pcaAt(reg byte, v ...byte) []byte { return append([]byte{reg}, v...) }

func TestPCA9685Prescale(t *testing.T) {
	tests := []struct {
		name    string
		txs     [][]byte
		want    byte
		ignored int
	}{
		{"awake ignores it", [][]byte{pcaAt(0x00, 0x00), pcaAt(0xFE, 121)}, 0x1E, 1},
		{"power-on sleep accepts it", [][]byte{pcaAt(0xFE, 121)}, 121, 0},
		{"sleep set accepts it", [][]byte{pcaAt(0x00, 0x00), pcaAt(0x00, 0x10), pcaAt(0xFE, 121), pcaAt(0x00, 0x20)}, 121, 0},
		{"below 3 reads 3", [][]byte{pcaAt(0xFE, 1)}, 3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewPCA9685Model()
			txAll(t, m, tt.txs...)
			if got := m.Register(0xFE); got != tt.want {
				t.Errorf("PRE_SCALE = %d, want %d", got, tt.want)
			}
			if got := m.IgnoredPrescale(); got != tt.ignored {
				t.Errorf("IgnoredPrescale() = %d, want %d", got, tt.ignored)
			}
		})
	}
}

func TestPCA9685Outputs(t *testing.T) {
	const prescale = 121
	period := time.Duration(prescale+1) * 4096 * time.Second / 25_000_000
	awake := [][]byte{pcaAt(0xFE, prescale), pcaAt(0x00, 0x20)} // AI, awake
	tests := []struct {
		name string
		txs  [][]byte
		ch   int
		want time.Duration
	}{
		{"1.5ms on channel 3", [][]byte{pcaAt(0x06+12, 0, 0, 0x33, 0x01)}, 3, 307 * period / 4096},
		{"pulse from ON to OFF", [][]byte{pcaAt(0x06, 0x00, 0x01, 0x00, 0x02)}, 0, 256 * period / 4096},
		{"OFF before ON wraps", [][]byte{pcaAt(0x06, 0x00, 0x0F, 0x00, 0x01)}, 0, 512 * period / 4096},
		{"full on", [][]byte{pcaAt(0x06, 0x00, 0x10, 0x00, 0x00)}, 0, period},
		{"full off wins", [][]byte{pcaAt(0x06, 0x00, 0x10, 0x00, 0x10)}, 0, 0},
		{"power-on state is off", nil, 5, 0},
		{"all LED loads every channel", [][]byte{pcaAt(0xFA, 0, 0, 0x33, 0x01)}, 15, 307 * period / 4096},
		{"asleep emits nothing", [][]byte{pcaAt(0x06, 0, 0, 0x33, 0x01), pcaAt(0x00, 0x30)}, 0, 0},
		{"inverted output", [][]byte{pcaAt(0x06, 0, 0, 0x00, 0x04), pcaAt(0x01, 0x14)}, 0, period - 1024*period/4096},
		// Without MODE1.AI every byte lands in the first register.
		{"no auto-increment", [][]byte{pcaAt(0x00, 0x00), pcaAt(0x06, 0, 0, 0x33, 0x01)}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewPCA9685Model()
			last := map[int]PWM{}
			m.OnChange(func(ch int, p PWM) { last[ch] = p })
			txAll(t, m, append(append([][]byte{}, awake...), tt.txs...)...)
			got := m.Output(tt.ch)
			wantPeriod := period
			if tt.name == "asleep emits nothing" {
				wantPeriod = 0 // the oscillator is off
			}
			if got.Width != tt.want || got.Period != wantPeriod {
				t.Errorf("Output(%d) = %+v, want width %s period %s", tt.ch, got, tt.want, wantPeriod)
			}
			if tt.want != 0 && last[tt.ch] != got {
				t.Errorf("OnChange last reported %+v for channel %d, want %+v", last[tt.ch], tt.ch, got)
			}
		})
	}
}

func TestPCA9685Read(t *testing.T) {
	m := NewPCA9685Model()
	txAll(t, m, pcaAt(0x00, 0x20), pcaAt(0x06, 1, 2, 3, 4))
	r := make([]byte, 4)
	if err := m.Tx([]byte{0x06}, r); err != nil {
		t.Fatal(err)
	}
	if r[0] != 1 || r[1] != 2 || r[2] != 3 || r[3] != 4 {
		t.Errorf("read LED0 = % x, want 01 02 03 04", r)
	}
}
