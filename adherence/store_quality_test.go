package adherence

import (
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pillbox/pillbox/hw/vital"
)

// meterRecord is a glucose meter's stored record as the decoder gives it:
// stamped by the meter, with its sequence number.
func meterRecord(seq string, v float64, stamp time.Time) vital.Reading {
	return vital.Reading{Device: "meter", Quantity: vital.Glucose, Value: v, Unit: "mg/dL", Original: "95 mg/dL",
		Time: stamp, DeviceTime: true, Context: map[string]string{"sequence": seq}}
}

// TestReadingQualityRoundTrip: flags, the device's own stamp and the
// repeat count are kept and read back.
func TestReadingQualityRoundTrip(t *testing.T) {
	bothStores(t, func(t *testing.T, s *Store) {
		corrected := meterRecord("7", 95, t0)
		corrected.DeviceClock = t0.Add(-72 * time.Hour)
		corrected.Flags = []vital.Flag{{Code: vital.ClockCorrected, Reason: "the device's clock was 3 days behind"}}
		bad := reading(vital.Glucose, 3e6, t0.Add(time.Minute))
		bad.Flags = []vital.Flag{{Code: vital.Implausible, Reason: "glucose 3000000 mg/dL is outside the plausible 10-1000 mg/dL"}}
		bad.Repeats = 5 // not the caller's to set: a new reading has none
		got, err := s.AppendReadings(t.Context(), corrected, bad)
		if err != nil {
			t.Fatal(err)
		}
		back, err := s.ReadingsSince(t.Context(), 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, got) {
			t.Errorf("ReadingsSince =\n%+v\nwant what AppendReadings returned\n%+v", back, got)
		}
		if b := back[0]; !b.DeviceClock.Equal(t0.Add(-72*time.Hour)) || !b.Time.Equal(t0) || !b.Flagged(vital.ClockCorrected) {
			t.Errorf("corrected reading = %+v, want time %v and the device's clock %v kept", b, t0, t0.Add(-72*time.Hour))
		}
		if b := back[1]; !b.Flagged(vital.Implausible) || b.Repeats != 0 || !b.DeviceClock.IsZero() {
			t.Errorf("implausible reading = %+v, want its flag, no repeats and no device clock", b)
		}
	})
}

// TestReadingRepeatsCounted: a stamped record sent again (a RACP record
// re-read on a reconnection) is stored once and counted, even when its
// time is corrected by another offset the second time (the meter's clock
// was set in between); a reading timed on arrival is counted by id.
func TestReadingRepeatsCounted(t *testing.T) {
	bothStores(t, func(t *testing.T, s *Store) {
		stamp := t0.Add(-72 * time.Hour)
		first := meterRecord("7", 95, t0)
		first.DeviceClock = stamp
		first.Flags = []vital.Flag{{Code: vital.ClockCorrected, Reason: "3 days behind"}}
		stored, err := s.AppendReadings(t.Context(), first)
		if err != nil || len(stored) != 1 {
			t.Fatalf("AppendReadings = %v, %v", stored, err)
		}
		// After the clock was set, the meter sends the old record again,
		// with its old stamp and nothing to correct it by.
		again := meterRecord("7", 95, stamp)
		for range 2 {
			if got, err := s.AppendReadings(t.Context(), again); err != nil || len(got) != 0 {
				t.Fatalf("AppendReadings(the record again) = %v, %v; want nothing new", got, err)
			}
		}
		// Another record with the same stamp is new.
		if got, err := s.AppendReadings(t.Context(), meterRecord("8", 95, stamp)); err != nil || len(got) != 1 {
			t.Fatalf("AppendReadings(record 8) = %v, %v; want it stored", got, err)
		}
		arrival := reading(vital.Temperature, 36.5, t0)
		tempStored, err := s.AppendReadings(t.Context(), arrival)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CountRepeats(t.Context(), tempStored[0].ID); err != nil {
			t.Fatalf("CountRepeats: %v", err)
		}
		back, _ := s.ReadingsSince(t.Context(), 0, 10)
		if len(back) != 3 || back[0].Repeats != 2 || back[1].Repeats != 0 || back[2].Repeats != 1 {
			t.Fatalf("stored = %+v, want record 7 with 2 repeats, record 8 with none, the temperature with 1", back)
		}
		if err := s.CountRepeats(t.Context(), tempStored[0].ID, "no-such-reading"); err == nil || !strings.Contains(err.Error(), "no-such-reading") {
			t.Errorf("CountRepeats(unknown id) = %v, want an error naming it", err)
		}
		if back, _ := s.ReadingsSince(t.Context(), 2, 10); len(back) != 1 || back[0].Repeats != 1 {
			t.Errorf("a failed CountRepeats counted: %+v, want 1 repeat", back)
		}
		// Still append-only but for the count.
		for _, q := range []string{`UPDATE readings SET value = 1`, `UPDATE readings SET flags = NULL`,
			`UPDATE readings SET stamp = 0`, `DELETE FROM readings`} {
			if _, err := s.w.ExecContext(t.Context(), q); err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: error %v, want append-only", q, err)
			}
		}
	})
}

func TestDeviceReadings(t *testing.T) {
	bothStores(t, func(t *testing.T, s *Store) {
		a := reading(vital.Glucose, 90, t0)
		b := reading(vital.Systolic, 120, t0.Add(time.Minute))
		other := reading(vital.Glucose, 91, t0)
		other.Device = "elsewhere"
		late := reading(vital.Glucose, 92, t0.Add(2*time.Minute))
		if _, err := s.AppendReadings(t.Context(), late, a, b, other); err != nil {
			t.Fatal(err)
		}
		got, err := s.DeviceReadings(t.Context(), cuff, t0, t0.Add(2*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Value != 90 || got[1].Value != 120 {
			t.Errorf("DeviceReadings(cuff, [t0, t0+2m)) = %+v, want the glucose 90 then the systolic 120", got)
		}
	})
}

// TestMigration8: readings stored before version 8 keep their place:
// their stamp is their time, so a stamped one sent again after the upgrade
// is a repeat, and one timed on arrival stays unstamped.
func TestMigration8(t *testing.T) {
	ms, err := loadMigrations(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "device.db")
	at := t0.UnixMilli()
	oldSchema(t, path, ms[:7],
		`INSERT INTO readings(id, device, quantity, value, unit, original, time, device_time, context, dedupe)
		 VALUES ('r1', 'meter', 'glucose', 95, 'mg/dL', '95 mg/dL', `+strconv.FormatInt(at, 10)+`, 1, '{"sequence":"7"}', 'seq:7')`,
		`INSERT INTO readings(id, device, quantity, value, unit, original, time, device_time)
		 VALUES ('r2', 'thermo', 'temperature', 36.5, 'Cel', '36.5 °C', `+strconv.FormatInt(at, 10)+`, 0)`)
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, err := s.AppendReadings(t.Context(), meterRecord("7", 95, t0)); err != nil || len(got) != 0 {
		t.Fatalf("the old record sent again = %v, %v; want a repeat", got, err)
	}
	back, err := s.ReadingsSince(t.Context(), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != 2 || back[0].Repeats != 1 || !back[0].DeviceClock.IsZero() || back[0].Flags != nil || back[1].Repeats != 0 {
		t.Errorf("after the upgrade = %+v, want r1 with one repeat and no flags, r2 untouched", back)
	}
	var stamps []any
	rows, err := s.r.QueryContext(t.Context(), `SELECT stamp FROM readings ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var v any
		rows.Scan(&v)
		stamps = append(stamps, v)
	}
	if len(stamps) != 2 || stamps[0] != at || stamps[1] != nil {
		t.Errorf("stamps = %v, want [%d <nil>]", stamps, at)
	}
}
