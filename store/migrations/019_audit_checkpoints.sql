-- The audit's own tables: the Merkle tree's order over the event log, the signed checkpoints,
-- why a superseded row was replaced, and the histories archived when a workflow ends.

-- The tree's order (petitionflow/audit/merkle.py): an event enters the tree once it is known to be
-- recorded (seq <= its stream's recorded_through), never before, since a tentative event may still
-- be replaced. Entering events are numbered after every event already in the tree, in the order of
-- global_position; a number, once given, never changes, and an event at or below recorded_through is
-- never replaced (store/append_plan.py), so no leaf of the tree ever changes. global_position alone
-- is not the order: a tentative event written before another stream's recorded one may become
-- recorded after that one has entered the tree.
ALTER TABLE events ADD COLUMN tree_index bigint UNIQUE;
COMMENT ON COLUMN events.tree_index IS
    'The event''s leaf in the audit''s Merkle tree (0-based); NULL until it is known to be recorded.';

CREATE TABLE audit_checkpoints (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tree_size   bigint      NOT NULL CHECK (tree_size >= 0),
    root_hash   bytea       NOT NULL CHECK (length(root_hash) = 32),
    issued_at   timestamptz NOT NULL,
    algorithm   text        NOT NULL,
    key_id      text        NOT NULL,
    public_key  bytea       NOT NULL,
    signature   bytea       NOT NULL
);
CREATE INDEX audit_checkpoints_size ON audit_checkpoints (tree_size);
COMMENT ON TABLE audit_checkpoints IS
    'Signed tree heads: published at /v1/audit/checkpoints and in the echo wall''s footer.';

ALTER TABLE superseded_events ADD COLUMN reason text;
COMMENT ON COLUMN superseded_events.reason IS
    'NULL: a later workflow task''s append replaced it; else the ghost sweeper''s reason.';

CREATE TABLE history_archive (
    workflow_id text        NOT NULL,
    position    int         NOT NULL CHECK (position >= 0),
    run_id      text        NOT NULL,
    history     jsonb       NOT NULL,
    archived_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workflow_id, position)
);
COMMENT ON TABLE history_archive IS
    'Every run of a closed workflow''s history (first run at position 0), kept past Temporal''s retention.';
