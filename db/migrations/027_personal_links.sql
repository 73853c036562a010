-- Personal links are not stored. An event that gives its recipient a link
-- of their own (an approver's) describes it in personal_link, and each send
-- to that recipient's own email, Slack DM or in-app item mints the token
-- then; events.link, and so every inbox item, holds only the link anyone may
-- see (the approval's own). NULL: no personal link.
ALTER TABLE events ADD COLUMN personal_link jsonb;

-- Approval notices emitted before this stored the approver's link in
-- events.link, and their inbox items copied it: describe it instead and keep
-- the approval's own link. The token minted from the description opens the
-- same page; those already emailed keep working.
UPDATE events e
SET personal_link = jsonb_build_object('kind', 'approval', 'approval_id', a.id,
        'approver', e.recipients->'users'->>0,
        'expires', to_char(a.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')),
    link = a.link
FROM approvals a
WHERE e.type IN ('approval.requested', 'approval.reminder', 'approval.escalated')
  AND e.idempotency_key LIKE 'approval:%' AND e.link LIKE '%/a/%'
  AND a.tenant_id = e.tenant_id AND a.id = e.data->>'approval_id';

UPDATE notifications n SET link = e.link
FROM events e
WHERE e.id = n.event_id AND e.personal_link IS NOT NULL AND n.link <> e.link;

---- create above / drop below ----

ALTER TABLE events DROP COLUMN personal_link;
