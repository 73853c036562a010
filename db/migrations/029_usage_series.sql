-- usage_series is what the usage rules (usage_trend, usage_projection)
-- remember of a metric: per billing period, its first and its latest
-- reading, value and time. A pace needs no more, so a metric reported every
-- minute still costs one row per period; each metric keeps its newest few
-- periods (the one being measured and the one it is compared with).
CREATE TABLE usage_series (
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    metric     text NOT NULL,
    period     text NOT NULL,
    first_used double precision NOT NULL,
    first_at   timestamptz NOT NULL,
    last_used  double precision NOT NULL,
    last_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, metric, period)
);

-- usage_facts holds what a reading was found to say (its pace, growth and
-- projection) the first time its rules ran: a retried evaluation emits the
-- same alert with the same data, even after later readings moved the series.
CREATE TABLE usage_facts (
    event_id uuid PRIMARY KEY REFERENCES events (id) ON DELETE CASCADE,
    facts    jsonb NOT NULL
);

---- create above / drop below ----

DROP TABLE usage_facts;
DROP TABLE usage_series;
