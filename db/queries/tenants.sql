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
SELECT t.* FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
WHERE k.key_hash = @key_hash AND k.revoked_at IS NULL;

-- name: RevokeAPIKeyByHash :execrows
UPDATE api_keys SET revoked_at = now() WHERE key_hash = @key_hash AND revoked_at IS NULL;

-- name: RevokeAPIKeyByID :execrows
UPDATE api_keys SET revoked_at = now() WHERE id = @id AND revoked_at IS NULL;
