-- name: UpsertUser :one
-- Fields left out (NULL) keep their stored value, or take the default on insert,
-- so a partial update never demotes an owner or drops an address.
INSERT INTO users (tenant_id, id, email, name, timezone, role, slack_user_id)
VALUES (@tenant_id, @id, COALESCE(sqlc.narg(email)::text, ''), COALESCE(sqlc.narg(name)::text, ''),
        COALESCE(sqlc.narg(timezone)::text, ''), COALESCE(sqlc.narg(role)::text, 'member'),
        COALESCE(sqlc.narg(slack_user_id)::text, ''))
ON CONFLICT (tenant_id, id) DO UPDATE SET
    email = COALESCE(sqlc.narg(email)::text, users.email),
    name = COALESCE(sqlc.narg(name)::text, users.name),
    timezone = COALESCE(sqlc.narg(timezone)::text, users.timezone),
    role = COALESCE(sqlc.narg(role)::text, users.role),
    slack_user_id = COALESCE(sqlc.narg(slack_user_id)::text, users.slack_user_id),
    updated_at = now()
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
