-- name: ListNotifications :many
-- Keyset paging, newest first; the cursor is the last row's (created_at, id).
SELECT * FROM notifications
WHERE tenant_id = @tenant_id AND user_id = @user_id
  AND (NOT @unread_only::bool OR read_at IS NULL)
  AND (NOT @has_cursor::bool OR (created_at, id) < (@cursor_time::timestamptz, @cursor_id::uuid))
ORDER BY created_at DESC, id DESC
LIMIT @page_size;

-- name: MarkNotificationRead :one
UPDATE notifications SET read_at = COALESCE(read_at, now())
WHERE tenant_id = @tenant_id AND user_id = @user_id AND id = @id
RETURNING *;

-- name: MarkAllNotificationsRead :execrows
UPDATE notifications SET read_at = now()
WHERE tenant_id = @tenant_id AND user_id = @user_id AND read_at IS NULL;

-- name: UnreadCount :one
SELECT count(*) FROM notifications
WHERE tenant_id = @tenant_id AND user_id = @user_id AND read_at IS NULL;
