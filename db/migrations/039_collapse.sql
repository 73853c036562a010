-- Collapse by key. An event may carry a group key and a window; the
-- recipients' deliveries of events of one type with one key wait, skipped
-- with reason 'collapsed', in a digest window of their own, and go out as one
-- notification when it closes. Both columns are nullable without a default:
-- adding them changes only the catalog.
ALTER TABLE events ADD COLUMN group_key text, ADD COLUMN group_window_seconds integer;

-- A collapse window is a digest window keyed also by the event type and the
-- group key; a user's plain digest window has both empty. The defaults are
-- constants, so the new columns rewrite nothing; the primary key is rebuilt
-- (one row per user and channel that ever had a window: a small table).
ALTER TABLE digest_windows
    ADD COLUMN group_type text NOT NULL DEFAULT '',
    ADD COLUMN group_key  text NOT NULL DEFAULT '';
ALTER TABLE digest_windows DROP CONSTRAINT digest_windows_pkey;
ALTER TABLE digest_windows ADD PRIMARY KEY (tenant_id, user_id, channel, group_type, group_key);
-- A user's own webhook collapses too (digests never use it).
ALTER TABLE digest_windows DROP CONSTRAINT digest_windows_channel_check;
ALTER TABLE digest_windows ADD CONSTRAINT digest_windows_channel_check CHECK (channel IN ('email', 'slack', 'webhook'));

-- In-app is collapsed by showing the first event of a key at once: the
-- first event of a window claims the user's row here (a conditional upsert,
-- so of concurrent events exactly one wins), and the others of the window
-- are skipped with reason 'collapsed'. A row is the window of its event,
-- until closes_at.
CREATE TABLE collapse_heads (
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id    text NOT NULL,
    group_type text NOT NULL,
    group_key  text NOT NULL,
    event_id   uuid NOT NULL,
    closes_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, user_id, group_type, group_key)
);

---- create above / drop below ----

DROP TABLE collapse_heads;
DELETE FROM digest_windows WHERE group_type <> '' OR group_key <> '' OR channel = 'webhook';
ALTER TABLE digest_windows DROP CONSTRAINT digest_windows_channel_check;
ALTER TABLE digest_windows ADD CONSTRAINT digest_windows_channel_check CHECK (channel IN ('email', 'slack'));
ALTER TABLE digest_windows DROP CONSTRAINT digest_windows_pkey;
ALTER TABLE digest_windows ADD PRIMARY KEY (tenant_id, user_id, channel);
ALTER TABLE digest_windows DROP COLUMN group_key, DROP COLUMN group_type;
ALTER TABLE events DROP COLUMN group_window_seconds, DROP COLUMN group_key;
