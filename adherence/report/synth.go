package report

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/hw/vital"
	"github.com/pillbox/pillbox/schedule"
)

// Synthetic logs for benchmarks, page tests and demos: a patient on four
// scheduled doses a day (metformin 08:00 and 20:00, lisinopril 08:00,
// atorvastatin 21:00) and paracetamol as needed, with a dispenser that
// logs what the real one does, refills every four weeks, a blood pressure
// cuff, a scale and a glucose meter, and caregiver texts for the misses.

// SyntheticSetup is the configuration the synthetic logs follow.
func SyntheticSetup(loc *time.Location) Setup {
	return Setup{
		Location: loc,
		Medications: []dispenser.Medication{
			{ID: "metformin", Name: "Metformin", Strength: "500 mg", PillsPerDose: 1, Compartment: 1, Class: "biguanide"},
			{ID: "lisinopril", Name: "Lisinopril", Strength: "10 mg", PillsPerDose: 1, Compartment: 2, Class: "ACE inhibitor"},
			{ID: "atorvastatin", Name: "Atorvastatin", Strength: "20 mg", PillsPerDose: 1, Compartment: 3, Class: "statin"},
			{ID: "paracetamol", Name: "Paracetamol", Strength: "500 mg", PillsPerDose: 2, Compartment: 4, Class: "analgesic"},
		},
		Regimens: []schedule.Regimen{
			{Medication: "metformin", Cron: "0 8,20 * * *"},
			{Medication: "lisinopril", Cron: "0 8 * * *"},
			{Medication: "atorvastatin", Cron: "0 21 * * *"},
			{Medication: "paracetamol", PRN: &schedule.PRN{MinInterval: 4 * time.Hour, MaxPerDay: 4}},
		},
		Meters: []Meter{
			{Address: "A4:C1:38:00:00:01", Kind: vital.KindBloodPressure.Name, Name: "cuff"},
			{Address: "A4:C1:38:00:00:02", Kind: vital.KindScale.Name},
			{Address: "A4:C1:38:00:00:03", Kind: vital.KindGlucose.Name},
		},
	}
}

// Synthetic returns days of a patient's log from the local midnight of
// start, in time order, and the readings of the same days. adherence is
// the chance that a dose is taken (about); seed makes it repeatable.
func Synthetic(seed uint64, start time.Time, days int, adherence float64) ([]dispenser.Event, []vital.Reading) {
	loc := start.Location()
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	setup := SyntheticSetup(loc)
	plan, err := schedule.NewPlan(setup.Regimens, loc)
	if err != nil {
		panic(err) // the setup is a constant
	}
	y, m, d := start.Date()
	from := time.Date(y, m, d, 0, 0, 0, 0, loc)
	to := time.Date(y, m, d+days, 0, 0, 0, 0, loc)
	comp := map[string]int{}
	for _, md := range setup.Medications {
		comp[md.ID] = md.Compartment
	}
	evs := make([]dispenser.Event, 0, days*4*5)
	counts := map[int]int{1: 60, 2: 30, 3: 30, 4: 40}
	msg := 0
	ev := func(at time.Time, k dispenser.Kind, o schedule.Occurrence, detail string) {
		evs = append(evs, dispenser.Event{Time: at.UTC(), Kind: k, DoseID: o.ID, Medication: o.Medication,
			Compartment: comp[o.Medication], Scheduled: o.At, Detail: detail})
	}
	count := func(c int) string { return fmt.Sprintf("pills=1 expected=1 left=%d", counts[c]) }
	texts := func(at time.Time, key string) {
		msg++
		evs = append(evs, dispenser.Event{Time: at.UTC(), Kind: "sms_queued",
			Detail: fmt.Sprintf("msg=%d to=caregiver1 priority=medium alerts=%s codes=A%d why=step", msg, key, msg%10)},
			dispenser.Event{Time: at.Add(time.Second).UTC(), Kind: "sms_sent", Detail: fmt.Sprintf("msg=%d to=caregiver1 sid=SM%d attempt=1", msg, msg)},
			dispenser.Event{Time: at.Add(5 * time.Second).UTC(), Kind: "sms_delivered", Detail: fmt.Sprintf("msg=%d to=caregiver1 status=delivered", msg)})
		if rng.IntN(2) == 0 {
			evs = append(evs, dispenser.Event{Time: at.Add(10 * time.Minute).UTC(), Kind: "alert_ack",
				Detail: fmt.Sprintf("alert=%s code=A%d by=caregiver1", key, msg%10)})
		}
	}
	refill := 0
	for day := 0; day < days; day++ {
		if day == refill {
			// Every four weeks, a few days late now and then.
			refill += 28 + max(rng.IntN(10)-5, 0)
			at := time.Date(y, m, d+day, 10, 30, 0, 0, loc)
			for c := 1; c <= 4; c++ {
				counts[c] = min(counts[c]+56, 90)
				evs = append(evs, dispenser.Event{Time: at.UTC(), Kind: dispenser.KindRefill, Compartment: c,
					Detail: fmt.Sprintf("left=%d", counts[c])})
			}
		}
		if rng.IntN(10) == 0 {
			at := time.Date(y, m, d+day, 14, rng.IntN(60), 0, 0, loc)
			o := schedule.Occurrence{ID: "prn:paracetamol@" + at.Format("2006-01-02T15:04"), Medication: "paracetamol", At: at.UTC()}
			counts[4] = max(counts[4]-2, 0)
			ev(at, dispenser.KindDispenseStarted, o, "pills=2")
			ev(at.Add(3*time.Second), dispenser.KindDispensed, o, fmt.Sprintf("pills=2 expected=2 left=%d", counts[4]))
			ev(at.Add(time.Minute), dispenser.KindTaken, o, "via cup_lifted")
		}
	}
	for _, o := range plan.Between(from, to) {
		c := comp[o.Medication]
		p := rng.Float64()
		ev(o.At, dispenser.KindDoseDue, o, "")
		press := o.At.Add(time.Duration(rng.IntN(40*60)) * time.Second)
		switch {
		case p < adherence*0.96: // taken from the cup
			counts[c] = max(counts[c]-1, 0)
			ev(press, dispenser.KindDispenseStarted, o, "pills=1")
			ev(press.Add(3*time.Second), dispenser.KindDispensed, o, count(c))
			ev(press.Add(time.Duration(30+rng.IntN(300))*time.Second), dispenser.KindTaken, o, "via cup_lifted")
		case p < adherence: // left in the cup, then taken late
			counts[c] = max(counts[c]-1, 0)
			ev(press, dispenser.KindDispenseStarted, o, "pills=1")
			ev(press.Add(3*time.Second), dispenser.KindDispensed, o, count(c))
			ev(press.Add(30*time.Minute), dispenser.KindNotTaken, o, "")
			ev(press.Add(90*time.Minute), dispenser.KindTaken, o, "via lid_opened late")
		case p < adherence+(1-adherence)*0.7: // missed
			ev(o.At.Add(15*time.Minute), dispenser.KindReminder, o, "step=1")
			ev(o.Closes, dispenser.KindMissed, o, "")
			texts(o.Closes, "dose:"+o.ID)
		case p < adherence+(1-adherence)*0.85: // left in the cup
			counts[c] = max(counts[c]-1, 0)
			ev(press, dispenser.KindDispenseStarted, o, "pills=1")
			ev(press.Add(3*time.Second), dispenser.KindDispensed, o, count(c))
			ev(press.Add(30*time.Minute), dispenser.KindNotTaken, o, "")
			texts(press.Add(30*time.Minute), "dose:"+o.ID)
		case p < adherence+(1-adherence)*0.95: // skipped
			ev(press, dispenser.KindSkipped, o, "by=caregiver")
		default: // jammed
			ev(press, dispenser.KindDispenseStarted, o, "pills=1")
			ev(press.Add(5*time.Second), dispenser.KindJam, o, "retry attempt=1")
			ev(press.Add(10*time.Second), dispenser.KindJam, o, fmt.Sprintf("pills=0 expected=1 left=%d", counts[c]))
			texts(press.Add(10*time.Second), fmt.Sprintf("jam:%d", c))
		}
	}
	slices.SortStableFunc(evs, func(a, b dispenser.Event) int { return a.Time.Compare(b.Time) })
	for i := range evs {
		evs[i].Seq = int64(i + 1)
		evs[i].ID = fmt.Sprintf("s%d-%d", seed, i+1)
	}
	var rs []vital.Reading
	add := func(at time.Time, dev string, q vital.Quantity, v float64) {
		rs = append(rs, vital.Reading{Seq: int64(len(rs) + 1), ID: fmt.Sprintf("r%d-%d", seed, len(rs)+1), Device: dev,
			Quantity: q, Value: float64(int(v*10)) / 10, Unit: q.Unit(), Time: at.UTC(), DeviceTime: true})
	}
	weight := 80 + rng.Float64()*10
	for day := 0; day < days; day++ {
		at := time.Date(y, m, d+day, 7, 30, 0, 0, loc)
		add(at, "A4:C1:38:00:00:01", vital.Systolic, 130+rng.NormFloat64()*14)
		add(at, "A4:C1:38:00:00:01", vital.Diastolic, 82+rng.NormFloat64()*8)
		add(at, "A4:C1:38:00:00:01", vital.Pulse, 72+rng.NormFloat64()*9)
		weight += rng.NormFloat64() * 0.2
		add(at.Add(10*time.Minute), "A4:C1:38:00:00:02", vital.Weight, weight)
		add(at.Add(20*time.Minute), "A4:C1:38:00:00:03", vital.Glucose, 130+rng.NormFloat64()*35)
		add(at.Add(11*time.Hour), "A4:C1:38:00:00:03", vital.Glucose, 150+rng.NormFloat64()*40)
	}
	return evs, rs
}
