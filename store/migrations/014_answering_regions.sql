-- Petitions whose regions were merged or moved by a directory change (RegionRenamed) are answered
-- for by their successor path, kept in the read model's state as `answering` (null for the rest).
-- Listing by region finds them under the successor too: one small partial index per tier, holding
-- only those petitions.

CREATE INDEX petitions_answering_village ON petitions ((state -> 'answering' ->> 'village'), petition_id)
    WHERE state -> 'answering' <> 'null'::jsonb;
CREATE INDEX petitions_answering_township ON petitions ((state -> 'answering' ->> 'township'), petition_id)
    WHERE state -> 'answering' <> 'null'::jsonb;
CREATE INDEX petitions_answering_county ON petitions ((state -> 'answering' ->> 'county'), petition_id)
    WHERE state -> 'answering' <> 'null'::jsonb;
CREATE INDEX petitions_answering_city ON petitions ((state -> 'answering' ->> 'city'), petition_id)
    WHERE state -> 'answering' <> 'null'::jsonb;
