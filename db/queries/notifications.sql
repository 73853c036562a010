-- name: ListNotifications :many
-- Keyset paging, newest first; the cursor is the last row's (created_at, id).
-- An event's data comes along only when its JSON text is at most
-- max_data_bytes, so a page of 200 items never carries 200 copies of 64 KiB.
SELECT sqlc.embed(n),
       (CASE WHEN size.data_bytes <= @max_data_bytes::int THEN e.data END)::jsonb AS event_data,
       size.data_bytes > @max_data_bytes::int AS data_truncated, e.personal_link
FROM notifications n
JOIN events e ON e.id = n.event_id
CROSS JOIN LATERAL (SELECT octet_length(e.data::text) AS data_bytes) size
WHERE n.tenant_id = @tenant_id AND n.user_id = @user_id
  -- The inbox shows neither archived nor snoozed items; ?status=archived
  -- shows the archive.
  AND (CASE WHEN @archived::bool THEN n.archived_at IS NOT NULL
            ELSE n.archived_at IS NULL AND (n.snoozed_until IS NULL OR n.snoozed_until <= now()) END)
  AND (NOT @unread_only::bool OR n.read_at IS NULL)
  AND (NOT @unseen_only::bool OR n.seen_at IS NULL)
  AND (NOT @has_cursor::bool OR (n.created_at, n.id) < (@cursor_time::timestamptz, @cursor_id::uuid))
ORDER BY n.created_at DESC, n.id DESC
LIMIT @page_size;

-- name: MarkNotificationRead :execrows
-- Read implies seen.
UPDATE notifications SET read_at = COALESCE(read_at, now()), seen_at = COALESCE(seen_at, now())
WHERE tenant_id = @tenant_id AND user_id = @user_id AND id = @id;

-- name: SetNotificationState :execrows
-- Each of seen, read and archived is set when its set_ flag is, and left
-- alone otherwise. Read implies seen; unseen implies unread.
UPDATE notifications SET
    seen_at = CASE
        WHEN @set_read::bool AND @read::bool THEN COALESCE(seen_at, now())
        WHEN @set_seen::bool AND @seen::bool THEN COALESCE(seen_at, now())
        WHEN @set_seen::bool THEN NULL
        ELSE seen_at END,
    read_at = CASE
        WHEN @set_read::bool AND @read::bool THEN COALESCE(read_at, now())
        WHEN @set_read::bool THEN NULL
        WHEN @set_seen::bool AND NOT @seen::bool THEN NULL
        ELSE read_at END,
    archived_at = CASE
        WHEN @set_archived::bool AND @archived::bool THEN COALESCE(archived_at, now())
        WHEN @set_archived::bool THEN NULL
        ELSE archived_at END
WHERE tenant_id = @tenant_id AND user_id = @user_id AND id = @id;

-- name: SnoozeNotification :execrows
-- Hidden until then, and back as unread (and unseen) when it returns.
UPDATE notifications SET snoozed_until = @until::timestamptz, read_at = NULL, seen_at = NULL, archived_at = NULL
WHERE tenant_id = @tenant_id AND user_id = @user_id AND id = @id;

-- name: MarkAllNotificationsSeen :execrows
UPDATE notifications SET seen_at = now()
WHERE tenant_id = @tenant_id AND user_id = @user_id AND seen_at IS NULL
  AND (snoozed_until IS NULL OR snoozed_until <= now());

-- name: ArchiveAllRead :execrows
UPDATE notifications SET archived_at = now()
WHERE tenant_id = @tenant_id AND user_id = @user_id AND read_at IS NOT NULL AND archived_at IS NULL;

-- name: GetNotification :one
SELECT sqlc.embed(n), e.data AS event_data, e.personal_link FROM notifications n JOIN events e ON e.id = n.event_id
WHERE n.tenant_id = @tenant_id AND n.user_id = @user_id AND n.id = @id;

-- name: MarkAllNotificationsRead :execrows
UPDATE notifications SET read_at = now(), seen_at = COALESCE(seen_at, now())
WHERE tenant_id = @tenant_id AND user_id = @user_id AND read_at IS NULL
  AND (snoozed_until IS NULL OR snoozed_until <= now());

-- name: UnreadCount :one
-- What the badge counts: items in the inbox (not archived, not snoozed).
SELECT count(*) FILTER (WHERE read_at IS NULL) AS unread, count(*) FILTER (WHERE seen_at IS NULL) AS unseen
FROM notifications
WHERE tenant_id = @tenant_id AND user_id = @user_id AND (read_at IS NULL OR seen_at IS NULL)
  AND archived_at IS NULL AND (snoozed_until IS NULL OR snoozed_until <= now());

-- name: DeleteUserInbox :execrows
-- Part of deleting a user: a user created later with the same ID starts with
-- an empty inbox.
DELETE FROM notifications WHERE tenant_id = @tenant_id AND user_id = @user_id;

-- name: InboxActivity :many
-- A user's inbox items of a period, counted by type, for their scheduled
-- summary.
SELECT type, count(*)::int AS total, count(*) FILTER (WHERE read_at IS NULL)::int AS unread
FROM notifications
WHERE tenant_id = @tenant_id AND user_id = @user_id AND created_at >= @since AND created_at < @until
GROUP BY type ORDER BY type;

-- name: LatestUnread :many
-- The newest items of a period the user has not read nor archived.
SELECT title, link FROM notifications
WHERE tenant_id = @tenant_id AND user_id = @user_id AND created_at >= @since AND created_at < @until
  AND read_at IS NULL AND archived_at IS NULL AND (snoozed_until IS NULL OR snoozed_until <= now())
ORDER BY created_at DESC, id DESC
LIMIT @max_rows;

-- name: NotificationsByID :many
-- The items a stream announces, with their event's data when it is small.
SELECT sqlc.embed(n),
       (CASE WHEN octet_length(e.data::text) <= @max_data_bytes::int THEN e.data END)::jsonb AS event_data, e.personal_link
FROM notifications n JOIN events e ON e.id = n.event_id
WHERE n.id = ANY(@ids::uuid[]);

-- name: UnreadCounts :many
-- The badge counts of several users of a tenant at once.
SELECT user_id, count(*) FILTER (WHERE read_at IS NULL)::bigint AS unread, count(*) FILTER (WHERE seen_at IS NULL)::bigint AS unseen
FROM notifications
WHERE tenant_id = @tenant_id AND user_id = ANY(@user_ids::text[]) AND (read_at IS NULL OR seen_at IS NULL)
  AND archived_at IS NULL AND (snoozed_until IS NULL OR snoozed_until <= now())
GROUP BY user_id;

-- name: NotificationsSince :many
-- A stream's catch-up: the items of the inbox created at or after since,
-- oldest first (the stream skips those it already sent).
SELECT sqlc.embed(n),
       (CASE WHEN octet_length(e.data::text) <= @max_data_bytes::int THEN e.data END)::jsonb AS event_data, e.personal_link
FROM notifications n JOIN events e ON e.id = n.event_id
WHERE n.tenant_id = @tenant_id AND n.user_id = @user_id AND n.created_at >= @since
  AND n.archived_at IS NULL AND (n.snoozed_until IS NULL OR n.snoozed_until <= now())
ORDER BY n.created_at, n.id
LIMIT @max_rows;

-- name: Unsnoozed :many
-- Items whose snooze ended in (after, until]: they are back in the inbox.
SELECT tenant_id, user_id, id FROM notifications
WHERE snoozed_until > @after AND snoozed_until <= @until AND archived_at IS NULL
ORDER BY snoozed_until
LIMIT 10000;

-- name: TimeEntriesOfPeriod :many
-- Each time entry a user was told of in a period (their time.entry_updated
-- inbox items), as its latest notice left it: their weekly time review.
SELECT DISTINCT ON (x.entry_id) x.entry_id::text AS entry_id, x.status::text AS status, x.project::text AS project,
       x.day::text AS day, x.hours::text AS hours, x.link
FROM (SELECT e.data->>'entry_id' AS entry_id, coalesce(e.data->>'status', '') AS status,
             coalesce(e.data->>'project', '') AS project, coalesce(e.data->>'date', '') AS day,
             coalesce(e.data->>'hours', '') AS hours, n.link, n.created_at, n.id
      FROM notifications n JOIN events e ON e.id = n.event_id
      WHERE n.tenant_id = @tenant_id AND n.user_id = @user_id AND n.type = 'time.entry_updated'
        AND n.created_at >= @since AND n.created_at < @until) x
WHERE x.entry_id IS NOT NULL
ORDER BY x.entry_id, x.created_at DESC, x.id DESC
LIMIT @max_rows;
