-- The audit trail: every dispatch outcome (a delivery row reaching delivered,
-- failed, skipped or cancelled) appends a row, hash-chained per tenant: each
-- row stores the previous row's hash and its own, SHA-256 over the previous
-- hash and a canonical, length-prefixed encoding of the row (package audit
-- computes the same). Triggers on deliveries append in the same transaction
-- as the change, so every write path is covered and the trail never
-- disagrees with the log. Appends lock the tenant's head row once per
-- statement (a page writes 500 rows in one), which serialises each tenant's
-- chain. The trail outlives what it records: no foreign keys.
CREATE TABLE audit_log (
    id            bigserial PRIMARY KEY,
    tenant_id     uuid NOT NULL,
    seq           bigint NOT NULL,
    delivery_id   uuid NOT NULL,
    event_id      uuid NOT NULL,
    recipient     text NOT NULL,
    channel       text NOT NULL,
    status        text NOT NULL,
    reason        text NOT NULL,
    content_hash  bytea,
    at            timestamptz NOT NULL,
    prev_hash     bytea NOT NULL,
    hash          bytea NOT NULL,
    UNIQUE (tenant_id, seq)
);
CREATE INDEX audit_by_event ON audit_log (tenant_id, event_id, seq);
CREATE INDEX audit_by_recipient ON audit_log (tenant_id, recipient, seq);

-- Each tenant's last row: appends lock it, and a verifier compares the chain
-- it recomputes with it (a deleted last row shows here).
CREATE TABLE audit_heads (
    tenant_id  uuid PRIMARY KEY,
    seq        bigint NOT NULL,
    hash       bytea NOT NULL
);

CREATE FUNCTION audit_field(t text) RETURNS bytea LANGUAGE sql IMMUTABLE AS
$$ SELECT int4send(octet_length(convert_to(t, 'UTF8'))) || convert_to(t, 'UTF8') $$;

-- audit_append chains rows (ordered by tenant, then id) onto their tenants'
-- heads. The hashes are sequential, so they are computed in a loop, but the
-- rows of each tenant are inserted with one statement.
CREATE FUNCTION audit_append(rows deliveries[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    r deliveries;
    cur uuid;
    s bigint;
    h bytea;
    seqs bigint[] := '{}';
    prevs bytea[] := '{}';
    hashes bytea[] := '{}';
    batch deliveries[] := '{}';
BEGIN
    FOREACH r IN ARRAY rows LOOP
        IF cur IS DISTINCT FROM r.tenant_id THEN
            IF cur IS NOT NULL THEN
                PERFORM audit_store(cur, s, h, batch, seqs, prevs, hashes);
                seqs := '{}'; prevs := '{}'; hashes := '{}'; batch := '{}';
            END IF;
            cur := r.tenant_id;
            INSERT INTO audit_heads (tenant_id, seq, hash) VALUES (cur, 0, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea)
            ON CONFLICT (tenant_id) DO NOTHING;
            SELECT ah.seq, ah.hash INTO s, h FROM audit_heads ah WHERE ah.tenant_id = cur FOR UPDATE;
        END IF;
        s := s + 1;
        prevs := prevs || h;
        h := sha256(h
              || audit_field(s::text) || audit_field(r.tenant_id::text) || audit_field(r.id::text)
              || audit_field(r.event_id::text) || audit_field(r.user_id) || audit_field(r.channel)
              || audit_field(r.status) || audit_field(r.reason)
              || audit_field(encode(coalesce(r.content_hash, ''::bytea), 'hex'))
              || audit_field(to_char(r.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')));
        seqs := seqs || s;
        hashes := hashes || h;
        batch := batch || r;
    END LOOP;
    IF cur IS NOT NULL THEN
        PERFORM audit_store(cur, s, h, batch, seqs, prevs, hashes);
    END IF;
END
$$;

-- audit_store inserts one tenant's chained rows and moves its head.
CREATE FUNCTION audit_store(tenant uuid, last_seq bigint, last_hash bytea, rows deliveries[],
                            seqs bigint[], prevs bytea[], hashes bytea[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO audit_log (tenant_id, seq, delivery_id, event_id, recipient, channel, status, reason,
                           content_hash, at, prev_hash, hash)
    SELECT tenant, seqs[d.ordinality], d.id, d.event_id, d.user_id, d.channel, d.status, d.reason,
           d.content_hash, d.updated_at, prevs[d.ordinality], hashes[d.ordinality]
    FROM unnest(rows) WITH ORDINALITY AS d;
    UPDATE audit_heads SET seq = last_seq, hash = last_hash WHERE tenant_id = tenant;
$$;

CREATE FUNCTION audit_delivery_inserts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM audit_append(ARRAY(
        SELECT n::deliveries FROM new_rows n
        WHERE n.status IN ('delivered', 'failed', 'skipped', 'cancelled')
        ORDER BY n.tenant_id, n.id));
    RETURN NULL;
END
$$;

CREATE FUNCTION audit_delivery_updates() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM audit_append(ARRAY(
        SELECT n::deliveries FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE n.status IS DISTINCT FROM o.status AND n.status IN ('delivered', 'failed', 'skipped', 'cancelled')
        ORDER BY n.tenant_id, n.id));
    RETURN NULL;
END
$$;

CREATE TRIGGER deliveries_audit_inserts AFTER INSERT ON deliveries
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit_delivery_inserts();
CREATE TRIGGER deliveries_audit_updates AFTER UPDATE ON deliveries
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit_delivery_updates();

-- Append-only: rows are never changed or removed.
CREATE FUNCTION audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_refuse();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse();

---- create above / drop below ----

DROP TRIGGER deliveries_audit_updates ON deliveries;
DROP TRIGGER deliveries_audit_inserts ON deliveries;
DROP TABLE audit_log;
DROP TABLE audit_heads;
DROP FUNCTION audit_refuse();
DROP FUNCTION audit_delivery_updates();
DROP FUNCTION audit_delivery_inserts();
DROP FUNCTION audit_append(deliveries[]);
DROP FUNCTION audit_store(uuid, bigint, bytea, deliveries[], bigint[], bytea[], bytea[]);
DROP FUNCTION audit_field(text);
