-- The tables shared by every service that verifies or revokes tokens, logs
-- users in, refreshes or ends sessions. Idempotent: PostgresStore::migrate
-- runs it inside a transaction holding
-- pg_advisory_xact_lock(7022647185898829419) so that instances starting
-- together do not race, and only when one of its tables or indexes is
-- missing. A deployment whose application role may not create tables can
-- run this file once with a privileged role instead. Columns added to a
-- table after its first release are added by ALTER TABLE … ADD COLUMN IF
-- NOT EXISTS, and the migration runs the file when one of them is missing.

-- Revocation ------------------------------------------------------------
-- Every record is keyed by the token's issuer (`iss`, '' for tokens without
-- one) and an id. Times in bigint columns are Unix seconds.

-- What is known of a subject of an issuer. A token of it whose `iat` is at
-- or before not_before is revoked; so is a token of the project's own issuer
-- whose `ver` is below version. A subject without a row: version 0, no
-- not-before. not_before only moves forward.
CREATE TABLE IF NOT EXISTS auth_revoked_subjects (
    issuer text NOT NULL,
    subject text NOT NULL,
    version bigint NOT NULL DEFAULT 0,
    not_before bigint,
    PRIMARY KEY (issuer, subject)
);

-- Revoked sessions: a token of the session whose `iat` is at or before
-- not_before is revoked. forget_after (Unix seconds), when set, is when no
-- token of the session can pass any more: the row may be deleted by anyone
-- from then on (null: kept for good).
CREATE TABLE IF NOT EXISTS auth_revoked_session_ids (
    issuer text NOT NULL,
    sid text NOT NULL,
    not_before bigint NOT NULL,
    PRIMARY KEY (issuer, sid)
);

ALTER TABLE auth_revoked_session_ids ADD COLUMN IF NOT EXISTS forget_after bigint;

-- Finds revoked sessions past their end without scanning the table.
CREATE INDEX IF NOT EXISTS auth_revoked_session_ids_forget_after_idx
    ON auth_revoked_session_ids (forget_after) WHERE forget_after IS NOT NULL;

-- Denied token ids, each until the token's own expiry: a `jti` is denied
-- while `expires_at > now()`. Expired rows carry no meaning and may be
-- deleted by anyone at any time.
CREATE TABLE IF NOT EXISTS auth_denied_token_ids (
    issuer text NOT NULL,
    jti text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (issuer, jti)
);

-- Finds expired denials without scanning the table.
CREATE INDEX IF NOT EXISTS auth_denied_token_ids_expires_at_idx
    ON auth_denied_token_ids (expires_at);

-- One-time token ids already used (logout tokens' `jti`, and
-- `single-use:<purpose>:<jti>` of spent single-use tokens), until expires_at;
-- expired rows may be deleted by anyone at any time.
CREATE TABLE IF NOT EXISTS auth_used_token_ids (
    issuer text NOT NULL,
    jti text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (issuer, jti)
);

-- Finds expired one-time ids without scanning the table.
CREATE INDEX IF NOT EXISTS auth_used_token_ids_expires_at_idx
    ON auth_used_token_ids (expires_at);

-- The store's continuity marker: one row, the second its revocation data
-- began. Written when missing; a new marker means the data was lost, and
-- every token issued before it is refused.
CREATE TABLE IF NOT EXISTS auth_store_marker (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    began bigint NOT NULL
);

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

-- The thumbprint (RFC 7638) of the DPoP key a session's refresh tokens are
-- bound to (RFC 9449 section 5), set at login and never changed; null: the
-- session is not bound.
ALTER TABLE auth_sessions ADD COLUMN IF NOT EXISTS dpop_jkt text;

-- The session's idle timeout in seconds, set at login by the session policy
-- and never changed; null: the service's default idle timeout.
ALTER TABLE auth_sessions ADD COLUMN IF NOT EXISTS idle_timeout bigint;

-- The live sessions of a subject, for "log out everywhere".
CREATE INDEX IF NOT EXISTS auth_sessions_live_subject_idx
    ON auth_sessions (subject) WHERE ended_at IS NULL;

-- Finds sessions past their retention without scanning the table.
CREATE INDEX IF NOT EXISTS auth_sessions_expires_at_idx
    ON auth_sessions (expires_at);

-- Every refresh token of every session, as the SHA-256 of the whole token.
-- The current token has spent_at null; a spent one names its successor.
-- A session keeps its 16 most recently spent tokens; older ones are deleted
-- at each rotation.
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
