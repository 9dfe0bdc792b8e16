-- Version 2: the notifier's state (package notify): alerts, the SMS outbox,
-- what each phone number asked for, and the notifier's cursor in the event
-- log. Times are unix milliseconds, UTC. Phone numbers and message bodies
-- are personal data: they stay in this 0600 file, never in the event log.

-- One row per alert. At most one alert that is not closed per condition key,
-- and its short code is unique among those, so that "OK <code>" names one.
CREATE TABLE alerts (
    id        INTEGER PRIMARY KEY,
    key       TEXT    NOT NULL,
    code      TEXT    NOT NULL,
    what      TEXT    NOT NULL,
    priority  INTEGER NOT NULL,
    opened    INTEGER NOT NULL,
    base      INTEGER NOT NULL,
    step      INTEGER NOT NULL,
    sent_step INTEGER NOT NULL,
    step_at   INTEGER,
    notified  INTEGER,
    repeats   INTEGER NOT NULL,
    acked_by  TEXT,
    acked_at  INTEGER,
    closed    INTEGER,
    reason    TEXT,
    facts     TEXT    NOT NULL
) STRICT;

CREATE UNIQUE INDEX alerts_open_key ON alerts(key) WHERE closed IS NULL;
CREATE UNIQUE INDEX alerts_open_code ON alerts(code) WHERE closed IS NULL;

-- The durable outbox: a message is a row here before any attempt to send it.
-- alerts and codes are comma-separated lists.
CREATE TABLE outbox (
    id        INTEGER PRIMARY KEY,
    created   INTEGER NOT NULL,
    recipient TEXT    NOT NULL,
    phone     TEXT    NOT NULL,
    body      TEXT    NOT NULL,
    priority  INTEGER NOT NULL,
    alerts    TEXT    NOT NULL,
    codes     TEXT    NOT NULL,
    why       TEXT    NOT NULL,
    state     TEXT    NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'canceled')),
    attempts  INTEGER NOT NULL,
    next_try  INTEGER NOT NULL,
    sid       TEXT,
    status    TEXT    NOT NULL,
    error     TEXT    NOT NULL,
    updated   INTEGER NOT NULL
) STRICT;

CREATE INDEX outbox_pending ON outbox(state) WHERE state IN ('queued', 'sending');
CREATE INDEX outbox_created ON outbox(created);
CREATE UNIQUE INDEX outbox_sid ON outbox(sid) WHERE sid IS NOT NULL;

CREATE TABLE sms_numbers (
    phone     TEXT PRIMARY KEY,
    opted_out INTEGER,
    helped    INTEGER
) STRICT, WITHOUT ROWID;

-- A device that already has a log starts the notifier at its end: alerting
-- now about events from before the notifier existed would only confuse.
INSERT INTO meta(key, value) SELECT 'notify_cursor', CAST(coalesce(max(seq), 0) AS TEXT) FROM events;
