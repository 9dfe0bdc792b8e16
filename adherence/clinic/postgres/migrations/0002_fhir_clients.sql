-- Version 2: the FHIR API's clients (SMART Backend Services), the ids of the
-- signed assertions they used (kept until the assertion expires, so that
-- none is accepted twice) and the access tokens issued to them (by hash),
-- as the SQLite backend's migration 5. Times are unix milliseconds; the
-- service's role needs the grant block of docs/clinic.md run again.
CREATE TABLE clinic_fhir_clients (
    id            text COLLATE "C" PRIMARY KEY,
    name          text NOT NULL,
    jwks          text NOT NULL,
    panel_user_id text COLLATE "C", -- the panel it reads, or NULL and patients
    patients      text NOT NULL DEFAULT '[]', -- JSON array of patient ids
    created       bigint NOT NULL,
    revoked       bigint
);

CREATE TABLE clinic_fhir_jtis (
    client_id text COLLATE "C" NOT NULL,
    jti       text COLLATE "C" NOT NULL,
    expires   bigint NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX clinic_fhir_jtis_expires ON clinic_fhir_jtis(expires);

CREATE TABLE clinic_fhir_tokens (
    hash      text COLLATE "C" PRIMARY KEY,
    client_id text COLLATE "C" NOT NULL,
    scope     text NOT NULL,
    issued    bigint NOT NULL,
    expires   bigint NOT NULL
);
CREATE INDEX clinic_fhir_tokens_expires ON clinic_fhir_tokens(expires);
