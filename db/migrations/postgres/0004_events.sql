-- The audit trail: one row per change, written in the change's transaction.
-- Never a secret or a token. Times are unix milliseconds, UTC.
CREATE TABLE events (
	-- Increases with time: the order and the page cursor. Every event is
	-- written under the write lock (see pool.BeginTx), so ids are taken
	-- and committed in the same order.
	id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	account_id       TEXT   COLLATE "C" NOT NULL,
	at               BIGINT NOT NULL,
	action           TEXT   COLLATE "C" NOT NULL,
	actor_subject    TEXT   COLLATE "C" NOT NULL,
	actor_email      TEXT   NOT NULL,
	address          TEXT   NOT NULL,
	user_agent       TEXT   NOT NULL,
	client_id        TEXT   COLLATE "C" NOT NULL, -- '' for sign-in and sign-out
	application_name TEXT   NOT NULL,
	details          TEXT   NOT NULL, -- JSON: the name and scopes before and after
	-- The submission id of the form that made the change, on the change's
	-- first event: a form posted twice is recognised and done once.
	form_key         TEXT   COLLATE "C"
);

-- Newest first, for the whole account or narrowed by one filter; the other
-- filters are checked on the rows the index gives.
CREATE INDEX events_account ON events (account_id, id);
CREATE INDEX events_account_action ON events (account_id, action, id);
CREATE INDEX events_account_actor ON events (account_id, actor_subject, id);
CREATE INDEX events_account_client ON events (account_id, client_id, id);
CREATE UNIQUE INDEX events_form_key ON events (account_id, form_key) WHERE form_key IS NOT NULL;

-- Who appears in an account's trail: the person filter's choices, without
-- reading a million events.
CREATE TABLE event_actors (
	account_id TEXT   COLLATE "C" NOT NULL,
	subject    TEXT   COLLATE "C" NOT NULL,
	email      TEXT   COLLATE "C" NOT NULL,
	last_at    BIGINT NOT NULL,
	PRIMARY KEY (account_id, subject)
);
