-- A tenant's suppression list: addresses that refused mail for good (a 5xx
-- for the recipient) or whose owner complained. Email to a listed address is
-- skipped with reason suppressed when its delivery is claimed. Addresses are
-- stored lower-cased, so the list is case-insensitive without an expression
-- index, and the claim probes it with the recipient's current address: a
-- user whose address changes is not suppressed by the old one.
CREATE TABLE suppressions (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    address      text NOT NULL CHECK (address = lower(address) AND address <> ''),
    reason       text NOT NULL CHECK (reason IN ('bounce', 'complaint')),
    -- The delivery whose rejection listed the address (none for a complaint).
    -- No foreign key: the entry outlives the delivery log's retention.
    delivery_id  uuid,
    -- The reply code that listed it, e.g. "SMTP 550 5.1.1"; '' for a complaint.
    detail       text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, address)
);
-- The list's pages, newest first.
CREATE INDEX suppressions_by_tenant ON suppressions (tenant_id, created_at DESC, id DESC);

---- create above / drop below ----

DROP TABLE suppressions;
