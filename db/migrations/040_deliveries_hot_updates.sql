---- tern: disable-tx ----
-- A delivery's usual path (pending, claimed, delivered) is meant to change
-- no column an index depends on, so that each update stays heap-only (HOT)
-- and touches no index (migration 004). Columns named in a partial index's
-- predicate count too, and deliveries_deferred and deliveries_digest_waiting
-- name status: every delivery marked delivered wrote a new entry in each of
-- the table's indexes. Their replacements leave status out of the
-- predicate; the queries that use them still ask for status themselves.
-- What they hold beyond the old ones is little: not_before is cleared on
-- every path out of pending but a cancellation, and a cancelled digested
-- row changes its reason. Built concurrently, so deliveries stays writable.
CREATE INDEX CONCURRENTLY IF NOT EXISTS deliveries_waiting
    ON deliveries (event_id, not_before) WHERE not_before IS NOT NULL;
DROP INDEX CONCURRENTLY IF EXISTS deliveries_deferred;
CREATE INDEX CONCURRENTLY IF NOT EXISTS deliveries_digest_items
    ON deliveries (tenant_id, user_id, channel) WHERE reason = 'digested' AND digest_id IS NULL;
DROP INDEX CONCURRENTLY IF EXISTS deliveries_digest_waiting;

---- create above / drop below ----

CREATE INDEX CONCURRENTLY IF NOT EXISTS deliveries_digest_waiting
    ON deliveries (tenant_id, user_id, channel) WHERE reason = 'digested' AND status = 'skipped' AND digest_id IS NULL;
DROP INDEX CONCURRENTLY IF EXISTS deliveries_digest_items;
CREATE INDEX CONCURRENTLY IF NOT EXISTS deliveries_deferred
    ON deliveries (event_id, not_before) WHERE status = 'pending' AND not_before IS NOT NULL;
DROP INDEX CONCURRENTLY IF EXISTS deliveries_waiting;
