-- PostgreSQL twin of migrations/sqlite/0007_application_use.sql. Neither
-- column is one the client cache's trigger watches (see 0006).
ALTER TABLE applications ADD COLUMN last_used_at BIGINT;
ALTER TABLE applications ADD COLUMN secret_ends_at BIGINT;

UPDATE applications SET last_used_at = (SELECT l.issued_at FROM token_last_issued l WHERE l.application_id = applications.id);

CREATE FUNCTION credentials_ends() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE applications SET secret_ends_at = (
		SELECT min(CASE WHEN expires_at IS NULL OR (revoke_at IS NOT NULL AND revoke_at < expires_at) THEN revoke_at ELSE expires_at END)
		FROM credentials WHERE application_id = NEW.application_id AND revoked_at IS NULL)
	WHERE id = NEW.application_id;
	RETURN NULL;
END
$$;

CREATE TRIGGER credentials_ends_insert AFTER INSERT ON credentials
	FOR EACH ROW EXECUTE FUNCTION credentials_ends();

CREATE TRIGGER credentials_ends_update AFTER UPDATE OF expires_at, revoke_at, revoked_at ON credentials
	FOR EACH ROW EXECUTE FUNCTION credentials_ends();

UPDATE applications SET secret_ends_at = (
	SELECT min(CASE WHEN expires_at IS NULL OR (revoke_at IS NOT NULL AND revoke_at < expires_at) THEN revoke_at ELSE expires_at END)
	FROM credentials WHERE application_id = applications.id AND revoked_at IS NULL);
