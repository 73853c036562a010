-- name: OweStart :one
-- A start (or wake) the API owes. A second one of the same workflow is the
-- same work: the first row stands. The answer is the transaction's time: a
-- start made after it commits covers every row owed up to then.
WITH owed AS (
    INSERT INTO workflow_starts (workflow_id, tenant_id, workflow_type, input, signal, reuse)
    VALUES (@workflow_id, @tenant_id, @workflow_type, @input, @signal, @reuse)
    ON CONFLICT (workflow_id) DO NOTHING
    RETURNING created_at
)
SELECT now()::timestamptz AS owed_at;

-- name: StartTaken :exec
-- Temporal took the start: nothing is owed any more. A row owed again since
-- (a newer wake) is left for the reconciler, which makes it at once.
DELETE FROM workflow_starts WHERE workflow_id = @workflow_id AND created_at <= @owed_at::timestamptz;

-- name: OwedStarts :many
-- Starts owed for longer than older_than, oldest first, for the reconciler.
SELECT * FROM workflow_starts WHERE created_at < @older_than::timestamptz ORDER BY created_at LIMIT @max_rows;
