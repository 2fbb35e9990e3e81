//! DORA metrics (issue 13 §5) of a component, a team's components or the whole organisation,
//! over a period, from the deployments, changes and incidents producers reported. The SQL is in
//! [`super::dora_repo`]; `docs/dora.md` publishes it with these definitions, so that anyone can
//! check a number against the database.
//!
//! - **Deployment**: a CDEvents `service.deployed` or `service.upgraded` of a catalog component
//!   to an environment, counted in the period it happened in. A `service.rolledback` is not a
//!   deployment (it undoes one: counting it would raise the frequency exactly when changes fail
//!   and put the fix in the change-failure denominator), nor is a `service.removed`. DORA counts
//!   deployments to production: pass `environment=` (or start the server with
//!   `--dora-environments`, [`crate::ssr::DeliverySettings::dora_environments`]) to name the
//!   production environments; without either every environment counts.
//! - **Deployment frequency**: deployments in the period divided by its length in days.
//! - **Lead time for changes**: for each `change.merged`, the time from the merge to the first
//!   deployment (of each component) with the same CDEvents `context.chainId` at or after it,
//!   counted in the period of that deployment; median and 90th percentile (PostgreSQL
//!   `percentile_cont`, interpolating). CDEvents 0.4/0.5 `change.merged` names no commit or
//!   artifact, so the chain is the link.
//! - **Change failure rate**: failed deployments over deployments. A deployment's window runs
//!   from it to the next deployment event of any action of the same component and environment
//!   (the time its version was live); it failed when that next event is a rollback, or when an
//!   incident of the component in that environment was detected in the window.
//! - **Failed deployment recovery time**: per failed deployment, from the first of its
//!   incidents' detection (without incidents: from the deployment) to its recovery, the rollback
//!   or the resolution of the last of its incidents, whichever came first; median over the
//!   failed deployments of the period whose recovery is known.
//! - **Rework rate** (DORA 2024: the share of deployments that were unplanned, made to fix a
//!   problem in production): deployments made right after a rollback, or while an incident of
//!   the component in that environment was open, over deployments. An approximation: Bearing
//!   cannot tell a fix from a planned change otherwise.
//!
//! Performance levels follow the DORA 2024 report's table (Accelerate State of DevOps 2024,
//! "software delivery performance levels"): deployment frequency elite on demand (more than
//! once a day), high once a day to once a week, medium once a week to once a month, low less;
//! lead time elite under a day, high under a week, medium under a month, low more; change
//! failure rate elite 5%, high 20%, medium 10%, low 40%; recovery time elite under an hour,
//! high and medium under a day, low a week to a month. Where the report's levels overlap or
//! leave gaps Bearing reads them as ordered bounds: a change failure rate up to 5% is elite, up
//! to 20% high (the report's medium, at 10%, sits inside it), more is low; a recovery time under
//! an hour is elite, under a day high, under a week medium, more low. The report gives no
//! levels for rework rate.

use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::dora_repo::{self, DeploymentStats, Scope};
use super::{DoraBand, DoraReport, DoraWeek};
use crate::auth::guard::Caller;
use crate::error::AppError;
use crate::ssr::ServerCtx;
use crate::wire::rfc3339;

/// The longest period one report covers.
pub const MAX_PERIOD_DAYS: i64 = 366;
/// The period when none is given: the last 30 days.
pub const DEFAULT_PERIOD_DAYS: i64 = 30;

/// What `GET /api/v1/dora` asks for. Empty strings count as absent.
#[derive(Clone, Debug, Default)]
pub struct DoraQuery {
    /// `payments` or `group:default/payments`.
    pub team: Option<String>,
    /// `checkout` or `component:default/checkout`.
    pub component: Option<String>,
    /// Comma-separated environment ids.
    pub environment: Option<String>,
    /// RFC 3339; default `to` minus 30 days.
    pub from: Option<String>,
    /// RFC 3339; default now.
    pub to: Option<String>,
}

/// The DORA metrics of the query's scope and period (readers).
pub async fn report(ctx: &ServerCtx, caller: &Caller, q: &DoraQuery) -> Result<DoraReport, AppError> {
    caller.require_reader(ctx)?;
    let given = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    let (from, to) = period(
        given(&q.from).as_deref(),
        given(&q.to).as_deref(),
        OffsetDateTime::now_utc(),
    )?;
    let environments: Vec<String> = match given(&q.environment) {
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_owned)
            .collect(),
        None => ctx.delivery.dora_environments.to_vec(),
    };
    let (team, component) = (given(&q.team), given(&q.component));
    let components = match (&team, &component) {
        (Some(_), Some(_)) => {
            return Err(AppError::invalid(
                "team",
                "give a team or a component, not both (neither: the whole organisation)",
            ))
        }
        (Some(t), None) => {
            let team = entity_key(
                t,
                bearing_catalog::Kind::Group,
                "team",
                "payments or group:default/payments",
            )?;
            if !dora_repo::entity_exists(&ctx.pool, &team).await? {
                return Err(AppError::NotFound(format!("team {team}")));
            }
            Some((
                Some(team.clone()),
                None,
                dora_repo::components_of_team(&ctx.pool, &team).await?,
            ))
        }
        (None, Some(c)) => {
            let c = entity_key(
                c,
                bearing_catalog::Kind::Component,
                "component",
                "checkout or component:default/checkout",
            )?;
            Some((None, Some(c.clone()), vec![c]))
        }
        (None, None) => None,
    };
    let scope = Scope {
        components: components.as_ref().map(|(_, _, c)| c.as_slice()),
        environments: (!environments.is_empty()).then_some(environments.as_slice()),
        from,
        to,
    };
    let stats = dora_repo::deployment_stats(&ctx.pool, &scope).await?;
    let lead = dora_repo::lead_times(&ctx.pool, &scope).await?;
    let (team, component) = components.map(|(t, c, _)| (t, c)).unwrap_or_default();
    Ok(assemble(team, component, environments, from, to, &stats, lead))
}

/// The period of the team page's DORA section: the last `weeks` weeks, from a Monday (UTC), as
/// `from` and `to` for [`DoraQuery`].
pub fn recent_weeks(weeks: u8, now: OffsetDateTime) -> (String, String) {
    let monday = now.date() - Duration::days(i64::from(now.weekday().number_days_from_monday()));
    let from = monday.midnight().assume_utc() - Duration::weeks(i64::from(weeks.max(1)) - 1);
    (rfc3339(from), rfc3339(now))
}

/// `[from, to)` from the parameters: RFC 3339, `from` before `to`, at most
/// [`MAX_PERIOD_DAYS`] apart; `to` defaults to `now`, `from` to 30 days before `to`.
fn period(
    from: Option<&str>,
    to: Option<&str>,
    now: OffsetDateTime,
) -> Result<(OffsetDateTime, OffsetDateTime), AppError> {
    let parse = |field: &str, v: &str| {
        OffsetDateTime::parse(v, &Rfc3339).map_err(|_| {
            AppError::invalid(
                field,
                format!("`{v}` is not an RFC 3339 time, e.g. 2026-12-01T00:00:00Z"),
            )
        })
    };
    let to = to.map(|v| parse("to", v)).transpose()?.unwrap_or(now);
    let from = match from {
        Some(v) => parse("from", v)?,
        None => to - Duration::days(DEFAULT_PERIOD_DAYS),
    };
    if from >= to {
        return Err(AppError::invalid("from", "must be before `to`"));
    }
    if to - from > Duration::days(MAX_PERIOD_DAYS) {
        return Err(AppError::invalid(
            "from",
            format!("the period is at most {MAX_PERIOD_DAYS} days; ask for a shorter one"),
        ));
    }
    Ok((from, to))
}

/// `text` as the reference key of an entity of `kind` (`name`, `namespace/name` or
/// `kind:namespace/name`).
fn entity_key(text: &str, kind: bearing_catalog::Kind, field: &str, example: &str) -> Result<String, AppError> {
    match bearing_catalog::EntityRef::parse(text, Some(kind), bearing_catalog::DEFAULT_NAMESPACE) {
        Ok(r) if r.kind == kind => Ok(r.key()),
        _ => Err(AppError::invalid(
            field,
            format!("`{text}` does not name one; e.g. {example}"),
        )),
    }
}

/// The report from the query results.
fn assemble(
    team: Option<String>,
    component: Option<String>,
    environments: Vec<String>,
    from: OffsetDateTime,
    to: OffsetDateTime,
    stats: &[DeploymentStats],
    lead: dora_repo::LeadTimes,
) -> DoraReport {
    let total = stats
        .iter()
        .find(|s| s.week.is_none())
        .cloned()
        .unwrap_or(DeploymentStats {
            week: None,
            deployments: 0,
            failed: 0,
            rework: 0,
            recovered: 0,
            recovery_median_s: None,
        });
    let days = (to - from).as_seconds_f64() / 86_400.0;
    let per_day = total.deployments as f64 / days;
    let rate = |n: i64| (total.deployments > 0).then(|| n as f64 / total.deployments as f64);
    let change_failure_rate = rate(total.failed);
    DoraReport {
        team,
        component,
        environments,
        from: rfc3339(from),
        to: rfc3339(to),
        deployments: total.deployments,
        deployments_per_day: per_day,
        deployment_frequency_band: (total.deployments > 0).then(|| frequency_band(per_day)),
        changes: lead.changes,
        lead_time_median_s: lead.median_s,
        lead_time_p90_s: lead.p90_s,
        lead_time_band: lead.median_s.map(lead_time_band),
        failed_deployments: total.failed,
        change_failure_rate,
        change_failure_band: change_failure_rate.map(change_failure_band),
        recovered_deployments: total.recovered,
        recovery_time_median_s: total.recovery_median_s,
        recovery_time_band: total.recovery_median_s.map(recovery_band),
        rework_deployments: total.rework,
        rework_rate: rate(total.rework),
        weeks: weeks(from, to, stats),
    }
}

/// Every week touching `[from, to)`, with the deployments of those that had some.
fn weeks(from: OffsetDateTime, to: OffsetDateTime, stats: &[DeploymentStats]) -> Vec<DoraWeek> {
    let monday = |d: time::Date| d - Duration::days(i64::from(d.weekday().number_days_from_monday()));
    let last = to - Duration::nanoseconds(1);
    let mut out = Vec::new();
    let mut week = monday(from.date());
    while week <= last.date() {
        let s = stats.iter().find(|s| s.week == Some(week));
        out.push(DoraWeek {
            week: week.to_string(),
            deployments: s.map_or(0, |s| s.deployments),
            failed: s.map_or(0, |s| s.failed),
            rework: s.map_or(0, |s| s.rework),
        });
        week += Duration::weeks(1);
    }
    out
}

const HOUR: f64 = 3_600.0;
const DAY: f64 = 24.0 * HOUR;

/// Deployments per day: elite more than once a day, high at least weekly, medium at least
/// monthly (every 30 days), low less often.
pub fn frequency_band(per_day: f64) -> DoraBand {
    match per_day {
        f if f > 1.0 => DoraBand::Elite,
        f if f >= 1.0 / 7.0 => DoraBand::High,
        f if f >= 1.0 / 30.0 => DoraBand::Medium,
        _ => DoraBand::Low,
    }
}

/// Median lead time: elite under a day, high under a week, medium under a month (30 days).
pub fn lead_time_band(seconds: f64) -> DoraBand {
    match seconds {
        s if s < DAY => DoraBand::Elite,
        s if s < 7.0 * DAY => DoraBand::High,
        s if s < 30.0 * DAY => DoraBand::Medium,
        _ => DoraBand::Low,
    }
}

/// Change failure rate: elite up to 5%, high up to 20%, low above.
pub fn change_failure_band(rate: f64) -> DoraBand {
    match rate {
        r if r <= 0.05 => DoraBand::Elite,
        r if r <= 0.20 => DoraBand::High,
        _ => DoraBand::Low,
    }
}

/// Median recovery time: elite under an hour, high under a day, medium under a week.
pub fn recovery_band(seconds: f64) -> DoraBand {
    match seconds {
        s if s < HOUR => DoraBand::Elite,
        s if s < DAY => DoraBand::High,
        s if s < 7.0 * DAY => DoraBand::Medium,
        _ => DoraBand::Low,
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn the_period_defaults_to_30_days_and_is_bounded() {
        let now = datetime!(2026-12-06 12:00 UTC);
        assert_eq!(period(None, None, now).unwrap(), (now - Duration::days(30), now));
        assert!(
            period(Some("2026-12-07T00:00:00Z"), None, now).is_err(),
            "from after to"
        );
        assert!(
            period(Some("2025-01-01T00:00:00Z"), None, now).is_err(),
            "over 366 days"
        );
        assert!(period(Some("yesterday"), None, now).is_err());
        assert!(period(Some("2026-01-01T00:00:00Z"), Some("2027-01-01T00:00:00Z"), now).is_ok());
    }

    #[test]
    fn weeks_cover_the_period_from_its_monday() {
        let w = weeks(datetime!(2026-11-04 00:00 UTC), datetime!(2026-11-16 00:00 UTC), &[]);
        let mondays: Vec<&str> = w.iter().map(|w| w.week.as_str()).collect();
        assert_eq!(
            mondays,
            ["2026-11-02", "2026-11-09"],
            "a period ending on a Monday stops before it"
        );
        let (from, _) = recent_weeks(12, datetime!(2026-12-06 12:00 UTC));
        assert_eq!(from, "2026-09-14T00:00:00Z", "12 weeks, this one included");
    }

    #[test]
    fn bands_follow_the_2024_report() {
        assert_eq!(frequency_band(3.0), DoraBand::Elite);
        assert_eq!(frequency_band(1.0), DoraBand::High);
        assert_eq!(frequency_band(0.1), DoraBand::Medium);
        assert_eq!(frequency_band(0.01), DoraBand::Low);
        assert_eq!(lead_time_band(3.0 * HOUR), DoraBand::Elite);
        assert_eq!(lead_time_band(40.0 * DAY), DoraBand::Low);
        assert_eq!(change_failure_band(0.05), DoraBand::Elite);
        assert_eq!(change_failure_band(0.10), DoraBand::High);
        assert_eq!(change_failure_band(0.5), DoraBand::Low);
        assert_eq!(recovery_band(30.0 * 60.0), DoraBand::Elite);
        assert_eq!(recovery_band(2.0 * DAY), DoraBand::Medium);
    }
}
