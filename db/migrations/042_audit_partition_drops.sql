-- Retention drops a month of the audit trail whole once every tenant's
-- period has passed it. Like audit_prune, this is the service's only way
-- to do it, and it checks what audit_prune checks: each tenant's rows in
-- the month are the oldest of its chain and end where a checkpoint is
-- stored (so a verify starts right after it), and no row is younger than
-- 30 days, whatever the caller asks.

-- audit_drop_partition detaches and drops the oldest partition of
-- audit_log, which must end at upper (so a caller drops the month it
-- checked, not one that became the oldest meanwhile), and answers how many
-- rows it held.
CREATE FUNCTION audit_drop_partition(upper timestamptz) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    p record;
    t record;
    n bigint := 0;
BEGIN
    PERFORM set_config('lock_timeout', '5s', true);
    SELECT * INTO p FROM herald_partition_bounds('audit_log') b ORDER BY b.upper LIMIT 1;
    IF p.part IS NULL OR p.upper <> audit_drop_partition.upper THEN
        RAISE EXCEPTION 'the oldest audit partition does not end at %', audit_drop_partition.upper;
    END IF;
    IF p.upper > now() - interval '30 days' THEN
        RAISE EXCEPTION 'audit rows younger than 30 days are never pruned';
    END IF;
    -- Nothing may join the month while it is checked and dropped.
    EXECUTE format('LOCK TABLE %s IN SHARE MODE', p.part);
    FOR t IN EXECUTE format('SELECT tenant_id, max(seq) AS seq, count(*) AS rows FROM %s GROUP BY tenant_id', p.part) LOOP
        IF NOT EXISTS (SELECT 1 FROM audit_checkpoints c WHERE c.tenant_id = t.tenant_id AND c.seq = t.seq) THEN
            RAISE EXCEPTION 'no checkpoint of tenant % is stored at seq %: the chain would start where nothing vouches for it', t.tenant_id, t.seq;
        END IF;
        IF EXISTS (SELECT 1 FROM audit_log a WHERE a.tenant_id = t.tenant_id AND a.seq < t.seq AND a.at >= p.upper) THEN
            RAISE EXCEPTION 'tenant %''s rows in % are not the start of its chain', t.tenant_id, p.part;
        END IF;
        n := n + t.rows;
    END LOOP;
    EXECUTE format('ALTER TABLE audit_log DETACH PARTITION %s', p.part);
    EXECUTE format('DROP TABLE %s', p.part);
    RETURN n;
END
$$;
REVOKE EXECUTE ON FUNCTION audit_drop_partition(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_drop_partition(timestamptz) TO herald_service;
ALTER FUNCTION audit_drop_partition(timestamptz) SECURITY DEFINER;
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION audit_drop_partition(timestamptz) SET search_path = %I, pg_temp', current_schema());
END
$$;

---- create above / drop below ----

DROP FUNCTION audit_drop_partition(timestamptz);
