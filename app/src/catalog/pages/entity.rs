//! `/catalog/{kind}/{namespace}/{name}`: every field, relations both ways, the dependency
//! graph, the mesh state (a component's card, a team's health), the edit panel, and for Groups
//! the team view (members, owned entities, child teams, coverage, delivery performance).
//!
//! Every section's data is requested here, when the route is entered, and handed to the
//! section: the mesh card does not wait for the entity to render before it starts loading (the
//! idea of `LazyRoute::data` in Leptos' hackernews example). The URL names the kind, so the page
//! knows which mesh view it needs before the entity arrives.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::catalog::api::{get_entity, get_entity_graph};
use crate::catalog::components::{EntityView, GroupPanel};
use crate::catalog::ownership::api::{get_edit_state, DecideTransfer, EditEntity, TransferEntity};
use crate::catalog::ownership::components::EditPanel;
use crate::delivery::api::{get_component_delivery, get_delivery_overview, get_team_dora, BindProducer};
use crate::delivery::components::DeliverySection;
use crate::delivery::dora_components::DoraSection;
use crate::delivery::pages::TeamFailuresSection;
use crate::delivery::DeliveryOverview;
use crate::delivery::{ComponentDelivery, DoraReport};
use crate::error::{error_fallback, AppError, SectionError};
use crate::graph::components::GraphSection;
use crate::mesh::api::{get_component_mesh, get_team_mesh};
use crate::mesh::components::{team_drift_for, team_ownership_for, MeshCardSection, TeamDriftSection, TeamMeshSection};
use crate::mesh::{MeshCard, TeamMeshRow};
use crate::policy::api::{
    get_component_policy, get_component_template_policies, AdoptPolicy, ApplyPolicy, RollbackPolicy,
};
use crate::policy::components::templates::{TemplatePoliciesSection, TemplateWrites};
use crate::policy::components::PolicySection;
use crate::policy::{PolicyPreview, TemplatePolicies};
use crate::rendered::{mark_shows, mark_shows_mesh_of, Shows};
use crate::scorecards::api::{get_component_scorecards, get_scorecards};
use crate::scorecards::pages::{ComponentScorecardsSection, TeamScorecardsSection};
use crate::scorecards::{ComponentScorecards, ScorecardList};
use crate::ui::Loading;

/// An entity's address: kind, namespace and name as the URL gives them.
type EntityKey = (String, String, String);

/// The entity page.
#[component]
pub fn EntityPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let key = move || -> EntityKey {
        let p = params.read();
        (
            p.get("kind").unwrap_or_default(),
            p.get("namespace").unwrap_or_default(),
            p.get("name").unwrap_or_default(),
        )
    };
    let depth = move || {
        query
            .read()
            .get("depth")
            .and_then(|d| d.parse::<u8>().ok())
            .filter(|d| (1..=3).contains(d))
            .unwrap_or(1)
    };
    let edit = ServerAction::<EditEntity>::new();
    let transfer = ServerAction::<TransferEntity>::new();
    let decide = ServerAction::<DecideTransfer>::new();
    // Refetched after every edit, transfer or decision.
    let edits = move || edit.version().get() + transfer.version().get() + decide.version().get();
    let entity = Resource::new(move || (key(), edits()), |((k, ns, n), _)| get_entity(k, ns, n));
    let edit_state = Resource::new(move || (key(), edits()), |((k, ns, n), _)| get_edit_state(k, ns, n));
    let graph = Resource::new(
        move || (key(), depth()),
        |((k, ns, n), d)| get_entity_graph(k, ns, n, d),
    );
    let apply_policy = ServerAction::<ApplyPolicy>::new();
    let rollback_policy = ServerAction::<RollbackPolicy>::new();
    let adopt_policy = ServerAction::<AdoptPolicy>::new();
    let policy_writes =
        move || apply_policy.version().get() + rollback_policy.version().get() + adopt_policy.version().get();
    let mesh_card = Resource::new(move || (key(), policy_writes()), |(k, _)| component_mesh(k));
    let team_mesh = Resource::new(key, team_mesh);
    let team_dora = Resource::new(key, team_dora);
    let team_failures = Resource::new(key, team_failures);
    let policy = Resource::new(move || (key(), policy_writes()), |(k, _)| component_policy(k));
    let template_writes = TemplateWrites::new();
    let template_policies = Resource::new(
        move || (key(), template_writes.version()),
        |(k, _)| component_template_policies(k),
    );
    let bind_producer = ServerAction::<BindProducer>::new();
    // A filter that is not a status (a hand-edited or stale link) is ignored, not an error.
    let run_status = move || {
        query
            .read()
            .get("runs")
            .filter(|s| crate::delivery::RUN_STATUSES.contains(&s.as_str()))
    };
    // Made here, owned by the page: one made inside the entity's view below is disposed when that
    // view re-renders (following a link to another entity), while the old delivery section's
    // pending load may still read it (a panic in the browser).
    let run_status_signal = Signal::derive(run_status);
    let depth_signal = Signal::derive(depth);
    let runs_cursor = move || query.read().get("runs_cursor").filter(|s| !s.is_empty());
    let delivery = Resource::new(
        move || (key(), bind_producer.version().get(), run_status(), runs_cursor()),
        |(k, _, status, cursor)| component_delivery(k, status, cursor),
    );
    let team_drift = Resource::new(key, team_drift_for);
    let team_ownership = Resource::new(key, team_ownership_for);
    let scorecards = Resource::new(key, component_scorecards);
    let team_scorecards = Resource::new(key, team_scorecards);
    view! {
        <Suspense fallback=Loading>
            <ErrorBoundary fallback=error_fallback>
                {move || Suspend::new(async move {
                    let state = edit_state.await;
                    entity.await.map(|mut e| {
                        let group = e.group.take();
                        // Components and teams show scorecards; a component its own mesh
                        // state, a team its components' (`TeamMeshSection`), and any page's graph
                        // the state of the components it draws (`GraphSection`).
                        if matches!(e.summary.kind.as_str(), "component" | "group") {
                            mark_shows(Shows::Scorecards);
                        }
                        if e.summary.kind == "component" {
                            mark_shows_mesh_of([e.summary.entity_ref.as_str()]);
                        }
                        let mesh = match e.summary.kind.as_str() {
                            "component" => {
                                let (namespace, name) = (e.summary.namespace.clone(), e.summary.name.clone());
                                Some(view! {
                                    <MeshCardSection card=mesh_card/>
                                    <PolicySection preview=policy namespace=namespace.clone() name=name.clone()
                                        apply=apply_policy rollback=rollback_policy adopt=adopt_policy/>
                                    <TemplatePoliciesSection list=template_policies namespace=namespace name=name
                                        writes=template_writes/>
                                    <ComponentScorecardsSection scorecards=scorecards/>
                                    <DeliverySection delivery=delivery namespace=e.summary.namespace.clone()
                                        name=e.summary.name.clone() bind=bind_producer status=run_status_signal/>
                                }.into_any())
                            }
                            "group" => Some(view! {
                                <TeamMeshSection rows=team_mesh/>
                                <TeamDriftSection drift=team_drift ownership=team_ownership/>
                                <TeamScorecardsSection scorecards=team_scorecards/>
                                <TeamFailuresSection overview=team_failures/>
                                <DoraSection dora=team_dora/>
                            }.into_any()),
                            _ => None,
                        };
                        let panel = match state {
                            Ok(state) => view! {
                                <EditPanel state=state entity_ref=e.summary.entity_ref.clone()
                                    lifecycle=e.summary.lifecycle.clone() description=e.summary.description.clone()
                                    links=e.links.clone() edit=edit transfer=transfer decide=decide/>
                            }
                            .into_any(),
                            Err(error) => view! { <SectionError what="the edit panel" error=error/> }.into_any(),
                        };
                        view! {
                            <EntityView e=e/>
                            {mesh}
                            {group.map(|g| view! { <GroupPanel g=g/> })}
                            {panel}
                            <GraphSection graph=graph depth=depth_signal/>
                        }
                    })
                })}
            </ErrorBoundary>
        </Suspense>
    }
}

/// The mesh card when the URL names a component (kinds are case-insensitive); nothing to
/// request otherwise.
async fn component_mesh((kind, namespace, name): EntityKey) -> Result<Option<MeshCard>, AppError> {
    if !kind.eq_ignore_ascii_case("component") {
        return Ok(None);
    }
    get_component_mesh(kind, namespace, name).await.map(Some)
}

/// The traffic-policy preview when the URL names a component; nothing to request otherwise.
async fn component_policy((kind, namespace, name): EntityKey) -> Result<Option<PolicyPreview>, AppError> {
    if !kind.eq_ignore_ascii_case("component") {
        return Ok(None);
    }
    get_component_policy(kind, namespace, name).await
}

/// The component's runs and deployments when the URL names a component; nothing to request
/// otherwise.
async fn component_delivery(
    (kind, namespace, name): EntityKey,
    status: Option<String>,
    cursor: Option<String>,
) -> Result<Option<ComponentDelivery>, AppError> {
    if !kind.eq_ignore_ascii_case("component") {
        return Ok(None);
    }
    get_component_delivery(namespace, name, status, cursor).await.map(Some)
}

/// The templated policies when the URL names a component; nothing to request otherwise.
async fn component_template_policies((kind, namespace, name): EntityKey) -> Result<Option<TemplatePolicies>, AppError> {
    if !kind.eq_ignore_ascii_case("component") {
        return Ok(None);
    }
    get_component_template_policies(kind, namespace, name).await
}

/// The team's mesh health when the URL names a group; nothing to request otherwise.
async fn team_mesh((kind, namespace, name): EntityKey) -> Result<Option<Vec<TeamMeshRow>>, AppError> {
    if !kind.eq_ignore_ascii_case("group") {
        return Ok(None);
    }
    get_team_mesh(namespace, name).await.map(Some)
}

/// The component's scorecards when the URL names a component; nothing to request otherwise.
async fn component_scorecards((kind, namespace, name): EntityKey) -> Result<Option<ComponentScorecards>, AppError> {
    if !kind.eq_ignore_ascii_case("component") {
        return Ok(None);
    }
    get_component_scorecards(namespace, name).await.map(Some)
}

/// The team's scorecard roll-up when the URL names a group; nothing to request otherwise.
async fn team_scorecards((kind, namespace, name): EntityKey) -> Result<Option<ScorecardList>, AppError> {
    if !kind.eq_ignore_ascii_case("group") {
        return Ok(None);
    }
    get_scorecards(Some(format!("group:{namespace}/{name}")), None)
        .await
        .map(Some)
}

/// The team's recent failed runs when the URL names a group; nothing to request otherwise.
async fn team_failures((kind, namespace, name): EntityKey) -> Result<Option<DeliveryOverview>, AppError> {
    if !kind.eq_ignore_ascii_case("group") {
        return Ok(None);
    }
    get_delivery_overview(Some(format!("group:{namespace}/{name}")))
        .await
        .map(Some)
}

/// The team's DORA metrics when the URL names a group; nothing to request otherwise.
async fn team_dora((kind, namespace, name): EntityKey) -> Result<Option<DoraReport>, AppError> {
    if !kind.eq_ignore_ascii_case("group") {
        return Ok(None);
    }
    get_team_dora(namespace, name).await.map(Some)
}
