-- Integrity of filings: the tier a service's key files at, and which service owns a petition id.

-- A key files at one tier (the village cadres' app at the village, the county hotline at the
-- county). Keys issued before this migration file at the village: the tier every petition started at
-- when the body did not name one, and the lowest, so no existing key can skip a tier.
ALTER TABLE api_keys
    ADD COLUMN tier text NOT NULL DEFAULT 'village'
        CHECK (tier IN ('village', 'township', 'county', 'city'));
COMMENT ON COLUMN api_keys.tier IS 'The tier petitions filed with this key start at (petitionflow keys add --tier).';

-- Petition ids are chosen by the filing service: the first service to file an id owns it, and a
-- second one filing the same id is refused (409) instead of being handed the first one's petition.
CREATE TABLE petition_ids (
    petition_id text        PRIMARY KEY,
    service     text,
    claimed_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE petition_ids IS
    'Which service filed each petition id; service NULL: filed before ownership was recorded.';
COMMENT ON COLUMN petition_ids.service IS
    'NULL for petitions filed before migration 006: any service refiling them gets created: false, as before.';

INSERT INTO petition_ids (petition_id, service)
SELECT petition_id, NULL FROM streams
UNION
SELECT petition_id, NULL FROM petitions
ON CONFLICT DO NOTHING;
