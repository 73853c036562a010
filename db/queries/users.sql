-- name: UpsertUser :one
INSERT INTO users (tenant_id, id, email, name, timezone, role, slack_user_id)
VALUES (@tenant_id, @id, @email, @name, @timezone, @role, @slack_user_id)
ON CONFLICT (tenant_id, id) DO UPDATE SET
    email = EXCLUDED.email, name = EXCLUDED.name, timezone = EXCLUDED.timezone,
    role = EXCLUDED.role, slack_user_id = EXCLUDED.slack_user_id, updated_at = now()
RETURNING *, (xmax = 0)::bool AS created;

-- name: GetUser :one
SELECT * FROM users WHERE tenant_id = @tenant_id AND id = @id;

-- name: DeleteUser :execrows
DELETE FROM users WHERE tenant_id = @tenant_id AND id = @id;

-- name: ExistingUserIDs :many
SELECT id FROM users WHERE tenant_id = @tenant_id AND id = ANY(@ids::text[]);

-- name: RecipientsPage :many
-- Keyset page over the users an event reaches, in id order so pages never overlap.
SELECT * FROM users
WHERE tenant_id = @tenant_id AND id > @after_id
  AND (@everyone::bool OR id = ANY(@user_ids::text[]) OR role = ANY(@roles::text[]))
ORDER BY id
LIMIT @page_size;
