-- Delivery engine v2. Every statement here only changes the catalog, so the
-- exclusive locks it takes are brief; backfills and index builds on the big
-- tables run in later migrations outside a transaction.
--
-- A delivery is sent only by the attempt that holds its claim: claim_id is the
-- attempt's token and claimed_until its lease. Neither column is indexed, so
-- claiming and marking stay heap-only updates. failed_at is set only when a
-- delivery fails: the failed-deliveries index is partial on it rather than on
-- status, so the common pending -> delivered update changes no indexed column.
ALTER TABLE deliveries ADD COLUMN claim_id uuid, ADD COLUMN claimed_until timestamptz,
    ADD COLUMN failed_at timestamptz;

-- started_at confirms that an event's workflow runs; an event still pending
-- without it is started by the reconciler. Events from before this release
-- were started when posted: a constant default marks them without rewriting
-- the table, and dropping it leaves new events unconfirmed.
ALTER TABLE events ADD COLUMN run_id text NOT NULL DEFAULT '', ADD COLUMN started_at timestamptz DEFAULT now();
ALTER TABLE events ALTER COLUMN started_at DROP DEFAULT;

ALTER TABLE api_keys ADD COLUMN last_used_at timestamptz;

---- create above / drop below ----

ALTER TABLE api_keys DROP COLUMN last_used_at;
ALTER TABLE events DROP COLUMN started_at, DROP COLUMN run_id;
ALTER TABLE deliveries DROP COLUMN failed_at, DROP COLUMN claimed_until, DROP COLUMN claim_id;
