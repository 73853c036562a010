-- A delivery row is updated once or twice after insert (pending to delivered
-- or failed). With status in an index every such update wrote a new entry in
-- every index of the table; without it, and with room left on each page, the
-- update is a heap-only (HOT) one. Listing by status filters the tenant's
-- time-ordered index instead.
DROP INDEX deliveries_by_tenant_status;
CREATE INDEX deliveries_by_tenant ON deliveries (tenant_id, created_at DESC, id DESC);
ALTER TABLE deliveries SET (fillfactor = 80);

---- create above / drop below ----

ALTER TABLE deliveries RESET (fillfactor);
DROP INDEX deliveries_by_tenant;
CREATE INDEX deliveries_by_tenant_status ON deliveries (tenant_id, status, created_at DESC);
