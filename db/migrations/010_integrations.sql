-- A tenant's Slack and outbound-webhook integrations. What is not secret
-- (Slack routes, which secrets are set, the webhook URL's event types) is
-- plain JSON the delivery planner reads; secrets (the Slack webhook URL and
-- bot token, webhook signing secrets) are sealed with a key derived from
-- HERALD_SIGNING_KEY and bound to tenant and kind, and only the activities
-- that send open them.
CREATE TABLE integrations (
    tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind             text NOT NULL CHECK (kind IN ('slack', 'webhook')),
    config           jsonb NOT NULL DEFAULT '{}',
    secrets          text NOT NULL DEFAULT '',
    -- A webhook endpoint that answered 410 Gone is disabled until the next PUT.
    disabled_at      timestamptz,
    disabled_reason  text NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, kind)
);

---- create above / drop below ----

DROP TABLE integrations;
