-- name: InsertDeliveries :exec
-- Conflicts are a retried page: the rows from the first attempt stand. A row
-- may be born failed (a recipient whose preferences cannot be read) or, for
-- in-app, delivered: its inbox item is written in the same transaction, so
-- marking it afterwards would only update every row again.
-- A pending row waiting out quiet hours has not_before; the zero time stands
-- for none, as arrays of timestamps cannot carry NULLs from Go. A row held
-- for an escalation has not_before too, and the channel it escalates from
-- ('' for none).
INSERT INTO deliveries (tenant_id, event_id, user_id, channel, status, reason, error, content_hash,
                        not_before, escalated_from, attempts, delivered_at, failed_at)
SELECT @tenant_id::uuid, @event_id::uuid, r.user_id, r.channel, r.status, r.reason, r.error,
       NULLIF(r.content_hash, ''::bytea), NULLIF(r.not_before, '0001-01-01 00:00:00+00'::timestamptz),
       NULLIF(r.escalated_from, ''),
       CASE WHEN r.status IN ('delivered', 'failed') THEN 1 ELSE 0 END,
       CASE WHEN r.status = 'delivered' THEN now() END,
       CASE WHEN r.status = 'failed' THEN now() END
FROM (SELECT unnest(@user_ids::text[]) AS user_id, unnest(@channels::text[]) AS channel,
             unnest(@statuses::text[]) AS status, unnest(@reasons::text[]) AS reason,
             unnest(@errors::text[]) AS error, unnest(@content_hashes::bytea[]) AS content_hash,
             unnest(@not_befores::timestamptz[]) AS not_before,
             unnest(@escalated_froms::text[]) AS escalated_from) r
-- A user deleted since the page read them gets no row: the key-share lock
-- makes a concurrent delete wait for this transaction (and then cancel what
-- it wrote), or makes this insert skip a user whose delete committed first.
WHERE EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = @tenant_id::uuid AND u.id = r.user_id FOR KEY SHARE)
ON CONFLICT (event_id, user_id, channel) DO NOTHING;

-- name: DeliveriesForUsers :many
-- One unique-index probe per user. The plain `user_id = ANY(...)` form is
-- planned from statistics that never know a new event, so it scanned every
-- row of the event so far on each page: quadratic in the audience. OFFSET 0
-- keeps the planner from flattening the probe back into that scan.
SELECT d.* FROM unnest(@user_ids::text[]) AS u (user_id)
CROSS JOIN LATERAL (
    SELECT * FROM deliveries WHERE deliveries.event_id = @event_id::uuid AND deliveries.user_id = u.user_id OFFSET 0
) AS d;

-- name: InsertInboxItems :exec
INSERT INTO notifications (tenant_id, event_id, type, link, user_id, delivery_id, title, body)
SELECT @tenant_id::uuid, @event_id::uuid, @type::text, @link::text,
       unnest(@user_ids::text[]), unnest(@delivery_ids::uuid[]), unnest(@titles::text[]), unnest(@bodies::text[])
ON CONFLICT (delivery_id) DO NOTHING;

-- name: MarkManyDelivered :execrows
-- Accepted messages, recorded a few at a time. Rows are found by primary key
-- (= ANY), never by joining an unnested list, which the planner may turn
-- into a scan of the whole table. The message went out, so it is recorded
-- unless another attempt holds the row under a live lease: that attempt
-- owns the row now and records what it did.
UPDATE deliveries
SET status = 'delivered', delivered_at = now(), attempts = attempts + 1, error = '', not_before = NULL,
    content_hash = (@content_hashes::bytea[])[array_position(@ids::uuid[], id)],
    relay = NULLIF((@relays::text[])[array_position(@ids::uuid[], id)], ''),
    claim_id = NULL, claimed_until = NULL, updated_at = now()
WHERE id = ANY(@ids::uuid[]) AND status = 'pending'
  AND (claim_id = @claim_id::uuid OR claimed_until IS NULL OR claimed_until < now());

-- name: ClaimDeliveries :many
-- Claims the still-pending deliveries of ids on channel for one attempt, so
-- no two attempts ever send the same delivery: a row is claimable only when
-- no live lease holds it, and not while it waits for its next try. The lease
-- is the database's time, the only clock every worker shares; the attempt
-- renews it while it works. The recipient is read in the same round trip; a
-- LEFT JOIN so a user deleted since the page was planned shows up, to be
-- skipped.
WITH claimed AS (
    UPDATE deliveries d SET claim_id = @claim_id::uuid, claimed_until = now() + make_interval(secs => @lease_seconds::float8)
    WHERE d.id = ANY(@ids::uuid[]) AND d.status = 'pending' AND d.channel = @channel::text
      AND (d.claimed_until IS NULL OR d.claimed_until < now())
      AND (d.not_before IS NULL OR d.not_before <= now())
    RETURNING d.id, d.tenant_id, d.user_id, d.tries
)
SELECT c.id, c.user_id, c.tries, COALESCE(u.email, '')::text AS email, COALESCE(u.name, '')::text AS name,
       COALESCE(u.slack_user_id, '')::text AS slack_user_id,
       COALESCE(u.locale, '')::text AS locale, COALESCE(u.timezone, '')::text AS timezone,
       COALESCE(u.preferences->'channels'->'webhook'->>'url', '')::text AS webhook_url,
       COALESCE(u.webhook_secrets, '')::text AS webhook_secrets,
       -- The suppression list is read with the claim, in its snapshot: an
       -- address listed by a rejection or complaint that committed before
       -- this claim is skipped, and one listed later finds the delivery
       -- already on its way. The recipient's current address is probed, so
       -- a user who changed it is not held back by the old one.
       (@channel::text = 'email' AND EXISTS (
           SELECT 1 FROM suppressions s WHERE s.tenant_id = c.tenant_id AND s.address = lower(u.email)
       ))::bool AS suppressed
FROM claimed c LEFT JOIN users u ON u.tenant_id = c.tenant_id AND u.id = c.user_id
ORDER BY c.id;

-- name: RenewClaims :execrows
-- An attempt that is still working keeps its claims: leases are short, so a
-- worker that dies frees its deliveries within a lease, and renewing is
-- what tells a live attempt from a dead one.
UPDATE deliveries SET claimed_until = now() + make_interval(secs => @lease_seconds::float8)
WHERE id = ANY(@ids::uuid[]) AND status = 'pending' AND claim_id = @claim_id::uuid;

-- name: UnsettledDeliveries :many
-- The deliveries of ids still pending and not claimed by this attempt: held
-- by another attempt (a live lease), waiting for their next try (parked;
-- not this attempt's to send), or free again (released, or a lease run out)
-- and to be claimed.
SELECT id, (claimed_until IS NOT NULL AND claimed_until >= now())::bool AS held,
       (not_before IS NOT NULL AND not_before > now())::bool AS parked
FROM deliveries
WHERE id = ANY(@ids::uuid[]) AND status = 'pending' AND claim_id IS DISTINCT FROM @claim_id::uuid
ORDER BY id;

-- name: MarkAccepted :exec
-- Deliveries the server accepted whose marking failed at the time: the
-- workflow kept their IDs and records them here. The attempt was counted
-- only if the first marking got through, so it is counted here.
UPDATE deliveries
SET status = 'delivered', delivered_at = now(), attempts = attempts + 1, error = '', not_before = NULL,
    claim_id = NULL, claimed_until = NULL, updated_at = now()
WHERE id = ANY(@ids::uuid[]) AND status = 'pending';

-- name: RecordAttemptFailure :execrows
-- A temporary failure: the claim is released so the next attempt may retry.
-- Only the claim's holder records it: an attempt whose lease ran out (a
-- paused process) must not release a live attempt's claim.
UPDATE deliveries SET attempts = attempts + 1, error = @error, claim_id = NULL, claimed_until = NULL,
    updated_at = now()
WHERE id = @id AND status = 'pending' AND claim_id = @claim_id::uuid;

-- name: DeferAttempt :one
-- A temporary failure of a paced delivery: the claim is released and the
-- row waits for its next try, wait from now by the database's clock. Only
-- the claim's holder records it.
UPDATE deliveries SET attempts = attempts + 1, tries = tries + 1, error = @error,
    not_before = now() + make_interval(secs => @wait_seconds::float8),
    claim_id = NULL, claimed_until = NULL, updated_at = now()
WHERE id = @id AND status = 'pending' AND claim_id = @claim_id::uuid
RETURNING not_before::timestamptz;

-- name: MarkUncertain :execrows
-- The message left and its answer never came: it may have been accepted,
-- so it is never sent again automatically. It is failed with reason
-- uncertain for an operator, whose retry names it on purpose.
UPDATE deliveries SET status = 'failed', reason = 'uncertain', failed_at = now(), attempts = attempts + 1,
    error = @error, not_before = NULL, claim_id = NULL, claimed_until = NULL, updated_at = now()
WHERE id = @id AND status = 'pending' AND claim_id = @claim_id::uuid;

-- name: ReleaseClaim :exec
-- A claimed delivery the attempt never started (it was cancelled or ran out
-- of time): free it for the next attempt at once.
UPDATE deliveries SET claim_id = NULL, claimed_until = NULL
WHERE id = @id AND status = 'pending' AND claim_id = @claim_id;

-- name: MarkFailed :exec
-- A delivery under a live claim is left alone: an attempt that overran its
-- timeout may still be sending it, and may yet record it delivered.
UPDATE deliveries SET status = 'failed', failed_at = now(), claim_id = NULL, claimed_until = NULL, updated_at = now(),
    not_before = NULL, error = CASE WHEN error = '' THEN @error::text ELSE error END
WHERE id = ANY(@ids::uuid[]) AND status = 'pending' AND (claimed_until IS NULL OR claimed_until < now());

-- name: LatestLiveClaim :one
-- When the last live claim on ids runs out (no row for none).
SELECT claimed_until FROM deliveries
WHERE id = ANY(@ids::uuid[]) AND status = 'pending' AND claimed_until >= now()
ORDER BY claimed_until DESC
LIMIT 1;

-- name: MarkPermanentFailure :execrows
-- A refusal no retry can change, recorded by the claim's holder; with no
-- claim (a delivery released from its wait), only an unclaimed row.
UPDATE deliveries SET status = 'failed', failed_at = now(), attempts = attempts + 1, error = @error,
    not_before = NULL, claim_id = NULL, claimed_until = NULL, updated_at = now()
WHERE id = @id AND status = 'pending' AND claim_id IS NOT DISTINCT FROM @claim_id;

-- name: MarkRejected :one
-- MarkPermanentFailure for a message the relay refused for its recipient
-- (a 5xx for the address): the address joins the tenant's suppression list
-- in the same statement, so a failed row and its listing never part. An
-- address already listed keeps its first entry. Answers 1 when the row was
-- failed, 0 when the claim was lost (and then nothing is listed).
WITH failed AS (
    UPDATE deliveries d SET status = 'failed', failed_at = now(), attempts = d.attempts + 1, error = @error::text,
        not_before = NULL, claim_id = NULL, claimed_until = NULL, updated_at = now()
    WHERE d.id = @id::uuid AND d.status = 'pending' AND d.claim_id IS NOT DISTINCT FROM sqlc.narg(claim_id)::uuid
    RETURNING d.tenant_id, d.id
), listed AS (
    INSERT INTO suppressions (tenant_id, address, reason, delivery_id, detail)
    SELECT f.tenant_id, lower(@address::text), 'bounce', f.id, @detail::text FROM failed f
    ON CONFLICT (tenant_id, address) DO NOTHING
)
SELECT count(*)::int FROM failed;

-- name: MarkSkipped :execrows
UPDATE deliveries SET status = 'skipped', reason = @reason, not_before = NULL, claim_id = NULL, claimed_until = NULL,
    updated_at = now()
WHERE id = @id AND status = 'pending' AND claim_id = @claim_id::uuid;

-- name: TallyDeliveries :many
SELECT status, count(*)::int AS n FROM deliveries WHERE id = ANY(@ids::uuid[]) GROUP BY status ORDER BY status;

-- name: ParkedDeliveries :one
-- How many of ids wait for their next try, and when the first is due.
SELECT count(*)::int AS n, COALESCE(min(not_before), 'epoch')::timestamptz AS next FROM deliveries
WHERE id = ANY(@ids::uuid[]) AND status = 'pending' AND not_before > now();

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

-- name: NextRelease :one
-- When the first of an event's deferred deliveries is due (no row: none waits).
SELECT not_before::timestamptz FROM deliveries
WHERE event_id = @event_id AND status = 'pending' AND not_before IS NOT NULL
ORDER BY not_before
LIMIT 1;

-- name: DeferredDeliveries :many
-- A page of an event's waiting deliveries due by due_by (of one user, unless
-- user_id is empty): those waiting out quiet hours and those waiting for
-- their next try, with what deciding them again needs: the recipient's
-- current preferences and addresses. A deleted recipient's rows were
-- cancelled with them; an event-level row (a Slack channel post, the tenant
-- webhook) has no recipient and is sent as it is.
SELECT d.id, d.user_id, d.channel, COALESCE(u.preferences, '{}'::jsonb)::jsonb AS preferences,
       COALESCE(u.timezone, '')::text AS timezone,
       COALESCE(u.email <> '', false)::bool AS has_email, COALESCE(u.slack_user_id <> '', false)::bool AS has_slack,
       (u.id IS NOT NULL)::bool AS has_user, d.not_before::timestamptz AS due_at,
       d.escalated_from,
       -- An escalation is called off once its recipient acted on the item.
       escalation_acknowledged(d.event_id, d.user_id, d.escalated_from)::bool AS acknowledged
FROM deliveries d LEFT JOIN users u ON u.tenant_id = d.tenant_id AND u.id = d.user_id
WHERE d.event_id = @event_id AND d.status = 'pending' AND d.not_before IS NOT NULL
  AND d.not_before <= @due_by::timestamptz AND d.id > @after::uuid
  AND (@user_id::text = '' OR d.user_id = @user_id::text)
ORDER BY d.id
LIMIT @page_size;

-- name: DueDeliveries :many
-- DeferredDeliveries in the order they come due, from the partial index
-- deliveries_waiting: a page is a range of it, however many deliveries
-- wait (a run that continued as new may hand tens of thousands to the
-- next), where ordering by ID sorted every waiting row for each page.
SELECT d.id, d.user_id, d.channel, COALESCE(u.preferences, '{}'::jsonb)::jsonb AS preferences,
       COALESCE(u.timezone, '')::text AS timezone,
       COALESCE(u.email <> '', false)::bool AS has_email, COALESCE(u.slack_user_id <> '', false)::bool AS has_slack,
       (u.id IS NOT NULL)::bool AS has_user, d.not_before::timestamptz AS due_at,
       d.escalated_from,
       -- An escalation is called off once its recipient acted on the item.
       escalation_acknowledged(d.event_id, d.user_id, d.escalated_from)::bool AS acknowledged
FROM deliveries d LEFT JOIN users u ON u.tenant_id = d.tenant_id AND u.id = d.user_id
WHERE d.event_id = @event_id AND d.status = 'pending' AND d.not_before IS NOT NULL
  AND d.not_before <= @due_by::timestamptz
  AND (d.not_before, d.id) > (@after_at::timestamptz, @after::uuid)
  AND (@user_id::text = '' OR d.user_id = @user_id::text)
ORDER BY d.not_before, d.id
LIMIT @page_size;

-- name: ReleaseMany :exec
-- Released deliveries are due now: they no longer wait, so the next release
-- time is not read from them while they are sent.
UPDATE deliveries SET not_before = NULL, updated_at = now()
WHERE id = ANY(@ids::uuid[]) AND status = 'pending';

-- name: Redefer :exec
-- Deliveries whose recipient's quiet hours still hold (or hold again) wait on.
UPDATE deliveries d SET not_before = r.not_before, updated_at = now()
FROM (SELECT unnest(@ids::uuid[]) AS id, unnest(@not_befores::timestamptz[]) AS not_before) r
WHERE d.id = r.id AND d.status = 'pending';

-- name: SkipMany :exec
UPDATE deliveries d SET status = 'skipped', reason = r.reason, claim_id = NULL, claimed_until = NULL, updated_at = now()
FROM (SELECT unnest(@ids::uuid[]) AS id, unnest(@reasons::text[]) AS reason) r
WHERE d.id = r.id AND d.status = 'pending';

-- name: EventsWaitingForUser :many
-- The events with deliveries waiting out a user's quiet hours: told when the
-- user changes their preferences, their workflows decide those again.
SELECT DISTINCT event_id FROM deliveries
WHERE tenant_id = @tenant_id AND user_id = @user_id AND status = 'pending' AND not_before IS NOT NULL;

-- name: InsertEventTargets :exec
-- An event's event-level sends (a Slack channel post, the tenant webhook):
-- one row per target, keyed like a recipient by a name no user ID can have.
INSERT INTO deliveries (tenant_id, event_id, user_id, channel)
SELECT @tenant_id::uuid, @event_id::uuid, unnest(@targets::text[]), unnest(@channels::text[])
ON CONFLICT (event_id, user_id, channel) DO NOTHING;

-- name: RequeueFailed :many
-- An operator's retry: failed deliveries (all of the event's, or those
-- named) are pending again and go through the same claim-and-send path, on
-- a fresh retry schedule; deliveries waiting for their next try are due at
-- once. In-app rows failed while being planned (their notice could not be
-- rendered); sending again cannot change that, so they stay failed. An
-- uncertain delivery may have arrived: only a retry that names it sends it
-- again.
UPDATE deliveries SET status = 'pending', reason = '', error = '', failed_at = NULL, not_before = NULL, tries = 0,
    claim_id = NULL, claimed_until = NULL, updated_at = now()
WHERE event_id = @event_id AND channel <> 'in_app'
  AND (cardinality(@ids::uuid[]) = 0 OR id = ANY(@ids::uuid[]))
  AND ((status = 'failed' AND (reason <> 'uncertain' OR cardinality(@ids::uuid[]) > 0))
       OR (status = 'pending' AND tries > 0 AND not_before IS NOT NULL
           AND (claimed_until IS NULL OR claimed_until < now())))
RETURNING id, user_id, channel;

-- name: TallyEvent :one
SELECT count(*) FILTER (WHERE status = 'delivered')::int AS delivered,
       count(*) FILTER (WHERE status = 'failed')::int AS failed,
       count(*) FILTER (WHERE status IN ('skipped', 'cancelled'))::int AS skipped,
       count(*) FILTER (WHERE status = 'pending')::int AS pending
FROM deliveries WHERE event_id = @event_id;

-- name: GetDeliveryWithType :one
SELECT sqlc.embed(d), e.type AS event_type FROM deliveries d JOIN events e ON e.id = d.event_id
WHERE d.tenant_id = @tenant_id AND d.id = @id;

-- name: FailedToRetry :many
-- A page of the failed deliveries a bulk retry matches, oldest first, served
-- by deliveries_failed. In-app rows are left out: they failed while being
-- planned, and sending again cannot help them. Uncertain ones are too: they
-- may have arrived, and only a retry of that one delivery sends it again.
SELECT d.id, d.event_id, d.created_at, e.type AS event_type FROM deliveries d JOIN events e ON e.id = d.event_id
WHERE d.tenant_id = @tenant_id AND d.failed_at IS NOT NULL AND d.status = 'failed' AND d.channel <> 'in_app'
  AND d.reason <> 'uncertain'
  AND (NOT @by_event::bool OR d.event_id = @event_id::uuid)
  AND (NOT @by_channel::bool OR d.channel = @channel::text)
  AND (NOT @by_since::bool OR d.created_at >= @since::timestamptz)
  AND (NOT @has_cursor::bool OR (d.created_at, d.id) > (@cursor_time::timestamptz, @cursor_id::uuid))
ORDER BY d.created_at, d.id
LIMIT @page_size;

-- name: CancelEventDeliveries :execrows
-- Cancelling an event: what has not been made never will be. A delivery
-- whose claim is live is being sent right now; it is left for its sender.
-- An item waiting for its digest (or collapse, or throttle hold) is cancelled
-- too: it is never listed.
UPDATE deliveries SET status = 'cancelled', reason = @reason, updated_at = now()
WHERE event_id = @event_id
  AND ((status = 'pending' AND (claimed_until IS NULL OR claimed_until < now()))
       OR (status = 'skipped' AND reason IN ('digested', 'collapsed', 'throttled_held') AND digest_id IS NULL));

-- name: ParkDeliveries :exec
-- Deliveries a run had queued and not started when it continued as new:
-- due now, so the next run releases them.
UPDATE deliveries SET not_before = now(), updated_at = now()
WHERE id = ANY(@ids::uuid[]) AND status = 'pending' AND not_before IS NULL;
