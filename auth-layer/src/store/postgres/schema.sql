-- The tables shared by every service that verifies or revokes tokens, logs
-- users in, refreshes or ends sessions. Idempotent: PostgresStore::migrate
-- runs it inside a transaction holding
-- pg_advisory_xact_lock(7022647185898829419) so that instances starting
-- together do not race, and only when one of its tables or indexes is
-- missing. A deployment whose application role may not create tables can
-- run this file once with a privileged role instead.

-- Revocation ------------------------------------------------------------

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

-- Sessions ---------------------------------------------------------------

-- One row per session. A session is live while ended_at is null; it cannot
-- refresh from expires_at on, nor once last_used_at is older than the idle
-- timeout. Rows are deleted one day after expires_at.
CREATE TABLE IF NOT EXISTS auth_sessions (
    sid text PRIMARY KEY,
    subject text NOT NULL,
    claims jsonb NOT NULL,
    version bigint NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    last_used_at timestamptz NOT NULL,
    ended_at timestamptz,
    ended_reason text
);

-- The live sessions of a subject, for "log out everywhere".
CREATE INDEX IF NOT EXISTS auth_sessions_live_subject_idx
    ON auth_sessions (subject) WHERE ended_at IS NULL;

-- Finds sessions past their retention without scanning the table.
CREATE INDEX IF NOT EXISTS auth_sessions_expires_at_idx
    ON auth_sessions (expires_at);

-- Every refresh token of every session, as the SHA-256 of the whole token.
-- The current token has spent_at null; a spent one names its successor.
CREATE TABLE IF NOT EXISTS auth_refresh_tokens (
    token_hash bytea PRIMARY KEY,
    sid text NOT NULL REFERENCES auth_sessions (sid) ON DELETE CASCADE,
    issued_at timestamptz NOT NULL,
    spent_at timestamptz,
    replaced_by bytea
);

-- Deleting a session deletes its tokens through this index.
CREATE INDEX IF NOT EXISTS auth_refresh_tokens_sid_idx
    ON auth_refresh_tokens (sid);
