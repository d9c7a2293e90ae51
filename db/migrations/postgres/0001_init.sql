-- PostgreSQL twin of migrations/sqlite/0001_init.sql: the same tables,
-- columns, constraints and indexes. Times are unix milliseconds, UTC
-- (BIGINT). Text that is sorted or compared in a keyset is COLLATE "C", so
-- it orders bytewise as in SQLite, whatever the database's locale.
CREATE TABLE applications (
	id                  BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	account_id          TEXT    COLLATE "C" NOT NULL,
	client_id           TEXT    COLLATE "C" NOT NULL UNIQUE,
	name                TEXT    NOT NULL,
	name_lower          TEXT    COLLATE "C" NOT NULL, -- lower-cased in Go: the list's sort and filter key
	secret_hash         BYTEA   NOT NULL,
	secret_reveal_until BIGINT,                       -- NULL once the reveal window has ended
	secret_generation   INTEGER NOT NULL,
	version             INTEGER NOT NULL,
	created_at          BIGINT  NOT NULL,
	created_by          TEXT    NOT NULL,
	updated_at          BIGINT  NOT NULL,
	updated_by          TEXT    NOT NULL,
	-- Always NULL here: the padding arranges SQLite's file layout for
	-- secure deletion (see EraseExpiredSecrets); kept for the same columns.
	secret_padding      BYTEA,
	secret_ciphertext   BYTEA
);

-- Keyset pagination of one account's applications by name.
CREATE INDEX applications_account_name ON applications (account_id, name_lower, client_id);

-- The sweep that erases ended reveal windows reads only the rows that have one.
CREATE INDEX applications_secret_reveal ON applications (secret_reveal_until)
	WHERE secret_reveal_until IS NOT NULL;

CREATE TABLE application_scopes (
	application_id BIGINT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
	scope_key      TEXT   COLLATE "C" NOT NULL,
	access         TEXT   NOT NULL CHECK (access IN ('read', 'read-write')),
	PRIMARY KEY (application_id, scope_key)
);

-- Portal sessions, keyed by the SHA-256 (hex) of the random id the cookie carries.
CREATE TABLE sessions (
	id_hash    TEXT   PRIMARY KEY,
	data       BYTEA  NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
);

CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- PostgreSQL only: the change mark of the token endpoint's client cache
-- (see db/client_cache.go). Its one row's counter goes up, in the same
-- transaction, with every change to what the cache holds: an application
-- added or deleted, its client ID, account, secret hash or generation
-- changed, its scopes changed. So a replica that reads the counter before
-- it reads an application never keeps serving what another replica has
-- changed since.
CREATE TABLE client_changes (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	n  BIGINT  NOT NULL
);
INSERT INTO client_changes (id, n) VALUES (1, 0);

CREATE FUNCTION client_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE client_changes SET n = n + 1 WHERE id = 1;
	RETURN NULL;
END
$$;

CREATE TRIGGER applications_added_or_deleted
	AFTER INSERT OR DELETE OR TRUNCATE ON applications
	FOR EACH STATEMENT EXECUTE FUNCTION client_changed();

-- Renames and the reveal-window sweep leave the cache alone. The columns
-- listed must be every column of applications the token endpoint reads.
CREATE TRIGGER applications_client_changed
	AFTER UPDATE ON applications
	FOR EACH ROW
	WHEN ((OLD.id, OLD.account_id, OLD.client_id, OLD.secret_hash, OLD.secret_generation)
		IS DISTINCT FROM (NEW.id, NEW.account_id, NEW.client_id, NEW.secret_hash, NEW.secret_generation))
	EXECUTE FUNCTION client_changed();

CREATE TRIGGER application_scopes_changed
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON application_scopes
	FOR EACH STATEMENT EXECUTE FUNCTION client_changed();
