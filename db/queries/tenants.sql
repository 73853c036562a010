-- name: CreateTenant :one
INSERT INTO tenants (name) VALUES (@name) RETURNING *;

-- name: GetTenant :one
SELECT * FROM tenants WHERE id = @id;

-- name: FindTenantByName :one
SELECT * FROM tenants WHERE name = @name ORDER BY created_at LIMIT 1;

-- name: CreateAPIKey :one
INSERT INTO api_keys (tenant_id, prefix, key_hash) VALUES (@tenant_id, @prefix, @key_hash)
RETURNING id, tenant_id, prefix, created_at;

-- name: TenantByAPIKey :one
-- record_use says the key's last use is unset or over a minute old. It is
-- judged by the database's clock, the one TouchAPIKey uses, so a skewed API
-- host neither skips nor repeats the write.
SELECT sqlc.embed(t), k.id AS key_id,
       (k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute')::bool AS record_use
FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
WHERE k.key_hash = @key_hash AND k.revoked_at IS NULL;

-- name: TouchAPIKey :exec
-- Records a key's use at most once a minute: the guard repeats the caller's
-- staleness check so API replicas racing on one key write once.
UPDATE api_keys SET last_used_at = now()
WHERE id = @id AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute');

-- name: ListAPIKeys :many
-- Never the hash: the prefix is the only part of a key that may be shown.
SELECT id, prefix, created_at, last_used_at, revoked_at FROM api_keys
WHERE tenant_id = @tenant_id ORDER BY created_at, id;

-- name: RevokeAPIKeyByHash :one
UPDATE api_keys SET revoked_at = now() WHERE key_hash = @key_hash AND revoked_at IS NULL
RETURNING id, prefix;

-- name: RevokeAPIKeyByID :one
UPDATE api_keys SET revoked_at = now() WHERE id = @id AND revoked_at IS NULL
RETURNING id, prefix;

-- name: SetTenantSettings :one
UPDATE tenants SET settings = @settings, timezone = @timezone WHERE id = @id
RETURNING *;

-- name: LockTenantSettings :one
-- A settings PUT reads what it keeps under the row's lock, so two PUTs of
-- different fields both count.
SELECT settings, timezone FROM tenants WHERE id = @id FOR UPDATE;

-- name: LockTenantBranding :one
-- A branding PUT merges what it leaves out under the row's lock, so two
-- PUTs of different fields both count.
SELECT branding FROM tenants WHERE id = @id FOR UPDATE;

-- name: SetTenantBranding :exec
UPDATE tenants SET branding = @branding WHERE id = @id;

-- name: GetTenantBranding :one
SELECT branding FROM tenants WHERE id = @id;
