-- name: ClaimThrottleHits :many
-- Claims the (event, recipient) pairs a page counts, answering those not
-- claimed before: only they are counted. A concurrent run of the same page
-- waits here on the first one's rows and then claims none.
INSERT INTO throttle_hits (event_id, user_id)
SELECT @event_id::uuid, u.user_id FROM unnest(@user_ids::text[]) AS u (user_id)
ORDER BY u.user_id
ON CONFLICT DO NOTHING
RETURNING user_id;

-- name: CountThrottleHits :execrows
-- Counts claimed recipients in their window and admits those under max.
-- The upsert locks each recipient's row in user order (pages of different
-- events cannot deadlock) and re-checks used < max against the latest
-- committed count, so concurrent events never pass more than max. A later
-- window starts the count again; a page planned with an earlier one than
-- the row's (a slow page across the edge) counts in the row's.
WITH counted AS (
    INSERT INTO throttle_windows AS w (tenant_id, event_type, user_id, window_start, used)
    SELECT @tenant_id::uuid, @event_type::text, u.user_id, @window_start::timestamptz, 1
    FROM unnest(@user_ids::text[]) AS u (user_id)
    ORDER BY u.user_id
    ON CONFLICT (tenant_id, event_type, user_id) DO UPDATE
    SET used = CASE WHEN excluded.window_start > w.window_start THEN 1 ELSE w.used + 1 END,
        window_start = GREATEST(w.window_start, excluded.window_start)
    WHERE excluded.window_start > w.window_start OR w.used < @max_per_window::integer
    RETURNING w.user_id
)
UPDATE throttle_hits h SET admitted = true
FROM counted c
WHERE h.event_id = @event_id::uuid AND h.user_id = c.user_id;

-- name: ThrottledUsers :many
-- The recipients of an event its throttle held back, whichever run decided.
SELECT user_id FROM throttle_hits
WHERE event_id = @event_id AND user_id = ANY(@user_ids::text[]) AND NOT admitted
ORDER BY user_id;

-- name: ThrottleUsed :one
-- The recipient's count of the type in the window starting at
-- @window_start: 0 when their row is of an earlier window, or absent.
SELECT coalesce((SELECT used FROM throttle_windows
    WHERE tenant_id = @tenant_id AND event_type = @event_type AND user_id = @user_id
      AND window_start >= @window_start), 0)::integer AS used;
