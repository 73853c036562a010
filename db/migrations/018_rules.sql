-- Rules. An event Herald emits on its own behalf (a rule firing, a batch, an
-- experiment, an approval) names the event it came from.
ALTER TABLE events ADD COLUMN source_event_id uuid;

-- rule_state is what a rule remembers per key ("the same thing": a
-- campaign, a connection, a lead, a metric and period): when it last fired
-- (once, once per a cooldown) or the last value it saw (on_change). Each
-- firing is decided by one conditional upsert of the key's row, so two
-- concurrent breaches cannot both fire.
CREATE TABLE rule_state (
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    rule            text NOT NULL,
    key             text NOT NULL,
    value           text,
    fired_at        timestamptz,
    source_event_id uuid NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, rule, key)
);

-- rule_outcomes says, per input event and rule, whether the rule fired and
-- why not: GET /v1/events/{id} shows it. An evaluation that is retried
-- finds its outcome here and repeats it instead of deciding again.
CREATE TABLE rule_outcomes (
    event_id         uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    rule             text NOT NULL,
    fired            boolean NOT NULL,
    reason           text NOT NULL,
    detail           text NOT NULL DEFAULT '',
    emitted_type     text NOT NULL DEFAULT '',
    emitted_event_id uuid,
    evaluated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, rule)
);

---- create above / drop below ----

DROP TABLE rule_outcomes;
DROP TABLE rule_state;
ALTER TABLE events DROP COLUMN source_event_id;
