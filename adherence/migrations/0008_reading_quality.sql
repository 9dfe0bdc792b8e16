-- Version 8: the data quality of vital-sign readings (hw/vital/quality;
-- docs/vitals.md, "Data quality"). A reading keeps its findings, the time
-- stamp its device gave, and how often the device sent it again.
ALTER TABLE readings ADD COLUMN flags TEXT;     -- JSON [{"code": ..., "reason": ...}], NULL when none
-- stamp is the device's own time stamp, unix milliseconds, NULL for a
-- reading timed on arrival. It equals time unless the device's clock was
-- off and time is corrected (flag clock_corrected).
ALTER TABLE readings ADD COLUMN stamp INTEGER;
ALTER TABLE readings ADD COLUMN repeats INTEGER NOT NULL DEFAULT 0;

-- Until now a reading's time was its device's stamp whenever it had one.
DROP TRIGGER readings_no_update;
UPDATE readings SET stamp = time WHERE device_time = 1;

-- A record sent again is found by the stamp its device gives it, not by
-- the corrected time: a meter's record read again after its clock was set
-- would be corrected by another offset, or by none.
DROP INDEX readings_dedupe;
CREATE UNIQUE INDEX readings_dedupe ON readings(device, quantity, stamp, dedupe) WHERE dedupe IS NOT NULL;

-- The quality step reads a device's recent readings by time.
CREATE INDEX readings_device_time ON readings(device, time);

-- Still append-only: only the repeat count changes.
CREATE TRIGGER readings_no_update
BEFORE UPDATE OF seq, id, device, quantity, value, unit, original, time, device_time,
    absent, unreliable, context, dedupe, flags, stamp ON readings
BEGIN
    SELECT RAISE(ABORT, 'readings are append-only');
END;
