---- tern: disable-tx ----
-- Deliveries waiting out quiet hours: a workflow reads the next release time
-- of its event and, when it comes, the rows due. Partial, so it holds only
-- what is waiting and marking a delivery stays a heap-only update. Built
-- concurrently, outside a transaction, so deliveries stays writable.
CREATE INDEX CONCURRENTLY IF NOT EXISTS deliveries_deferred
    ON deliveries (event_id, not_before) WHERE status = 'pending' AND not_before IS NOT NULL;

---- create above / drop below ----

DROP INDEX IF EXISTS deliveries_deferred;
