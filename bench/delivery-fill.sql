-- Fills the delivery tables up to :'total' events in the shape the ingest path writes them, for
-- the read benchmarks (run timeline, DORA): bench/run.sh with BENCH_DELIVERY=1 runs it after the
-- real ingest benchmark. Runs: a START and a COMPLETE (one in ten a FAIL) per run over 90 days and
-- 10,000 components; 60,000 deployments (production and staging, one in twenty rolled back),
-- changes merged before them on the same chain, and 1,500 incidents.
\set ON_ERROR_STOP on
BEGIN;
WITH runs AS (
    SELECT i, format('comp-%s', lpad((i % 10000)::text, 5, '0')) AS comp,
           timestamptz '2026-09-01' + (i % 7776000) * interval '1 second' AS t0
      FROM generate_series(1, (:'total'::bigint - (SELECT count(*) FROM delivery_events)) / 2) AS i
)
INSERT INTO delivery_runs (run_id, job_namespace, job_name, component, status, started_at, ended_at,
                           first_event_at, last_event_at, producer, error_message)
SELECT format('fill-%s', i), 'bench', comp, 'component:default/' || comp,
       CASE WHEN i % 10 = 0 THEN 'fail' ELSE 'complete' END, t0, t0 + interval '60 seconds',
       t0, t0 + interval '60 seconds', 'token:bench-ingest',
       CASE WHEN i % 10 = 0 THEN 'upstream table missing' END
  FROM runs;
INSERT INTO delivery_events (spec, idempotency_key, event_type, event_time, producer, component, subject, body)
SELECT 'openlineage', format('fill:%s:%s', r.run_id, e.t), e.t, e.at, r.producer, r.component,
       'bench/' || r.job_name, jsonb_build_object('eventType', e.t, 'run', jsonb_build_object('runId', r.run_id))
  FROM delivery_runs r
  CROSS JOIN LATERAL (VALUES ('START', r.first_event_at),
                             (CASE r.status WHEN 'fail' THEN 'FAIL' ELSE 'COMPLETE' END, r.last_event_at)) AS e(t, at)
 WHERE r.run_id LIKE 'fill-%';
WITH d AS (
    SELECT i, 'component:default/' || format('comp-%s', lpad((i % 10000)::text, 5, '0')) AS comp,
           timestamptz '2026-09-01' + (i * 129) * interval '1 second' AS at
      FROM generate_series(1, 60000) AS i
)
INSERT INTO delivery_deployments (event_id, component, subject, action, environment, artifact, chain_id, at, producer)
SELECT -i, comp, split_part(comp, '/', 2),
       CASE WHEN i % 20 = 0 THEN 'rolledback' ELSE 'deployed' END,
       CASE WHEN i % 3 = 0 THEN 'staging' ELSE 'production' END,
       format('pkg:oci/%s@sha256:%s', split_part(comp, '/', 2), md5(i::text)), format('chain-%s', i), at,
       'token:bench-ingest'
  FROM d;
INSERT INTO delivery_changes (event_id, component, subject, repository, chain_id, merged_at, producer)
SELECT -event_id, component, format('pr-%s', -event_id), subject, chain_id, at - interval '3 hours', producer
  FROM delivery_deployments WHERE event_id < 0 AND action = 'deployed';
INSERT INTO delivery_incidents (incident_id, component, environment, description, detected_at, resolved_at, producer)
SELECT format('fill#%s', -event_id), component, environment, 'latency above threshold',
       at + interval '20 minutes', at + interval '2 hours', producer
  FROM delivery_deployments WHERE event_id < 0 AND -event_id % 40 = 7;
COMMIT;
ANALYZE delivery_events, delivery_runs, delivery_deployments, delivery_changes, delivery_incidents;
SELECT (SELECT count(*) FROM delivery_events) AS events, (SELECT count(*) FROM delivery_runs) AS runs,
       (SELECT count(*) FROM delivery_deployments) AS deployments, (SELECT count(*) FROM delivery_incidents) AS incidents;
