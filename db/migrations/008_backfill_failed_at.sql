---- tern: disable-tx ----
-- Failed deliveries from before failed_at existed, so ?status=failed (served
-- by the partial index on failed_at) lists them. Outside a transaction: the
-- update locks only the failed rows, not the table.
UPDATE deliveries SET failed_at = updated_at WHERE status = 'failed' AND failed_at IS NULL;

---- create above / drop below ----

SELECT 1;
