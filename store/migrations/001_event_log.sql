-- The event log: one row per domain event, a hash chain per petition, and the writers' lock rows.

CREATE TABLE streams (
    petition_id text PRIMARY KEY,
    last_seq    integer NOT NULL CHECK (last_seq >= 0),
    last_hash   bytea   NOT NULL
);
COMMENT ON TABLE streams IS
    'One row per petition: locked FOR UPDATE by every append, so writers of one petition queue up.';

CREATE TABLE events (
    global_position bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    petition_id     text        NOT NULL,
    seq             integer     NOT NULL CHECK (seq >= 1),
    type            text        NOT NULL,
    version         integer     NOT NULL,
    at              timestamptz NOT NULL,
    actor           jsonb       NOT NULL,
    body            jsonb       NOT NULL,
    prev_hash       bytea       NOT NULL CHECK (length(prev_hash) = 32),
    hash            bytea       NOT NULL CHECK (length(hash) = 32),
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (petition_id, seq)
);
COMMENT ON COLUMN events.hash IS
    'sha256(prev_hash || canonical JSON of petition_id, seq, type, version, at, actor, body); see store/chain.py';

CREATE TABLE petitioners (
    petitioner_id text PRIMARY KEY,
    name          text        NOT NULL,
    phone         text,
    address       text,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE petitioners IS 'Personal data, kept apart from event bodies (which carry only petitioner_id).';
