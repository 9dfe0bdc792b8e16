package dispenser_test

import (
	"bytes"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/pillbox/pillbox/hw/hwtest"
	"github.com/pillbox/pillbox/internal/i18n"
	"github.com/pillbox/pillbox/schedule"
)

func inSpanish(r *rig) { r.cfg.Language = i18n.Lookup("es") }

// TestSpanishDoseCycle: a dose in the patient's language, on the display
// and aloud; the due prompt repeats with the device reminders and the
// button silences it.
func TestSpanishDoseCycle(t *testing.T) {
	es := i18n.Lookup("es")
	speech := func(id string) hwtest.Said { return hwtest.Said{Text: es.Text("speech."+id, nil), Lang: "es"} }
	synctest.Test(t, func(t *testing.T) {
		r := newRigWith(t, local(2026, 3, 2, 5, 0), []schedule.Regimen{daily("metformin", "0 8 * * *")}, inSpanish, metformin)
		defer r.stop()
		spk := r.board.Speaker
		r.wantDisplay("Próxima toma", "8:00")

		r.advanceTo(local(2026, 3, 2, 8, 0))
		r.wantDisplay("Pastillas listas", "Pulse el botón")
		if got, want := spk.Said(), []hwtest.Said{speech("dose_due")}; !slices.Equal(got, want) {
			t.Errorf("said at the first reminder = %q, want %q", got, want)
		}
		r.advanceTo(local(2026, 3, 2, 8, 15))
		if got, want := spk.Said(), []hwtest.Said{speech("dose_due"), speech("dose_due")}; !slices.Equal(got, want) {
			t.Errorf("said at the second reminder = %q, want %q", got, want)
		}

		r.press()
		if got := spk.Stops(); got != 1 {
			t.Errorf("speaker stopped %d times after the press, want 1", got)
		}
		r.wantDisplay("Tome pastillas", "del vaso")
		if said := spk.Said(); said[len(said)-1] != speech("take_from_cup") {
			t.Errorf("said after dispensing %q, want %q", said[len(said)-1], speech("take_from_cup"))
		}
		r.board.Cup.Set(false)
		synctest.Wait()
		r.wantDisplay("Próxima toma", "mañana 8:00")
		if got := len(spk.Said()); got != 3 {
			t.Errorf("%d prompts said in all, want 3 (due twice, then the cup): %q", got, spk.Said())
		}
	})
}

// TestMissedIsSpoken: a dose whose window closes unanswered is said to be
// missed, with its time as the voice reads it.
func TestMissedIsSpoken(t *testing.T) {
	es := i18n.Lookup("es")
	synctest.Test(t, func(t *testing.T) {
		r := newRigWith(t, local(2026, 3, 2, 5, 0), []schedule.Regimen{daily("metformin", "0 20 * * *")}, inSpanish, metformin)
		defer r.stop()
		r.advanceTo(local(2026, 3, 3, 0, 0))
		r.wantKinds("metformin@2026-03-02T20:00", due, reminder, reminder, missed)
		want := hwtest.Said{Text: es.Text("speech.missed", i18n.Args{"time": "20 horas"}), Lang: "es"}
		if said := r.board.Speaker.Said(); len(said) == 0 || said[len(said)-1] != want {
			t.Errorf("said %q, want last %q", said, want)
		}
	})
}

// syncBuffer is a log the speaker's goroutine writes while a test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestSpeakerNeverHoldsUpADose: a speaker stuck in Say, or one that
// fails every prompt, changes nothing about the dose; the failure is
// logged once as a fault.
func TestSpeakerNeverHoldsUpADose(t *testing.T) {
	tests := []struct {
		name      string
		spk       func() *hwtest.Speaker // made in the bubble, so that waiting on it is durable
		wantFault int
	}{
		{"blocks", func() *hwtest.Speaker { return &hwtest.Speaker{Block: make(chan struct{})} }, 0},
		{"fails", func() *hwtest.Speaker { return &hwtest.Speaker{Err: errors.New("aplay: no sound card")} }, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var logs syncBuffer
				spk := tt.spk()
				r := newRigWith(t, local(2026, 3, 2, 7, 59), []schedule.Regimen{daily("metformin", "0 8 * * *")}, func(r *rig) {
					r.board.Board.Speaker = spk
					r.cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
				}, metformin)
				defer r.stop()
				id := "metformin@2026-03-02T08:00"
				r.advanceTo(local(2026, 3, 2, 8, 0))
				r.wantDisplay("Time for pills", "Press the button")
				r.press()
				r.wantKinds(id, due, reminder, started, dispensed)
				r.wantDisplay("Take your pills", "from the cup")
				r.board.Cup.Set(false)
				synctest.Wait()
				r.wantKinds(id, due, reminder, started, dispensed, taken)
				if got := strings.Count(logs.String(), "speaker fault"); got != tt.wantFault {
					t.Errorf("speaker faults logged %d times, want %d:\n%s", got, tt.wantFault, logs.String())
				}
				if spk.Err != nil && len(spk.Said()) < 2 {
					t.Errorf("failing speaker asked for %d prompts, want every one (due, cup)", len(spk.Said()))
				}
			})
		})
	}
}
