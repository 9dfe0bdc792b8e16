package sim

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pillbox/pillbox/hw"
)

// TestConcurrentUse runs the patient, the fault injector, three motors,
// the display and the status API at once; -race checks the locking, and
// the pill accounting must still add up.
func TestConcurrentUse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, "ssd1306", WithStateFile(t.TempDir()+"/w.json"))
		var wg sync.WaitGroup
		for i := range r.b.Compartments {
			wg.Go(func() {
				for range 3 {
					if err := r.b.Compartments[i].Motor.DispenseOne(context.Background()); err != nil {
						t.Errorf("DispenseOne: %v", err)
					}
				}
			})
		}
		wg.Go(func() {
			for range 3 {
				r.w.PressButton()
				r.w.SetLid(true)
				r.w.SetLid(false)
				if err := r.w.Chatter(hw.Drop, 2); err != nil {
					t.Error(err)
				}
			}
		})
		wg.Go(func() {
			for i := range 5 {
				if err := r.b.Display.Show("dose", string(rune('0'+i))); err != nil {
					t.Error(err)
				}
				if err := r.b.Attention.Set(hw.Mode(i % 4)); err != nil {
					t.Error(err)
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
		wg.Go(func() {
			for range 20 {
				if _, err := json.Marshal(r.w.Snapshot()); err != nil {
					t.Error(err)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
		wg.Wait()
		settle(time.Second)
		st := r.w.Snapshot()
		for _, c := range st.Compartments {
			if c.Count != 7 || c.Dispensed != 3 || c.InCup != 3 {
				t.Errorf("compartment %d = %+v, want count 7, dispensed 3, in cup 3", c.ID, c)
			}
		}
		if got := r.pills(); got != 9+3 {
			t.Errorf("drop sensor reported %d pills, want 12 (9 dispensed, 3 stray)", got)
		}
	})
}
