-- Access: who read a petition's personal fields, petitioners' reply codes, and the callback permission.

-- Every read that handed out a petition's own text or its petitioner's contact (store/access.py):
-- who (role, id, tier, region, or the service), when, which petition, which fields. Auditors list and
-- export it (GET /v1/audit/access-log, petitionflow audit access-log). Rows are only ever inserted.
CREATE TABLE access_log (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    reader_role  text        NOT NULL,
    reader_id    text        NOT NULL,
    reader_tier  text,
    reader_region text,
    service      text,
    petition_id  text        NOT NULL,
    fields       text[]      NOT NULL CHECK (cardinality(fields) > 0),
    route        text        NOT NULL,
    request_id   text
);
CREATE INDEX access_log_petition ON access_log (petition_id, id);
COMMENT ON TABLE access_log IS
    'Reads of a petition''s text or its petitioner''s contact: who, when, which petition, which fields.';

-- The short code a petitioner answers an SMS with ("回复 4821 1 满意"): one outstanding per petition,
-- issued with the answer, stored only as an HMAC under the server's link secret (4 digits are few:
-- a plain hash of one would be reversed at once). A new answer replaces it; a used one is spent.
CREATE TABLE reply_codes (
    petition_id   text        PRIMARY KEY,
    petitioner_id text        NOT NULL,
    code_hash     bytea       NOT NULL CHECK (length(code_hash) = 32),
    issued_at     timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz
);
COMMENT ON TABLE reply_codes IS
    'Outstanding SMS reply codes, one per petition, as HMACs (petitionflow/proofs.py).';

-- A service whose operators record hotline callbacks (回访) for petitioners: keys add NAME --callback.
ALTER TABLE api_keys ADD COLUMN callback boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN api_keys.callback IS
    'Its operators may record a petitioner''s answer given on a hotline callback (X-Callback-Operator).';
