-- Workflow starts the API owes: an approval, an experiment or a batch is
-- stored with the start of its workflow (or the signal that wakes it) in
-- the same transaction, and the row is deleted once Temporal has taken it.
-- A start Temporal did not take (it was unreachable, the API process died)
-- is made by the reconciler of any worker, so an accepted request always
-- runs, as an accepted event does. One row per workflow: a second owed
-- start or wake of the same workflow is the same work.
CREATE TABLE workflow_starts (
    workflow_id   text PRIMARY KEY,
    tenant_id     uuid NOT NULL,
    workflow_type text NOT NULL,
    input         jsonb NOT NULL,
    -- signal, when set, is sent with signal-with-start: the workflow may run
    -- already, and is woken.
    signal        text NOT NULL DEFAULT '',
    -- reuse allows a new run under an ID whose last run has closed.
    reuse         boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workflow_starts_by_age ON workflow_starts (created_at);

---- create above / drop below ----

DROP TABLE workflow_starts;
