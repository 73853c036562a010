---- tern: disable-tx ----
-- Deleting a user cancels their pending deliveries; without this index that
-- read every tenant's delivery log. It holds no status column, so marking a
-- delivery stays a heap-only update. Built concurrently, outside a
-- transaction, so a large deliveries table stays writable while it builds.
CREATE INDEX CONCURRENTLY IF NOT EXISTS deliveries_by_user ON deliveries (tenant_id, user_id);

---- create above / drop below ----

DROP INDEX IF EXISTS deliveries_by_user;
