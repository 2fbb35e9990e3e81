//! The services own the access checks: every read service refuses an anonymous caller when
//! anonymous reads are off, whoever calls it (a page, a server function, a JSON or Backstage
//! handler), without relying on the sign-in middleware. The services are called directly here,
//! with no router in front of them.
//!
//! [`READS`] lists every read service. A completeness check reads `app/src` and fails when a
//! public function taking the server context is in none of the lists below, so a new service
//! has to be placed, and a new read service tested, before the suite passes.

use std::collections::BTreeSet;
use std::path::Path;

use app::auth::guard::Caller;
use app::catalog::service::backstage::ByRefsRequest;
use app::catalog::ListQuery;
use app::error::AppError;
use app::ssr::ServerCtx;

use crate::util::{context, repo_root, TestApp};

/// Every read service: anyone who may read the catalog may call them.
const READS: [&str; 39] = [
    "catalog::service::home",
    "catalog::service::list",
    "catalog::service::catalog_view",
    "catalog::service::entity",
    "catalog::service::entity_detail",
    "catalog::service::backstage::by_name",
    "catalog::service::backstage::by_query",
    "catalog::service::backstage::list",
    "catalog::service::backstage::by_refs",
    "catalog::service::backstage::facets",
    "catalog::ownership::service::edit_state",
    "graph::service::entity_graph",
    "graph::map::map",
    "graph::map::team_map",
    "graph::map::system_map",
    "graph::map::mesh_map",
    "graph::map::choices",
    "mesh::service::list_services",
    "mesh::service::control_planes",
    "mesh::service::component_card",
    "mesh::service::overview",
    "mesh::service::team",
    "mesh::drift::meshes",
    "mesh::drift::team",
    "mesh::ownership::list",
    "policy::edges::list",
    "policy::edges::matching",
    "policy::edges::around",
    "policy::proposal::preview",
    "policy::templated::preview",
    "delivery::dora::report",
    "delivery::runs::overview",
    "delivery::runs::list_runs",
    "delivery::runs::run_detail",
    "delivery::runs::list_deployments",
    "delivery::bindings::producers",
    "scorecards::service::list",
    "scorecards::service::card_results",
    "scorecards::service::component",
];

/// Services with a stricter check of their own (a signed-in caller, a role, a team): the role
/// matrix (`auth::matrix_of_mutating_routes_and_roles`) and the auth, audit, oidc and ownership
/// tests prove them.
const STRICTER: [&str; 37] = [
    "auth::service::login",
    "auth::service::record_failed_login",
    "auth::service::record_logout",
    "auth::service::create_token",
    "auth::service::list_tokens",
    "auth::service::revoke_token",
    "auth::service::list_users",
    "auth::service::end_sessions",
    "auth::service::role_settings",
    "auth::service::change_role_mapping",
    "audit::service::list",
    "audit::service::chain_status",
    "audit::service::key_info",
    "catalog::ownership::service::transfer",
    "catalog::ownership::service::decide",
    "catalog::ownership::service::pending",
    "catalog::ownership::service::patch",
    "catalog::ownership::service::patch_entity",
    "catalog::import::for_caller",
    "policy::proposal::apply",
    "policy::proposal::rollback",
    "policy::proposal::adopt",
    "policy::templated::apply",
    "policy::templated::rollback",
    "policy::templated::adopt",
    "delivery::ingest::ingest",
    "delivery::runs::unmapped",
    "delivery::bindings::bind",
    "evidence::service::start",
    "evidence::service::overview",
    "access_reviews::service::list_reviews",
    "access_reviews::service::review_detail",
    "access_reviews::service::open::open_review",
    "access_reviews::service::decide::decide_entry",
    "access_reviews::service::close::close_review",
    "access_reviews::overrides::list_overrides",
    "access_reviews::overrides::lift_override",
];

/// Public functions that take the server context but have no caller to check, and why.
const NO_CALLER: [(&str, &str); 14] = [
    ("ssr::ctx", "gets the context itself"),
    (
        "catalog::list_index::get",
        "the in-memory index behind the catalog reads, which check the caller before asking it",
    ),
    (
        "catalog::list_index::warm",
        "builds the index at start, before any request",
    ),
    ("server_call::call", "runs a server function's service with the caller"),
    ("auth::guard::require_reader", "the check itself"),
    (
        "auth::service::login_info",
        "the login page: how anonymous visitors sign in",
    ),
    (
        "auth::service::token_user",
        "resolves the caller (the sign-in middleware)",
    ),
    (
        "auth::service::session_user",
        "resolves the caller (the sign-in middleware)",
    ),
    (
        "policy::follow::follow_marks",
        "the policy worker: applies as the identity each import stored, checked per policy",
    ),
    (
        "delivery::runs::sweep",
        "the delivery worker: closes runs that stopped reporting and drops expired events",
    ),
    (
        "scorecards::service::evaluate_all",
        "the scorecard worker: evaluates every component; reads of its results check the caller",
    ),
    (
        "evidence::snapshot::take_daily",
        "the evidence worker: stores the day's mesh state; exports of it check the caller",
    ),
    (
        "evidence::snapshot::keep_daily",
        "the evidence worker's loop around take_daily",
    ),
    (
        "evidence::export::run",
        "writes a bundle that evidence::service::start started after checking the caller",
    ),
];

/// Calls the read service `name` with arguments that succeed for a reader on the demo catalog.
async fn call(name: &str, ctx: &ServerCtx, caller: &Caller) -> Result<(), AppError> {
    use app::catalog::service::{self as catalog, backstage};
    use app::mesh::service as mesh;
    let query = || ListQuery {
        limit: 20,
        ..Default::default()
    };
    let refs = ByRefsRequest {
        entity_refs: vec!["component:default/checkout".into()],
        fields: Vec::new(),
        query: None,
    };
    match name {
        "catalog::service::home" => catalog::home(ctx, caller).await.map(drop),
        "catalog::service::list" => catalog::list(ctx, caller, query()).await.map(drop),
        "catalog::service::catalog_view" => catalog::catalog_view(ctx, caller, query()).await.map(drop),
        "catalog::service::entity" => catalog::entity(ctx, caller, "component", "default", "checkout")
            .await
            .map(drop),
        "catalog::service::entity_detail" => catalog::entity_detail(ctx, caller, "component", "default", "checkout")
            .await
            .map(drop),
        "catalog::service::backstage::by_name" => {
            match backstage::by_name(ctx, caller, "component", "default", "checkout").await? {
                Some(_) => Ok(()),
                None => panic!("by_name found no checkout"),
            }
        }
        "catalog::service::backstage::by_query" => backstage::by_query(ctx, caller, "limit=5").await.map(drop),
        "catalog::service::backstage::list" => backstage::list(ctx, caller, "limit=5").await.map(drop),
        "catalog::service::backstage::by_refs" => backstage::by_refs(ctx, caller, "", &refs).await.map(drop),
        "catalog::service::backstage::facets" => backstage::facets(ctx, caller, "facet=kind").await.map(drop),
        "catalog::ownership::service::edit_state" => {
            app::catalog::ownership::service::edit_state(ctx, caller, "component:default/checkout")
                .await
                .map(drop)
        }
        "graph::service::entity_graph" => {
            app::graph::service::entity_graph(ctx, caller, "component", "default", "checkout", 1)
                .await
                .map(drop)
        }
        "graph::map::map" => {
            let query = app::graph::MapQuery {
                team: Some("team-checkout".into()),
                ..Default::default()
            };
            app::graph::map::map(ctx, caller, query).await.map(drop)
        }
        "graph::map::team_map" => app::graph::map::team_map(ctx, caller, "team-checkout", None, None)
            .await
            .map(drop),
        "graph::map::system_map" => app::graph::map::system_map(ctx, caller, "checkout", None, Some("healthy"))
            .await
            .map(drop),
        "graph::map::mesh_map" => match app::graph::map::mesh_map(ctx, caller, "default", None).await {
            // The demo catalog alone has no mesh: a reader is told so, not refused.
            Err(AppError::NotFound(_)) => Ok(()),
            other => other.map(drop),
        },
        "graph::map::choices" => app::graph::map::choices(ctx, caller).await.map(drop),
        "mesh::drift::meshes" => app::mesh::drift::meshes(ctx, caller).await.map(drop),
        "mesh::drift::team" => app::mesh::drift::team(ctx, caller, "default", "team-checkout")
            .await
            .map(drop),
        "mesh::ownership::list" => {
            let filter = app::mesh::ownership::OwnershipFilter {
                team: Some("team-checkout".into()),
                ..Default::default()
            };
            app::mesh::ownership::list(ctx, caller, &filter).await.map(drop)
        }
        "mesh::service::list_services" => mesh::list_services(ctx, caller).await.map(drop),
        "mesh::service::control_planes" => mesh::control_planes(ctx, caller).await.map(drop),
        "mesh::service::component_card" => mesh::component_card(ctx, caller, "component", "default", "checkout")
            .await
            .map(drop),
        "mesh::service::overview" => mesh::overview(ctx, caller).await.map(drop),
        "mesh::service::team" => mesh::team(ctx, caller, "default", "team-checkout").await.map(drop),
        "policy::edges::list" => app::policy::edges::list(ctx, caller, &Default::default(), 0, None)
            .await
            .map(drop),
        "policy::edges::matching" => app::policy::edges::matching(ctx, caller, &Default::default())
            .await
            .map(drop),
        "policy::edges::around" => app::policy::edges::around(ctx, caller, &["component:default/checkout".into()])
            .await
            .map(drop),
        // No mesh state here: a reader gets "not in the mesh", which is past the check.
        "policy::proposal::preview" => {
            match app::policy::proposal::preview(ctx, caller, "component", "default", "checkout").await {
                Err(AppError::NotFound(_)) => Ok(()),
                other => other.map(drop),
            }
        }
        "policy::templated::preview" => {
            match app::policy::templated::preview(ctx, caller, "component", "default", "checkout").await {
                Err(AppError::NotFound(_)) => Ok(()),
                other => other.map(drop),
            }
        }
        "delivery::runs::list_runs" => app::delivery::runs::list_runs(ctx, caller, &Default::default())
            .await
            .map(drop),
        // No runs reported here: a reader is told the run does not exist, past the check.
        "delivery::runs::run_detail" => match app::delivery::runs::run_detail(ctx, caller, "no-such-run").await {
            Err(AppError::NotFound(_)) => Ok(()),
            other => other.map(drop),
        },
        "delivery::bindings::producers" => {
            app::delivery::bindings::producers(ctx, caller, "component:default/checkout")
                .await
                .map(drop)
        }
        "delivery::runs::list_deployments" => {
            app::delivery::runs::list_deployments(ctx, caller, Some("component:default/checkout"), None, None)
                .await
                .map(drop)
        }
        "scorecards::service::list" => app::scorecards::service::list(ctx, caller, &Default::default())
            .await
            .map(drop),
        // No scorecards configured here: a reader is told the card does not exist.
        "scorecards::service::card_results" => {
            match app::scorecards::service::card_results(ctx, caller, "production-readiness", &Default::default()).await
            {
                Err(AppError::NotFound(_)) => Ok(()),
                other => other.map(drop),
            }
        }
        "scorecards::service::component" => {
            app::scorecards::service::component(ctx, caller, "component", "default", "checkout")
                .await
                .map(drop)
        }
        "delivery::dora::report" => {
            let query = app::delivery::dora::DoraQuery {
                team: Some("team-checkout".into()),
                ..Default::default()
            };
            app::delivery::dora::report(ctx, caller, &query).await.map(drop)
        }
        "delivery::runs::overview" => app::delivery::runs::overview(ctx, caller, Some("team-checkout"))
            .await
            .map(drop),
        other => panic!("{other} is in READS but not in `call`"),
    }
}

#[tokio::test]
async fn every_read_service_checks_its_caller_itself() {
    let app = TestApp::strict_with_demo().await;
    let anonymous = Caller::default();
    let token = app.token("viewer", None).await;
    let viewer = Caller {
        user: app::auth::service::token_user(&app.ctx, &token)
            .await
            .expect("token lookup"),
        ..Caller::default()
    };
    assert!(viewer.user.is_some(), "the viewer token resolves");
    // A context with anonymous reads on, over the same database (its own read cache).
    let open = context(app.pool.clone(), true);
    for name in READS {
        assert_eq!(
            call(name, &app.ctx, &anonymous).await,
            Err(AppError::Unauthenticated),
            "{name} must refuse an anonymous caller when anonymous reads are off"
        );
        assert_eq!(call(name, &app.ctx, &viewer).await, Ok(()), "{name} as a viewer");
        assert_eq!(
            call(name, &open, &anonymous).await,
            Ok(()),
            "{name} for an anonymous caller when anonymous reads are on"
        );
        // Still refused after a reader filled the read cache: the check comes before it.
        assert_eq!(
            call(name, &app.ctx, &anonymous).await,
            Err(AppError::Unauthenticated),
            "{name} must refuse an anonymous caller even when the answer is cached"
        );
    }
    assert_eq!(app::auth::service::me(&anonymous), Err(AppError::Unauthenticated));
    assert!(app::auth::service::me(&viewer).is_ok());
}

#[test]
fn every_service_is_in_a_list() {
    let listed: BTreeSet<&str> = READS
        .iter()
        .copied()
        .chain(STRICTER.iter().copied())
        .chain(NO_CALLER.iter().map(|(n, _)| *n))
        .collect();
    assert_eq!(
        listed.len(),
        READS.len() + STRICTER.len() + NO_CALLER.len(),
        "a service is listed twice"
    );
    let mut found = BTreeSet::new();
    public_fns_taking_the_context(&repo_root().join("app/src"), "", &mut found);
    let found: BTreeSet<&str> = found.iter().map(String::as_str).collect();
    let unlisted: Vec<_> = found.difference(&listed).collect();
    assert!(
        unlisted.is_empty(),
        "public functions taking the server context that no list here names: {unlisted:?}; \
         a read service goes into READS (and `call`), one with a stricter check into STRICTER, \
         one without a caller into NO_CALLER with the reason"
    );
    let stale: Vec<_> = listed.difference(&found).collect();
    assert!(stale.is_empty(), "listed but no longer in app/src: {stale:?}");
}

/// Adds `module::function` for every `pub fn` / `pub async fn` under `dir` whose signature
/// mentions `ServerCtx` (methods count under their module).
fn public_fns_taking_the_context(dir: &Path, module: &str, out: &mut BTreeSet<String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read app/src")
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let stem = path.file_stem().and_then(|s| s.to_str()).expect("file name").to_owned();
        let child = if module.is_empty() {
            stem
        } else {
            format!("{module}::{stem}")
        };
        if path.is_dir() {
            public_fns_taking_the_context(&path, &child, out);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read source");
        for (at, _) in text.match_indices("pub ") {
            let rest = &text[at + 4..];
            let rest = rest.strip_prefix("async ").unwrap_or(rest);
            let Some(rest) = rest.strip_prefix("fn ") else { continue };
            let end = rest.find(['{', ';']).unwrap_or(rest.len());
            let signature = &rest[..end];
            if signature.contains("ServerCtx") {
                let name: String = signature
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                out.insert(format!("{child}::{name}"));
            }
        }
    }
}
