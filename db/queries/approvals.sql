-- name: InsertApproval :one
-- The first POST of an id inserts; a repeat finds the row (and compares its
-- hash) instead.
INSERT INTO approvals (tenant_id, id, request_hash, title, description, requester, link, levels,
                       remind_every, callback_url, expires_at)
VALUES (@tenant_id, @id, @request_hash, @title, @description, @requester, @link, @levels,
        @remind_every, @callback_url, @expires_at)
ON CONFLICT (tenant_id, id) DO NOTHING
RETURNING *;

-- name: GetApproval :one
SELECT * FROM approvals WHERE tenant_id = @tenant_id AND id = @id;

-- name: CloseApproval :one
-- The outcome is written once: a retried activity, or a second outcome,
-- leaves the first in place and gets it back.
UPDATE approvals
SET status = @status, decided_by = @decided_by, comment = @comment, closed_at = @closed_at
WHERE tenant_id = @tenant_id AND id = @id AND status = 'pending'
RETURNING *;

-- name: InsertApprovalHistory :exec
INSERT INTO approval_history (tenant_id, approval_id, key, kind, level, user_id, detail, at)
VALUES (@tenant_id, @approval_id, @key, @kind, @level, @user_id, @detail, @at)
ON CONFLICT (tenant_id, approval_id, key) DO NOTHING;

-- name: ApprovalHistory :many
SELECT * FROM approval_history WHERE tenant_id = @tenant_id AND approval_id = @approval_id ORDER BY at, key;

-- name: ApprovalUsers :many
-- The approvers and requester an approval names, for the page and checks.
SELECT id, name, email, role FROM users WHERE tenant_id = @tenant_id AND id = ANY(@ids::text[]);
