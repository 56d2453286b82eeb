-- Exposures and outcomes, each stored once per event id (the agents' UUIDv7), so a
-- replayed batch changes nothing. Event ids are time-ordered, so primary-key inserts
-- append to the right edge of the index instead of scattering.

CREATE TABLE exposures (
    event_id           uuid             PRIMARY KEY,
    occurred_at        timestamptz      NOT NULL,
    received_at        timestamptz      NOT NULL DEFAULT now(),
    experiment_key     text             NOT NULL,
    experiment_version bigint           NOT NULL,
    variant_key        text             NOT NULL,
    unit_type          text             NOT NULL CHECK (unit_type IN ('user', 'session')),
    unit_id            text             NOT NULL,
    user_id            text,
    session_id         text,
    placement          text,
    forced             boolean          NOT NULL,
    config_revision    bigint           NOT NULL
);
-- Per-experiment analysis reads one experiment's units in time order.
CREATE INDEX exposures_experiment_unit_idx ON exposures (experiment_key, unit_id, occurred_at);
CREATE INDEX exposures_occurred_at_brin ON exposures USING brin (occurred_at);

CREATE TABLE outcomes (
    event_id    uuid             PRIMARY KEY,
    occurred_at timestamptz      NOT NULL,
    received_at timestamptz      NOT NULL DEFAULT now(),
    event_type  text             NOT NULL,
    user_id     text,
    session_id  text,
    placement   text,
    item_id     text,
    value       double precision,
    properties  jsonb            NOT NULL DEFAULT '{}'
);
-- Outcomes are joined to exposed units by user id or session id, after the exposure.
CREATE INDEX outcomes_user_idx ON outcomes (user_id, occurred_at) WHERE user_id IS NOT NULL;
CREATE INDEX outcomes_session_idx ON outcomes (session_id, occurred_at) WHERE session_id IS NOT NULL;
CREATE INDEX outcomes_occurred_at_brin ON outcomes USING brin (occurred_at);

-- BI views (Metabase and friends). Forced (QA override) exposures are left out.

-- Each unit's first exposure to each experiment: the variant it is analysed under.
CREATE VIEW first_exposures AS
SELECT DISTINCT ON (experiment_key, unit_id)
       experiment_key, unit_id, unit_type, variant_key, experiment_version,
       user_id, session_id, placement, occurred_at AS first_exposed_at
FROM exposures
WHERE NOT forced
ORDER BY experiment_key, unit_id, occurred_at, event_id;

-- Exposures per day, experiment and variant.
CREATE VIEW daily_exposures AS
SELECT date_trunc('day', occurred_at) AS day, experiment_key, variant_key,
       count(*) AS exposures, count(DISTINCT unit_id) AS units
FROM exposures
WHERE NOT forced
GROUP BY 1, 2, 3;

-- Outcomes per day, experiment, variant and event type, counting only events of exposed
-- units at or after their first exposure (joined on the bucketed id: user or session).
CREATE VIEW daily_outcomes AS
SELECT date_trunc('day', o.occurred_at) AS day, f.experiment_key, f.variant_key, o.event_type,
       count(*) AS events, count(DISTINCT f.unit_id) AS units, sum(o.value) AS value_sum
FROM first_exposures f
JOIN outcomes o
  ON (f.unit_type = 'user' AND o.user_id = f.unit_id)
  OR (f.unit_type = 'session' AND o.session_id = f.unit_id)
WHERE o.occurred_at >= f.first_exposed_at
GROUP BY 1, 2, 3, 4;
