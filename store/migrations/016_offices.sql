-- Offices (issue 12): a filing service bound to a centre, officials bound to an office, and the
-- facts behind the figures by office (dispatch time, timely receipt, send-backs, summons answered).

ALTER TABLE api_keys ADD COLUMN centre_id text;
COMMENT ON COLUMN api_keys.centre_id IS
    'The centre (a directory office of kind centre) petitions filed with this key are held by first, to be dispatched (petitionflow keys add --centre).';

ALTER TABLE access_tokens ADD COLUMN office_id text;
COMMENT ON COLUMN access_tokens.office_id IS
    'The office an official serves when it is not the territorial office of the tier and region (a department, a centre): petitionflow officials add --office.';

-- One row per fact an office answers for, projected from the events (store/projections.py).
CREATE TABLE office_facts (
    petition_id text        NOT NULL,
    seq         integer     NOT NULL,              -- the event the fact comes from
    office_id   text        NOT NULL,
    office_kind text        NOT NULL CHECK (office_kind IN ('territorial', 'department', 'centre')),
    tier        text        NOT NULL CHECK (tier IN ('village', 'township', 'county', 'city')),
    region_id   text        NOT NULL,
    fact        text        NOT NULL CHECK (fact IN (
                    'dispatched',        -- the office (a centre) dispatched it; seconds: since it waited
                    'received',          -- the office received a dispatch
                    'signed_for',        -- ... and signed for it in time
                    'sign_for_missed',   -- ... and let the limit pass
                    'sent_back',         -- ... and sent it back
                    'summoned',          -- the office was summoned to help
                    'summons_answered',  -- ... and answered (on_time: within the limit)
                    'summons_missed')),  -- ... and let the limit pass
    at          timestamptz NOT NULL,
    on_time     boolean,
    seconds     double precision,
    PRIMARY KEY (petition_id, seq, office_id, fact)
);
CREATE INDEX office_facts_office ON office_facts (office_id, at);
COMMENT ON TABLE office_facts IS 'What each office did with the petitions it was sent: the figures by office.';

-- A stint's holding office; NULL for a petition that never met an office (its tier's government).
ALTER TABLE tier_stints ADD COLUMN office_id text;
CREATE INDEX tier_stints_office ON tier_stints (office_id);
