-- Credentials: bearer tokens for officials, contact cadres and auditors; API keys for services.
-- Only sha256 hashes are stored: a token or key is shown once, when it is issued.

CREATE TABLE access_tokens (
    token_hash bytea       PRIMARY KEY CHECK (length(token_hash) = 32),
    actor_id   text        NOT NULL,
    role       text        NOT NULL CHECK (role IN ('official', 'contact_cadre', 'auditor')),
    tier       text,
    region_id  text,
    issued_at  timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz,
    revoked_at timestamptz,
    CHECK ((role = 'auditor') = (tier IS NULL AND region_id IS NULL))
);
CREATE INDEX access_tokens_actor ON access_tokens (actor_id) WHERE revoked_at IS NULL;
COMMENT ON TABLE access_tokens IS
    'Bearer tokens: the token fixes who acts (role, id, and for officials their tier and region).';

CREATE TABLE api_keys (
    key_hash   bytea       PRIMARY KEY CHECK (length(key_hash) = 32),
    name       text        NOT NULL,
    issued_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
CREATE INDEX api_keys_name ON api_keys (name) WHERE revoked_at IS NULL;
COMMENT ON TABLE api_keys IS 'Keys of backend services (hotline, web form, apps, Open311 clients), by service name.';
