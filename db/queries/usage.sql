-- name: RecordUsage :one
-- A reading joins its period: it becomes the first if it is older than the
-- first (readings may arrive out of order) and the latest if it is newer
-- than the latest. The row lock orders concurrent readings of a metric.
INSERT INTO usage_series (tenant_id, metric, period, first_used, first_at, last_used, last_at)
VALUES (@tenant_id, @metric, @period, @used, @at, @used, @at)
ON CONFLICT (tenant_id, metric, period) DO UPDATE SET
    first_used = CASE WHEN excluded.first_at < usage_series.first_at THEN excluded.first_used ELSE usage_series.first_used END,
    first_at   = LEAST(usage_series.first_at, excluded.first_at),
    last_used  = CASE WHEN excluded.last_at >= usage_series.last_at THEN excluded.last_used ELSE usage_series.last_used END,
    last_at    = GREATEST(usage_series.last_at, excluded.last_at)
RETURNING *;

-- name: PreviousUsagePeriod :one
-- The period of a metric before the one that began at @began.
SELECT * FROM usage_series
WHERE tenant_id = @tenant_id AND metric = @metric AND period <> @period AND first_at < @began
ORDER BY first_at DESC
LIMIT 1;

-- name: PruneUsagePeriods :exec
-- Keeps a metric's newest @keep periods.
DELETE FROM usage_series s
WHERE s.tenant_id = @tenant_id AND s.metric = @metric
  AND s.period NOT IN (SELECT k.period FROM usage_series k
                       WHERE k.tenant_id = @tenant_id AND k.metric = @metric
                       ORDER BY k.first_at DESC LIMIT @keep);

-- name: GetUsageFacts :one
SELECT facts FROM usage_facts WHERE event_id = @event_id;

-- name: InsertUsageFacts :exec
INSERT INTO usage_facts (event_id, facts) VALUES (@event_id, @facts);
