-- The county's directory: its grid (regions), offices, roster of people, households, duty cadres and
-- the map from retired region ids to their successors. Every import is a new version: a full,
-- validated snapshot; the current directory is the highest version. Petitions keep the path they
-- were filed with (their events hold it); the directory answers "who and where now".

CREATE TABLE directory_versions (
    version     integer     PRIMARY KEY CHECK (version > 0),
    imported_at timestamptz NOT NULL DEFAULT now(),
    source      text        NOT NULL,            -- the files it came from, as given
    counts      jsonb       NOT NULL DEFAULT '{}' -- rows per kind, for `directory show`
);
COMMENT ON TABLE directory_versions IS 'One row per import; the highest version is the current directory.';

CREATE TABLE directory_regions (
    version   integer NOT NULL REFERENCES directory_versions ON DELETE CASCADE,
    region_id text    NOT NULL,
    tier      text    NOT NULL CHECK (tier IN ('village', 'township', 'county', 'city')),
    parent_id text,                                -- NULL only for a city
    name_zh   text    NOT NULL,
    name_en   text    NOT NULL,                    -- romanised (pinyin)
    boundary  jsonb,                               -- a GeoJSON Polygon/MultiPolygon geometry, WGS-84
    PRIMARY KEY (version, region_id),
    CHECK ((tier = 'city') = (parent_id IS NULL))
);
CREATE INDEX directory_regions_parent ON directory_regions (version, parent_id);

CREATE TABLE directory_successors (
    version integer NOT NULL REFERENCES directory_versions ON DELETE CASCADE,
    old_id  text    NOT NULL,                      -- a region id no longer in the grid
    new_id  text    NOT NULL,                      -- the region that took it over (merger, split)
    PRIMARY KEY (version, old_id)
);
COMMENT ON TABLE directory_successors IS
    'Retired region ids and their successors, so officials of a merged village can act on its open petitions.';

CREATE TABLE directory_offices (
    version       integer NOT NULL REFERENCES directory_versions ON DELETE CASCADE,
    office_id     text    NOT NULL,
    kind          text    NOT NULL CHECK (kind IN ('territorial', 'department', 'centre')),
    tier          text    NOT NULL CHECK (tier IN ('village', 'township', 'county', 'city')),
    region_id     text    NOT NULL,                -- the region it governs or serves
    name_zh       text    NOT NULL,
    name_en       text    NOT NULL,
    supervisor_id text,                            -- the office a missed deadline escalates to
    phone         text,
    email         text,
    webhook       text,
    PRIMARY KEY (version, office_id),
    CHECK (kind <> 'department' OR tier IN ('county', 'city'))
);
CREATE INDEX directory_offices_region ON directory_offices (version, region_id, tier);

CREATE TABLE directory_people (
    version   integer NOT NULL REFERENCES directory_versions ON DELETE CASCADE,
    person_id text    NOT NULL,
    name      text    NOT NULL,
    role      text    NOT NULL CHECK (role IN ('cadre', 'official')),
    office_id text    NOT NULL,
    phone     text,
    email     text,
    webhook   text,
    PRIMARY KEY (version, person_id)
);
CREATE INDEX directory_people_office ON directory_people (version, office_id);
CREATE INDEX directory_people_phone ON directory_people (version, phone) WHERE phone IS NOT NULL;
CREATE INDEX directory_people_email ON directory_people (version, email) WHERE email IS NOT NULL;

CREATE TABLE directory_households (
    version      integer NOT NULL REFERENCES directory_versions ON DELETE CASCADE,
    household_id text    NOT NULL,
    village_id   text    NOT NULL,
    cadre_id     text,                             -- the contact cadre (双覆盖); NULL: not yet covered
    phone        text,                             -- for messages
    PRIMARY KEY (version, household_id)
);
CREATE INDEX directory_households_cadre ON directory_households (version, cadre_id);
CREATE INDEX directory_households_village ON directory_households (version, village_id);

CREATE TABLE directory_duty (
    version    integer NOT NULL REFERENCES directory_versions ON DELETE CASCADE,
    village_id text    NOT NULL,
    person_id  text    NOT NULL,                   -- the cadre on duty for walk-ins
    PRIMARY KEY (version, village_id)
);
