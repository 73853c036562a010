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

-- name: AuditCheckpointsBetween :many
-- The checkpoints a key signed over seqs (after_seq, upto_seq], for the
-- verifier, which compares them with the rows of one batch (or, past the
-- chain's end, with nothing: then only the first matters).
SELECT * FROM audit_checkpoints
WHERE tenant_id = @tenant_id AND key_id = @key_id AND seq > @after_seq AND seq <= @upto_seq
ORDER BY seq LIMIT @max;

-- name: LatestAuditCheckpoint :one
-- The newest checkpoint a key signed: an incremental verify starts there.
SELECT * FROM audit_checkpoints WHERE tenant_id = @tenant_id AND key_id = @key_id ORDER BY seq DESC LIMIT 1;

-- name: AuditCheckpointAt :one
SELECT * FROM audit_checkpoints WHERE tenant_id = @tenant_id AND seq = @seq;

-- name: InsertAuditCheckpoint :exec
-- Two processes checkpointing one head store the first.
INSERT INTO audit_checkpoints (tenant_id, seq, hash, at, key_id, signature)
VALUES (@tenant_id, @seq, @hash, @at, @key_id, @signature)
ON CONFLICT (tenant_id, seq) DO NOTHING;

-- name: AuditTenantsPastCheckpoint :many
-- Tenants whose chain has grown since a key's last checkpoint of it.
SELECT h.tenant_id FROM audit_heads h
WHERE h.seq > coalesce((SELECT max(c.seq) FROM audit_checkpoints c WHERE c.tenant_id = h.tenant_id AND c.key_id = @key_id), 0)
ORDER BY h.tenant_id;
