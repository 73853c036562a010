---- tern: disable-tx ----
-- The badge's unseen count reads only the user's unseen items. Built
-- concurrently, outside a transaction, so the inbox stays writable.
CREATE INDEX CONCURRENTLY IF NOT EXISTS notifications_unseen ON notifications (tenant_id, user_id) WHERE seen_at IS NULL;

---- create above / drop below ----

DROP INDEX IF EXISTS notifications_unseen;
