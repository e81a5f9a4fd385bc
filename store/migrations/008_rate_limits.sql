-- Request counts per caller, shared by every API process: one row per bucket (an address, an API
-- key's or a token's hash, or any other thing a caller may only do so often), counting the hits of
-- its current window. A window opens at a bucket's first hit and lasts window_seconds.

CREATE UNLOGGED TABLE rate_limits (
    bucket         text             PRIMARY KEY,
    window_start   timestamptz      NOT NULL,
    window_seconds double precision NOT NULL CHECK (window_seconds > 0),
    hits           integer          NOT NULL CHECK (hits >= 1)
);
COMMENT ON TABLE rate_limits IS
    'Fixed windows opened at a bucket''s first hit (store/rate_limits.py); unlogged: a crash only resets counts.';
