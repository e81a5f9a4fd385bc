-- The deadline a petition waiting for dispatch or for signing for works towards is that stage's
-- limit (workflows.lifecycle.current_deadline): the work queue sorts it by its time left and the
-- dashboard counts it late. Rows written before held none; written here as the fold now gives them.
UPDATE petitions SET current_deadline = (state ->> 'dispatch_by')::timestamptz
WHERE stage = 'dispatch' AND state ->> 'dispatch_by' IS NOT NULL;
UPDATE petitions SET current_deadline = (state ->> 'sign_for_by')::timestamptz
WHERE stage = 'sign_for' AND state ->> 'sign_for_by' IS NOT NULL;
