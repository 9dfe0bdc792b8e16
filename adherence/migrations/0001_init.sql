-- Version 1: the event log, the per-dose projection of it, and device metadata.
-- Times are unix milliseconds, UTC.

-- seq is the rowid: max(seq)+1 on insert, so it is never reused as long as
-- the newest row is never deleted (the triggers below forbid any delete).
-- AUTOINCREMENT would cost one more page write per commit.
CREATE TABLE events (
    seq         INTEGER PRIMARY KEY,
    id          TEXT    NOT NULL UNIQUE,
    time        INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    dose_id     TEXT,
    scheduled   INTEGER,
    medication  TEXT,
    compartment INTEGER NOT NULL DEFAULT 0,
    detail      TEXT
) STRICT;

CREATE INDEX events_time ON events(time);
CREATE INDEX events_dose ON events(dose_id) WHERE dose_id IS NOT NULL;

-- The log is the medical record: a row, once written, never changes. A later
-- migration that needs retention can drop the delete trigger deliberately.
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;

-- The latest state of each dose, maintained by Append in the same
-- transaction as the event that changed it (last_seq).
CREATE TABLE doses (
    dose_id    TEXT    PRIMARY KEY,
    medication TEXT,
    scheduled  INTEGER,
    state      TEXT    NOT NULL,
    updated    INTEGER NOT NULL,
    last_seq   INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX doses_scheduled ON doses(scheduled);

-- device_id and last_trusted (unix ms) live here.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT, WITHOUT ROWID;
