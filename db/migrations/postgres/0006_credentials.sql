-- PostgreSQL twin of migrations/sqlite/0006_credentials.sql.
CREATE TABLE credentials (
	id              BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	application_id  BIGINT  NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
	public_id       TEXT    COLLATE "C" NOT NULL,
	kind            TEXT    NOT NULL CHECK (kind IN ('client_secret')),
	secret_hash     BYTEA,
	hint            TEXT    NOT NULL,
	migrated        INTEGER NOT NULL,
	rotated         INTEGER NOT NULL,
	created_at      BIGINT  NOT NULL,
	created_by      TEXT    NOT NULL,
	expires_at      BIGINT,
	expiry_recorded INTEGER NOT NULL DEFAULT 0,
	revoke_at       BIGINT,
	revoked_at      BIGINT,
	revoked_by      TEXT,
	revoke_reason   TEXT,
	leaked_at       BIGINT,
	last_used_at    BIGINT,
	reveal_until    BIGINT,
	padding         BYTEA, -- always NULL here, as in applications
	ciphertext      BYTEA,
	UNIQUE (application_id, public_id)
);

CREATE INDEX credentials_secret_hash ON credentials (secret_hash) WHERE secret_hash IS NOT NULL;
CREATE INDEX credentials_reveal ON credentials (reveal_until) WHERE reveal_until IS NOT NULL;
CREATE INDEX credentials_revoke_at ON credentials (revoke_at) WHERE revoke_at IS NOT NULL AND revoked_at IS NULL;
CREATE INDEX credentials_expires_at ON credentials (expires_at, application_id) WHERE expires_at IS NOT NULL AND revoked_at IS NULL;

INSERT INTO credentials (application_id, public_id, kind, secret_hash, hint, migrated, rotated,
	created_at, created_by, last_used_at, reveal_until, ciphertext)
SELECT a.id, substr(md5(random()::text || a.id::text), 1, 10), 'client_secret', a.secret_hash, '', 1, 0,
	coalesce((SELECT max(e.at) FROM events e
		WHERE e.account_id = a.account_id AND e.client_id = a.client_id AND e.action = 'secret.reset'), a.created_at),
	coalesce((SELECT coalesce(nullif(e.actor_email, ''), e.actor_subject) FROM events e
		WHERE e.account_id = a.account_id AND e.client_id = a.client_id AND e.action = 'secret.reset'
		ORDER BY e.id DESC LIMIT 1), a.created_by),
	(SELECT l.issued_at FROM token_last_issued l WHERE l.application_id = a.id),
	a.secret_reveal_until, a.secret_ciphertext
FROM applications a;

-- The client cache's change mark (see 0001_init.sql) now also moves with
-- every change to what the token endpoint reads of a credential.
DROP TRIGGER applications_client_changed ON applications;
CREATE TRIGGER applications_client_changed
	AFTER UPDATE ON applications
	FOR EACH ROW
	WHEN ((OLD.id, OLD.account_id, OLD.client_id, OLD.secret_generation)
		IS DISTINCT FROM (NEW.id, NEW.account_id, NEW.client_id, NEW.secret_generation))
	EXECUTE FUNCTION client_changed();

CREATE TRIGGER credentials_added_or_deleted
	AFTER INSERT OR DELETE OR TRUNCATE ON credentials
	FOR EACH STATEMENT EXECUTE FUNCTION client_changed();

CREATE TRIGGER credentials_client_changed
	AFTER UPDATE ON credentials
	FOR EACH ROW
	WHEN ((OLD.public_id, OLD.secret_hash, OLD.migrated, OLD.expires_at, OLD.revoke_at, OLD.revoked_at)
		IS DISTINCT FROM (NEW.public_id, NEW.secret_hash, NEW.migrated, NEW.expires_at, NEW.revoke_at, NEW.revoked_at))
	EXECUTE FUNCTION client_changed();

DROP INDEX applications_secret_reveal;
ALTER TABLE applications DROP COLUMN secret_ciphertext;
ALTER TABLE applications DROP COLUMN secret_padding;
ALTER TABLE applications DROP COLUMN secret_reveal_until;
ALTER TABLE applications DROP COLUMN secret_hash;

CREATE TABLE account_settings (
	account_id          TEXT    COLLATE "C" PRIMARY KEY,
	max_secret_lifetime INTEGER,
	leak_action         TEXT    NOT NULL CHECK (leak_action IN ('revoke', 'notify')),
	version             INTEGER NOT NULL,
	updated_at          BIGINT  NOT NULL,
	updated_by          TEXT    NOT NULL
);
