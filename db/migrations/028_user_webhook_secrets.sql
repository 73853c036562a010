-- Each user's own webhook endpoint (the preference channels.webhook.url) is
-- signed with a secret of its own, not the tenant's: a message a user
-- receives must not verify at the tenant's endpoint. The secrets (current,
-- and the previous one during a rotation) are sealed with a key derived
-- from HERALD_SIGNING_KEY and bound to the tenant and user; '' is none.
ALTER TABLE users ADD COLUMN webhook_secrets text NOT NULL DEFAULT '';

---- create above / drop below ----

ALTER TABLE users DROP COLUMN webhook_secrets;
