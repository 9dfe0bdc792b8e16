package adherence

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/pillbox/pillbox/dispenser"
)

// benchLife is the life of a dose that goes well; benchEvent walks through
// it, starting a new dose every len(benchLife) events, so the benchmarks see
// the real mix of inserted and updated dose rows.
var benchLife = []dispenser.Kind{dispenser.KindDoseDue, dispenser.KindReminder,
	dispenser.KindDispenseStarted, dispenser.KindDispensed, dispenser.KindTaken}

// benchEvent is the i-th event of a typical run: every field set, ids of
// realistic length.
func benchEvent(i int) dispenser.Event {
	dose := i / len(benchLife)
	sched := t0.Add(time.Duration(dose) * 12 * time.Hour)
	return dispenser.Event{
		Time: sched.Add(time.Duration(i%len(benchLife)) * time.Minute), Kind: benchLife[i%len(benchLife)],
		DoseID: fmt.Sprintf("metformin@%s", sched.Format(time.RFC3339)), Scheduled: sched,
		Medication: "metformin", Compartment: 2, Detail: "attempt=1 left=27",
	}
}

// rawRecord is what the baseline writes: one stored event, JSON-encoded,
// the size a hand-rolled append-only log would write per event.
func rawRecord(b *testing.B) []byte {
	ev := benchEvent(2)
	ev.Seq, ev.ID = 2, newID()
	rec, err := json.Marshal(ev)
	if err != nil {
		b.Fatal(err)
	}
	return append(rec, '\n')
}

func openRaw(b *testing.B, dir string) *os.File {
	f, err := os.OpenFile(filepath.Join(dir, "raw.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	return f
}

func rawWrite(b *testing.B, f *os.File, rec []byte) {
	if _, err := f.Write(rec); err != nil {
		b.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkAppendOne commits one dose event per transaction to a file.
func BenchmarkAppendOne(b *testing.B) {
	s, _ := newFileStore(b)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		if _, err := s.Append(ctx, benchEvent(i)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawWriteFsync is the floor: append one encoded event to a plain
// file in the same directory and fsync it.
func BenchmarkRawWriteFsync(b *testing.B) {
	_, path := newFileStore(b)
	f := openRaw(b, filepath.Dir(path))
	rec := rawRecord(b)
	b.SetBytes(int64(len(rec)))
	for b.Loop() {
		rawWrite(b, f, rec)
	}
}

// BenchmarkCommitVsFsync alternates one raw write+fsync and one Append, so
// both see the same disk and the same noisy neighbours, and reports the
// ratio of their medians (the target is at most 1.5).
func BenchmarkCommitVsFsync(b *testing.B) {
	s, path := newFileStore(b)
	f := openRaw(b, filepath.Dir(path))
	rec := rawRecord(b)
	ctx := context.Background()
	var raw, commit []time.Duration
	i := 0
	for b.Loop() {
		i++
		start := time.Now()
		rawWrite(b, f, rec)
		mid := time.Now()
		if _, err := s.Append(ctx, benchEvent(i)); err != nil {
			b.Fatal(err)
		}
		raw = append(raw, mid.Sub(start))
		commit = append(commit, time.Since(mid))
	}
	rp50, rp99 := percentiles(raw)
	cp50, cp99 := percentiles(commit)
	b.ReportMetric(rp50, "fsync-p50-us")
	b.ReportMetric(rp99, "fsync-p99-us")
	b.ReportMetric(cp50, "commit-p50-us")
	b.ReportMetric(cp99, "commit-p99-us")
	b.ReportMetric(cp50/rp50, "x-fsync")
}

// percentiles returns the median and the 99th percentile in microseconds.
func percentiles(ds []time.Duration) (p50, p99 float64) {
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(q float64) float64 { return float64(s[int(q*float64(len(s)-1))]) / 1e3 }
	return at(0.50), at(0.99)
}

// BenchmarkAppendBatch commits 500 events per transaction, the shape of a
// sync batch, for comparison with the clinic's ingest.
func BenchmarkAppendBatch(b *testing.B) {
	const batch = 500
	s, _ := newFileStore(b)
	ctx := context.Background()
	evs := make([]dispenser.Event, batch)
	i := 0
	for b.Loop() {
		for j := range evs {
			i++
			evs[j] = benchEvent(i)
		}
		if _, err := s.Append(ctx, evs...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkReadWhileWriting measures a sync-sized read (the last 100
// events) while another goroutine commits events back to back, through the
// read pool ("pool") and through the single write connection ("shared").
func BenchmarkReadWhileWriting(b *testing.B) {
	for _, mode := range []string{"pool", "shared"} {
		b.Run(mode, func(b *testing.B) {
			s, _ := newFileStore(b)
			ctx := context.Background()
			if mode == "shared" {
				s.r.Close()
				s.r = s.w
			}
			evs := make([]dispenser.Event, 1000)
			for i := range evs {
				evs[i] = benchEvent(i)
			}
			if _, err := s.Append(ctx, evs...); err != nil {
				b.Fatal(err)
			}
			stop := make(chan struct{})
			done := make(chan error)
			go func() {
				for i := 0; ; i++ {
					select {
					case <-stop:
						done <- nil
						return
					default:
					}
					if _, err := s.Append(ctx, benchEvent(i)); err != nil {
						done <- err
						return
					}
				}
			}()
			var lat []time.Duration
			for b.Loop() {
				start := time.Now()
				got, err := s.Since(ctx, 900, 100)
				if err != nil || len(got) != 100 {
					b.Fatalf("Since = %d events, %v", len(got), err)
				}
				lat = append(lat, time.Since(start))
			}
			close(stop)
			if err := <-done; err != nil {
				b.Fatal(err)
			}
			p50, p99 := percentiles(lat)
			b.ReportMetric(p50, "read-p50-us")
			b.ReportMetric(p99, "read-p99-us")
		})
	}
}
