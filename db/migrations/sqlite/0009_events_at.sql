-- The Activity page's time range: the first event at or after a moment,
-- whose id bounds the range in the account's indexes, which page by id.
CREATE INDEX events_at ON events (at, id);
