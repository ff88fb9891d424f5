-- The revocation tables shared by every service that verifies or revokes
-- tokens. Idempotent: PostgresStore::migrate runs it inside a transaction
-- holding pg_advisory_xact_lock(7022647185898829419) so that instances
-- starting together do not race. A deployment whose application role may not
-- create tables can run this file once with a privileged role instead.

-- The current token version of each subject; a subject without a row is at
-- version 0. A token whose `ver` is below the version here is revoked.
CREATE TABLE IF NOT EXISTS auth_user_versions (
    subject text PRIMARY KEY,
    version bigint NOT NULL
);

-- Revoked sessions: every token whose `sid` is here is revoked.
CREATE TABLE IF NOT EXISTS auth_revoked_sessions (
    sid text PRIMARY KEY,
    revoked_at timestamptz NOT NULL
);

-- Denied token ids, each until the token's own expiry: a `jti` is denied
-- while `expires_at > now()`. Expired rows carry no meaning and may be
-- deleted by anyone at any time.
CREATE TABLE IF NOT EXISTS auth_denied_jtis (
    jti text PRIMARY KEY,
    expires_at timestamptz NOT NULL
);

-- Finds expired denials without scanning the table.
CREATE INDEX IF NOT EXISTS auth_denied_jtis_expires_at_idx
    ON auth_denied_jtis (expires_at);
