-- A store's day is its local day (issue 19): "today", the sales of a day and the dashboard
-- use the store's IANA time zone. Mexico's central zone unless set otherwise. Sales stored
-- before this keep the UTC day they were given.
ALTER TABLE stores ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'America/Mexico_City';
