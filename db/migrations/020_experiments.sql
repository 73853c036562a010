-- Experiments. The definition is stored when posted, with the hash of its
-- request, so a repeated POST is told from a different experiment under the
-- same ID; the Experiment workflow holds its state (samples, stamp, winner)
-- and answers queries.
CREATE TABLE experiments (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           text NOT NULL,
    request_hash bytea NOT NULL,
    definition   jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);

---- create above / drop below ----

DROP TABLE experiments;
