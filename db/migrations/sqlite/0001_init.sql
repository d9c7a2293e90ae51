-- Applications of every account. Times are unix milliseconds, UTC.
CREATE TABLE applications (
	id                  INTEGER PRIMARY KEY,
	account_id          TEXT    NOT NULL,
	client_id           TEXT    NOT NULL UNIQUE,
	name                TEXT    NOT NULL,
	name_lower          TEXT    NOT NULL, -- lower-cased in Go: the list's sort and filter key
	secret_hash         BLOB    NOT NULL,
	secret_reveal_until INTEGER,          -- NULL once the reveal window has ended
	secret_generation   INTEGER NOT NULL,
	version             INTEGER NOT NULL,
	created_at          INTEGER NOT NULL,
	created_by          TEXT    NOT NULL,
	updated_at          INTEGER NOT NULL,
	updated_by          TEXT    NOT NULL,
	-- secret_padding (a zeroblob of one page) and secret_ciphertext must stay
	-- the last two columns, in this order: the padding pushes the ciphertext
	-- onto overflow pages, which SQLite never copies around inside the file, so
	-- with secure_delete erasing the ciphertext leaves no copy behind. See
	-- EraseExpiredSecrets.
	secret_padding      BLOB,
	secret_ciphertext   BLOB
);

-- Keyset pagination of one account's applications by name.
CREATE INDEX applications_account_name ON applications (account_id, name_lower, client_id);

-- The sweep that erases ended reveal windows reads only the rows that have one.
CREATE INDEX applications_secret_reveal ON applications (secret_reveal_until)
	WHERE secret_reveal_until IS NOT NULL;

CREATE TABLE application_scopes (
	application_id INTEGER NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
	scope_key      TEXT    NOT NULL,
	access         TEXT    NOT NULL CHECK (access IN ('read', 'read-write')),
	PRIMARY KEY (application_id, scope_key)
);

-- Portal sessions, keyed by the SHA-256 (hex) of the random id the cookie carries.
CREATE TABLE sessions (
	id_hash    TEXT    PRIMARY KEY,
	data       BLOB    NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
);

CREATE INDEX sessions_expires_at ON sessions (expires_at);
