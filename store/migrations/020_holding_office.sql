-- The office holding each petition (issue 12), as columns of the petitions read model: the work
-- queue of a department or a centre reads what that office holds, and a government's what a
-- territorial office holds, by index and without reading the folded state.
ALTER TABLE petitions ADD COLUMN office_id text, ADD COLUMN office_kind text
    CHECK (office_kind IN ('territorial', 'department', 'centre'));
COMMENT ON COLUMN petitions.office_id IS
    'The office holding the petition (workflows.lifecycle.holding_office): the state''s office, else the territorial office <tier>:<region> of its tier.';
COMMENT ON COLUMN petitions.office_kind IS 'territorial, department or centre: the kind of office_id.';

-- What the fold of every petition's events says, written as the projection writes it.
UPDATE petitions SET
    office_id = coalesce(
        state -> 'office' ->> 'office_id',
        tier || ':' || CASE tier
            WHEN 'village' THEN village_id WHEN 'township' THEN township_id
            WHEN 'county' THEN county_id ELSE city_id END),
    office_kind = coalesce(state -> 'office' ->> 'kind', 'territorial');
ALTER TABLE petitions ALTER COLUMN office_id SET NOT NULL, ALTER COLUMN office_kind SET NOT NULL;

CREATE INDEX petitions_queue_office ON petitions (office_id, current_deadline) WHERE NOT finished;
