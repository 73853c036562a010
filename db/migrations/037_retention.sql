-- Retention prunes the audit trail's oldest rows. The service may still not
-- delete audit rows itself: audit_prune, which runs as the owner, is its
-- only way, and it removes only a prefix of a tenant's chain, up to a seq
-- where a checkpoint is stored (so the retained chain always starts right
-- after a checkpoint, which a verify starts from), and never a row younger
-- than the shortest retention a tenant may set (30 days), whatever the
-- caller asks.
CREATE OR REPLACE FUNCTION audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- audit_prune says so for its own statement only; the service cannot
    -- DELETE from audit_log, so it cannot use the setting by itself.
    IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'audit_log'
       AND current_setting('herald.audit_pruning', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$;

-- audit_prune deletes the tenant's rows with seq <= upto, at most n of
-- them, all or none, and answers how many it deleted.
CREATE FUNCTION audit_prune(tenant uuid, upto bigint, n integer) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    pruned bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM audit_checkpoints c WHERE c.tenant_id = tenant AND c.seq = upto) THEN
        RAISE EXCEPTION 'no checkpoint of tenant % is stored at seq %: the chain would start where nothing vouches for it', tenant, upto;
    END IF;
    IF (SELECT count(*) FROM audit_log a WHERE a.tenant_id = tenant AND a.seq <= upto) > n THEN
        RAISE EXCEPTION 'more than % audit rows up to seq %', n, upto;
    END IF;
    IF EXISTS (SELECT 1 FROM audit_log a WHERE a.tenant_id = tenant AND a.seq <= upto AND a.at >= now() - interval '30 days') THEN
        RAISE EXCEPTION 'audit rows younger than 30 days are never pruned';
    END IF;
    PERFORM set_config('herald.audit_pruning', 'on', true);
    DELETE FROM audit_log a WHERE a.tenant_id = tenant AND a.seq <= upto;
    GET DIAGNOSTICS pruned = ROW_COUNT;
    PERFORM set_config('herald.audit_pruning', 'off', true);
    RETURN pruned;
END
$$;
REVOKE EXECUTE ON FUNCTION audit_prune(uuid, bigint, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_prune(uuid, bigint, integer) TO herald_service;
ALTER FUNCTION audit_prune(uuid, bigint, integer) SECURITY DEFINER;
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION audit_prune(uuid, bigint, integer) SET search_path = %I, pg_temp', current_schema());
END
$$;

---- create above / drop below ----

DROP FUNCTION audit_prune(uuid, bigint, integer);
CREATE OR REPLACE FUNCTION audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$;
