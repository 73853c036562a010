-- Throttle overflow "digest". What a throttle holds waits, skipped with
-- reason 'throttled_held', in a hold window of its recipient, channel and
-- event type: a digest window with the type as group_type and an empty
-- group_key (no event's key is empty, so it cannot meet a collapse window).
-- In-app is held too, so its window is allowed on in_app.
ALTER TABLE digest_windows DROP CONSTRAINT digest_windows_channel_check;
ALTER TABLE digest_windows ADD CONSTRAINT digest_windows_channel_check CHECK (channel IN ('in_app', 'email', 'slack', 'webhook'));

---- create above / drop below ----

DELETE FROM digest_windows WHERE channel = 'in_app';
ALTER TABLE digest_windows DROP CONSTRAINT digest_windows_channel_check;
ALTER TABLE digest_windows ADD CONSTRAINT digest_windows_channel_check CHECK (channel IN ('email', 'slack', 'webhook'));
