---- tern: disable-tx ----
-- Retention walks each tenant's inbox items from the oldest; the inbox's
-- own index is per user. Built concurrently, so the inbox stays writable.
CREATE INDEX CONCURRENTLY IF NOT EXISTS notifications_by_age ON notifications (tenant_id, created_at, id);

---- create above / drop below ----

DROP INDEX IF EXISTS notifications_by_age;
