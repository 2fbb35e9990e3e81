//! Server functions for the scorecard pages. Thin adapters: the services check the caller.

use leptos::prelude::*;

use super::{ComponentScorecards, ScorecardList};
use crate::error::AppError;

/// Every card with its roll-up over the organisation, or one team or system.
#[server(prefix = "/api/fn", endpoint = "get_scorecards")]
pub async fn get_scorecards(team: Option<String>, system: Option<String>) -> Result<ScorecardList, AppError> {
    crate::server_call::call(|ctx, caller| async move {
        super::service::list(&ctx, &caller, &super::Scope { team, system }).await
    })
    .await
}

/// A component's results on every card that applies to it, with reasons and trend.
#[server(prefix = "/api/fn", endpoint = "get_component_scorecards")]
pub async fn get_component_scorecards(namespace: String, name: String) -> Result<ComponentScorecards, AppError> {
    crate::server_call::call(|ctx, caller| async move {
        super::service::component(&ctx, &caller, "component", &namespace, &name).await
    })
    .await
}
