-- Version 2 (the dispenser chain's 5): recorded misses a clinician marked as false (the patient did
-- take the dose: from a blister pack while the dispenser was off, say),
-- from the clinic's patient page. One row per dose; the marking and its
-- removal are audited. The reports count a marked miss as taken and show
-- the false-miss rate.
CREATE TABLE clinic_false_misses (
    patient_id TEXT    NOT NULL REFERENCES clinic_patients(id),
    dose_id    TEXT    NOT NULL,
    reason     TEXT    NOT NULL,
    source     TEXT    NOT NULL CHECK (source IN ('clinician', 'caregiver')),
    marked_by  TEXT    NOT NULL,
    marked_at  INTEGER NOT NULL,
    PRIMARY KEY (patient_id, dose_id)
) STRICT, WITHOUT ROWID;
