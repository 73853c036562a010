-- name: ListSuppressions :many
SELECT * FROM suppressions
WHERE tenant_id = @tenant_id
  AND (NOT @has_cursor::bool OR (created_at, id) < (@cursor_time::timestamptz, @cursor_id::uuid))
ORDER BY created_at DESC, id DESC
LIMIT @page_size;

-- name: AddSuppression :one
-- A complaint (or an operator's decision) lists an address; one already
-- listed keeps its entry, and inserted says which happened.
WITH added AS (
    INSERT INTO suppressions (tenant_id, address, reason)
    VALUES (@tenant_id, lower(@address::text), @reason)
    ON CONFLICT (tenant_id, address) DO NOTHING
    RETURNING *
)
SELECT added.*, true AS inserted FROM added
UNION ALL
SELECT s.*, false AS inserted FROM suppressions s
WHERE s.tenant_id = @tenant_id AND s.address = lower(@address::text) AND NOT EXISTS (SELECT 1 FROM added);

-- name: DeleteSuppression :one
DELETE FROM suppressions WHERE tenant_id = @tenant_id AND address = lower(@address::text)
RETURNING *;
