-- The Applications list's orders, each read in an index of its own so that
-- every one pages by keyset: by name (natural: name_key, written in Go by
-- db.NameSortKey, which fills it for existing rows after this script), by
-- creation and by last use (written with the token counts, never per
-- grant). name_lower rides along so that a filter is checked in the index.
ALTER TABLE applications ADD COLUMN name_key TEXT NOT NULL DEFAULT '';

CREATE INDEX applications_account_name_key ON applications (account_id, name_key, client_id, name_lower);
CREATE INDEX applications_account_created ON applications (account_id, created_at, client_id, name_lower);
CREATE INDEX applications_account_last_used ON applications (account_id, coalesce(last_used_at, 0), client_id, name_lower);
