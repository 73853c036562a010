-- name: InsertEvent :one
-- ON CONFLICT DO NOTHING makes concurrent posts with one key race on the unique
-- constraints, not on a read-then-write; the loser reads the winner's row. No
-- arbiter is named: the ID derives from the key, so a race may trip either the
-- primary key or (tenant_id, idempotency_key) first.
INSERT INTO events (id, tenant_id, type, idempotency_key, request_hash, recipients, data,
                    urgent, link, personal_link, send_at, workflow_id, source_event_id,
                    group_key, group_window_seconds)
VALUES (@id, @tenant_id, @type, @idempotency_key, @request_hash, @recipients, @data,
        @urgent, @link, sqlc.narg(personal_link)::jsonb, @send_at, @workflow_id, @source_event_id,
        sqlc.narg(group_key), sqlc.narg(group_window_seconds))
ON CONFLICT DO NOTHING
RETURNING *;

-- name: GetEventByKey :one
SELECT * FROM events WHERE tenant_id = @tenant_id AND idempotency_key = @idempotency_key;

-- name: GetEvent :one
SELECT * FROM events WHERE tenant_id = @tenant_id AND id = @id;

-- name: SetEventStatus :exec
-- Closing an event also confirms its start, in the same row version: the
-- API does not write the row again after starting the workflow, which would
-- cost every event a second, non-HOT update (started_at is in the
-- reconciler's partial index).
-- A cancelled event stays cancelled: its run, finishing what was already
-- on its way, must not write it back.
UPDATE events SET status = CASE WHEN status = 'cancelled' THEN status ELSE @status END,
    started_at = COALESCE(started_at, now()),
    run_id = CASE WHEN @run_id::text = '' THEN run_id ELSE @run_id::text END
WHERE id = @id;

-- name: GetTenantEventTypes :many
SELECT * FROM event_types WHERE tenant_id = @tenant_id ORDER BY key;

-- name: LoadEventContext :one
-- Everything a delivery activity needs about an event in one round trip.
SELECT sqlc.embed(e), t.name AS tenant_name, t.settings AS tenant_settings, t.timezone AS tenant_timezone,
       t.branding AS tenant_branding,
       (SELECT et.definition FROM event_types et
        WHERE et.tenant_id = e.tenant_id AND et.key = e.type) AS type_definition,
       -- The integrations' plain config, NULL when none: planning needs to
       -- know where to post, never the secrets.
       (SELECT i.config FROM integrations i
        WHERE i.tenant_id = e.tenant_id AND i.kind = 'slack') AS slack_config,
       (SELECT (i.config || jsonb_build_object('disabled', i.disabled_at IS NOT NULL))::jsonb FROM integrations i
        WHERE i.tenant_id = e.tenant_id AND i.kind = 'webhook') AS webhook_config
FROM events e JOIN tenants t ON t.id = e.tenant_id
WHERE e.id = @id;

-- name: GetTenantEventType :one
SELECT * FROM event_types WHERE tenant_id = @tenant_id AND key = @key;

-- name: MarkEventStarted :exec
-- The reconciler found the event's run (or started it): stop looking at it.
UPDATE events SET run_id = @run_id, started_at = COALESCE(started_at, now()) WHERE id = @id;

-- name: UnstartedEvents :many
-- Events accepted whose workflow start was never confirmed (a client that
-- went away, Temporal unreachable), oldest first, for the reconciler.
SELECT * FROM events
WHERE started_at IS NULL AND status = 'pending' AND created_at < @older_than::timestamptz
ORDER BY created_at
LIMIT @max_rows;

-- name: LockEventForCancel :one
SELECT * FROM events WHERE tenant_id = @tenant_id AND id = @id FOR UPDATE;

-- name: MarkEventCancelled :exec
UPDATE events SET status = 'cancelled' WHERE id = @id;

-- name: EventStatusForPage :one
-- A page reads its event's status in its own transaction, sharing the row
-- lock a cancel takes: a cancel either sees the page's rows (and cancels
-- them) or the page sees the cancel (and writes none).
SELECT status FROM events WHERE id = @id FOR SHARE;

-- name: PutTenantEventType :one
-- A tenant's definition of an event type replaces the one it stored
-- before; inserted tells a new definition from a replaced one.
INSERT INTO event_types (tenant_id, key, definition) VALUES (@tenant_id, @key, @definition)
ON CONFLICT (tenant_id, key) DO UPDATE SET definition = excluded.definition, updated_at = now()
RETURNING (xmax = 0)::boolean AS inserted;

-- name: SettleEventStatus :one
-- SetEventStatus, answering the status the row ends with (a cancelled event
-- stays cancelled).
UPDATE events SET status = CASE WHEN status = 'cancelled' THEN status ELSE @status END,
    started_at = COALESCE(started_at, now()),
    run_id = CASE WHEN @run_id::text = '' THEN run_id ELSE @run_id::text END
WHERE id = @id
RETURNING status;

-- name: LockTenantEventType :one
-- An event type PUT reads the definition it keeps under the row's lock.
SELECT definition FROM event_types WHERE tenant_id = @tenant_id AND key = @key FOR UPDATE;

-- name: AddEventTypeVersion :one
-- Records a definition just stored as the key's next version, unless it is
-- the latest one already (a PUT repeated by a retrying client must not push
-- real versions out). The caller holds the event type's row lock, so two
-- PUTs cannot take one number. No row: nothing was recorded.
WITH latest AS (
    SELECT v.version, v.definition FROM event_type_versions v
    WHERE v.tenant_id = @tenant_id AND v.key = @key
    ORDER BY v.version DESC LIMIT 1
)
INSERT INTO event_type_versions (tenant_id, key, version, definition)
SELECT @tenant_id, @key, COALESCE((SELECT l.version FROM latest l), 0) + 1, @definition::jsonb
WHERE NOT EXISTS (SELECT 1 FROM latest l WHERE l.definition = @definition::jsonb)
RETURNING version;

-- name: TrimEventTypeVersions :exec
-- Drops the versions of a key older than the oldest one kept.
DELETE FROM event_type_versions
WHERE tenant_id = @tenant_id AND key = @key AND version < @oldest_kept::integer;

-- name: EventTypeVersions :many
-- The versions of a key, newest first, those below before (0: from the newest).
SELECT * FROM event_type_versions
WHERE tenant_id = @tenant_id AND key = @key AND (@before::integer = 0 OR version < @before::integer)
ORDER BY version DESC
LIMIT @max_rows;

