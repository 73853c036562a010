-- Delivery engine v3. A delivery that a channel deferred (a 4xx, a refused
-- connection, a timeout before anything was sent) waits in the database for
-- its next try, as a quiet-hours delivery does: pending, with not_before.
-- Its event's workflow sleeps on one durable timer until the earliest, so no
-- activity holds a dead endpoint's batch for hours and no other channel
-- waits behind it. tries counts the tries of the current schedule: it
-- picks the next wait and runs the schedule out, and an operator's retry
-- starts it again (attempts keeps counting every try, for the log).
-- A constant default adds the column without rewriting the table.
ALTER TABLE deliveries ADD COLUMN tries smallint NOT NULL DEFAULT 0;

---- create above / drop below ----

ALTER TABLE deliveries DROP COLUMN tries;
