-- PostgreSQL twin of migrations/sqlite/0008_application_orders.sql. name_key
-- is not a column the client cache's trigger watches (see 0006).
ALTER TABLE applications ADD COLUMN name_key TEXT COLLATE "C" NOT NULL DEFAULT '';

CREATE INDEX applications_account_name_key ON applications (account_id, name_key, client_id, name_lower);
CREATE INDEX applications_account_created ON applications (account_id, created_at, client_id, name_lower);
CREATE INDEX applications_account_last_used ON applications (account_id, (coalesce(last_used_at, 0)), client_id, name_lower);
