-- Inbox items are unseen/seen and unread/read, and may be archived or snoozed
-- (hidden until snoozed_until, then back as unread). Nullable columns with no
-- default: adding them rewrites nothing.
ALTER TABLE notifications ADD COLUMN seen_at timestamptz;
ALTER TABLE notifications ADD COLUMN archived_at timestamptz;
ALTER TABLE notifications ADD COLUMN snoozed_until timestamptz;

---- create above / drop below ----

ALTER TABLE notifications DROP COLUMN snoozed_until;
ALTER TABLE notifications DROP COLUMN archived_at;
ALTER TABLE notifications DROP COLUMN seen_at;
