package dispensertest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/pillbox/pillbox/dispenser"
)

func TestMemLog(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 3, 2, 8, 0, 0, 0, time.FixedZone("EST", -5*3600))
	l := &MemLog{FailKind: dispenser.KindJam}
	if _, err := l.Append(ctx, dispenser.Event{Kind: dispenser.KindButton}, dispenser.Event{Kind: dispenser.KindJam}); !errors.Is(err, ErrDiskFull) {
		t.Fatalf("Append with a FailKind event = %v, want ErrDiskFull", err)
	}
	if got := l.Events(); len(got) != 0 {
		t.Fatalf("after a failed Append, Events() = %v, want none (all or none)", got)
	}
	l.FailKind = ""
	stored, err := l.Append(ctx, dispenser.Event{Kind: dispenser.KindButton, Time: at, Compartment: 1},
		dispenser.Event{Kind: dispenser.KindJam, Time: at.Add(time.Minute), Compartment: 1, DoseID: "d1"})
	if err != nil || len(stored) != 2 || stored[1].Seq != 2 || stored[1].ID != "ev2" || stored[0].Time.Location() != time.UTC {
		t.Fatalf("Append = %+v, %v; want seq 1, 2, ids ev1, ev2, UTC times", stored, err)
	}
	if got, _ := l.Since(ctx, 1, 10); len(got) != 1 || got[0].ID != "ev2" {
		t.Errorf("Since(1) = %+v, want ev2", got)
	}
	if got, _ := l.SinceTime(ctx, at.Add(time.Second)); len(got) != 1 || got[0].ID != "ev2" {
		t.Errorf("SinceTime = %+v, want ev2", got)
	}
	if ev, ok, _ := l.LastOfKinds(ctx, 1, dispenser.KindButton, dispenser.KindJam); !ok || ev.ID != "ev2" {
		t.Errorf("LastOfKinds = %+v, %v; want ev2", ev, ok)
	}
	if got := l.Kinds("d1"); !slices.Equal(got, []dispenser.Kind{dispenser.KindJam}) || l.Count(dispenser.KindButton) != 1 {
		t.Errorf("Kinds(d1) = %v, Count(button) = %d; want [jam], 1", got, l.Count(dispenser.KindButton))
	}
	l.Fail = true
	if _, err := l.Append(ctx, dispenser.Event{Kind: dispenser.KindButton}); !errors.Is(err, ErrDiskFull) {
		t.Errorf("Append with Fail = %v, want ErrDiskFull", err)
	}
}
