-- Idempotency-Key: each key a caller sends names one request, answered once, by whichever API
-- process sees it first, and replayed to the same caller ever after (across continue-as-new too).

CREATE TABLE idempotency_keys (
    caller          text        NOT NULL,
    key             text        NOT NULL,
    request_hash    bytea       NOT NULL CHECK (length(request_hash) = 32),
    status          text        NOT NULL CHECK (status IN ('running', 'done')),
    response_status integer,
    response_body   jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (caller, key),
    CHECK ((status = 'done') = (response_status IS NOT NULL AND response_body IS NOT NULL))
);
COMMENT ON TABLE idempotency_keys IS
    'Idempotency-Key per caller: the request''s hash, and once answered the answer (store/idempotency.py).';
COMMENT ON COLUMN idempotency_keys.caller IS
    'service:<name>, or the token holder (role:id@tier/region): a key is scoped to its caller.';
