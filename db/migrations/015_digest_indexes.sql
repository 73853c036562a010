---- tern: disable-tx ----
-- A window's items: the digested deliveries of a user and channel no digest
-- has listed yet. Partial, so it holds only what is waiting; listing an item
-- takes it out. Built concurrently, outside a transaction, so deliveries
-- stays writable.
CREATE INDEX CONCURRENTLY IF NOT EXISTS deliveries_digest_waiting
    ON deliveries (tenant_id, user_id, channel) WHERE reason = 'digested' AND status = 'skipped' AND digest_id IS NULL;

-- A digest's items, for its rendering and for GET /v1/events of a digest.
CREATE INDEX CONCURRENTLY IF NOT EXISTS deliveries_by_digest ON deliveries (digest_id) WHERE digest_id IS NOT NULL;

---- create above / drop below ----

DROP INDEX IF EXISTS deliveries_by_digest;
DROP INDEX IF EXISTS deliveries_digest_waiting;
