// Package quality is the data-quality step between the decoders and the
// rules: the one place that decides whether a vital-sign reading is a
// measurement of the patient, used by the dispenser on every reading it
// receives and by the clinic on what it reports. It owns the rules of
// docs/vitals.md, "Data quality":
//
//   - plausibility: a value outside its quantity's physiological limits
//     (vital.QuantitySpec.Plausible), a diastolic not below its systolic,
//     or a unit the profile does not allow, is flagged implausible, and so
//     is the rest of its measurement;
//   - device clocks: a device clock off by more than ClockTolerance from
//     the controller's trusted clock has its readings' times corrected
//     (the device's kept in DeviceClock), and is set where it can be;
//   - duplicates: a measurement timed on arrival that repeats one received
//     less than RepeatWindow before is counted on the stored one, not
//     stored again (the store drops repeats of stamped records itself);
//   - device problems: what counts as a device that keeps sending
//     implausible or faulty readings (ProblemCount in ProblemWindow);
//   - the per-device summary the device's API and the clinic's reports
//     show (Summarize): readings, flags, repeats, days without data, the
//     last meter check.
//
// It is pure: the caller brings the reception time, the device's clock
// offset and its recent readings, and stores what comes back.
package quality
