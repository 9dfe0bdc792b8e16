-- Version 3: vital-sign readings from the patient's Bluetooth LE health
-- devices (package notify/vitals writes them through Store.AppendReadings).
-- Times are unix milliseconds, UTC. A reading is a medical record: like an
-- event it is append-only, with a per-database seq for sync and a random
-- globally unique id.
CREATE TABLE readings (
    seq         INTEGER PRIMARY KEY,
    id          TEXT    NOT NULL UNIQUE,
    device      TEXT    NOT NULL,
    quantity    TEXT    NOT NULL,
    value       REAL,             -- NULL when absent
    unit        TEXT    NOT NULL,
    original    TEXT,
    time        INTEGER NOT NULL,
    device_time INTEGER NOT NULL, -- 1 when time is the device's own time stamp
    absent      TEXT,
    unreliable  TEXT,             -- JSON array of conditions, NULL when none
    context     TEXT,             -- JSON object, NULL when none
    -- dedupe identifies a measurement a device may send again (a meter's
    -- stored records read after a reconnection, a cuff that replays its
    -- memory): NULL for readings timed on arrival, which cannot be told
    -- apart from a new measurement.
    dedupe      TEXT
) STRICT;

CREATE INDEX readings_quantity_time ON readings(quantity, time);
CREATE INDEX readings_device ON readings(device, seq);
CREATE UNIQUE INDEX readings_dedupe ON readings(device, quantity, time, dedupe) WHERE dedupe IS NOT NULL;

CREATE TRIGGER readings_no_update BEFORE UPDATE ON readings
BEGIN
    SELECT RAISE(ABORT, 'readings are append-only');
END;

CREATE TRIGGER readings_no_delete BEFORE DELETE ON readings
BEGIN
    SELECT RAISE(ABORT, 'readings are append-only');
END;
