-- The office a web session acts for (Actor.office_id: a department or a centre; NULL: the region's
-- government), fixed at sign-in as a bearer token fixes it. A session is checked against the current
-- roster on every request: a person who left the roster, or whose office changed, signs in again.
ALTER TABLE web_sessions ADD COLUMN office_id text;
COMMENT ON COLUMN web_sessions.office_id IS
    'The department or centre the session acts for (Actor.office_id); NULL: the government of its tier and region.';

-- Sessions opened before this column acted for the office the roster gave at each request, and a
-- department's official missing from it as the region's government: every one signs in again.
UPDATE web_sessions SET revoked_at = now() WHERE revoked_at IS NULL;
