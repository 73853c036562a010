-- Throttles: at most an event type's max notifications per recipient per
-- window. A page of an event's recipients counts them in its own
-- transaction, with the delivery rows it writes.
--
-- throttle_windows holds each recipient's count in their current fixed
-- window of the type. A page raises it with a conditional upsert (used <
-- max), so concurrent events of one type to one recipient queue on the row
-- and exactly max pass. A later window resets the row rather than adding
-- one, so the table holds a row per (tenant, type, recipient) and needs no
-- pruning.
CREATE TABLE throttle_windows (
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    event_type    text NOT NULL,
    user_id       text NOT NULL,
    window_start  timestamptz NOT NULL,
    used          integer NOT NULL CHECK (used > 0),
    PRIMARY KEY (tenant_id, event_type, user_id)
);

-- throttle_hits records each (event, recipient) counted and whether it
-- passed: a page run again (a retried activity) finds its decisions here
-- and counts nothing twice. It goes with its event.
CREATE TABLE throttle_hits (
    event_id  uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    user_id   text NOT NULL,
    admitted  boolean NOT NULL DEFAULT false,
    PRIMARY KEY (event_id, user_id)
);

---- create above / drop below ----

DROP TABLE throttle_hits;
DROP TABLE throttle_windows;
