-- Approvals. The row is what the client asked for (and the hash of its body,
-- so a repeated id with another body is refused) and, once the Approval
-- workflow ends, its outcome: the API answers a closed approval from here,
-- and a second decision finds it decided.
CREATE TABLE approvals (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           text NOT NULL,
    request_hash bytea NOT NULL,
    title        text NOT NULL,
    description  text NOT NULL DEFAULT '',
    requester    text NOT NULL,
    link         text NOT NULL DEFAULT '',
    -- [{approvers: [user ids], timeout: "24h"}], as the client sent them.
    levels       jsonb NOT NULL,
    remind_every text NOT NULL DEFAULT '',
    callback_url text NOT NULL DEFAULT '',
    status       text NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'approved', 'rejected', 'expired', 'withdrawn')),
    decided_by   text NOT NULL DEFAULT '',
    comment      text NOT NULL DEFAULT '',
    closed_at    timestamptz,
    -- When the last level times out: links expire then.
    expires_at   timestamptz NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);

-- What happened to an approval, in order: who was asked, reminded,
-- escalated to, who decided and how, the callback's fate. Each row's key is
-- the idempotency key of what it records, so a retried activity writes it
-- once.
CREATE TABLE approval_history (
    tenant_id   uuid NOT NULL,
    approval_id text NOT NULL,
    key         text NOT NULL,
    kind        text NOT NULL,
    level       integer NOT NULL DEFAULT 0,
    user_id     text NOT NULL DEFAULT '',
    detail      text NOT NULL DEFAULT '',
    at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, approval_id, key),
    FOREIGN KEY (tenant_id, approval_id) REFERENCES approvals (tenant_id, id) ON DELETE CASCADE
);

---- create above / drop below ----

DROP TABLE approval_history;
DROP TABLE approvals;
