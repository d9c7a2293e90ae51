-- Token-signing keys. The private key is AES-256-GCM under a key derived
-- from the server key; retired_at is NULL for the one current key.
CREATE TABLE signing_keys (
	kid         TEXT   COLLATE "C" PRIMARY KEY,
	algorithm   TEXT   NOT NULL CHECK (algorithm IN ('ES256', 'RS256', 'EdDSA')),
	private_key BYTEA  NOT NULL,
	created_at  BIGINT NOT NULL,
	retired_at  BIGINT
);

-- Revoked access tokens by "jti", kept until the token would have expired.
CREATE TABLE revoked_tokens (
	jti        TEXT   PRIMARY KEY,
	account_id TEXT   NOT NULL,
	expires_at BIGINT NOT NULL
);

CREATE INDEX revoked_tokens_expires_at ON revoked_tokens (expires_at);

-- Tokens issued per application and hour (unix hours), for "tokens in the
-- last 24 hours": counters, written in batches, never a row per token.
CREATE TABLE token_usage (
	application_id BIGINT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
	hour           BIGINT NOT NULL,
	tokens         BIGINT NOT NULL,
	PRIMARY KEY (application_id, hour)
);

CREATE INDEX token_usage_hour ON token_usage (hour);

-- When each application last obtained a token.
CREATE TABLE token_last_issued (
	application_id BIGINT PRIMARY KEY REFERENCES applications (id) ON DELETE CASCADE,
	issued_at      BIGINT NOT NULL
);
