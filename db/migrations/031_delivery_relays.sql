-- Which SMTP relay accepted an email (host:port, never credentials), when
-- HERALD_SMTP_URL lists several: NULL for other channels and for rows
-- delivered before relays were recorded.
ALTER TABLE deliveries ADD COLUMN relay text;

---- create above / drop below ----

ALTER TABLE deliveries DROP COLUMN relay;
