-- name: TouchDigestWindows :exec
-- A page that digested items makes sure each user's window is armed: an
-- idle (or new) window becomes 'arming' for a worker to start its workflow;
-- an armed one only counts the page, so later items cost no Temporal call.
-- Rows are locked in key order, so concurrent pages cannot deadlock.
INSERT INTO digest_windows AS w (tenant_id, user_id, channel, task_queue)
SELECT @tenant_id::uuid, r.user_id, r.channel, @task_queue::text
FROM (SELECT unnest(@user_ids::text[]) AS user_id, unnest(@channels::text[]) AS channel) r
ORDER BY r.user_id, r.channel
ON CONFLICT (tenant_id, user_id, channel) DO UPDATE
SET seq = w.seq + 1,
    state = CASE WHEN w.state = 'idle' THEN 'arming' ELSE w.state END,
    task_queue = CASE WHEN w.state = 'idle' THEN excluded.task_queue ELSE w.task_queue END,
    updated_at = CASE WHEN w.state = 'idle' THEN now() ELSE w.updated_at END;

-- name: ClaimArmingDigestWindows :many
-- A worker takes windows of its task queue waiting for their workflow,
-- under a lease, so several workers share the work and one that dies lets go.
UPDATE digest_windows w SET lease_until = now() + make_interval(secs => @lease_seconds::float8)
FROM (SELECT tenant_id, user_id, channel FROM digest_windows
      WHERE state = 'arming' AND digest_windows.task_queue = @task_queue::text AND (lease_until IS NULL OR lease_until < now())
      ORDER BY updated_at LIMIT @max_rows FOR UPDATE SKIP LOCKED) c
WHERE w.tenant_id = c.tenant_id AND w.user_id = c.user_id AND w.channel = c.channel
RETURNING w.tenant_id, w.user_id, w.channel;

-- name: MarkDigestWindowArmed :exec
-- Its workflow runs. A window its workflow closed meanwhile stays idle.
UPDATE digest_windows SET state = 'armed', lease_until = NULL, updated_at = now()
WHERE tenant_id = @tenant_id AND user_id = @user_id AND channel = @channel AND state = 'arming';

-- name: LockDigestWindow :one
-- Taken before a digest lists its items: every page that counted itself
-- before has committed its items, and every later one counts itself after.
SELECT seq FROM digest_windows
WHERE tenant_id = @tenant_id AND user_id = @user_id AND channel = @channel FOR UPDATE;

-- name: CloseDigestWindow :execrows
-- A window closes only if no page digested an item since its digest listed
-- them (seq unchanged); otherwise its workflow opens the next window.
UPDATE digest_windows SET state = 'idle', lease_until = NULL, updated_at = now()
WHERE tenant_id = @tenant_id AND user_id = @user_id AND channel = @channel AND seq = @seq;

-- name: ListDigestItems :execrows
-- A digest takes every item waiting for the user's window. An item a cancel
-- took first is cancelled, not listed; one listed first is not cancelled.
UPDATE deliveries SET digest_id = @digest_id, updated_at = now()
WHERE tenant_id = @tenant_id AND user_id = @user_id AND channel = @channel
  AND reason = 'digested' AND status = 'skipped' AND digest_id IS NULL;

-- name: DropDigestItems :execrows
-- The user turned the channel off since the items were digested: they are
-- skipped for that reason instead, and never listed.
UPDATE deliveries SET reason = @reason, updated_at = now()
WHERE tenant_id = @tenant_id AND user_id = @user_id AND channel = @channel
  AND reason = 'digested' AND status = 'skipped' AND digest_id IS NULL;

-- name: DigestTypeCounts :many
-- How many of a digest's items each event type has.
SELECT e.type, count(*)::int AS items FROM deliveries d JOIN events e ON e.id = d.event_id
WHERE d.digest_id = @digest_id GROUP BY e.type ORDER BY e.type;

-- name: NewestDigestItems :many
-- The items a digest shows, newest first.
SELECT e.id, e.type, e.data, e.link, e.created_at FROM deliveries d JOIN events e ON e.id = d.event_id
WHERE d.digest_id = @digest_id
ORDER BY e.created_at DESC, e.id
LIMIT @max_rows;

-- name: SetEventData :exec
UPDATE events SET data = @data WHERE id = @id;

-- name: OpenDigestWindows :many
-- The channels whose window a user's workflow holds, to tell it about a
-- change of preferences.
SELECT channel FROM digest_windows
WHERE tenant_id = @tenant_id AND user_id = @user_id AND state <> 'idle' ORDER BY channel;
