//! Scorecards (`--scorecards`): every card's roll-up over the organisation, a team or a
//! system; one card's components, paged and sorted; one component's results with reasons and
//! trend. Reads for anyone who may read the catalog.

use app::auth::guard::Caller;
use app::scorecards::{service, CardQuery, CardResults, ComponentScorecards, Scope, ScorecardList};
use axum::extract::State;
use axum::Extension;
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::ApiResult;
use super::extract::{Json, Path, Query};
use super::openapi::schemas::{ApiErrors, EntityPath};
use crate::state::AppState;

/// Query string of `GET /api/v1/scorecards`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScopeParams {
    /// Only components this team owns: a name (`team-checkout`) or a reference.
    #[param(example = "team-checkout")]
    team: Option<String>,
    /// Only components of this system: a name (`checkout`) or a reference.
    #[param(example = "checkout")]
    system: Option<String>,
}

/// Every scorecard with its roll-up: components per level, pass rate per check, mean score and
/// the lowest scores, over the organisation or one team or system.
#[utoipa::path(
    get,
    path = "/api/v1/scorecards",
    operation_id = "listScorecards",
    tag = "scorecards",
    params(ScopeParams),
    responses(
        (status = 200, description = "One entry per card (none without `--scorecards`)", body = ScorecardList),
        (status = 401, description = "Not signed in", body = ApiErrors),
        (status = 422, description = "`team` or `system` is not a team or system reference", body = ApiErrors),
    ),
)]
pub async fn list_scorecards(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(p): Query<ScopeParams>,
) -> ApiResult<Json<ScorecardList>> {
    let scope = Scope {
        team: p.team,
        system: p.system,
    };
    Ok(Json(service::list(&state.ctx, &caller, &scope).await?))
}

/// Query string of `GET /api/v1/scorecards/{card}`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CardParams {
    /// Only components this team owns: a name or a reference.
    team: Option<String>,
    /// Only components of this system: a name or a reference.
    system: Option<String>,
    /// `score` (the default), `level` or `component`.
    #[param(example = "score")]
    sort: Option<String>,
    /// `asc` (the default: lowest first) or `desc`.
    order: Option<String>,
    /// Components to skip (`next_offset` of the previous page).
    offset: Option<u64>,
    /// Page size, 1-500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u64>,
}

/// The path of one scorecard.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CardPath {
    /// The card's `name`.
    #[param(example = "production-readiness")]
    pub card: String,
}

/// One scorecard's results per component, sorted and paged.
#[utoipa::path(
    get,
    path = "/api/v1/scorecards/{card}",
    operation_id = "getScorecard",
    tag = "scorecards",
    params(CardPath, CardParams),
    responses(
        (status = 200, description = "One page of components' results", body = CardResults),
        (status = 401, description = "Not signed in", body = ApiErrors),
        (status = 404, description = "No such scorecard", body = ApiErrors),
        (status = 422, description = "A bad filter, sort, order or limit", body = ApiErrors),
    ),
)]
pub async fn get_scorecard(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(card): Path<String>,
    Query(p): Query<CardParams>,
) -> ApiResult<Json<CardResults>> {
    let query = CardQuery {
        scope: Scope {
            team: p.team,
            system: p.system,
        },
        sort: p.sort,
        order: p.order,
        offset: p.offset,
        limit: p.limit,
    };
    Ok(Json(service::card_results(&state.ctx, &caller, &card, &query).await?))
}

/// A component's results on every scorecard that applies to it: level, score, every check with
/// its reason, the daily history of the last 30 days and the trend.
#[utoipa::path(
    get,
    path = "/api/v1/entities/{kind}/{namespace}/{name}/scorecards",
    operation_id = "getComponentScorecards",
    tag = "scorecards",
    params(EntityPath),
    responses(
        (status = 200, description = "The component's results (none before its first evaluation)", body = ComponentScorecards),
        (status = 401, description = "Not signed in", body = ApiErrors),
        (status = 404, description = "No such component", body = ApiErrors),
        (status = 422, description = "Not a component", body = ApiErrors),
    ),
)]
pub async fn get_component_scorecards(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((kind, namespace, name)): Path<(String, String, String)>,
) -> ApiResult<Json<ComponentScorecards>> {
    Ok(Json(
        service::component(&state.ctx, &caller, &kind, &namespace, &name).await?,
    ))
}
