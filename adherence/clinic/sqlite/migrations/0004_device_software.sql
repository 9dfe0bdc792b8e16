-- Version 4: the software version a device last reported, in a column of its
-- own (it was read out of the heartbeat's JSON), so that reading a device
-- needs no JSON from any backend; the heartbeat stays as the device sent it.
ALTER TABLE clinic_devices ADD COLUMN software TEXT NOT NULL DEFAULT '';
UPDATE clinic_devices SET software = coalesce(json_extract(heartbeat, '$.software'), '')
    WHERE json_valid(heartbeat);
