-- Reply codes hold from the phone the answer's SMS went to, and a retried SMS keeps its code.
--
-- The answer to a household is sent to its phone in the county directory, which may not be the
-- phone given at filing (petitioners.phone); the reply must hold from either. The numbers an answer
-- was sent to are kept here only as HMACs, under the server's link secret, of their national number
-- (proofs.national_number: the last 11 digits), as the rate limiter keeps a phone's bucket: never the
-- number, nor a hash of it anyone without the secret could reverse.
--
-- The code is derived from the secret and the notification that carries it (message_key), so a
-- retried send of the same notification issues the same code and keeps the row (spent stays spent);
-- another answer (another notification) replaces the code and the numbers, unless it is an earlier
-- answer's (a late retry): then the later answer's code stands, and the retried SMS carries none.
ALTER TABLE reply_codes
    ADD COLUMN message_key text,
    ADD COLUMN message_seq integer,
    ADD COLUMN sent_to bytea[] NOT NULL DEFAULT '{}'
        CHECK (array_position(sent_to, NULL) IS NULL);
COMMENT ON COLUMN reply_codes.message_key IS
    'The notification whose SMS carries the code (its event: petition, seq, recipient); NULL for a code issued outside the outbox.';
COMMENT ON COLUMN reply_codes.sent_to IS
    'HMACs (32 bytes, under the link secret) of the national numbers the SMS with the code was sent to; a reply from one of them holds, as from petitioners.phone.';

COMMENT ON COLUMN reply_codes.message_seq IS
    'The seq of the event (the answer) whose notification carries the code: a late retry of an earlier answer''s SMS never replaces a later answer''s code.';

CREATE INDEX reply_codes_sent_to ON reply_codes USING gin (sent_to) WHERE used_at IS NULL;
