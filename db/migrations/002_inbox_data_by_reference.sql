-- An inbox item read its event's data from a copy; a 1 MiB event to 10,000
-- users made 10 GB of copies. Items now read it from the event.
ALTER TABLE notifications DROP COLUMN data;

---- create above / drop below ----

ALTER TABLE notifications ADD COLUMN data jsonb NOT NULL DEFAULT '{}';
UPDATE notifications n SET data = e.data FROM events e WHERE e.id = n.event_id;
