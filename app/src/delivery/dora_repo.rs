//! SQL for the DORA metrics, as `docs/dora.md` publishes it: the definitions are in
//! [`super::dora`]. Every query takes the same four parameters:
//!
//! - `$1 text[]`: the components in scope (reference keys), NULL for the whole organisation;
//! - `$2 text[]`: the environments that count, NULL for all;
//! - `$3`, `$4`: the period, `[from, to)`.
//!
//! Only deployments to a component in the catalog and with an environment are counted (CDEvents
//! requires the environment; an unmapped service has no owner to report to).
//!
//! Both queries run unprepared (`persistent(false)`), so PostgreSQL plans them with the actual
//! scope: a prepared statement soon gets a generic plan that cannot tell a team's hundred
//! components from the whole organisation, and scans the period's deployments in time order
//! for either (50 ms for a team with 1,000,000 stored events, against 2 ms through the
//! component index).

use sqlx::PgExecutor;
use time::OffsetDateTime;

/// The scope and period of one report.
#[derive(Clone, Debug)]
pub struct Scope<'a> {
    /// None: every component.
    pub components: Option<&'a [String]>,
    /// None: every environment.
    pub environments: Option<&'a [String]>,
    pub from: OffsetDateTime,
    pub to: OffsetDateTime,
}

/// Deployment facts of one week (`week` is its Monday, UTC), or of the whole period (`week`
/// None).
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct DeploymentStats {
    pub week: Option<time::Date>,
    pub deployments: i64,
    pub failed: i64,
    pub rework: i64,
    /// Failed deployments whose recovery is known.
    pub recovered: i64,
    pub recovery_median_s: Option<f64>,
}

/// One row per week with a deployment, then the period's row (`week` NULL).
///
/// A deployment is a `deployed` or `upgraded` event. Its window runs to the next deployment
/// event of any action (`deployed`, `upgraded`, `rolledback`, `removed`) of the same component
/// and environment: the time its version was live.
pub const DEPLOYMENT_STATS: &str = r#"
WITH deployments AS (
    SELECT d.event_id, d.component, d.environment, d.at
    FROM delivery_deployments d
    WHERE d.action IN ('deployed', 'upgraded')
      AND d.at >= $3 AND d.at < $4
      AND d.component IS NOT NULL AND d.environment IS NOT NULL
      AND ($1::text[] IS NULL OR d.component = ANY($1))
      AND ($2::text[] IS NULL OR d.environment = ANY($2))
),
facts AS (
    SELECT (date_trunc('week', d.at AT TIME ZONE 'UTC'))::date AS week,
           -- Failed: rolled back by the next event, or an incident in its window.
           coalesce(nx.action = 'rolledback', false) OR inc.n > 0 AS failed,
           -- Rework: the deployment right after a rollback, or one made while an incident
           -- of the same component and environment was open.
           coalesce(pv.action = 'rolledback', false) OR open_before.open_incident AS rework,
           -- Recovered at the rollback, or when the last of its incidents was resolved,
           -- whichever came first; from its first incident's detection, else from itself.
           -- (Never negative: an incident resolved before it was detected recovers at once.)
           (SELECT CASE WHEN r < 0 THEN 0 ELSE r END FROM (SELECT extract(epoch FROM
               least(CASE WHEN nx.action = 'rolledback' THEN nx.at END,
                     CASE WHEN inc.n > 0 AND NOT inc.still_open THEN inc.last_resolved END)
               - coalesce(inc.first_detected, d.at))::float8 AS r) recovery) AS recovery_s
    FROM deployments d
    LEFT JOIN LATERAL (
        SELECT n.action, n.at FROM delivery_deployments n
        WHERE n.component = d.component AND n.environment = d.environment
          AND (n.at, n.event_id) > (d.at, d.event_id)
        ORDER BY n.at, n.event_id LIMIT 1
    ) nx ON true
    LEFT JOIN LATERAL (
        SELECT p.action FROM delivery_deployments p
        WHERE p.component = d.component AND p.environment = d.environment
          AND (p.at, p.event_id) < (d.at, d.event_id)
        ORDER BY p.at DESC, p.event_id DESC LIMIT 1
    ) pv ON true
    CROSS JOIN LATERAL (
        SELECT count(*) AS n, min(i.detected_at) AS first_detected,
               max(i.resolved_at) AS last_resolved, bool_or(i.resolved_at IS NULL) AS still_open
        FROM delivery_incidents i
        WHERE i.component = d.component AND i.environment = d.environment
          AND i.detected_at >= d.at AND (nx.at IS NULL OR i.detected_at < nx.at)
    ) inc
    CROSS JOIN LATERAL (
        SELECT EXISTS (
            SELECT 1 FROM delivery_incidents i
            WHERE i.component = d.component AND i.environment = d.environment
              AND i.detected_at < d.at AND (i.resolved_at IS NULL OR i.resolved_at > d.at)
        ) AS open_incident
    ) open_before
)
SELECT week,
       count(*) AS deployments,
       count(*) FILTER (WHERE failed) AS failed,
       count(*) FILTER (WHERE rework) AS rework,
       count(recovery_s) FILTER (WHERE failed) AS recovered,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY recovery_s) FILTER (WHERE failed)
           AS recovery_median_s
FROM facts
GROUP BY ROLLUP (week)
ORDER BY week NULLS LAST
"#;

/// The deployment facts per week and for the period (the last row).
pub async fn deployment_stats(db: impl PgExecutor<'_>, s: &Scope<'_>) -> sqlx::Result<Vec<DeploymentStats>> {
    sqlx::query_as(DEPLOYMENT_STATS)
        .persistent(false)
        .bind(s.components)
        .bind(s.environments)
        .bind(s.from)
        .bind(s.to)
        .fetch_all(db)
        .await
}

/// Lead times of the period.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct LeadTimes {
    /// Changes that reached a deployment in the period (per component they reached).
    pub changes: i64,
    pub median_s: Option<f64>,
    pub p90_s: Option<f64>,
}

/// A merged change's lead time is from its `change.merged` to the first deployment of a
/// component with the same CDEvents `chainId` at or after it; counted in the period of that
/// deployment.
pub const LEAD_TIMES: &str = r#"
SELECT count(*) AS changes,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY s) AS median_s,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY s) AS p90_s
FROM (
    SELECT extract(epoch FROM d.at - c.merged_at)::float8 AS s
    FROM delivery_deployments d
    JOIN delivery_changes c ON c.chain_id = d.chain_id AND c.merged_at <= d.at
    WHERE d.action IN ('deployed', 'upgraded')
      AND d.at >= $3 AND d.at < $4
      AND d.chain_id IS NOT NULL
      AND d.component IS NOT NULL AND d.environment IS NOT NULL
      AND ($1::text[] IS NULL OR d.component = ANY($1))
      AND ($2::text[] IS NULL OR d.environment = ANY($2))
      -- The first deployment of this component carrying the change.
      AND NOT EXISTS (
          SELECT 1 FROM delivery_deployments e
          WHERE e.chain_id = d.chain_id AND e.component = d.component
            AND e.action IN ('deployed', 'upgraded') AND e.environment IS NOT NULL
            AND ($2::text[] IS NULL OR e.environment = ANY($2))
            AND e.at >= c.merged_at AND (e.at, e.event_id) < (d.at, d.event_id)
      )
) lead_times
"#;

/// The lead times of changes deployed in the period.
pub async fn lead_times(db: impl PgExecutor<'_>, s: &Scope<'_>) -> sqlx::Result<LeadTimes> {
    sqlx::query_as(LEAD_TIMES)
        .persistent(false)
        .bind(s.components)
        .bind(s.environments)
        .bind(s.from)
        .bind(s.to)
        .fetch_one(db)
        .await
}

/// The components `team` owns (reference keys).
pub async fn components_of_team(db: impl PgExecutor<'_>, team: &str) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT ref FROM entities WHERE kind = 'component' AND owner_ref = $1 ORDER BY ref")
        .bind(team)
        .fetch_all(db)
        .await
}

/// Whether the catalog has the entity `entity_ref`.
pub async fn entity_exists(db: impl PgExecutor<'_>, entity_ref: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM entities WHERE ref = $1)")
        .bind(entity_ref)
        .fetch_one(db)
        .await
}

#[cfg(test)]
mod tests {
    /// `docs/dora.md` publishes the SQL so that the numbers can be checked: it must be the SQL
    /// that runs.
    #[test]
    fn the_published_sql_is_the_sql_that_runs() {
        let doc = include_str!("../../../docs/dora.md");
        for (name, sql) in [
            ("DEPLOYMENT_STATS", super::DEPLOYMENT_STATS),
            ("LEAD_TIMES", super::LEAD_TIMES),
        ] {
            let fenced = format!("```sql\n{}\n```", sql.trim_matches('\n'));
            assert!(
                doc.contains(&fenced),
                "docs/dora.md does not show {name} as it is; copy it again"
            );
        }
    }
}
