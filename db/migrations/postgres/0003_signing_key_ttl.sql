-- The longest token lifetime any server has signed with the key, in
-- milliseconds: a server records its --token-ttl here before it signs with
-- the key, so a retired key stays published, and stored, until the last
-- token it can have signed has expired, whatever each replica's lifetime.
ALTER TABLE signing_keys ADD COLUMN max_token_ttl BIGINT NOT NULL DEFAULT 0;

-- Keys made before this migration may have signed tokens of up to 24 hours.
UPDATE signing_keys SET max_token_ttl = 86400000;
