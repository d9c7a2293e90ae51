-- What the Applications list shows of each application, kept on its row so
-- that a page reads no other table: when it last got a token (written with
-- the token counts, never per grant) and the earliest end of a secret that
-- is not revoked (its expiry or the end of its grace period), kept by the
-- triggers below whatever changes a credential.
ALTER TABLE applications ADD COLUMN last_used_at INTEGER;
ALTER TABLE applications ADD COLUMN secret_ends_at INTEGER;

UPDATE applications SET last_used_at = (SELECT l.issued_at FROM token_last_issued l WHERE l.application_id = applications.id);

CREATE TRIGGER credentials_ends_insert AFTER INSERT ON credentials BEGIN
	UPDATE applications SET secret_ends_at = (
		SELECT min(CASE WHEN expires_at IS NULL OR (revoke_at IS NOT NULL AND revoke_at < expires_at) THEN revoke_at ELSE expires_at END)
		FROM credentials WHERE application_id = new.application_id AND revoked_at IS NULL)
	WHERE id = new.application_id;
END;

CREATE TRIGGER credentials_ends_update AFTER UPDATE OF expires_at, revoke_at, revoked_at ON credentials BEGIN
	UPDATE applications SET secret_ends_at = (
		SELECT min(CASE WHEN expires_at IS NULL OR (revoke_at IS NOT NULL AND revoke_at < expires_at) THEN revoke_at ELSE expires_at END)
		FROM credentials WHERE application_id = new.application_id AND revoked_at IS NULL)
	WHERE id = new.application_id;
END;

UPDATE applications SET secret_ends_at = (
	SELECT min(CASE WHEN expires_at IS NULL OR (revoke_at IS NOT NULL AND revoke_at < expires_at) THEN revoke_at ELSE expires_at END)
	FROM credentials WHERE application_id = applications.id AND revoked_at IS NULL);
