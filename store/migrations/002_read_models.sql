-- Read models, written in the same transaction as the append and rebuildable from events.

CREATE TABLE petitions (
    petition_id      text PRIMARY KEY,
    tier             text        NOT NULL,
    stage            text        NOT NULL,
    village_id       text        NOT NULL,
    township_id      text        NOT NULL,
    county_id        text        NOT NULL,
    city_id          text        NOT NULL,
    category         text        NOT NULL,
    channel          text        NOT NULL,
    urgency          text        NOT NULL,
    common_issue     boolean     NOT NULL,
    overdue          boolean     NOT NULL,
    acknowledged_by  text,
    contact_cadre_id text        NOT NULL,
    filed_at         timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    current_deadline timestamptz,
    closed_reason    text,
    rating           text,
    finished         boolean     NOT NULL,
    last_seq         integer     NOT NULL,
    stint_no         integer     NOT NULL,
    resolution_seq   integer,
    state            jsonb       NOT NULL
);
CREATE INDEX petitions_tier_stage ON petitions (tier, stage, petition_id);
CREATE INDEX petitions_village ON petitions (village_id, petition_id);
CREATE INDEX petitions_township ON petitions (township_id, petition_id);
CREATE INDEX petitions_county ON petitions (county_id, petition_id);
CREATE INDEX petitions_city ON petitions (city_id, petition_id);
CREATE INDEX petitions_official ON petitions (acknowledged_by, petition_id);
CREATE INDEX petitions_overdue ON petitions (petition_id) WHERE overdue;

-- The public board: never personal data (no description, petitioner, names or comments).
CREATE TABLE echo_wall (
    petition_id     text             NOT NULL,
    seq             integer          NOT NULL,
    tier            text             NOT NULL,
    village_id      text             NOT NULL,
    township_id     text             NOT NULL,
    county_id       text             NOT NULL,
    city_id         text             NOT NULL,
    category        text             NOT NULL,
    outcome         text             NOT NULL,
    public_summary  text             NOT NULL,
    resolved_at     timestamptz      NOT NULL,
    days_to_resolve double precision NOT NULL,
    on_time         boolean          NOT NULL,
    rating          text,
    PRIMARY KEY (petition_id, seq)
);
CREATE INDEX echo_wall_village ON echo_wall (village_id, resolved_at DESC);
CREATE INDEX echo_wall_township ON echo_wall (township_id, resolved_at DESC);
CREATE INDEX echo_wall_county ON echo_wall (county_id, resolved_at DESC);
CREATE INDEX echo_wall_city ON echo_wall (city_id, resolved_at DESC);
CREATE INDEX echo_wall_recent ON echo_wall (resolved_at DESC);

-- Facts for the figures: one row per petition per stay ("stint") at a tier.
CREATE TABLE tier_stints (
    petition_id             text        NOT NULL,
    stint_no                integer     NOT NULL,
    tier                    text        NOT NULL,
    region_id               text        NOT NULL,
    official_id             text,
    entered_at              timestamptz NOT NULL,
    respond_by              timestamptz,
    responded_at            timestamptz,
    responded_on_time       boolean     NOT NULL,
    resolved_at             timestamptz,
    resolved_on_time        boolean     NOT NULL,
    outcome                 text,
    escalated               boolean     NOT NULL,
    escalated_automatically boolean     NOT NULL,
    deadlines_missed        integer     NOT NULL,
    reopened                integer     NOT NULL,
    rating                  text,
    PRIMARY KEY (petition_id, stint_no)
);
CREATE INDEX tier_stints_tier ON tier_stints (tier);
CREATE INDEX tier_stints_region ON tier_stints (region_id);
CREATE INDEX tier_stints_official ON tier_stints (official_id);

-- The outbox: messages owed, derived from events; a sender claims and marks them.
CREATE TABLE notifications (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    petition_id    text        NOT NULL,
    seq            integer     NOT NULL,
    recipient_role text        NOT NULL,
    recipient_id   text        NOT NULL,
    kind           text        NOT NULL,
    payload        jsonb       NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    claimed_until  timestamptz,
    sent_at        timestamptz,
    UNIQUE (petition_id, seq, recipient_role, recipient_id)
);
CREATE INDEX notifications_unsent ON notifications (id) WHERE sent_at IS NULL;
