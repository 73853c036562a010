-- name: UpsertUser :one
-- Fields left out (NULL) keep their stored value, or take the default on insert,
-- so a partial update never demotes an owner or drops an address.
INSERT INTO users (tenant_id, id, email, name, timezone, role, slack_user_id, locale)
VALUES (@tenant_id, @id, COALESCE(sqlc.narg(email)::text, ''), COALESCE(sqlc.narg(name)::text, ''),
        COALESCE(sqlc.narg(timezone)::text, ''), COALESCE(sqlc.narg(role)::text, 'member'),
        COALESCE(sqlc.narg(slack_user_id)::text, ''), COALESCE(sqlc.narg(locale)::text, ''))
ON CONFLICT (tenant_id, id) DO UPDATE SET
    email = COALESCE(sqlc.narg(email)::text, users.email),
    name = COALESCE(sqlc.narg(name)::text, users.name),
    timezone = COALESCE(sqlc.narg(timezone)::text, users.timezone),
    role = COALESCE(sqlc.narg(role)::text, users.role),
    slack_user_id = COALESCE(sqlc.narg(slack_user_id)::text, users.slack_user_id),
    locale = COALESCE(sqlc.narg(locale)::text, users.locale),
    updated_at = now()
RETURNING *, (xmax = 0)::bool AS created;

-- name: GetUser :one
SELECT * FROM users WHERE tenant_id = @tenant_id AND id = @id;

-- name: DeleteUser :execrows
DELETE FROM users WHERE tenant_id = @tenant_id AND id = @id;

-- name: CancelUserDeliveries :execrows
-- Part of deleting a user: what has not gone out yet never will. Delivered,
-- failed and skipped rows stay, as the delivery log. A delivery whose claim is
-- still live is being sent right now; it is left for its sender to record.
-- deliveries_by_user makes this read only the user's own rows.
UPDATE deliveries SET status = 'cancelled', reason = @reason, updated_at = now()
WHERE tenant_id = @tenant_id AND user_id = @user_id
  AND ((status = 'pending' AND (claimed_until IS NULL OR claimed_until < now()))
       OR (status = 'skipped' AND reason IN ('digested', 'collapsed', 'throttled_held') AND digest_id IS NULL));

-- name: ExistingUserIDs :many
SELECT id FROM users WHERE tenant_id = @tenant_id AND id = ANY(@ids::text[]);

-- Recipient pages. Each audience kind has its own query so that each keeps the
-- one plan that is right for it: a single query ORing the kinds together got a
-- generic plan that walked the tenant's primary key in id order and filtered,
-- reading the whole tenant to find one named user. All three page in id order
-- (the database's collation), so a page's last id is the next page's cursor.

-- name: TenantRecipientsPage :many
-- Everyone in the tenant: one range of the primary key. The cursor is given
-- as a subquery so the planner does not estimate "id > cursor" from the
-- histogram of every tenant's IDs: with other tenants' IDs below the cursor
-- (user IDs often share a shape), a large tenant's rest was estimated at a
-- tenth of its size, and a plan that reads all of it and sorts became the
-- cheaper-looking one. The index condition is the same.
SELECT * FROM users
WHERE tenant_id = @tenant_id AND id > (SELECT @after_id::text)
ORDER BY id
LIMIT @page_size;

-- name: RoleRecipientsPage :many
-- Everyone in the roles: one range of users_by_role (tenant_id, role, id) per
-- role, each cut at a page, merged. A page reads at most roles x page_size
-- index entries, however large the tenant.
SELECT u.* FROM unnest(@roles::text[]) AS r(role)
CROSS JOIN LATERAL (
    SELECT * FROM users
    WHERE tenant_id = @tenant_id AND role = r.role AND id > (SELECT @after_id::text) -- see TenantRecipientsPage
    ORDER BY id
    LIMIT @page_size
) AS u
ORDER BY u.id
LIMIT @page_size;

-- name: NamedRecipientsPage :many
-- The named users, and everyone in the roles if any, each once. The names are
-- sorted in memory and looked up one by one on the primary key, lazily: the
-- LIMIT 1 keeps the lookup a parameterised index probe (never a join that
-- scans the tenant), and the outer LIMIT stops after a page, so a page costs
-- about page_size probes even when thousands of users are named.
SELECT DISTINCT ON (id) * FROM (
    (SELECT u.* FROM (
        SELECT DISTINCT n.id FROM unnest(@user_ids::text[]) AS n(id) WHERE n.id > @after_id::text ORDER BY n.id
     ) AS n
     CROSS JOIN LATERAL (SELECT * FROM users WHERE users.tenant_id = @tenant_id AND users.id = n.id LIMIT 1) AS u
     ORDER BY n.id
     LIMIT @page_size)
    UNION ALL
    (SELECT u.* FROM unnest(@roles::text[]) AS r(role)
     CROSS JOIN LATERAL (
         SELECT * FROM users
         WHERE users.tenant_id = @tenant_id AND users.role = r.role AND users.id > @after_id
         ORDER BY users.id
         LIMIT @page_size
     ) AS u)
) AS audience
ORDER BY id
LIMIT @page_size;

-- name: SetUserPreferences :one
-- The document and the sealed secrets of the user's own webhook endpoint,
-- which follow its URL.
UPDATE users SET preferences = @preferences, webhook_secrets = @webhook_secrets, updated_at = now()
WHERE tenant_id = @tenant_id AND id = @id
RETURNING *;

-- name: LockUserPreferences :one
-- A preferences PUT reads the document and the endpoint's secrets under the
-- row's lock, so two PUTs of different fields both count, and never both
-- make the first secret and answer different ones.
SELECT preferences, webhook_secrets FROM users WHERE tenant_id = @tenant_id AND id = @id FOR UPDATE;

-- name: SetUserCategoryEmail :execrows
-- One-click unsubscribe: turns one category's email off, keeping the rest of
-- the document. Repeating it changes nothing.
UPDATE users SET preferences = jsonb_set(
        CASE WHEN jsonb_typeof(preferences->'categories') = 'object' THEN preferences
             ELSE jsonb_set(preferences, '{categories}', '{}') END,
        ARRAY['categories', sqlc.arg(category)::text],
        COALESCE(preferences->'categories'->sqlc.arg(category)::text, '{}') || jsonb_build_object('email', false)),
    updated_at = now()
WHERE tenant_id = @tenant_id AND id = @id;

-- name: FirstOwner :one
-- Where a test notification goes when no user is named.
SELECT id FROM users WHERE tenant_id = @tenant_id AND role = 'owner' ORDER BY id LIMIT 1;
