-- Fan-in batches. A batch is stored when posted (its event and the hash
-- of its request, so a repeated POST is told from a different one), and
-- its job completions as rows, each job once: the row, not the signal that
-- wakes the Batch workflow, is what counts, so a completion is never lost
-- or counted twice, even one that arrives before its batch.
CREATE TABLE batches (
    tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id               text NOT NULL,
    request_hash     bytea NOT NULL,
    expected_jobs    integer NOT NULL CHECK (expected_jobs > 0),
    event            jsonb NOT NULL,
    expires_at       timestamptz NOT NULL,
    status           text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'completed', 'expired')),
    emitted_event_id uuid,
    created_at       timestamptz NOT NULL DEFAULT now(),
    closed_at        timestamptz,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE batch_jobs (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    batch_id     text NOT NULL,
    job          text NOT NULL,
    completed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, batch_id, job)
);

---- create above / drop below ----

DROP TABLE batch_jobs;
DROP TABLE batches;
