// Package adherence owns the adherence record of one dispenser: the
// device-side SQLite store (the append-only event log, the per-dose state
// kept beside it, the notifier's outbox, vital-sign readings, device
// metadata). What is computed from the record (metrics, reports, FHIR) is
// adherence/report's, which reads plain records and never this store.
//
// The store implements dispenser.Log. Every Append is one immediate
// transaction committed with synchronous=FULL, so an event Append returned is
// on disk; the doses table is updated in the same transaction, so it never
// disagrees with the log. Database files are created with mode 0600, and
// nothing about a patient or a medication is ever written to a log line or an
// error message: errors name the step that failed, the event's index and
// kind, never its content.
package adherence
