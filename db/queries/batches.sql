-- name: InsertBatch :one
INSERT INTO batches (tenant_id, id, request_hash, expected_jobs, event, expires_at)
VALUES (@tenant_id, @id, @request_hash, @expected_jobs, @event, @expires_at)
ON CONFLICT DO NOTHING
RETURNING *;

-- name: GetBatch :one
SELECT * FROM batches WHERE tenant_id = @tenant_id AND id = @id;

-- name: LockBatch :one
SELECT * FROM batches WHERE tenant_id = @tenant_id AND id = @id FOR UPDATE;

-- name: CompleteJob :one
-- A job counts once: a repeat inserts nothing.
INSERT INTO batch_jobs (tenant_id, batch_id, job) VALUES (@tenant_id, @batch_id, @job)
ON CONFLICT DO NOTHING
RETURNING completed_at;

-- name: CountBatchJobs :one
SELECT count(*)::integer FROM batch_jobs WHERE tenant_id = @tenant_id AND batch_id = @batch_id;

-- name: CloseBatch :exec
UPDATE batches SET status = @status, emitted_event_id = @emitted_event_id, closed_at = now()
WHERE tenant_id = @tenant_id AND id = @id;
