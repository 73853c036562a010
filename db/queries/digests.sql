-- name: TouchDigestWindows :exec
-- A page that digested items makes sure each user's window is armed: an
-- idle (or new) window becomes 'arming' for a worker to start its workflow;
-- an armed one only counts the page, so later items cost no Temporal call.
-- Rows are locked in key order, so concurrent pages cannot deadlock. A
-- collapse window names its event type and group key; a digest's has both ''.
INSERT INTO digest_windows AS w (tenant_id, user_id, channel, group_type, group_key, task_queue)
SELECT @tenant_id::uuid, r.user_id, r.channel, r.group_type, r.group_key, @task_queue::text
FROM (SELECT unnest(@user_ids::text[]) AS user_id, unnest(@channels::text[]) AS channel,
             unnest(@group_types::text[]) AS group_type, unnest(@group_keys::text[]) AS group_key) r
ORDER BY r.user_id, r.channel, r.group_type, r.group_key
ON CONFLICT (tenant_id, user_id, channel, group_type, group_key) DO UPDATE
SET seq = w.seq + 1,
    state = CASE WHEN w.state = 'idle' THEN 'arming' ELSE w.state END,
    task_queue = CASE WHEN w.state = 'idle' THEN excluded.task_queue ELSE w.task_queue END,
    updated_at = CASE WHEN w.state = 'idle' THEN now() ELSE w.updated_at END;

-- name: ClaimArmingDigestWindows :many
-- A worker takes windows of its task queue waiting for their workflow,
-- under a lease, so several workers share the work and one that dies lets go.
UPDATE digest_windows w SET lease_until = now() + make_interval(secs => @lease_seconds::float8)
FROM (SELECT tenant_id, user_id, channel, group_type, group_key FROM digest_windows
      WHERE state = 'arming' AND digest_windows.task_queue = @task_queue::text AND (lease_until IS NULL OR lease_until < now())
      ORDER BY updated_at LIMIT @max_rows FOR UPDATE SKIP LOCKED) c
WHERE w.tenant_id = c.tenant_id AND w.user_id = c.user_id AND w.channel = c.channel
  AND w.group_type = c.group_type AND w.group_key = c.group_key
RETURNING w.tenant_id, w.user_id, w.channel, w.group_type, w.group_key;

-- name: MarkDigestWindowArmed :exec
-- Its workflow runs. A window its workflow closed meanwhile stays idle.
UPDATE digest_windows SET state = 'armed', lease_until = NULL, updated_at = now()
WHERE tenant_id = @tenant_id AND user_id = @user_id AND channel = @channel
  AND group_type = @group_type AND group_key = @group_key AND state = 'arming';

-- name: LockDigestWindow :one
-- Taken before a digest lists its items: every page that counted itself
-- before has committed its items, and every later one counts itself after.
SELECT seq FROM digest_windows
WHERE tenant_id = @tenant_id AND user_id = @user_id AND channel = @channel
  AND group_type = @group_type AND group_key = @group_key FOR UPDATE;

-- name: CloseDigestWindow :execrows
-- A window closes only if no page digested an item since its digest listed
-- them (seq unchanged) and no item waits for a later close (a category
-- digested less often than the one that closed); otherwise its workflow
-- opens the next window.
UPDATE digest_windows w SET state = 'idle', lease_until = NULL, updated_at = now()
WHERE w.tenant_id = @tenant_id AND w.user_id = @user_id AND w.channel = @channel AND w.seq = @seq
  AND w.group_type = '' AND w.group_key = ''
  AND NOT EXISTS (SELECT 1 FROM deliveries d
                  WHERE d.tenant_id = w.tenant_id AND d.user_id = w.user_id AND d.channel = w.channel
                    AND d.reason = 'digested' AND d.status = 'skipped' AND d.digest_id IS NULL);

-- name: WaitingDigestTypes :many
-- The event types of the items waiting in a user's window: their categories
-- decide when it closes.
SELECT DISTINCT e.type FROM deliveries d JOIN events e ON e.id = d.event_id
WHERE d.tenant_id = @tenant_id AND d.user_id = @user_id AND d.channel = @channel
  AND d.reason = 'digested' AND d.status = 'skipped' AND d.digest_id IS NULL
ORDER BY e.type;

-- name: WaitingDigestItems :many
-- The items waiting in a user's window, each with its type (its category
-- decides its cadence) and when it was digested.
SELECT d.id, e.type, d.created_at FROM deliveries d JOIN events e ON e.id = d.event_id
WHERE d.tenant_id = @tenant_id AND d.user_id = @user_id AND d.channel = @channel
  AND d.reason = 'digested' AND d.status = 'skipped' AND d.digest_id IS NULL
ORDER BY d.created_at, d.id;

-- name: ListDigestItemsByID :execrows
-- A digest takes the items of a window that are due (waiting: 'digested',
-- or 'collapsed' for a collapse). An item a cancel took first is
-- cancelled, not listed; one listed first is not cancelled.
UPDATE deliveries SET digest_id = @digest_id, updated_at = now()
WHERE id = ANY(@ids::uuid[]) AND tenant_id = @tenant_id
  AND reason = @waiting AND status = 'skipped' AND digest_id IS NULL;

-- name: DropDigestItemsByID :execrows
-- Items whose channel or category the user turned off since they were
-- digested (or collapsed): skipped for that reason instead, and never listed.
UPDATE deliveries SET reason = @reason, updated_at = now()
WHERE id = ANY(@ids::uuid[]) AND tenant_id = @tenant_id
  AND reason = @waiting AND status = 'skipped' AND digest_id IS NULL;

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
-- change of preferences. Collapse windows are left out: they close on their
-- own clock (their first item plus its group_window).
SELECT channel FROM digest_windows
WHERE tenant_id = @tenant_id AND user_id = @user_id AND state <> 'idle'
  AND group_type = '' AND group_key = '' ORDER BY channel;

-- name: WaitingCollapsedItems :many
-- The items waiting in a collapse window (reason 'collapsed': the
-- recipient's deliveries of events of one type with one group key) or in a
-- throttle's hold window (reason 'throttled_held', group key '': every held
-- delivery of the type, whatever key its event had), oldest first. The
-- first opened the window: a collapse closes its created_at plus its
-- window after it, a hold when the throttle's window it fell in ends.
SELECT d.id, e.type, d.created_at, coalesce(e.group_window_seconds, 0)::int AS window_seconds
FROM deliveries d JOIN events e ON e.id = d.event_id
WHERE d.tenant_id = @tenant_id AND d.user_id = @user_id AND d.channel = @channel
  AND d.reason = @waiting::text AND d.status = 'skipped' AND d.digest_id IS NULL
  AND e.type = @group_type AND (@group_key::text = '' OR e.group_key = @group_key::text)
ORDER BY d.created_at, d.id;

-- name: CloseCollapseWindow :execrows
-- A collapse (or hold) window closes as a digest's does: only if no page
-- collapsed (or held) an item into it since its notification listed them.
UPDATE digest_windows w SET state = 'idle', lease_until = NULL, updated_at = now()
WHERE w.tenant_id = @tenant_id AND w.user_id = @user_id AND w.channel = @channel AND w.seq = @seq
  AND w.group_type = @group_type AND w.group_key = @group_key
  AND NOT EXISTS (SELECT 1 FROM deliveries d JOIN events e ON e.id = d.event_id
                  WHERE d.tenant_id = w.tenant_id AND d.user_id = w.user_id AND d.channel = w.channel
                    AND d.reason = @waiting::text AND d.status = 'skipped' AND d.digest_id IS NULL
                    AND e.type = w.group_type AND (w.group_key = '' OR e.group_key = w.group_key));

-- name: ClaimCollapseHeads :many
-- The users of a page for whom this event opens the in-app window of its
-- type and key: those with no open window, or whose window is this event's
-- own (a page run again). Rows are locked in user order, so concurrent
-- pages cannot deadlock; a concurrent event waits for this one's commit and
-- finds the window open.
INSERT INTO collapse_heads AS h (tenant_id, user_id, group_type, group_key, event_id, closes_at)
SELECT @tenant_id::uuid, u.id, @group_type::text, @group_key::text, @event_id::uuid,
       now() + make_interval(secs => @window_seconds::float8)
FROM unnest(@user_ids::text[]) AS u(id)
ORDER BY u.id
ON CONFLICT (tenant_id, user_id, group_type, group_key) DO UPDATE
SET event_id = excluded.event_id,
    closes_at = CASE WHEN h.event_id = excluded.event_id THEN h.closes_at ELSE excluded.closes_at END
WHERE h.closes_at <= now() OR h.event_id = excluded.event_id
RETURNING h.user_id;
