-- An escalated delivery (the event type's escalate.to) records the channel
-- it escalates from: it is held until escalate.after and sent only if the
-- recipient's item on that channel is still unread. NULL for every other
-- row; a nullable column with no default rewrites nothing.
ALTER TABLE deliveries ADD COLUMN escalated_from text;

-- Whether the recipient has acted on the item a delivery escalates: read,
-- seen, archived, or snoozed past now. The item is found through the
-- (event, user, channel) key and its delivery, two unique-index probes.
-- One home for the rule, which both queries of waiting deliveries ask.
-- Its parameters are named apart from every column: in a SQL function a
-- column of the same name would win.
CREATE FUNCTION escalation_acknowledged(ev uuid, recipient text, from_channel text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT from_channel IS NOT NULL AND EXISTS (
        SELECT 1 FROM deliveries i JOIN notifications n ON n.delivery_id = i.id
        WHERE i.event_id = ev AND i.user_id = recipient AND i.channel = from_channel
          AND (n.read_at IS NOT NULL OR n.seen_at IS NOT NULL OR n.archived_at IS NOT NULL
               OR n.snoozed_until > now()))
$$;

---- create above / drop below ----

DROP FUNCTION escalation_acknowledged(uuid, text, text);
ALTER TABLE deliveries DROP COLUMN escalated_from;
