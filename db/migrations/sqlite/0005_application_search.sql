-- The trigram index of the Applications filter (see ListApplications): every
-- run of three characters of each application's name and client ID, so that
-- a filter of three characters or more finds the few applications that hold
-- it without reading every name of the account.
--
-- It holds each name without its first character. The names that start with
-- the filter, which is what people type, sort together, and the list reads
-- them in order from applications_account_name; indexed here as well, a
-- filter like "siem" would have thousands of candidates to look up and sort.
--
-- Contentless (content = ''): the index is all it stores; the triggers below
-- keep it in step with applications, and contentless_delete (SQLite 3.43)
-- lets them remove an application's entries by its id. detail = 'none'
-- keeps no positions, a third of the size (10 MB at 100,000 applications):
-- the filter asks for some of its own trigrams (see searchQuery), not for
-- them in a row, and checks the applications it gets against itself.
CREATE VIRTUAL TABLE application_search USING fts5 (
	name_tail, client_id,
	content = '', contentless_delete = 1,
	tokenize = 'trigram', detail = 'none'
);

INSERT INTO application_search (rowid, name_tail, client_id)
	SELECT id, substr(name_lower, 2), client_id FROM applications;
-- A fill this size leaves the index in many pieces, which every query would
-- read in turn: merge them into one (a second at 100,000 applications).
INSERT INTO application_search (application_search) VALUES ('optimize');

CREATE TRIGGER application_search_insert AFTER INSERT ON applications BEGIN
	INSERT INTO application_search (rowid, name_tail, client_id)
	VALUES (new.id, substr(new.name_lower, 2), new.client_id);
END;

CREATE TRIGGER application_search_update AFTER UPDATE OF name_lower, client_id ON applications BEGIN
	DELETE FROM application_search WHERE rowid = old.id;
	INSERT INTO application_search (rowid, name_tail, client_id)
	VALUES (new.id, substr(new.name_lower, 2), new.client_id);
END;

CREATE TRIGGER application_search_delete AFTER DELETE ON applications BEGIN
	DELETE FROM application_search WHERE rowid = old.id;
END;
