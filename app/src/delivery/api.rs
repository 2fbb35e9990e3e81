//! Server functions for the delivery pages. Thin adapters: the services check the caller.

use leptos::prelude::*;

use super::{ComponentDelivery, DeliveryOverview, DoraReport, Producers, RunDetail, UnmappedSubject};
use crate::error::AppError;

/// A component's recent runs (optionally of one status) and deployments.
#[server(prefix = "/api/fn", endpoint = "get_component_delivery")]
pub async fn get_component_delivery(
    namespace: String,
    name: String,
    status: Option<String>,
    cursor: Option<String>,
) -> Result<ComponentDelivery, AppError> {
    crate::server_call::call(|ctx, caller| async move {
        let component = format!(
            "component:{}/{}",
            namespace.to_ascii_lowercase(),
            name.to_ascii_lowercase()
        );
        let query = super::runs::RunQuery {
            component: Some(component.clone()),
            status,
            cursor,
            limit: Some(20),
            ..Default::default()
        };
        let runs = super::runs::list_runs(&ctx, &caller, &query).await?;
        let deployments = super::runs::list_deployments(&ctx, &caller, Some(&component), None, Some(10)).await?;
        let producers = super::bindings::producers(&ctx, &caller, &component).await?;
        Ok(ComponentDelivery {
            runs,
            deployments,
            producers,
        })
    })
    .await
}

/// Binds (or unbinds) a producer to a component (its team's lead, or an admin).
#[server(prefix = "/api/fn", endpoint = "bind_producer")]
pub async fn bind_producer(
    namespace: String,
    name: String,
    producer: String,
    bind: bool,
) -> Result<Producers, AppError> {
    crate::server_call::call(|ctx, caller| async move {
        let component = format!(
            "component:{}/{}",
            namespace.to_ascii_lowercase(),
            name.to_ascii_lowercase()
        );
        super::bindings::bind(&ctx, &caller, &component, &producer, bind).await
    })
    .await
}

/// Recent deployments and failed runs, of every team or of one.
#[server(prefix = "/api/fn", endpoint = "get_delivery_overview")]
pub async fn get_delivery_overview(team: Option<String>) -> Result<DeliveryOverview, AppError> {
    crate::server_call::call(|ctx, caller| async move { super::runs::overview(&ctx, &caller, team.as_deref()).await })
        .await
}

/// Jobs and services no component claims (admins).
#[server(prefix = "/api/fn", endpoint = "get_unmapped")]
pub async fn get_unmapped() -> Result<Vec<UnmappedSubject>, AppError> {
    crate::server_call::call(|ctx, caller| async move { super::runs::unmapped(&ctx, &caller).await }).await
}

/// One run with its tasks and upstream.
#[server(prefix = "/api/fn", endpoint = "get_run")]
pub async fn get_run(run_id: String) -> Result<RunDetail, AppError> {
    crate::server_call::call(|ctx, caller| async move { super::runs::run_detail(&ctx, &caller, &run_id).await }).await
}

/// The DORA metrics of a team's components over the last 12 weeks, for its page.
#[server(prefix = "/api/fn", endpoint = "get_team_dora")]
pub async fn get_team_dora(namespace: String, name: String) -> Result<DoraReport, AppError> {
    crate::server_call::call(|ctx, caller| async move {
        let (from, to) = super::dora::recent_weeks(12, time::OffsetDateTime::now_utc());
        let query = super::dora::DoraQuery {
            team: Some(format!("group:{namespace}/{name}")),
            from: Some(from),
            to: Some(to),
            ..Default::default()
        };
        super::dora::report(&ctx, &caller, &query).await
    })
    .await
}
