-- Indexes that let results stream an experiment's units and their outcomes in unit order
-- straight from the indexes (index-only scans, merged; no sort, no hash table, no heap
-- access once autovacuum has marked the pages all-visible). See docs/analysis.md.

-- Each experiment's exposures in (unit, time) order, with what results need of each row.
DROP INDEX exposures_experiment_unit_idx;
CREATE INDEX exposures_experiment_unit_idx ON exposures (experiment_key, unit_id, occurred_at)
    INCLUDE (variant_key, unit_type, forced);

-- Outcomes in (user or session, time) order, with the event type and value.
DROP INDEX outcomes_user_idx;
CREATE INDEX outcomes_user_idx ON outcomes (user_id, occurred_at)
    INCLUDE (event_type, value) WHERE user_id IS NOT NULL;
DROP INDEX outcomes_session_idx;
CREATE INDEX outcomes_session_idx ON outcomes (session_id, occurred_at)
    INCLUDE (event_type, value) WHERE session_id IS NOT NULL;

-- Rare rows, found without reading the experiment's other exposures: forced (QA override)
-- exposures are counted, and session units are only joined when an experiment has some.
CREATE INDEX exposures_forced_idx ON exposures (experiment_key, occurred_at) WHERE forced;
CREATE INDEX exposures_session_unit_idx ON exposures (experiment_key, occurred_at)
    WHERE unit_type = 'session';
