---- tern: disable-tx ----
-- Built concurrently, outside a transaction, so a large deliveries table stays
-- writable while it builds. One statement: CONCURRENTLY cannot share a
-- multi-statement batch.
CREATE INDEX CONCURRENTLY IF NOT EXISTS deliveries_failed
    ON deliveries (tenant_id, created_at DESC, id DESC) WHERE failed_at IS NOT NULL;

---- create above / drop below ----

DROP INDEX IF EXISTS deliveries_failed;
