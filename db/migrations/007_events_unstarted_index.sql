---- tern: disable-tx ----
-- The reconciler's index: events whose start is unconfirmed. Built
-- concurrently, so posting events goes on while it builds.
CREATE INDEX CONCURRENTLY IF NOT EXISTS events_unstarted ON events (created_at) WHERE started_at IS NULL;

---- create above / drop below ----

DROP INDEX IF EXISTS events_unstarted;
