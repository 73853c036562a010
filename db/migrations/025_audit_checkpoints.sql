-- Signed checkpoints of the audit chains: each says that a tenant's chain
-- had seq rows ending in hash at a time, with an HMAC-SHA256 under a key
-- derived from HERALD_SIGNING_KEY (package audit). The database owner can
-- rewrite a chain and its head consistently, but cannot sign: a verify
-- compares the chain with every checkpoint stored here and with one a
-- client kept, and a rewrite of anything a checkpoint covers shows.
-- key_id names the key that signed (a hash of it), so checkpoints made
-- before HERALD_SIGNING_KEY was rotated are told apart from forgeries.
CREATE TABLE audit_checkpoints (
    tenant_id  uuid NOT NULL,
    seq        bigint NOT NULL,
    hash       bytea NOT NULL,
    at         timestamptz NOT NULL,
    key_id     bytea NOT NULL,
    signature  bytea NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);

-- The service signs and adds checkpoints; none is changed or removed. The
-- refusal names the table it guards, now that it guards two.
CREATE OR REPLACE FUNCTION audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$;
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_checkpoints FROM herald_service;
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_refuse();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse();

---- create above / drop below ----

DROP TABLE audit_checkpoints;
CREATE OR REPLACE FUNCTION audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END
$$;
