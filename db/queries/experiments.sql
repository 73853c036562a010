-- name: InsertExperiment :one
INSERT INTO experiments (tenant_id, id, request_hash, definition)
VALUES (@tenant_id, @id, @request_hash, @definition)
ON CONFLICT DO NOTHING
RETURNING *;

-- name: GetExperiment :one
SELECT * FROM experiments WHERE tenant_id = @tenant_id AND id = @id;
