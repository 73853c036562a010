-- Every definition a tenant stores for an event type, numbered per tenant
-- and key, so that a bad edit can be rolled back by PUTting an older one
-- again. Only the last few are kept (the API trims on every PUT).
CREATE TABLE event_type_versions (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    key         text NOT NULL,
    version     integer NOT NULL,
    definition  jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, key, version)
);

-- The definitions stored before versions were kept are each one's first.
INSERT INTO event_type_versions (tenant_id, key, version, definition, created_at)
SELECT tenant_id, key, 1, definition, updated_at FROM event_types;

---- create above / drop below ----

DROP TABLE event_type_versions;
