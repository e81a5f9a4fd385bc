-- The web pages (petitionflow/web): officials' one-time sign-in codes and sessions, and the indexes
-- the work queue, the echo wall and the dashboard need at a million petitions (bench/web.py).

-- A code sent through the outbox to a person of the roster; only its hash is kept.
CREATE TABLE sign_in_codes (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id  text        NOT NULL,
    code_hash  bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    attempts   integer     NOT NULL DEFAULT 0
);
CREATE INDEX sign_in_codes_person ON sign_in_codes (person_id, created_at DESC);

-- A signed-in browser: the cookie holds a random secret, this table its sha256. The actor is fixed
-- at sign-in from the roster (tier and region of the person's office), as a bearer token fixes it.
CREATE TABLE web_sessions (
    session_hash bytea PRIMARY KEY,
    actor_id     text        NOT NULL,
    role         text        NOT NULL,
    tier         text,
    region_id    text,
    csrf_token   text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);
CREATE INDEX web_sessions_actor ON web_sessions (actor_id);

-- The work queue: open petitions of one tier and office, soonest deadline first.
CREATE INDEX petitions_queue_village ON petitions (tier, village_id, current_deadline) WHERE NOT finished;
CREATE INDEX petitions_queue_township ON petitions (tier, township_id, current_deadline) WHERE NOT finished;
CREATE INDEX petitions_queue_county ON petitions (tier, county_id, current_deadline) WHERE NOT finished;
CREATE INDEX petitions_queue_city ON petitions (tier, city_id, current_deadline) WHERE NOT finished;
-- The dashboard's month-by-month trends and its figures over a period.
CREATE INDEX tier_stints_entered ON tier_stints (entered_at);
