-- name: GetRuleOutcome :one
SELECT * FROM rule_outcomes WHERE event_id = @event_id AND rule = @rule;

-- name: InsertRuleOutcome :exec
INSERT INTO rule_outcomes (event_id, rule, fired, reason, detail, emitted_type, emitted_event_id)
VALUES (@event_id, @rule, @fired, @reason, @detail, @emitted_type, @emitted_event_id);

-- name: EventRuleOutcomes :many
SELECT * FROM rule_outcomes WHERE event_id = @event_id ORDER BY rule;

-- name: FireOnce :one
-- A rule that fires once per key: the first insert fires, every later one
-- (and every concurrent one, which waits on the first) finds the row.
INSERT INTO rule_state (tenant_id, rule, key, fired_at, source_event_id)
VALUES (@tenant_id, @rule, @key, now(), @source_event_id)
ON CONFLICT (tenant_id, rule, key) DO NOTHING
RETURNING fired_at;

-- name: FireAfterCooldown :one
-- A rule that fires at most once per cooldown per key. The update's WHERE
-- is evaluated on the locked, latest row, so of two concurrent breaches the
-- second sees the first's fired_at and does not fire. The time is the
-- database's (one clock for every worker) unless the caller gives one: a
-- test's clock, which moves a day on without waiting one.
INSERT INTO rule_state (tenant_id, rule, key, fired_at, source_event_id)
VALUES (@tenant_id, @rule, @key, coalesce(sqlc.narg('at')::timestamptz, now()), @source_event_id)
ON CONFLICT (tenant_id, rule, key) DO UPDATE
    SET fired_at = excluded.fired_at, source_event_id = excluded.source_event_id, updated_at = now()
    WHERE rule_state.fired_at IS NULL
       OR rule_state.fired_at <= excluded.fired_at - make_interval(secs => @cooldown_seconds::float8)
RETURNING fired_at;

-- name: RecordValue :one
-- An on_change rule's value for a key: a row comes back only when the
-- value is new for the key (inserted: none was seen before) or differs from
-- the last one seen, under the row's lock, so each change is seen once.
INSERT INTO rule_state (tenant_id, rule, key, value, source_event_id)
VALUES (@tenant_id, @rule, @key, @value, @source_event_id)
ON CONFLICT (tenant_id, rule, key) DO UPDATE
    SET value = excluded.value, source_event_id = excluded.source_event_id, updated_at = now()
    WHERE rule_state.value IS DISTINCT FROM excluded.value
RETURNING (xmax = 0)::boolean AS inserted;

-- name: GetRuleState :one
SELECT * FROM rule_state WHERE tenant_id = @tenant_id AND rule = @rule AND key = @key;
