-- Experiments, their immutable versions, the global config revision and the audit log.
-- Applied by refinery at control-plane start-up under a Postgres advisory lock, so several
-- replicas starting together apply it exactly once.

-- One row: the global config revision. Every committed change bumps it inside its own
-- transaction with `UPDATE ... RETURNING`, which holds the row lock until commit, so
-- revisions are handed out in commit order (a bare sequence would not guarantee that).
CREATE TABLE config_revision (
    singleton    boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    revision     bigint      NOT NULL CHECK (revision >= 0),
    committed_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO config_revision (revision) VALUES (0);

-- The current state of every experiment (a denormalised copy of its latest version).
CREATE TABLE experiments (
    key                 text        PRIMARY KEY,
    status              text        NOT NULL
        CHECK (status IN ('draft', 'running', 'paused', 'stopped', 'archived')),
    version             bigint      NOT NULL CHECK (version >= 1),
    layer               text,
    owner               text        NOT NULL,
    spec                jsonb       NOT NULL,
    rollout_variant_key text,
    revision            bigint      NOT NULL,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL
);
CREATE INDEX experiments_status_key_idx ON experiments (status, key);
CREATE INDEX experiments_layer_key_idx ON experiments (layer, key) WHERE layer IS NOT NULL;
CREATE INDEX experiments_owner_key_idx ON experiments (owner, key);

-- Every version ever written. Immutable: the trigger below refuses UPDATE and DELETE.
CREATE TABLE experiment_versions (
    experiment_key      text        NOT NULL REFERENCES experiments (key),
    version             bigint      NOT NULL CHECK (version >= 1),
    status              text        NOT NULL,
    spec                jsonb       NOT NULL,
    rollout_variant_key text,
    revision            bigint      NOT NULL UNIQUE,
    actor               text        NOT NULL,
    action              text        NOT NULL,
    change_note         text        NOT NULL DEFAULT '',
    created_at          timestamptz NOT NULL,
    PRIMARY KEY (experiment_key, version)
);

-- Who did what, when, to what: one row per mutation, in the mutation's transaction.
CREATE TABLE audit_events (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    actor       text        NOT NULL,
    action      text        NOT NULL,
    target_type text        NOT NULL,
    target_key  text        NOT NULL,
    before      jsonb,
    after       jsonb,
    revision    bigint
);
CREATE INDEX audit_events_target_idx ON audit_events (target_type, target_key, id);
CREATE INDEX audit_events_actor_idx ON audit_events (actor, id);
CREATE INDEX audit_events_time_idx ON audit_events (occurred_at);

-- History tables are append-only: the database itself refuses to rewrite them.
CREATE FUNCTION vary_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER experiment_versions_append_only
    BEFORE UPDATE OR DELETE ON experiment_versions
    FOR EACH ROW EXECUTE FUNCTION vary_refuse_change();
CREATE TRIGGER audit_events_append_only
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION vary_refuse_change();
