// Package clinic owns the clinic service's side of the adherence store and
// its web front: patients, their dispensers and caregivers, clinician
// accounts and panels, API and device tokens, web sessions, the audit log,
// the ingest of device batches (the uplink protocol), the "dispenser
// silent" watcher with its small SMS queue, and the HTTP handlers of
// adherenced (pages and JSON API) with their authentication and
// object-level authorisation.
//
// Security rules the code keeps:
//   - tokens and session ids are 256 random bits, shown once, stored as
//     SHA-256; passwords as argon2id;
//   - a clinician sees only the patients on their panel: every route whose
//     pattern names {patient} is checked against the panel by the router
//     itself, and any other id gets 404, never 403;
//   - a device token writes only its own device's (so its own patient's)
//     data and reads nothing;
//   - every read and change of patient data, every login and every change
//     of accounts, panels, devices and tokens goes to the append-only audit
//     log, which never holds a token, a password or a reading;
//   - no log line carries PHI or a secret: they name ids and counts.
package clinic
