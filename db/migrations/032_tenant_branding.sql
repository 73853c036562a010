-- How a tenant's notifications present themselves (product name, logo,
-- accent colour, From name, Reply-To, footer); shape owned by the branding
-- package. '{}' is Herald's own look.
ALTER TABLE tenants ADD COLUMN branding jsonb NOT NULL DEFAULT '{}';

---- create above / drop below ----

ALTER TABLE tenants DROP COLUMN branding;
