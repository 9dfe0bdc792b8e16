-- Version 5: the FHIR API's clients (SMART Backend Services), the ids of the
-- signed assertions they used (kept until the assertion expires, so that
-- none is accepted twice) and the access tokens issued to them (by hash).
CREATE TABLE clinic_fhir_clients (
    id            TEXT    PRIMARY KEY,
    name          TEXT    NOT NULL,
    jwks          TEXT    NOT NULL,
    panel_user_id TEXT,   -- the panel it reads, or NULL and patients
    patients      TEXT    NOT NULL DEFAULT '[]', -- JSON array of patient ids
    created       INTEGER NOT NULL,
    revoked       INTEGER
) STRICT;

CREATE TABLE clinic_fhir_jtis (
    client_id TEXT    NOT NULL,
    jti       TEXT    NOT NULL,
    expires   INTEGER NOT NULL,
    PRIMARY KEY (client_id, jti)
) STRICT;
CREATE INDEX clinic_fhir_jtis_expires ON clinic_fhir_jtis(expires);

CREATE TABLE clinic_fhir_tokens (
    hash      TEXT    PRIMARY KEY,
    client_id TEXT    NOT NULL,
    scope     TEXT    NOT NULL,
    issued    INTEGER NOT NULL,
    expires   INTEGER NOT NULL
) STRICT;
CREATE INDEX clinic_fhir_tokens_expires ON clinic_fhir_tokens(expires);
