-- The notifications dispatcher's rate limit per channel, shared by every dispatcher process: one row
-- per channel (sms, email, webhook, wecom, dingtalk) counting the messages granted in its current
-- window. A window opens at the first reservation after the previous one ended and lasts
-- window_seconds; at most window_limit messages are granted within it, in batches (one statement a
-- pass for every channel of the batch). `granted` is what the latest reservation got (what the
-- statement returns).

CREATE UNLOGGED TABLE notify_rate_windows (
    channel        text             PRIMARY KEY,
    window_start   timestamptz      NOT NULL,
    window_seconds double precision NOT NULL CHECK (window_seconds > 0),
    window_limit   integer          NOT NULL CHECK (window_limit >= 1),
    used           integer          NOT NULL CHECK (used >= 0),
    granted        integer          NOT NULL CHECK (granted >= 0)
);
COMMENT ON TABLE notify_rate_windows IS
    'Fixed windows per delivery channel (store/rate_limits.py take_slots); unlogged: a crash only resets counts.';
