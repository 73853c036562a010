-- A deleted user's open inbox streams end on every API process: the
-- deletion is published on herald_inbox ('d:<tenant>:<user>'), in the
-- deleting transaction, so it reaches the listeners before any item of a
-- user created later with the same ID. A trigger, so every way of deleting
-- a user (a tenant's deletion cascading too) publishes it.
CREATE FUNCTION users_notify_deletes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('herald_inbox', 'd:' || o.tenant_id || ':' || o.id) FROM old_rows o;
    RETURN NULL;
END $$;

CREATE TRIGGER users_notify_deletes AFTER DELETE ON users
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION users_notify_deletes();

---- create above / drop below ----

DROP TRIGGER users_notify_deletes ON users;
DROP FUNCTION users_notify_deletes();
