//! Runs and deployments out: listings, one run with its tasks and upstream, and the sweep
//! that closes runs which stopped reporting.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::repo::{self, RunFilter, RunRow};
use super::{DeliveryOverview, DeploymentView, JobName, RunDetail, RunPage, RunView, UnmappedSubject, Upstream};
use crate::auth::guard::Caller;
use crate::error::AppError;
use crate::ssr::ServerCtx;
use crate::wire::rfc3339;

/// Most runs or deployments one page holds.
pub const MAX_PAGE: u32 = 200;

/// What `GET /api/v1/runs` filters by.
#[derive(Clone, Debug, Default)]
pub struct RunQuery {
    pub component: Option<String>,
    /// `namespace/name`.
    pub job: Option<String>,
    pub status: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// Runs matching `q`, newest first (readers).
pub async fn list_runs(ctx: &ServerCtx, caller: &Caller, q: &RunQuery) -> Result<RunPage, AppError> {
    caller.require_reader(ctx)?;
    let limit = q.limit.unwrap_or(50).clamp(1, MAX_PAGE);
    let job = match q.job.as_deref().filter(|j| !j.is_empty()) {
        Some(j) => Some(
            j.rsplit_once('/')
                .ok_or_else(|| AppError::invalid("job", "give the job as namespace/name, e.g. luigi/Transform"))?,
        ),
        None => None,
    };
    let status = q.status.as_deref().filter(|s| !s.is_empty());
    if let Some(s) = status {
        if !super::RUN_STATUSES.contains(&s) {
            return Err(AppError::invalid(
                "status",
                format!("one of {}", super::RUN_STATUSES.join(", ")),
            ));
        }
    }
    let filter = RunFilter {
        component: q.component.as_deref().filter(|c| !c.is_empty()),
        job,
        status,
        from: time_param("from", q.from.as_deref())?,
        to: time_param("to", q.to.as_deref())?,
        after: q
            .cursor
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(parse_cursor)
            .transpose()?,
        parent: None,
        owner: None,
    };
    let mut rows = repo::list_runs(&ctx.pool, &filter, i64::from(limit) + 1).await?;
    let next_cursor = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(cursor_of)
    } else {
        None
    };
    Ok(RunPage {
        items: rows.into_iter().map(view).collect(),
        next_cursor,
    })
}

/// One run with its tasks and its upstream: the component's declared dependencies and the
/// jobs it reported depending on, each with its latest run, owner and mesh status (readers).
pub async fn run_detail(ctx: &ServerCtx, caller: &Caller, run_id: &str) -> Result<RunDetail, AppError> {
    caller.require_reader(ctx)?;
    let row = repo::run(&ctx.pool, run_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("run {run_id}")))?;
    let tasks = repo::list_runs(
        &ctx.pool,
        &RunFilter {
            parent: Some(run_id),
            ..RunFilter::default()
        },
        i64::from(MAX_PAGE),
    )
    .await?;
    let mut upstream = Vec::new();
    if let Some(component) = &row.component {
        let declared = repo::declared_upstream(&ctx.pool, component).await?;
        let refs: Vec<String> = declared.iter().map(|(r, _)| r.clone()).collect();
        let latest = repo::latest_runs_of_components(&ctx.pool, &refs).await?;
        let statuses = crate::mesh::repo::component_statuses(&ctx.pool, &refs).await?;
        for (component, owner) in declared {
            upstream.push(Upstream {
                via: "dependsOn".to_owned(),
                latest_run: latest
                    .iter()
                    .find(|r| r.component.as_deref() == Some(component.as_str()))
                    .cloned()
                    .map(view),
                mesh_status: statuses.get(&component).cloned(),
                component: Some(component),
                job: None,
                owner,
            });
        }
    }
    let deps: Vec<(String, String)> = row
        .job_dependencies
        .as_array()
        .map(|deps| {
            deps.iter()
                .filter_map(|d| Some((d["namespace"].as_str()?.to_owned(), d["name"].as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    for (namespace, name) in deps {
        let latest = repo::latest_run_of_job(&ctx.pool, &namespace, &name).await?;
        let component = latest.as_ref().and_then(|r| r.component.clone());
        upstream.push(Upstream {
            via: "jobDependencies".to_owned(),
            component,
            job: Some(JobName { namespace, name }),
            owner: None,
            latest_run: latest.map(view),
            mesh_status: None,
        });
    }
    Ok(RunDetail {
        error_stack: row.error_stack.clone(),
        run: view(row),
        tasks: tasks.into_iter().map(view).collect(),
        upstream,
    })
}

/// Deployments, newest first (readers).
pub async fn list_deployments(
    ctx: &ServerCtx,
    caller: &Caller,
    component: Option<&str>,
    environment: Option<&str>,
    limit: Option<u32>,
) -> Result<Vec<DeploymentView>, AppError> {
    caller.require_reader(ctx)?;
    let limit = i64::from(limit.unwrap_or(50).clamp(1, MAX_PAGE));
    let rows = repo::list_deployments(
        &ctx.pool,
        component.filter(|c| !c.is_empty()),
        environment.filter(|e| !e.is_empty()),
        None,
        limit,
    )
    .await?;
    Ok(rows.into_iter().map(deployment_view).collect())
}

fn deployment_view(d: repo::DeploymentRow) -> DeploymentView {
    DeploymentView {
        component: d.component,
        service: d.subject,
        action: d.action,
        environment: d.environment,
        artifact: d.artifact,
        at: rfc3339(d.at),
        producer: d.producer,
    }
}

/// Recent deployments and failed runs across teams, or of one team's components (readers):
/// `/delivery` and the team pages.
pub async fn overview(ctx: &ServerCtx, caller: &Caller, team: Option<&str>) -> Result<DeliveryOverview, AppError> {
    caller.require_reader(ctx)?;
    let owner = match team.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => {
            Some(crate::auth::team_ref(t).ok_or_else(|| AppError::invalid("team", format!("{t} is not a team")))?)
        }
        None => None,
    };
    let failures = repo::list_runs(
        &ctx.pool,
        &RunFilter {
            status: Some("fail"),
            owner: owner.as_deref(),
            ..RunFilter::default()
        },
        20,
    )
    .await?;
    let deployments = repo::list_deployments(&ctx.pool, None, None, owner.as_deref(), 20).await?;
    Ok(DeliveryOverview {
        team: owner,
        failures: failures.into_iter().map(view).collect(),
        deployments: deployments.into_iter().map(deployment_view).collect(),
    })
}

/// Producers' jobs and services that no component claims (admins).
pub async fn unmapped(ctx: &ServerCtx, caller: &Caller) -> Result<Vec<UnmappedSubject>, AppError> {
    caller.require_admin()?;
    Ok(repo::unmapped(&ctx.pool, i64::from(MAX_PAGE))
        .await?
        .into_iter()
        .map(|(spec, producer, subject, events, last)| UnmappedSubject {
            spec,
            producer,
            subject,
            events,
            last_seen: rfc3339(last),
        })
        .collect())
}

/// What one sweep did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    /// Runs closed as `lost`.
    pub lost: u64,
    /// Events deleted for being older than the retention.
    pub expired: u64,
}

/// Closes runs with no event for `ctx.delivery.lost_after` as `lost`, and deletes events older
/// than the retention. Run by the server's delivery worker.
pub async fn sweep(ctx: &ServerCtx) -> Result<Swept, AppError> {
    let now = OffsetDateTime::now_utc();
    let ago = |d: std::time::Duration| {
        let d = time::Duration::try_from(d).unwrap_or(time::Duration::MAX);
        now.checked_sub(d).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    };
    let lost = repo::close_lost_runs(&ctx.pool, ago(ctx.delivery.lost_after)).await?;
    if lost > 0 {
        crate::cache::notify(&ctx.pool, repo::CHANGED_CHANNEL).await?;
    }
    let expired = match ctx.delivery.retention {
        Some(keep) => repo::delete_events_before(&ctx.pool, ago(keep)).await?,
        None => 0,
    };
    Ok(Swept { lost, expired })
}

fn view(r: RunRow) -> RunView {
    let duration_ms = match (r.started_at.or(Some(r.first_event_at)), r.ended_at) {
        (Some(start), Some(end)) if end >= start => i64::try_from((end - start).whole_milliseconds()).ok(),
        _ => None,
    };
    RunView {
        run_id: r.run_id,
        job: JobName {
            namespace: r.job_namespace,
            name: r.job_name,
        },
        component: r.component,
        status: r.status,
        started_at: r.started_at.map(rfc3339),
        ended_at: r.ended_at.map(rfc3339),
        duration_ms,
        producer: r.producer,
        parent_run_id: r.parent_run_id,
        error: r.error_message,
    }
}

fn time_param(field: &str, value: Option<&str>) -> Result<Option<OffsetDateTime>, AppError> {
    match value.filter(|v| !v.is_empty()) {
        Some(v) => OffsetDateTime::parse(v, &Rfc3339)
            .map(Some)
            .map_err(|_| AppError::invalid(field, "an RFC 3339 time, e.g. 2026-12-01T00:00:00Z")),
        None => Ok(None),
    }
}

/// A cursor is the last row's sort key: `<unix nanoseconds>:<run id>`.
fn cursor_of(r: &RunRow) -> String {
    format!("{}:{}", r.first_event_at.unix_timestamp_nanos(), r.run_id)
}

fn parse_cursor(cursor: &str) -> Result<(OffsetDateTime, String), AppError> {
    let bad = || AppError::invalid("cursor", "pass next_cursor from the previous page as it was");
    let (nanos, id) = cursor.split_once(':').ok_or_else(bad)?;
    let nanos: i128 = nanos.parse().map_err(|_| bad())?;
    let at = OffsetDateTime::from_unix_timestamp_nanos(nanos).map_err(|_| bad())?;
    Ok((at, id.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_read_back_and_garbage_is_refused() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_764_000_000_123_456_789).unwrap();
        let (back, id) = parse_cursor(&format!("{}:run:with:colons", at.unix_timestamp_nanos())).unwrap();
        assert_eq!((back, id.as_str()), (at, "run:with:colons"));
        assert!(parse_cursor("nope").is_err());
        assert!(parse_cursor("99999999999999999999999999999999999:x").is_err());
    }
}
