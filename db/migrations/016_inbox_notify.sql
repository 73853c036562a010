-- Real-time inbox: every change to inbox items is published, in the same
-- transaction, on the herald_inbox channel that each API process listens
-- to. A new item names itself ('n:<tenant>:<id>:<user>'); changes of state
-- name the user once per statement ('s:<tenant>:<user>'), however many of
-- their items a bulk update touched. The user ID goes last: it may hold ':'.
CREATE FUNCTION inbox_notify_inserts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('herald_inbox', 'n:' || n.tenant_id || ':' || n.id || ':' || n.user_id) FROM new_rows n;
    RETURN NULL;
END $$;

CREATE FUNCTION inbox_notify_updates() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('herald_inbox', 's:' || u.tenant_id || ':' || u.user_id)
    FROM (SELECT DISTINCT tenant_id, user_id FROM new_rows) u;
    RETURN NULL;
END $$;

CREATE TRIGGER notifications_notify_inserts AFTER INSERT ON notifications
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION inbox_notify_inserts();
CREATE TRIGGER notifications_notify_updates AFTER UPDATE ON notifications
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION inbox_notify_updates();

---- create above / drop below ----

DROP TRIGGER notifications_notify_updates ON notifications;
DROP TRIGGER notifications_notify_inserts ON notifications;
DROP FUNCTION inbox_notify_updates();
DROP FUNCTION inbox_notify_inserts();
