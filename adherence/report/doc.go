// Package report builds what clinicians and caregivers read from the
// records of one patient: the adherence metrics (doses folded from the
// event log, taking and timing rates, PDC, PRN use, drug holidays), the
// vital-sign summaries and the bands they are judged against, the alert
// history, and the report over a period with its renderers (CSV, JSON and
// FHIR R4), plus a synthetic log for demos, tests and benchmarks.
//
// Everything here is a pure function of plain records (dispenser.Event,
// vital.Reading, the patient's Setup) and a report time: nothing reads a
// database, a clock or the network. The dispenser's own store (pillctl
// report on a device), the clinic's store (any backend) and pillload feed
// it the same records, so their reports are the same. docs/reports.md
// defines every figure.
package report
