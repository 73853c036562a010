-- A user's language (BCP 47, canonical as the API stores it): which variant
-- of the templates they read, and how numbers and dates are written for
-- them. '' means the tenant's default locale.
ALTER TABLE users ADD COLUMN locale text NOT NULL DEFAULT '';

---- create above / drop below ----

ALTER TABLE users DROP COLUMN locale;
