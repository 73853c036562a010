---- tern: disable-tx ----
-- The audit trail becomes partitioned by month of `at` (docs/operations.md,
-- "Partitioning"), so retention can drop a month that every tenant's
-- period has passed instead of deleting it row by row.
--
-- It runs on a live database, so no step holds a lock that stops writes
-- for longer than a catalog change: the existing table is not copied but
-- becomes the first partition, holding everything before the next month.
-- Attaching it needs proof that its rows fit that range; a CHECK constraint
-- added NOT VALID (a moment's lock) and validated in its own transaction
-- (a scan that lets inserts and reads go on) is that proof, so the attach
-- itself scans nothing. Each step is its own transaction and finds out
-- what is done already, so a run that failed half way can run again.
-- lock_timeout makes a step that waits behind a long transaction fail
-- (and the migration be retried) rather than queue every writer behind it.

SET lock_timeout = '5s';

-- The functions first: the last step uses them.

-- herald_partition_name names a table's partition for the month starting
-- at lower (UTC): audit_log_y2026m04.
CREATE OR REPLACE FUNCTION herald_partition_name(parent text, lower timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT parent || to_char(lower AT TIME ZONE 'UTC', '"_y"YYYY"m"MM')
$$;

-- herald_partition_bounds answers a partitioned table's partitions with
-- their bounds (lower is NULL for one from MINVALUE), oldest first.
CREATE OR REPLACE FUNCTION herald_partition_bounds(parent regclass)
RETURNS TABLE (part regclass, lower timestamptz, upper timestamptz) LANGUAGE plpgsql STABLE AS $$
DECLARE
    r record;
    m text[];
BEGIN
    FOR r IN SELECT i.inhrelid::regclass AS p, pg_get_expr(c.relpartbound, c.oid) AS bound
             FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = parent LOOP
        m := regexp_match(r.bound, $re$FROM \((.*)\) TO \((.*)\)$re$);
        part := r.p;
        lower := CASE WHEN m[1] = 'MINVALUE' THEN NULL ELSE trim(both '''' from m[1])::timestamptz END;
        upper := trim(both '''' from m[2])::timestamptz;
        RETURN NEXT;
    END LOOP;
END
$$;

-- herald_ensure_partitions makes the partitions of the month under way
-- and of the months_ahead after it, for every partitioned Herald table,
-- and answers how many it made. There is no default partition: a row past
-- the last month would fail its insert, so herald migrate and every
-- retention run (hourly) call this, months ahead. Making a
-- partition locks its parent for a moment; lock_timeout bounds the wait.
CREATE OR REPLACE FUNCTION herald_ensure_partitions(months_ahead integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    made integer := 0;
    last_upper timestamptz;
    lower timestamptz;
    upper timestamptz;
    name text;
    until timestamptz := (date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => months_ahead + 1)) AT TIME ZONE 'UTC';
BEGIN
    IF months_ahead < 0 OR months_ahead > 24 THEN
        RAISE EXCEPTION 'months_ahead must be 0 to 24, not %', months_ahead;
    END IF;
    PERFORM set_config('lock_timeout', '5s', true);
    -- Only audit_log is partitioned; docs/operations.md says what keeps
    -- deliveries and notifications whole.
    SELECT max(b.upper) INTO last_upper FROM herald_partition_bounds('audit_log') b;
    lower := coalesce(last_upper, (date_trunc('month', now() AT TIME ZONE 'UTC')) AT TIME ZONE 'UTC');
    WHILE lower < until LOOP
        upper := ((lower AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
        name := herald_partition_name('audit_log', lower);
        EXECUTE format('CREATE TABLE %I PARTITION OF audit_log FOR VALUES FROM (%L) TO (%L)', name, lower, upper);
        -- (tenant_id, seq) is unique per partition; across them the head
        -- row each append locks keeps it so (a unique index on the parent
        -- would have to include at).
        EXECUTE format('ALTER TABLE %I ADD PRIMARY KEY (id), ADD UNIQUE (tenant_id, seq)', name);
        EXECUTE format('CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse()', name);
        -- The service reads the trail through audit_log only.
        EXECUTE format('REVOKE ALL ON %I FROM herald_service', name);
        made := made + 1;
        lower := upper;
    END LOOP;
    RETURN made;
END
$$;

-- A partition's rows are audit_log's: the row trigger cloned onto each
-- partition names the partition, and audit_prune's deletes pass through
-- them, so the guard and its message go by the parent.
CREATE OR REPLACE FUNCTION audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tbl text := coalesce((SELECT i.inhparent::regclass::text FROM pg_inherits i WHERE i.inhrelid = TG_RELID), TG_TABLE_NAME);
BEGIN
    -- audit_prune says so for its own statement only; the service cannot
    -- DELETE from audit_log, so it cannot use the setting by itself.
    IF TG_OP = 'DELETE' AND tbl = 'audit_log'
       AND current_setting('herald.audit_pruning', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '% is append-only', tbl;
END
$$;

-- Step 1: the proof, not yet checked against the rows already there. The
-- bound is the start of next month (UTC), kept in the constraint's comment
-- for the steps after; rows inserted meanwhile are checked as they come.
DO $$
DECLARE
    cutoff timestamptz := (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
BEGIN
    IF EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = 'audit_log'::regclass) THEN
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'audit_log_before_partitions' AND conrelid = 'audit_log'::regclass) THEN
        EXECUTE format('ALTER TABLE audit_log ADD CONSTRAINT audit_log_before_partitions CHECK (at < %L) NOT VALID', cutoff);
        EXECUTE format('COMMENT ON CONSTRAINT audit_log_before_partitions ON audit_log IS %L', cutoff);
    END IF;
END
$$;
COMMIT;

-- Step 2: the scan, under a lock that lets the trail grow meanwhile.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'audit_log_before_partitions'
               AND conrelid = 'audit_log'::regclass AND NOT convalidated) THEN
        ALTER TABLE audit_log VALIDATE CONSTRAINT audit_log_before_partitions;
    END IF;
END
$$;
COMMIT;

-- Step 3: the swap, catalog changes only: the table is renamed, a
-- partitioned audit_log takes its place with the same columns, indexes,
-- triggers and grants, and the old one is attached as its first partition.
BEGIN;
SET LOCAL lock_timeout = '5s';
DO $$
DECLARE
    cutoff timestamptz;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = 'audit_log'::regclass) THEN
        RETURN;
    END IF;
    LOCK TABLE audit_log IN ACCESS EXCLUSIVE MODE;
    cutoff := obj_description((SELECT oid FROM pg_constraint WHERE conname = 'audit_log_before_partitions'
                               AND conrelid = 'audit_log'::regclass), 'pg_constraint')::timestamptz;
    ALTER TABLE audit_log RENAME TO audit_log_before;
    ALTER INDEX audit_by_event RENAME TO audit_log_before_by_event;
    ALTER INDEX audit_by_recipient RENAME TO audit_log_before_by_recipient;
    -- The parent's row trigger is cloned onto every partition.
    DROP TRIGGER audit_log_append_only ON audit_log_before;

    CREATE TABLE audit_log (LIKE audit_log_before INCLUDING DEFAULTS) PARTITION BY RANGE (at);
    -- The id sequence must outlive the partition it was made with.
    ALTER SEQUENCE audit_log_id_seq OWNED BY audit_log.id;
    -- The same as the old table's: the attach finds the first partition's
    -- own and adopts them rather than building new ones.
    CREATE INDEX audit_by_event ON audit_log (tenant_id, event_id, seq);
    CREATE INDEX audit_by_recipient ON audit_log (tenant_id, recipient, seq);
    CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION audit_refuse();
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse();
    REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_log FROM herald_service;
    REVOKE ALL ON audit_log_before FROM herald_service;

    EXECUTE format('ALTER TABLE audit_log ATTACH PARTITION audit_log_before FOR VALUES FROM (MINVALUE) TO (%L)', cutoff);
    -- The partition bound says the same now.
    ALTER TABLE audit_log_before DROP CONSTRAINT audit_log_before_partitions;
    PERFORM herald_ensure_partitions(3);
END
$$;
COMMIT;

-- The service runs the periodic step (retention) and may drop partitions
-- only through audit_drop_partition (migration 042); both run as
-- the owner, with the schema pinned first on their search_path.
BEGIN;
REVOKE EXECUTE ON FUNCTION herald_ensure_partitions(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION herald_ensure_partitions(integer) TO herald_service;
ALTER FUNCTION herald_ensure_partitions(integer) SECURITY DEFINER;
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION herald_ensure_partitions(integer) SET search_path = %I, pg_temp', current_schema());
END
$$;
COMMIT;
RESET lock_timeout;

---- create above / drop below ----

-- Back to one table: the partitions' rows are copied into a plain one,
-- which locks the trail for as long as the copy takes.
BEGIN;
LOCK TABLE audit_log IN ACCESS EXCLUSIVE MODE;
ALTER TABLE audit_log RENAME TO audit_log_partitioned;
CREATE TABLE audit_log (LIKE audit_log_partitioned INCLUDING DEFAULTS, PRIMARY KEY (id), UNIQUE (tenant_id, seq));
ALTER SEQUENCE audit_log_id_seq OWNED BY audit_log.id;
INSERT INTO audit_log SELECT * FROM audit_log_partitioned;
DROP TABLE audit_log_partitioned;
CREATE INDEX audit_by_event ON audit_log (tenant_id, event_id, seq);
CREATE INDEX audit_by_recipient ON audit_log (tenant_id, recipient, seq);
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_refuse();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse();
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_log FROM herald_service;
DROP FUNCTION herald_ensure_partitions(integer);
DROP FUNCTION herald_partition_bounds(regclass);
DROP FUNCTION herald_partition_name(text, timestamptz);
CREATE OR REPLACE FUNCTION audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'audit_log'
       AND current_setting('herald.audit_pruning', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$;
COMMIT;
