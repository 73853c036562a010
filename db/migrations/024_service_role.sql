-- The service (herald serve, herald worker) runs as a role that cannot
-- rewrite the audit trail. The role that runs migrations owns every table,
-- and an owner can drop the append-only trigger and rewrite a chain's tail
-- together with its head; a role that owns nothing cannot ALTER, DROP or
-- TRUNCATE anything, and on the audit tables it gets SELECT alone. Rows
-- reach audit_log only through the triggers on deliveries, whose functions
-- run as their owner (SECURITY DEFINER) with a pinned search_path.
--
-- herald_service is a NOLOGIN group: a deployment logs in as a role that is
-- a member of it (make dev and the tests make herald_app; docker-compose.yml
-- too, with a password). Roles belong to the cluster, not the database, so a
-- role that may not create roles can have it made beforehand
-- (CREATE ROLE herald_service NOLOGIN) and this migration leaves it as it is.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'herald_service') THEN
        BEGIN
            CREATE ROLE herald_service NOLOGIN;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE EXCEPTION 'the role running herald migrate may not create roles: create the group role once as a role that may (CREATE ROLE herald_service NOLOGIN) and migrate again';
        END;
    END IF;
END
$$;

-- The schema is whichever one these migrations create their tables in, so
-- the grants are made by name at run time.
DO $$
DECLARE
    s text := current_schema();
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO herald_service', s);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO herald_service', s);
    EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO herald_service', s);
    -- Tables and sequences later migrations create get the same, so a new
    -- table works for the service without a grant of its own; a table the
    -- service must not write revokes it in its own migration (as below).
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO herald_service', s);
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT ON SEQUENCES TO herald_service', s);
    -- PostgreSQL 15 gives PUBLIC no CREATE on a new database's public
    -- schema; an older database's may have it, and it reaches every role.
    -- Only the schema's owner can take it back: for anyone else this is a
    -- warning, and docs/operations.md says what to run.
    EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM PUBLIC', s);
END
$$;

-- The migrations' own bookkeeping is none of the service's business.
REVOKE ALL ON herald_schema_version FROM herald_service;

-- The audit trail: read, never written, by the service.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_log, audit_heads FROM herald_service;
REVOKE ALL ON SEQUENCE audit_log_id_seq FROM herald_service;

-- Appends run as the functions' owner. A trigger function cannot be called
-- directly, and the functions that store rows are not callable by the
-- service at all, so the only way a row enters the chain is a delivery
-- reaching an outcome. The pinned search_path (the schema, then pg_temp,
-- which is searched last) keeps a caller's temporary tables from standing
-- in for Herald's.
REVOKE EXECUTE ON FUNCTION audit_append(deliveries[]) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION audit_store(uuid, bigint, bytea, deliveries[], bigint[], bytea[], bytea[]) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION audit_delivery_inserts() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION audit_delivery_updates() FROM PUBLIC;
ALTER FUNCTION audit_delivery_inserts() SECURITY DEFINER;
ALTER FUNCTION audit_delivery_updates() SECURITY DEFINER;
DO $$
DECLARE
    path text := format('%I, pg_temp', current_schema());
BEGIN
    EXECUTE 'ALTER FUNCTION audit_delivery_inserts() SET search_path = ' || path;
    EXECUTE 'ALTER FUNCTION audit_delivery_updates() SET search_path = ' || path;
    EXECUTE 'ALTER FUNCTION audit_append(deliveries[]) SET search_path = ' || path;
    EXECUTE 'ALTER FUNCTION audit_store(uuid, bigint, bytea, deliveries[], bigint[], bytea[], bytea[]) SET search_path = ' || path;
    -- audit_field is left alone: it calls only pg_catalog's functions, which
    -- are found first whatever the path, and a SET clause would stop it
    -- being inlined into the hash of every row.
END
$$;

---- create above / drop below ----

ALTER FUNCTION audit_store(uuid, bigint, bytea, deliveries[], bigint[], bytea[], bytea[]) RESET search_path;
ALTER FUNCTION audit_append(deliveries[]) RESET search_path;
ALTER FUNCTION audit_delivery_updates() RESET search_path;
ALTER FUNCTION audit_delivery_inserts() RESET search_path;
ALTER FUNCTION audit_delivery_updates() SECURITY INVOKER;
ALTER FUNCTION audit_delivery_inserts() SECURITY INVOKER;
GRANT EXECUTE ON FUNCTION audit_delivery_updates() TO PUBLIC;
GRANT EXECUTE ON FUNCTION audit_delivery_inserts() TO PUBLIC;
GRANT EXECUTE ON FUNCTION audit_store(uuid, bigint, bytea, deliveries[], bigint[], bytea[], bytea[]) TO PUBLIC;
GRANT EXECUTE ON FUNCTION audit_append(deliveries[]) TO PUBLIC;
DO $$
DECLARE
    s text := current_schema();
BEGIN
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I REVOKE USAGE, SELECT ON SEQUENCES FROM herald_service', s);
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM herald_service', s);
    EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA %I FROM herald_service', s);
    EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM herald_service', s);
    EXECUTE format('REVOKE USAGE ON SCHEMA %I FROM herald_service', s);
END
$$;
