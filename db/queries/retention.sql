-- Retention: each statement removes at most @batch rows and is its own
-- short transaction. Each walks the tenant's rows older than @before from
-- the oldest, after the key (@after_at, @after_id) where the previous batch
-- stopped, so rows that must stay (unread items, pending deliveries) are
-- passed once per run rather than read again by every batch. It answers
-- how many it removed and where it stopped (scanned = 0: nothing left).

-- name: PruneNotifications :one
-- Inbox items the user has read or archived.
WITH scan AS (
    SELECT x.id, x.created_at FROM notifications x
    WHERE x.tenant_id = @tenant_id::uuid AND x.created_at < @before::timestamptz
      AND (x.created_at, x.id) > (@after_at::timestamptz, @after_id::uuid)
    ORDER BY x.created_at, x.id LIMIT @batch::integer
), gone AS (
    DELETE FROM notifications n USING scan s
    WHERE n.id = s.id AND (n.read_at IS NOT NULL OR n.archived_at IS NOT NULL)
    RETURNING n.id
), last AS (
    SELECT created_at, id FROM scan ORDER BY created_at DESC, id DESC LIMIT 1
)
SELECT (SELECT count(*) FROM gone)::bigint AS pruned, (SELECT count(*) FROM scan)::bigint AS scanned,
       coalesce((SELECT created_at FROM last), @after_at::timestamptz)::timestamptz AS last_at,
       coalesce((SELECT id FROM last), @after_id::uuid)::uuid AS last_id;

-- name: PruneDeliveries :one
-- Final deliveries: never one still pending (planned, deferred or being
-- sent), never an uncertain one (it may have arrived; an operator decides),
-- and never one whose inbox item is still kept (deleting it would take the
-- item with it).
WITH scan AS (
    SELECT x.id, x.created_at FROM deliveries x
    WHERE x.tenant_id = @tenant_id::uuid AND x.created_at < @before::timestamptz
      AND (x.created_at, x.id) > (@after_at::timestamptz, @after_id::uuid)
    ORDER BY x.created_at, x.id LIMIT @batch::integer
), gone AS (
    DELETE FROM deliveries d USING scan s
    WHERE d.id = s.id AND d.updated_at < @before::timestamptz
      AND d.status IN ('delivered', 'failed', 'skipped', 'cancelled') AND d.reason <> 'uncertain'
      AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.delivery_id = d.id)
    RETURNING d.id
), last AS (
    SELECT created_at, id FROM scan ORDER BY created_at DESC, id DESC LIMIT 1
)
SELECT (SELECT count(*) FROM gone)::bigint AS pruned, (SELECT count(*) FROM scan)::bigint AS scanned,
       coalesce((SELECT created_at FROM last), @after_at::timestamptz)::timestamptz AS last_at,
       coalesce((SELECT id FROM last), @after_id::uuid)::uuid AS last_id;

-- name: PruneEvents :one
-- Closed events none of whose deliveries is left: every one was final and
-- older than the period, and went before.
WITH scan AS (
    SELECT x.id, x.created_at FROM events x
    WHERE x.tenant_id = @tenant_id::uuid AND x.created_at < @before::timestamptz
      AND (x.created_at, x.id) > (@after_at::timestamptz, @after_id::uuid)
    ORDER BY x.created_at, x.id LIMIT @batch::integer
), gone AS (
    DELETE FROM events e USING scan s
    WHERE e.id = s.id AND e.status <> 'pending'
      AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id)
    RETURNING e.id
), last AS (
    SELECT created_at, id FROM scan ORDER BY created_at DESC, id DESC LIMIT 1
)
SELECT (SELECT count(*) FROM gone)::bigint AS pruned, (SELECT count(*) FROM scan)::bigint AS scanned,
       coalesce((SELECT created_at FROM last), @after_at::timestamptz)::timestamptz AS last_at,
       coalesce((SELECT id FROM last), @after_id::uuid)::uuid AS last_id;

-- name: PruneAudit :one
-- The audit rows up to seq @upto, where a checkpoint is stored; at most
-- @batch of them (see migration 037).
SELECT audit_prune(@tenant_id::uuid, @upto::bigint, @batch::integer)::bigint AS pruned;

-- name: AuditPrefixEnd :one
-- The seq of the last row of the chain's prefix older than @before: the
-- row before the first one at or after it, or the head.
SELECT coalesce(
    (SELECT l.seq - 1 FROM audit_log l WHERE l.tenant_id = @tenant_id::uuid AND l.at >= @before::timestamptz ORDER BY l.seq LIMIT 1),
    (SELECT h.seq FROM audit_heads h WHERE h.tenant_id = @tenant_id::uuid),
    0)::bigint AS seq;

-- name: FirstAuditCheckpointFrom :one
-- The oldest checkpoint a key signed at or after a seq: where the rows
-- retained after pruning are vouched for.
SELECT * FROM audit_checkpoints WHERE tenant_id = @tenant_id AND key_id = @key_id AND seq >= @seq ORDER BY seq LIMIT 1;

-- name: RetentionTenants :many
-- A page of tenants with their settings, in ID order.
SELECT id, settings FROM tenants WHERE id > @after_id ORDER BY id LIMIT @page_size;

-- name: EnsurePartitions :one
-- Makes the partitions of this month and the months ahead (migration 041).
SELECT herald_ensure_partitions(@months_ahead::integer)::integer AS made;

-- name: OldestAuditPartitionEnd :one
-- Where the audit trail's oldest partition ends.
SELECT min(p.upper)::timestamptz AS upper FROM herald_partition_bounds('audit_log'::regclass) p;

-- name: NewestAuditPartitionEnd :one
-- Where the audit trail's newest partition ends: an outcome recorded after
-- it would fail.
SELECT max(p.upper)::timestamptz AS upper FROM herald_partition_bounds('audit_log'::regclass) p;

-- name: AuditChainsBefore :many
-- Each tenant's newest audit row before @before: when @before ends the
-- oldest partition, the end of the tenant's rows in it.
SELECT tenant_id, max(seq)::bigint AS seq FROM audit_log
WHERE at < @before::timestamptz GROUP BY tenant_id ORDER BY tenant_id;

-- name: DropAuditPartition :one
-- Drops the oldest audit partition, which ends at @upper (migration 042).
SELECT audit_drop_partition(@upper::timestamptz)::bigint AS dropped;

-- name: PruneCollapseHeads :execrows
-- In-app heads of collapse windows that closed before @before: a closed
-- window's head decides nothing (the next event of its key opens a new
-- window and a new head), so they go, a batch at a time.
DELETE FROM collapse_heads h
WHERE (h.tenant_id, h.user_id, h.group_type, h.group_key) IN (
    SELECT x.tenant_id, x.user_id, x.group_type, x.group_key FROM collapse_heads x
    WHERE x.tenant_id = @tenant_id::uuid AND x.closes_at < @before::timestamptz
    LIMIT @batch::integer
);
