// Package adherence owns the adherence record of one dispenser and what is
// computed from it: the device-side SQLite store (the append-only event log,
// the per-dose state kept beside it, device metadata) and, built on that
// store, the adherence metrics and the reports.
//
// The store implements dispenser.Log. Every Append is one immediate
// transaction committed with synchronous=FULL, so an event Append returned is
// on disk; the doses table is updated in the same transaction, so it never
// disagrees with the log. Database files are created with mode 0600, and
// nothing about a patient or a medication is ever written to a log line or an
// error message: errors name the step that failed, the event's index and
// kind, never its content.
package adherence
