-- Version 7: the Twilio webhooks the notifier acted on, by id (an inbound
-- message's MessageSid; a status callback's MessageSid/status), so that a
-- replay within 48 hours is ignored, across restarts too: a replayed STOP
-- must not opt a caregiver out again. Rows older than the window are
-- deleted as new ones come. Times are unix milliseconds, UTC.
CREATE TABLE webhook_seen (
    id   TEXT    PRIMARY KEY,
    seen INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX webhook_seen_time ON webhook_seen(seen);
