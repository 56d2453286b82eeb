-- API tokens. Only a SHA-256 hash of each token's secret is stored; the token id is the
-- public part of the token string, so a call looks its token up by primary key and then
-- compares the hash in constant time.
CREATE TABLE api_tokens (
    id          text        PRIMARY KEY,
    secret_hash bytea       NOT NULL CHECK (length(secret_hash) = 32),
    principal   text        NOT NULL,
    role        text        NOT NULL CHECK (role IN ('viewer', 'experimenter', 'admin', 'agent')),
    description text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text        NOT NULL,
    expires_at  timestamptz,
    revoked_at  timestamptz,
    revoked_by  text,
    CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);
CREATE INDEX api_tokens_created_idx ON api_tokens (created_at DESC, id DESC);

-- A token is never deleted or rewritten, only revoked once: the audit trail can always
-- say whose token did what.
CREATE FUNCTION vary_token_revoke_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'api_tokens are never deleted; revoke instead'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.revoked_at IS NOT NULL
       OR NEW.id IS DISTINCT FROM OLD.id
       OR NEW.secret_hash IS DISTINCT FROM OLD.secret_hash
       OR NEW.principal IS DISTINCT FROM OLD.principal
       OR NEW.role IS DISTINCT FROM OLD.role
       OR NEW.description IS DISTINCT FROM OLD.description
       OR NEW.created_at IS DISTINCT FROM OLD.created_at
       OR NEW.created_by IS DISTINCT FROM OLD.created_by
       OR NEW.expires_at IS DISTINCT FROM OLD.expires_at THEN
        RAISE EXCEPTION 'api_tokens rows change only by being revoked once'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER api_tokens_revoke_only
    BEFORE UPDATE OR DELETE ON api_tokens
    FOR EACH ROW EXECUTE FUNCTION vary_token_revoke_only();

-- Audit queries filter by action and page newest first.
CREATE INDEX audit_events_action_idx ON audit_events (action, id);
