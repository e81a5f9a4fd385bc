-- Delivery of the notifications outbox (petitionflow notify): each row is tried until delivered or
-- given up. A try that fails waits until next_attempt_at (exponential backoff with jitter); after
-- the configured limit the row is failed, its cause kept. sent_at stays the "done" mark (delivered
-- or failed), so the partial index of unsent rows still finds the work.

ALTER TABLE notifications
    ADD COLUMN attempts        int         NOT NULL DEFAULT 0,
    ADD COLUMN next_attempt_at timestamptz,
    ADD COLUMN delivered_at    timestamptz,
    ADD COLUMN failed_at       timestamptz,
    ADD COLUMN last_error      text,
    ADD COLUMN channel         text,
    ADD COLUMN retried_at      timestamptz,
    ADD CONSTRAINT notifications_one_end CHECK (delivered_at IS NULL OR failed_at IS NULL);
COMMENT ON COLUMN notifications.attempts IS 'Delivery tries so far (a deferral for quiet hours is not a try).';
COMMENT ON COLUMN notifications.next_attempt_at IS 'Not claimed before this time: backoff after a failed try, or quiet hours.';
COMMENT ON COLUMN notifications.last_error IS 'Why the last try failed; never a credential or a message body.';
COMMENT ON COLUMN notifications.retried_at IS 'Made due again by `notifications retry`: the give-up limit counts from here, else from created_at.';
COMMENT ON COLUMN notifications.channel IS 'The channel of the last try (webhook, email, sms, wecom, dingtalk, log).';

CREATE INDEX notifications_failed ON notifications (id) WHERE failed_at IS NOT NULL;
-- Rows waiting for their stream's recorded-through mark: the dispatcher confirms them with Temporal.
CREATE INDEX notifications_unsent_petition ON notifications (petition_id, seq) WHERE sent_at IS NULL;
