-- Version 1: the clinic's tables. These statements are, word for word,
-- those the dispenser's migration chain once applied to the clinic's file
-- (its versions 4 to 6), so that a file made before the clinic had a chain
-- of its own, adopted at the matching version (migrate.go), ends with the
-- schema a new one has. Change the schema with new files only.
-- Times are unix milliseconds, UTC. Ids are random hex strings made by the
-- program; tokens, sessions and passwords are stored only as hashes.

CREATE TABLE clinic_patients (
    id           TEXT    PRIMARY KEY,
    display_name TEXT    NOT NULL,
    created      INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- Whom the clinic texts about a patient's dispenser ("dispenser silent").
CREATE TABLE clinic_caregivers (
    id         INTEGER PRIMARY KEY,
    patient_id TEXT    NOT NULL REFERENCES clinic_patients(id),
    name       TEXT    NOT NULL,
    phone      TEXT    NOT NULL,
    UNIQUE (patient_id, phone)
) STRICT;

-- A dispenser registered for a patient. last_seen is the server's time of
-- its latest accepted request; silent_since is set while it is silent.
CREATE TABLE clinic_devices (
    id           TEXT    PRIMARY KEY,
    patient_id   TEXT    NOT NULL REFERENCES clinic_patients(id),
    label        TEXT    NOT NULL DEFAULT '',
    created      INTEGER NOT NULL,
    disabled     INTEGER NOT NULL DEFAULT 0,
    last_seen    INTEGER,
    silent_since INTEGER,
    heartbeat    TEXT -- the latest heartbeat, JSON, as the device sent it
) STRICT, WITHOUT ROWID;

CREATE INDEX clinic_devices_patient ON clinic_devices(patient_id);

CREATE TABLE clinic_users (
    id            TEXT    PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('clinician', 'admin')),
    password_hash TEXT    NOT NULL DEFAULT '',
    disabled      INTEGER NOT NULL DEFAULT 0,
    created       INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- A clinician's panel: the patients they may see.
CREATE TABLE clinic_panels (
    user_id    TEXT NOT NULL REFERENCES clinic_users(id),
    patient_id TEXT NOT NULL REFERENCES clinic_patients(id),
    PRIMARY KEY (user_id, patient_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX clinic_panels_patient ON clinic_panels(patient_id);

-- API tokens (kind 'api', for a user's scripts) and device tokens (kind
-- 'device'). hash is SHA-256 of the token, hex: tokens are 256 random bits,
-- so a fast hash is enough and lets a request find its token by index.
CREATE TABLE clinic_tokens (
    id        TEXT    PRIMARY KEY,
    hash      TEXT    NOT NULL UNIQUE,
    kind      TEXT    NOT NULL CHECK (kind IN ('api', 'device')),
    user_id   TEXT    REFERENCES clinic_users(id),
    device_id TEXT    REFERENCES clinic_devices(id),
    label     TEXT    NOT NULL DEFAULT '',
    created   INTEGER NOT NULL,
    revoked   INTEGER,
    CHECK ((kind = 'api') = (user_id IS NOT NULL)),
    CHECK ((kind = 'device') = (device_id IS NOT NULL))
) STRICT, WITHOUT ROWID;

-- Web sessions; id_hash is SHA-256 of the cookie value.
CREATE TABLE clinic_sessions (
    id_hash   TEXT    PRIMARY KEY,
    user_id   TEXT    NOT NULL REFERENCES clinic_users(id),
    csrf      TEXT    NOT NULL,
    created   INTEGER NOT NULL,
    last_seen INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- Who read or changed what, when and from where. Never tokens, passwords or
-- readings. Append-only, like the event log.
CREATE TABLE clinic_audit (
    seq        INTEGER PRIMARY KEY,
    time       INTEGER NOT NULL,
    actor      TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    patient_id TEXT,
    target     TEXT    NOT NULL DEFAULT '',
    remote     TEXT    NOT NULL DEFAULT '',
    outcome    TEXT    NOT NULL DEFAULT 'ok'
) STRICT;

CREATE INDEX clinic_audit_patient ON clinic_audit(patient_id, seq) WHERE patient_id IS NOT NULL;

CREATE TRIGGER clinic_audit_no_update BEFORE UPDATE ON clinic_audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER clinic_audit_no_delete BEFORE DELETE ON clinic_audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

-- One device's event log as the clinic has it. log_id is the id of the
-- device's database (adherence.Store.DeviceID): a device whose database was
-- recreated starts a new stream at seq 1. acked_* are the highest
-- contiguous sequence numbers stored.
CREATE TABLE clinic_streams (
    device_id         TEXT    NOT NULL REFERENCES clinic_devices(id),
    log_id            TEXT    NOT NULL,
    acked_seq         INTEGER NOT NULL DEFAULT 0,
    acked_reading_seq INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (device_id, log_id)
) STRICT, WITHOUT ROWID;

-- Events synced from devices, as the device logged them. patient_id is the
-- device's patient when the event arrived. The unique event id makes a
-- batch sent twice store nothing twice.
CREATE TABLE clinic_events (
    device_id   TEXT    NOT NULL,
    log_id      TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    id          TEXT    NOT NULL,
    patient_id  TEXT    NOT NULL,
    time        INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    dose_id     TEXT,
    scheduled   INTEGER,
    medication  TEXT,
    compartment INTEGER NOT NULL DEFAULT 0,
    detail      TEXT,
    received    INTEGER NOT NULL,
    PRIMARY KEY (device_id, log_id, seq),
    UNIQUE (device_id, id)
) STRICT, WITHOUT ROWID;

CREATE INDEX clinic_events_patient ON clinic_events(patient_id, time);

-- Vital-sign readings synced from devices (dispenser.Reading). value is NULL
-- when absent says why there is none; extra holds the reading's other
-- fields (original, device, unreliable, context) as JSON.
CREATE TABLE clinic_readings (
    device_id   TEXT    NOT NULL,
    log_id      TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    id          TEXT    NOT NULL,
    patient_id  TEXT    NOT NULL,
    time        INTEGER NOT NULL,
    device_time INTEGER NOT NULL,
    quantity    TEXT    NOT NULL,
    value       REAL,
    unit        TEXT    NOT NULL,
    absent      TEXT,
    extra       TEXT,
    received    INTEGER NOT NULL,
    PRIMARY KEY (device_id, log_id, seq),
    UNIQUE (device_id, id)
) STRICT, WITHOUT ROWID;

CREATE INDEX clinic_readings_patient ON clinic_readings(patient_id, quantity, time);

-- Texts the clinic sends itself ("dispenser silent", "back"), queued in the
-- transaction that decided to send them and sent by one worker.
CREATE TABLE clinic_sms (
    id         INTEGER PRIMARY KEY,
    created    INTEGER NOT NULL,
    patient_id TEXT    NOT NULL,
    device_id  TEXT    NOT NULL,
    reason     TEXT    NOT NULL,
    to_phone   TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_try   INTEGER NOT NULL,
    sent       INTEGER,
    failed     INTEGER,
    last_error TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX clinic_sms_due ON clinic_sms(next_try) WHERE sent IS NULL AND failed IS NULL;
