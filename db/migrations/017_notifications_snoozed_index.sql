---- tern: disable-tx ----
-- Snoozed items come back when their time comes: each API process looks
-- for those that came back since it last looked. Built concurrently,
-- outside a transaction, so the inbox stays writable.
CREATE INDEX CONCURRENTLY IF NOT EXISTS notifications_snoozed ON notifications (snoozed_until) WHERE snoozed_until IS NOT NULL;

---- create above / drop below ----

DROP INDEX IF EXISTS notifications_snoozed;
