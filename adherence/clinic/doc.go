// Package clinic is the clinic service's domain: patients, their
// dispensers and caregivers, clinician accounts and panels, API and device
// tokens, web sessions, sign-in delays, the audit log, the ingest of device
// batches (the uplink protocol) with its judgement of device clocks and
// the items it sets aside, and the texts the clinic sends itself.
//
// It owns the Store interface its data is kept behind, and the logic
// around it (Service): validation, password hashing, the secrets of
// tokens and sessions, what is audited and how texts read. Each backend
// implements Store in its own subpackage (adherence/clinic/sqlite, the
// embedded default); adherence/clinic/storetest is the conformance suite
// every backend passes. The HTTP pages and JSON API are
// adherence/clinic/web's, the "dispenser silent" watcher
// adherence/clinic/silent's, report building adherence/report's.
//
// Security rules the code keeps:
//   - tokens and session ids are 256 random bits, shown once, stored as
//     SHA-256; passwords as argon2id;
//   - a clinician sees only the patients on their panel (the web package
//     checks every route that names a patient);
//   - a device token writes only its own device's (so its own patient's)
//     data and reads nothing;
//   - every read and change of patient data, every login and every change
//     of accounts, panels, devices and tokens goes to the append-only audit
//     log, in the same transaction as the change, and the log never holds
//     a token, a password or a reading;
//   - what protects accounts (sessions, sign-in delays) lives in the store,
//     not in a process's memory, so that every adherenced sharing a
//     database applies it;
//   - no log line carries PHI or a secret: they name ids and counts.
package clinic
