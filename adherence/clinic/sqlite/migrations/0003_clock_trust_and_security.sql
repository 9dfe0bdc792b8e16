-- Version 3 (the clinic's part of the dispenser chain's 6): clock trust on
-- events, set-aside items and device clocks, and the clinic's security state
-- (sign-in delays, token expiry).

-- The clinic's side. clock says what the clinic made of an event's time
-- when it arrived: NULL (plausible), 'untrusted' (the device logged it
-- before it trusted its clock), 'ahead' (dated after the clinic's own time
-- plus the allowed skew) or 'before_2000' (an unmarked event from a clock
-- that was never set). Such a time never moves the clinic's "now".
ALTER TABLE clinic_events ADD COLUMN clock TEXT;

CREATE INDEX clinic_events_clock ON clinic_events(patient_id, received) WHERE clock IS NOT NULL;

-- What the clinic knows of a device's clock: its offset from the clinic's
-- at the last heartbeat that carried a time (device minus clinic, ms), and
-- the last evidence that it was wrong (when, and what was seen).
ALTER TABLE clinic_devices ADD COLUMN clock_offset INTEGER;
ALTER TABLE clinic_devices ADD COLUMN clock_suspect INTEGER;
ALTER TABLE clinic_devices ADD COLUMN clock_note TEXT NOT NULL DEFAULT '';

-- Items of a batch the clinic could not store as sent (a field out of its
-- limits, a profile that does not read), kept apart with the reason and the
-- item as sent (cut to 4 KiB). An event with a usable seq (what = 'event',
-- seq > 0) counts as received for acked_seq, so the device moves past it.
CREATE TABLE clinic_set_aside (
    id         INTEGER PRIMARY KEY,
    device_id  TEXT    NOT NULL,
    log_id     TEXT    NOT NULL,
    patient_id TEXT    NOT NULL,
    what       TEXT    NOT NULL CHECK (what IN ('event', 'reading', 'profile')),
    seq        INTEGER NOT NULL DEFAULT 0,
    item_id    TEXT    NOT NULL DEFAULT '',
    reason     TEXT    NOT NULL,
    raw        BLOB    NOT NULL,
    received   INTEGER NOT NULL
) STRICT;

-- A resent item with a place is kept once.
CREATE UNIQUE INDEX clinic_set_aside_place ON clinic_set_aside(device_id, log_id, what, seq) WHERE seq > 0;
CREATE INDEX clinic_set_aside_patient ON clinic_set_aside(patient_id, id);

-- Sign-in failures per account (key 'user:NAME') and per network (key
-- 'net:ADDR', an IPv6 address's /64): each failure past a free few delays
-- the next attempt (until, unix ms) a little longer, never for good. Kept
-- here rather than in a process's memory so that every adherenced sharing
-- the database applies them; rows are forgotten a day after their last
-- failure, never while they are busy.
CREATE TABLE clinic_login_failures (
    key          TEXT    PRIMARY KEY,
    failures     INTEGER NOT NULL,
    last_failure INTEGER NOT NULL,
    until        INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX clinic_login_failures_last ON clinic_login_failures(last_failure);

-- An admin's request to see a patient: an admin cannot add a patient to
-- their own panel; another admin grants it (or pillctl on the server), and
-- the grant closes the request.
CREATE TABLE clinic_panel_requests (
    user_id      TEXT    NOT NULL REFERENCES clinic_users(id),
    patient_id   TEXT    NOT NULL REFERENCES clinic_patients(id),
    requested_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, patient_id)
) STRICT, WITHOUT ROWID;

-- Tokens expire (unix ms). Those issued before this version get the
-- default lifetime from the moment of the upgrade (API tokens 90 days,
-- device tokens 365 days), so nothing stops working at the upgrade and
-- every old token still ends; pillctl clinic tokens shows when.
ALTER TABLE clinic_tokens ADD COLUMN expires INTEGER;
UPDATE clinic_tokens SET expires = CAST(unixepoch('subsec') * 1000 AS INTEGER)
    + CASE kind WHEN 'api' THEN 90 ELSE 365 END * 86400000;

-- What the clinic's texts call the patient: a first name only, as the
-- dispenser's own texts do (its patient.first_name), never the full name
-- the clinic files the patient under. Existing patients get the first word
-- of their name; pillctl clinic patient first-name changes it.
ALTER TABLE clinic_patients ADD COLUMN first_name TEXT NOT NULL DEFAULT '';
UPDATE clinic_patients SET first_name = CASE WHEN instr(trim(display_name), ' ') > 0
    THEN substr(trim(display_name), 1, instr(trim(display_name), ' ') - 1) ELSE trim(display_name) END;
