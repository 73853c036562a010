-- name: AuditRowsAfter :many
-- A batch of a tenant's chain in order, for the verifier: it streams the
-- chain in batches rather than holding it.
SELECT * FROM audit_log WHERE tenant_id = @tenant_id AND seq > @after_seq ORDER BY seq LIMIT @batch;

-- name: AuditHead :one
SELECT * FROM audit_heads WHERE tenant_id = @tenant_id;

-- name: AuditTenants :many
SELECT tenant_id FROM audit_heads ORDER BY tenant_id;

-- name: ListAudit :many
-- Newest first; the cursor is the last seq returned.
SELECT * FROM audit_log
WHERE tenant_id = @tenant_id
  AND (NOT @by_event::bool OR event_id = @event_id::uuid)
  AND (NOT @by_user::bool OR recipient = @user_id::text)
  AND (NOT @by_since::bool OR at >= @since::timestamptz)
  AND (NOT @has_cursor::bool OR seq < @cursor_seq::bigint)
ORDER BY seq DESC
LIMIT @page_size;
