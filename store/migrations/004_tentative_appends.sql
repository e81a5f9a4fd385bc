-- Local-activity appends write events before Temporal has recorded the workflow task that decided
-- them. If that task is lost (its worker died), the task's retry decides again, possibly differently,
-- and its append must replace what the lost attempt wrote. The stream row remembers the zone of the
-- last such tentative write; replaced rows are kept, whole, in superseded_events.

ALTER TABLE streams
    ADD COLUMN tentative_from   int,
    ADD COLUMN tentative_at     timestamptz,
    ADD COLUMN recorded_through int NOT NULL DEFAULT 0,
    ADD CONSTRAINT streams_tentative_zone CHECK ((tentative_from IS NULL) = (tentative_at IS NULL));
COMMENT ON COLUMN streams.recorded_through IS
    'Every event up to this seq is known to be in Temporal''s history: never replaced.';
COMMENT ON COLUMN streams.tentative_from IS
    'First seq of the last append made by a workflow task not yet in Temporal''s history (a local activity).';
COMMENT ON COLUMN streams.tentative_at IS
    'The time of that workflow task: only a later task may replace the zone.';

CREATE TABLE superseded_events (
    petition_id   text        NOT NULL,
    seq           int         NOT NULL,
    type          text        NOT NULL,
    version       int         NOT NULL,
    at            timestamptz NOT NULL,
    actor         jsonb       NOT NULL,
    body          jsonb       NOT NULL,
    prev_hash     bytea       NOT NULL,
    hash          bytea       NOT NULL,
    recorded_at   timestamptz NOT NULL,
    superseded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (petition_id, seq, superseded_at)
);
COMMENT ON TABLE superseded_events IS
    'Events a lost workflow task wrote and its retry replaced: never in Temporal''s history, kept for the audit.';
