-- The fleet: every edge agent that has opened a Watch stream, and which revision it was
-- sent, applied and rejected. Written by the replica holding the agent's stream.
CREATE TABLE agents (
    agent_id          text        PRIMARY KEY,
    labels            jsonb       NOT NULL DEFAULT '{}',
    agent_version     text        NOT NULL DEFAULT '',
    connected         boolean     NOT NULL,
    replica           text        NOT NULL,
    sent_revision     bigint      NOT NULL DEFAULT 0,
    applied_revision  bigint      NOT NULL DEFAULT 0,
    rejected_revision bigint      NOT NULL DEFAULT 0,
    rejected_error    text        NOT NULL DEFAULT '',
    last_seen_at      timestamptz NOT NULL
);
CREATE INDEX agents_applied_revision_idx ON agents (applied_revision);
