-- Delivery engine v2.
--
-- A delivery is sent only by the attempt that holds its claim: claim_id is the
-- attempt's token and claimed_until its lease. Neither column is indexed, so
-- claiming and marking stay heap-only updates.
ALTER TABLE deliveries ADD COLUMN claim_id uuid, ADD COLUMN claimed_until timestamptz;
-- failed_at is set only when a delivery fails. The failed-deliveries index is
-- partial on it rather than on status, so the common pending -> delivered
-- update changes no indexed column and stays heap-only.
ALTER TABLE deliveries ADD COLUMN failed_at timestamptz;
UPDATE deliveries SET failed_at = updated_at WHERE status = 'failed';

-- started_at records that the event's workflow start was confirmed; an event
-- still pending without it is started by the reconciler.
ALTER TABLE events ADD COLUMN run_id text NOT NULL DEFAULT '', ADD COLUMN started_at timestamptz;
UPDATE events SET started_at = created_at;
CREATE INDEX events_unstarted ON events (created_at) WHERE started_at IS NULL;

ALTER TABLE api_keys ADD COLUMN last_used_at timestamptz;

---- create above / drop below ----

ALTER TABLE api_keys DROP COLUMN last_used_at;
DROP INDEX events_unstarted;
ALTER TABLE events DROP COLUMN started_at, DROP COLUMN run_id;
ALTER TABLE deliveries DROP COLUMN failed_at, DROP COLUMN claimed_until, DROP COLUMN claim_id;
