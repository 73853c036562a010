-- name: ListNotifications :many
-- Keyset paging, newest first; the cursor is the last row's (created_at, id).
-- An event's data comes along only when its JSON text is at most
-- max_data_bytes, so a page of 200 items never carries 200 copies of 64 KiB.
SELECT sqlc.embed(n),
       (CASE WHEN size.data_bytes <= @max_data_bytes::int THEN e.data END)::jsonb AS event_data,
       size.data_bytes > @max_data_bytes::int AS data_truncated
FROM notifications n
JOIN events e ON e.id = n.event_id
CROSS JOIN LATERAL (SELECT octet_length(e.data::text) AS data_bytes) size
WHERE n.tenant_id = @tenant_id AND n.user_id = @user_id
  AND (NOT @unread_only::bool OR n.read_at IS NULL)
  AND (NOT @has_cursor::bool OR (n.created_at, n.id) < (@cursor_time::timestamptz, @cursor_id::uuid))
ORDER BY n.created_at DESC, n.id DESC
LIMIT @page_size;

-- name: MarkNotificationRead :execrows
UPDATE notifications SET read_at = COALESCE(read_at, now())
WHERE tenant_id = @tenant_id AND user_id = @user_id AND id = @id;

-- name: GetNotification :one
SELECT sqlc.embed(n), e.data AS event_data FROM notifications n JOIN events e ON e.id = n.event_id
WHERE n.tenant_id = @tenant_id AND n.user_id = @user_id AND n.id = @id;

-- name: MarkAllNotificationsRead :execrows
UPDATE notifications SET read_at = now()
WHERE tenant_id = @tenant_id AND user_id = @user_id AND read_at IS NULL;

-- name: UnreadCount :one
SELECT count(*) FROM notifications
WHERE tenant_id = @tenant_id AND user_id = @user_id AND read_at IS NULL;

-- name: DeleteUserInbox :execrows
-- Part of deleting a user: a user created later with the same ID starts with
-- an empty inbox.
DELETE FROM notifications WHERE tenant_id = @tenant_id AND user_id = @user_id;
