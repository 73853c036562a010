-- Digests. A digested delivery is skipped with reason 'digested' and waits
-- for its window; digest_id is set when a digest lists it (the digest's own
-- delivery), so no item is listed twice. The column is nullable without a
-- default: adding it changes only the catalog.
ALTER TABLE deliveries ADD COLUMN digest_id uuid;

-- One row per (tenant, user, channel) that has ever had a digest window.
-- state says whether the user's Digest workflow runs: 'arming' rows are
-- waiting for a worker to start it (signal-with-start), 'armed' ones have
-- one, 'idle' ones had one that closed with nothing left. seq counts the
-- pages that digested items for the user: a window closes only if no page
-- added items since its digest read them.
CREATE TABLE digest_windows (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id     text NOT NULL,
    channel     text NOT NULL CHECK (channel IN ('email', 'slack')),
    state       text NOT NULL DEFAULT 'arming' CHECK (state IN ('arming', 'armed', 'idle')),
    seq         bigint NOT NULL DEFAULT 1,
    -- The task queue of the page that armed the window: the window's
    -- workflow runs where its items' events ran.
    task_queue  text NOT NULL DEFAULT '',
    -- A worker arming the window holds it until then; another may take it after.
    lease_until timestamptz,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id, channel)
);
CREATE INDEX digest_windows_arming ON digest_windows (task_queue, updated_at) WHERE state = 'arming';

---- create above / drop below ----

DROP TABLE digest_windows;
ALTER TABLE deliveries DROP COLUMN digest_id;
