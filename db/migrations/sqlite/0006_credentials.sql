-- Credentials: an application's ways to authenticate, a list of one or more.
-- This release has one kind, the client secret; its hash, its reveal window
-- and its encrypted copy move here from applications. Times are unix
-- milliseconds, UTC.
CREATE TABLE credentials (
	id              INTEGER PRIMARY KEY,
	application_id  INTEGER NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
	public_id       TEXT    NOT NULL, -- the short id people, tokens ("cred") and the CLI use
	kind            TEXT    NOT NULL CHECK (kind IN ('client_secret')),
	secret_hash     BLOB,             -- HMAC-SHA-256 of a client secret
	hint            TEXT    NOT NULL, -- "tss_…a1b2"; '' until the secret is next used
	migrated        INTEGER NOT NULL, -- 1: the secret the application had at the upgrade
	rotated         INTEGER NOT NULL, -- 1: made by a rotation, so its first use is recorded
	created_at      INTEGER NOT NULL,
	created_by      TEXT    NOT NULL,
	expires_at      INTEGER,
	expiry_recorded INTEGER NOT NULL DEFAULT 0,
	revoke_at       INTEGER,          -- the end of a rotation's grace period
	revoked_at      INTEGER,
	revoked_by      TEXT,
	revoke_reason   TEXT,
	leaked_at       INTEGER,          -- reported leaked, kept working by the account's choice
	last_used_at    INTEGER,
	reveal_until    INTEGER,          -- NULL once the reveal window has ended
	-- padding and ciphertext must stay the last two columns, in this order:
	-- see applications in 0001_init.sql and EraseExpiredSecrets.
	padding         BLOB,
	ciphertext      BLOB,
	UNIQUE (application_id, public_id)
);

-- A leak report finds its secret by hash, in any account.
CREATE INDEX credentials_secret_hash ON credentials (secret_hash) WHERE secret_hash IS NOT NULL;
CREATE INDEX credentials_reveal ON credentials (reveal_until) WHERE reveal_until IS NOT NULL;
-- The sweeper's deadlines, and the Applications list's "expiring soon".
CREATE INDEX credentials_revoke_at ON credentials (revoke_at) WHERE revoke_at IS NOT NULL AND revoked_at IS NULL;
CREATE INDEX credentials_expires_at ON credentials (expires_at, application_id) WHERE expires_at IS NOT NULL AND revoked_at IS NULL;

-- Every application's secret, with its reveal window and encrypted copy.
-- It was made when the application was created or its secret last reset.
INSERT INTO credentials (application_id, public_id, kind, secret_hash, hint, migrated, rotated,
	created_at, created_by, last_used_at, reveal_until, padding, ciphertext)
SELECT a.id, lower(hex(randomblob(5))), 'client_secret', a.secret_hash, '', 1, 0,
	coalesce((SELECT max(e.at) FROM events e
		WHERE e.account_id = a.account_id AND e.client_id = a.client_id AND e.action = 'secret.reset'), a.created_at),
	coalesce((SELECT coalesce(nullif(e.actor_email, ''), e.actor_subject) FROM events e
		WHERE e.account_id = a.account_id AND e.client_id = a.client_id AND e.action = 'secret.reset'
		ORDER BY e.id DESC LIMIT 1), a.created_by),
	(SELECT l.issued_at FROM token_last_issued l WHERE l.application_id = a.id),
	a.secret_reveal_until,
	CASE WHEN a.secret_ciphertext IS NOT NULL THEN zeroblob((SELECT page_size FROM pragma_page_size())) END,
	a.secret_ciphertext
FROM applications a;

-- The columns rewrite every row; secure_delete (set on every connection)
-- zeroes what they held.
DROP INDEX applications_secret_reveal;
ALTER TABLE applications DROP COLUMN secret_ciphertext;
ALTER TABLE applications DROP COLUMN secret_padding;
ALTER TABLE applications DROP COLUMN secret_reveal_until;
ALTER TABLE applications DROP COLUMN secret_hash;

-- Per-account settings an admin chooses on the Settings page.
CREATE TABLE account_settings (
	account_id          TEXT    PRIMARY KEY,
	max_secret_lifetime INTEGER,          -- days; NULL: secrets need not expire
	leak_action         TEXT    NOT NULL CHECK (leak_action IN ('revoke', 'notify')),
	version             INTEGER NOT NULL,
	updated_at          INTEGER NOT NULL,
	updated_by          TEXT    NOT NULL
);
