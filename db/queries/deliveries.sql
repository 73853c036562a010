-- name: InsertDeliveries :exec
-- Conflicts are a retried page: the rows from the first attempt stand.
INSERT INTO deliveries (tenant_id, event_id, user_id, channel, status, reason)
SELECT @tenant_id::uuid, @event_id::uuid, unnest(@user_ids::text[]), unnest(@channels::text[]),
       unnest(@statuses::text[]), unnest(@reasons::text[])
ON CONFLICT (event_id, user_id, channel) DO NOTHING;

-- name: DeliveriesForUsers :many
SELECT * FROM deliveries WHERE event_id = @event_id AND user_id = ANY(@user_ids::text[])
ORDER BY user_id, channel;

-- name: InsertInboxItems :exec
INSERT INTO notifications (tenant_id, event_id, type, link, user_id, delivery_id, title, body)
SELECT @tenant_id::uuid, @event_id::uuid, @type::text, @link::text,
       unnest(@user_ids::text[]), unnest(@delivery_ids::uuid[]), unnest(@titles::text[]), unnest(@bodies::text[])
ON CONFLICT (delivery_id) DO NOTHING;

-- name: MarkDelivered :exec
-- Rows are found by primary key (= ANY), never by joining an unnested list,
-- which the planner may turn into a scan of the whole table.
UPDATE deliveries
SET status = 'delivered', delivered_at = now(), attempts = attempts + 1, error = '',
    content_hash = (@content_hashes::bytea[])[array_position(@ids::uuid[], id)], updated_at = now()
WHERE id = ANY(@ids::uuid[]) AND status = 'pending';

-- name: MarkOneDelivered :exec
UPDATE deliveries
SET status = 'delivered', delivered_at = now(), attempts = attempts + 1, error = '',
    content_hash = @content_hash, updated_at = now()
WHERE id = @id AND status = 'pending';

-- name: RecordAttemptFailure :exec
UPDATE deliveries SET attempts = attempts + 1, error = @error, updated_at = now()
WHERE id = @id AND status = 'pending';

-- name: MarkFailed :exec
UPDATE deliveries SET status = 'failed', updated_at = now(),
    error = CASE WHEN error = '' THEN @error::text ELSE error END
WHERE id = ANY(@ids::uuid[]) AND status = 'pending';

-- name: MarkPermanentFailure :exec
UPDATE deliveries SET status = 'failed', attempts = attempts + 1, error = @error, updated_at = now()
WHERE id = @id AND status = 'pending';

-- name: MarkSkipped :exec
UPDATE deliveries SET status = 'skipped', reason = @reason, updated_at = now()
WHERE id = @id AND status = 'pending';

-- name: PendingEmailJobs :many
-- A LEFT JOIN so a recipient deleted since the page was planned still shows up, to be skipped.
SELECT d.id, d.user_id, d.attempts, COALESCE(u.email, '')::text AS email, COALESCE(u.name, '')::text AS name
FROM deliveries d
LEFT JOIN users u ON u.tenant_id = d.tenant_id AND u.id = d.user_id
WHERE d.id = ANY(@ids::uuid[]) AND d.status = 'pending' AND d.channel = 'email'
ORDER BY d.id;

-- name: TallyDeliveries :many
SELECT status, count(*)::int AS n FROM deliveries WHERE id = ANY(@ids::uuid[]) GROUP BY status ORDER BY status;

-- name: EventDeliveries :many
-- At most max_rows: an event may have 10,000 recipients. The rest are paged
-- with ListDeliveries.
SELECT * FROM deliveries WHERE event_id = @event_id ORDER BY user_id, channel LIMIT @max_rows;

-- name: ListDeliveries :many
-- Every status but failed: ListFailedDeliveries serves that one.
SELECT * FROM deliveries
WHERE tenant_id = @tenant_id
  AND (NOT @by_event::bool OR event_id = @event_id::uuid)
  AND (NOT @by_status::bool OR status = @status::text)
  AND (NOT @has_cursor::bool OR (created_at, id) < (@cursor_time::timestamptz, @cursor_id::uuid))
ORDER BY created_at DESC, id DESC
LIMIT @page_size;

-- name: ListFailedDeliveries :many
-- Served by the partial index deliveries_failed: failed_at IS NOT NULL is its
-- predicate, written out so the planner matches it, generic plans included.
-- status is checked too because failed_at records that a row failed, and a
-- retry may have delivered it since.
SELECT * FROM deliveries
WHERE tenant_id = @tenant_id AND failed_at IS NOT NULL AND status = 'failed'
  AND (NOT @by_event::bool OR event_id = @event_id::uuid)
  AND (NOT @has_cursor::bool OR (created_at, id) < (@cursor_time::timestamptz, @cursor_id::uuid))
ORDER BY created_at DESC, id DESC
LIMIT @page_size;
