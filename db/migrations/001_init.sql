-- Tenants, their API keys and their users.
CREATE TABLE tenants (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL,
    timezone    text NOT NULL DEFAULT 'UTC',
    -- Tenant defaults (preferences, lead threshold, rules); shape owned by the prefs package.
    settings    jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    -- The first characters of the key, to tell keys apart without revealing them.
    prefix      text NOT NULL,
    -- SHA-256 of the whole key: keys are 256-bit random, so a slow hash buys nothing.
    key_hash    bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

CREATE TABLE users (
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            text NOT NULL,
    email         text NOT NULL DEFAULT '',
    name          text NOT NULL DEFAULT '',
    timezone      text NOT NULL DEFAULT '',
    role          text NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'member', 'executive')),
    slack_user_id text NOT NULL DEFAULT '',
    preferences   jsonb NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX users_by_role ON users (tenant_id, role, id);

-- Tenant-defined event types and overrides of built-in ones; built-ins live in code.
CREATE TABLE event_types (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    key         text NOT NULL,
    definition  jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, key)
);

CREATE TABLE events (
    id              uuid PRIMARY KEY,
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    type            text NOT NULL,
    idempotency_key text NOT NULL,
    -- SHA-256 of the canonical request, to tell a retry from a different event reusing a key.
    request_hash    bytea NOT NULL,
    recipients      jsonb NOT NULL,
    data            jsonb NOT NULL DEFAULT '{}',
    urgent          boolean NOT NULL DEFAULT false,
    link            text NOT NULL DEFAULT '',
    send_at         timestamptz,
    workflow_id     text NOT NULL,
    status          text NOT NULL DEFAULT 'pending',
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, idempotency_key)
);
CREATE INDEX events_by_tenant ON events (tenant_id, created_at DESC);

CREATE TABLE deliveries (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    event_id      uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    user_id       text NOT NULL,
    channel       text NOT NULL CHECK (channel IN ('in_app', 'email', 'slack', 'webhook')),
    status        text NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'delivered', 'failed', 'skipped', 'cancelled')),
    reason        text NOT NULL DEFAULT '',
    attempts      integer NOT NULL DEFAULT 0,
    not_before    timestamptz,
    delivered_at  timestamptz,
    error         text NOT NULL DEFAULT '',
    content_hash  bytea,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    -- One row per recipient and channel: a retried activity can never add a second.
    UNIQUE (event_id, user_id, channel)
);
CREATE INDEX deliveries_by_tenant_status ON deliveries (tenant_id, status, created_at DESC);

CREATE TABLE notifications (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id      text NOT NULL,
    event_id     uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    -- One inbox item per in-app delivery, however often the activity runs.
    delivery_id  uuid NOT NULL UNIQUE REFERENCES deliveries (id) ON DELETE CASCADE,
    type         text NOT NULL,
    title        text NOT NULL,
    body         text NOT NULL DEFAULT '',
    link         text NOT NULL DEFAULT '',
    data         jsonb NOT NULL DEFAULT '{}',
    read_at      timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notifications_inbox ON notifications (tenant_id, user_id, created_at DESC, id DESC);
CREATE INDEX notifications_unread ON notifications (tenant_id, user_id) WHERE read_at IS NULL;

---- create above / drop below ----

DROP TABLE notifications;
DROP TABLE deliveries;
DROP TABLE events;
DROP TABLE event_types;
DROP TABLE users;
DROP TABLE api_keys;
DROP TABLE tenants;
