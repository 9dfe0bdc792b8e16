package hwtest

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pillbox/pillbox/hw"
)

// TestBoardMotorDropsThroughSensor: a turn takes TurnTime and drops the
// scripted pills through the drop sensor, as the real chute does.
func TestBoardMotorDropsThroughSensor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewBoard(1)
		m := b.Motors[1]
		m.Script = []int{2, 0}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		edges := make(chan hw.Edge, 16)
		go b.Drop.Watch(ctx, edges)
		synctest.Wait()
		for turn, want := range []int{2, 0, 1} {
			start := time.Now()
			if err := m.DispenseOne(ctx); err != nil {
				t.Fatal(err)
			}
			if took := time.Since(start); took != TurnTime {
				t.Errorf("turn %d took %s, want %s", turn, took, TurnTime)
			}
			if got := len(edges) / 2; got != want {
				t.Errorf("turn %d dropped %d pills, want %d", turn, got, want)
			}
			for len(edges) > 0 {
				<-edges
			}
		}
		m.Err = errors.New("stalled")
		if err := m.DispenseOne(ctx); err != m.Err || m.Turns() != 4 {
			t.Errorf("DispenseOne with Err = %v after %d turns, want the error after 4", err, m.Turns())
		}
		if !b.Cup.Active() || b.Lid.Active() {
			t.Errorf("cup %v, lid %v; want the cup in place and the lid closed", b.Cup.Active(), b.Lid.Active())
		}
		b.Drop.Hold(true)
		if !b.Drop.Active() || len(edges) != 0 {
			t.Errorf("Hold(true): active %v with %d edges, want active and no edge", b.Drop.Active(), len(edges))
		}
	})
}
