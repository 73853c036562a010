-- Inbox items read their event's data from the event: a copy per item made a
-- 1 MiB event to 10,000 users into 10 GB. The column stays, unwritten, until a
-- later release drops it, so workers of the previous release keep working
-- during a rolling upgrade.
COMMENT ON COLUMN notifications.data IS 'unused: inbox items read events.data; to be dropped';

---- create above / drop below ----

COMMENT ON COLUMN notifications.data IS NULL;
