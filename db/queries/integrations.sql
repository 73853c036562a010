-- name: GetIntegration :one
SELECT * FROM integrations WHERE tenant_id = @tenant_id AND kind = @kind;

-- name: LockIntegration :one
-- A PUT reads the configuration it keeps under the row's lock.
SELECT * FROM integrations WHERE tenant_id = @tenant_id AND kind = @kind FOR UPDATE;

-- name: PutIntegration :one
-- Storing an integration again re-enables a webhook endpoint disabled by a 410.
INSERT INTO integrations (tenant_id, kind, config, secrets)
VALUES (@tenant_id, @kind, @config, @secrets)
ON CONFLICT (tenant_id, kind) DO UPDATE SET
    config = EXCLUDED.config, secrets = EXCLUDED.secrets,
    disabled_at = NULL, disabled_reason = '', updated_at = now()
RETURNING *;

-- name: DisableIntegration :exec
UPDATE integrations SET disabled_at = now(), disabled_reason = @reason, updated_at = now()
WHERE tenant_id = @tenant_id AND kind = @kind AND disabled_at IS NULL;
